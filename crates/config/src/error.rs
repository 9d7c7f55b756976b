//! Config errors: `file:line:col: message`, all of them, with "did you mean" for misspelt keys;
//! also as JSON lines (for editors) and as GitHub Actions annotations.

use std::fmt;
use std::path::{Path, PathBuf};

use serde_saphyr::Location;

/// One problem in one canary file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line, 0 when the problem is the file as a whole.
    pub line: u64,
    /// 1-based column, 0 when the problem is the file as a whole.
    pub column: u64,
    /// What is wrong and, where possible, how to fix it.
    pub message: String,
}

impl ConfigError {
    /// A problem at a place in a file.
    pub fn at(file: &Path, loc: &Location, message: impl Into<String>) -> Self {
        ConfigError {
            file: file.to_path_buf(),
            line: loc.line(),
            column: loc.column(),
            message: message.into(),
        }
    }

    /// A problem with a file as a whole (cannot read it, no canaries in a folder…).
    pub fn file(file: &Path, message: impl Into<String>) -> Self {
        ConfigError {
            file: file.to_path_buf(),
            line: 0,
            column: 0,
            message: message.into(),
        }
    }

    /// The error serde-saphyr gave for `text`, read from `file`, its wording made plainer.
    pub fn from_yaml(file: &Path, text: &str, err: &serde_saphyr::Error) -> Self {
        let raw = err.without_snippet().to_string();
        let mut message = plain_message(&raw);
        match err.location() {
            Some(loc) if loc.line() > 0 => {
                let hint = raw
                    .contains("flow")
                    .then(|| flow_hint(text, loc.line(), loc.column()));
                if let Some(hint) = hint.flatten() {
                    message = hint;
                }
                ConfigError::at(file, &loc, message)
            }
            _ => ConfigError::file(file, message),
        }
    }
}

impl ConfigError {
    /// The message without its fix, and the fix (`did you mean …`, the known keys) when there is
    /// one.
    pub fn split_help(&self) -> (&str, Option<&str>) {
        for sep in [": did you mean ", " (known: "] {
            if let Some(i) = self.message.find(sep) {
                let help = self.message[i..].trim_start_matches(':').trim();
                let help = help
                    .strip_prefix('(')
                    .map_or(help, |h| h.trim_end_matches(')'));
                return (&self.message[..i], Some(help));
            }
        }
        (&self.message, None)
    }

    /// One JSON object: `file`, `line`, `column` (0 for the file as a whole), `message`, `help`.
    pub fn to_json(&self) -> String {
        let (message, help) = self.split_help();
        serde_json::json!({
            "file": self.file.display().to_string(),
            "line": self.line,
            "column": self.column,
            "message": message,
            "help": help,
        })
        .to_string()
    }

    /// A GitHub Actions workflow command that annotates the file (and line) in a pull request.
    pub fn to_github(&self) -> String {
        let data = |s: &str| {
            s.replace('%', "%25")
                .replace('\r', "%0D")
                .replace('\n', "%0A")
        };
        let prop = |s: &str| data(s).replace(':', "%3A").replace(',', "%2C");
        let file = prop(&self.file.display().to_string());
        let place = match self.line {
            0 => String::new(),
            line => format!(",line={line},col={}", self.column),
        };
        format!(
            "::error file={file}{place},title=canary config::{}",
            data(&self.message)
        )
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file.display(),
                self.line,
                self.column,
                self.message
            )
        }
    }
}

/// Every problem found in one load, in file order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.0 {
            writeln!(f, "{e}")?;
        }
        let n = self.0.len();
        write!(f, "{n} error{}", if n == 1 { "" } else { "s" })
    }
}

impl ConfigErrors {
    /// One JSON object per line, one line per error.
    pub fn to_json_lines(&self) -> String {
        self.0.iter().map(|e| e.to_json() + "\n").collect()
    }

    /// One GitHub Actions `::error` command per error.
    pub fn to_github(&self) -> String {
        self.0.iter().map(|e| e.to_github() + "\n").collect()
    }
}

/// Drops the " at line N, column M" tail (we print the place first) and rewords the
/// messages a user meets most.
fn plain_message(raw: &str) -> String {
    let msg = match raw.rfind(" at line ") {
        Some(i) => &raw[..i],
        None => raw,
    };
    if let Some(rest) = msg.strip_prefix("budget breached: ") {
        return budget(rest);
    }
    if let Some(rest) = msg.strip_prefix("duplicate mapping key: ") {
        let key = rest.split(',').next().unwrap_or(rest);
        return format!("`{key}` is given twice");
    }
    for (start, plain) in REWORDED {
        if msg.starts_with(start) {
            return plain.to_string();
        }
    }
    if msg.contains("found a tab") {
        return "YAML syntax: a tab cannot indent; use spaces".into();
    }
    if msg.starts_with("while parsing") || msg.starts_with("while scanning") {
        return format!("YAML syntax: {msg} (check the indentation and the `key: value` form)");
    }
    suggest(msg).unwrap_or_else(|| msg.to_string())
}

/// A limit of the YAML reader (`Nodes { nodes: 250001 }`), in words.
fn budget(what: &str) -> String {
    let what = what.split('}').next().unwrap_or(what);
    let number: String = what.chars().filter(char::is_ascii_digit).collect();
    let past = number.parse::<u64>().map_or(0, |n| n.saturating_sub(1));
    let kind = what.split_whitespace().next().unwrap_or("");
    match kind {
        "Nodes" | "Aliases" | "Anchors" => format!(
            "this file expands to more than {past} YAML values, more than canary reads \
             (anchors and aliases that repeat each other, as in a \"billion laughs\"): write \
             the values out, or use fewer aliases"
        ),
        "Depth" => {
            format!("this value is nested more than {past} levels deep, more than canary reads")
        }
        _ => format!("this file is larger than canary reads ({what}}}): make it smaller"),
    }
}

/// For a flow mapping (`{ … }`) broken by `[` or `]` in an unquoted JSONPath: says to quote it.
fn flow_hint(text: &str, line: u64, column: u64) -> Option<String> {
    let src = text
        .lines()
        .nth(usize::try_from(line).ok()?.checked_sub(1)?)?;
    let chars: Vec<char> = src.chars().collect();
    let at = usize::try_from(column)
        .ok()?
        .checked_sub(1)?
        .min(chars.len());
    let start = chars[..at]
        .iter()
        .rposition(|c| c.is_whitespace() || "{,".contains(*c))
        .map_or(0, |i| i + 1);
    if !matches!(chars.get(start), Some('$' | '@')) {
        return None;
    }
    let mut depth = 0i32;
    let mut end = start;
    while end < chars.len() {
        match chars[end] {
            '[' => depth += 1,
            ']' => depth -= 1,
            ',' | '}' if depth <= 0 => break,
            _ => {}
        }
        end += 1;
    }
    let path: String = chars[start..end].iter().collect();
    let path = path.trim_end();
    Some(format!(
        "YAML syntax: inside `{{ … }}`, `[` and `]` end an unquoted value; quote the JSONPath: \"{path}\""
    ))
}

/// serde-saphyr messages users meet most, and how we say them.
const REWORDED: &[(&str, &str)] = &[
    (
        "unexpected end of input",
        "the file is empty: a canary needs at least `name:` and `http:` or `steps:`",
    ),
    (
        "expected mapping start",
        "expected a mapping of `key: value` lines here",
    ),
    (
        "expected sequence start",
        "expected a list here: `- item` lines or `[a, b]`",
    ),
    (
        "expected string scalar",
        "expected a text value here, not a list or a mapping",
    ),
    ("invalid u32", "expected a whole number (0 or more)"),
    ("invalid boolean", "expected true or false"),
    (
        "multiple YAML documents",
        "one canary per file: this file holds several YAML documents (`---`)",
    ),
];

/// For "unknown field `x`, expected one of a, b": adds the closest known name.
fn suggest(msg: &str) -> Option<String> {
    let (what, rest) = msg
        .strip_prefix("unknown field `")
        .map(|r| ("field", r))
        .or_else(|| msg.strip_prefix("unknown variant `").map(|r| ("key", r)))?;
    let (name, rest) = rest.split_once('`')?;
    let known = rest
        .trim_start_matches(',')
        .trim()
        .trim_start_matches("expected one of")
        .trim_start_matches("expected")
        .trim();
    let options: Vec<&str> = known
        .split(", ")
        .map(|o| o.trim_matches('`'))
        .filter(|o| !o.is_empty())
        .collect();
    let best = options
        .iter()
        .map(|o| (strsim::jaro_winkler(name, o), *o))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let known = options.join(", ");
    Some(match best {
        Some((_, o)) => format!("unknown {what} `{name}`: did you mean `{o}`? (known: {known})"),
        None => format!("unknown {what} `{name}` (known: {known})"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_as_json_and_github_annotations() {
        let e = ConfigError {
            file: "c,1.yaml".into(),
            line: 2,
            column: 1,
            message: "unknown field `timout`: did you mean `timeout`? (known: name, timeout)"
                .into(),
        };
        assert_eq!(
            e.split_help(),
            (
                "unknown field `timout`",
                Some("did you mean `timeout`? (known: name, timeout)")
            )
        );
        let v: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
        assert_eq!(v["line"], 2);
        assert_eq!(v["message"], "unknown field `timout`");
        assert_eq!(
            e.to_github(),
            "::error file=c%2C1.yaml,line=2,col=1,title=canary config::unknown field `timout`: did you mean `timeout`? (known: name, timeout)"
        );
        let whole = ConfigError::file(Path::new("x.yaml"), "cannot read: 50% gone\nreally");
        assert_eq!(whole.split_help(), ("cannot read: 50% gone\nreally", None));
        assert_eq!(
            whole.to_github(),
            "::error file=x.yaml,title=canary config::cannot read: 50%25 gone%0Areally"
        );
    }

    #[test]
    fn suggests_the_closest_name() {
        assert_eq!(
            plain_message(
                "unknown field `timout`, expected one of name, timeout, retries at line 2, column 1"
            ),
            "unknown field `timout`: did you mean `timeout`? (known: name, timeout, retries)"
        );
        assert_eq!(
            plain_message("unknown variant `statuz`, expected one of status, body"),
            "unknown key `statuz`: did you mean `status`? (known: status, body)"
        );
        assert_eq!(
            plain_message("unknown field `zzz`, expected one of name, timeout"),
            "unknown field `zzz` (known: name, timeout)"
        );
    }

    #[test]
    fn rewords_common_messages() {
        assert_eq!(
            plain_message(
                "duplicate mapping key: name, set DuplicateKeyPolicy in Options if acceptable at line 2, column 1"
            ),
            "`name` is given twice"
        );
        assert!(plain_message("unexpected end of input").contains("empty"));
    }
}
