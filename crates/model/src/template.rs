//! `${…}` interpolation: tokenized at load time; only references to captures and one-time codes
//! are left for run time.

use std::collections::HashMap;

/// Where a `${…}` reference takes its value from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `${NAME}`: a capture, `--var`, `--env-file` or `variables:` entry.
    Var,
    /// `${env:NAME}`: the process environment (then `--env-file`).
    Env,
    /// `${secret:NAME}`: like `env:`, and the value is redacted from every output.
    Secret,
    /// `${totp:NAME}`: the one-time code now, from the seed in NAME (a secret, like `secret:`).
    Totp,
}

/// One `${…}` reference as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// Where the value comes from.
    pub source: Source,
    /// The name looked up.
    pub name: String,
    /// The value after `:-`, used when the name is undefined.
    pub default: Option<String>,
}

/// A piece of a string as written: literal text or a reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// Literal text (`$${` already unescaped to `${`).
    Text(String),
    /// A `${…}` reference.
    Ref(Reference),
}

/// Splits `input` into text and `${…}` references. `$${` is a literal `${`.
pub fn tokenize(input: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut text = String::new();
    let mut rest = input;
    while let Some(at) = rest.find("${") {
        if rest[..at].ends_with('$') {
            text.push_str(&rest[..at - 1]);
            text.push_str("${");
            rest = &rest[at + 2..];
            continue;
        }
        text.push_str(&rest[..at]);
        let body_start = &rest[at + 2..];
        let end = body_start
            .find('}')
            .ok_or_else(|| format!("unclosed `${{` in {input:?}: add the closing `}}`"))?;
        if !text.is_empty() {
            tokens.push(Token::Text(std::mem::take(&mut text)));
        }
        tokens.push(Token::Ref(parse_reference(&body_start[..end])?));
        rest = &body_start[end + 1..];
    }
    text.push_str(rest);
    if !text.is_empty() {
        tokens.push(Token::Text(text));
    }
    Ok(tokens)
}

fn parse_reference(body: &str) -> Result<Reference, String> {
    let (body, default) = match body.split_once(":-") {
        Some((b, d)) => (b, Some(d.to_string())),
        None => (body, None),
    };
    let (source, name) = match body.split_once(':') {
        None => (Source::Var, body),
        Some(("env", name)) => (Source::Env, name),
        Some(("secret", name)) => (Source::Secret, name),
        Some(("totp", name)) => (Source::Totp, name),
        Some((other, _)) => {
            return Err(format!(
                "unknown source `{other}:` in `${{{body}}}`: use ${{NAME}}, ${{env:NAME}}, ${{secret:NAME}} or ${{totp:NAME}}"
            ));
        }
    };
    if !valid_name(name) {
        return Err(format!(
            "`${{{body}}}` is not a valid reference: a name starts with a letter or `_` and holds letters, digits, `_`, `-` or `.`"
        ));
    }
    Ok(Reference {
        source,
        name: name.to_string(),
        default,
    })
}

/// True for names a reference may use: `[A-Za-z_][A-Za-z0-9_.-]*`.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Captured values by name, filled in step by step during a run.
pub type Captures = HashMap<String, String>;

/// A string whose static references were resolved at load time; what remains are captures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Capture(String),
    /// A one-time code, computed when the template is rendered.
    Totp(std::sync::Arc<crate::totp::Totp>),
}

impl Template {
    /// A template with no references.
    pub fn literal(text: impl Into<String>) -> Self {
        Template {
            parts: vec![Part::Text(text.into())],
        }
    }

    /// Appends literal text.
    pub fn push_text(&mut self, text: &str) {
        match self.parts.last_mut() {
            Some(Part::Text(t)) => t.push_str(text),
            _ => self.parts.push(Part::Text(text.to_string())),
        }
    }

    /// Appends a reference to a capture, filled in at run time.
    pub fn push_capture(&mut self, name: &str) {
        self.parts.push(Part::Capture(name.to_string()));
    }

    /// Gives back the room its parts were built with (a template lives as long as its canary,
    /// and a one-part template would otherwise keep room for four).
    pub fn shrink_to_fit(&mut self) {
        for part in &mut self.parts {
            match part {
                Part::Text(t) | Part::Capture(t) => t.shrink_to_fit(),
                Part::Totp(_) => {}
            }
        }
        self.parts.shrink_to_fit();
    }

    /// An empty template.
    pub fn empty() -> Self {
        Template { parts: Vec::new() }
    }

    /// Adds a one-time code, computed at each render.
    pub fn push_totp(&mut self, totp: crate::totp::Totp) {
        self.parts.push(Part::Totp(std::sync::Arc::new(totp)));
    }

    /// Adds `other`'s parts.
    pub fn push_template(&mut self, other: &Template) {
        for part in &other.parts {
            match part {
                Part::Text(t) => self.push_text(t),
                p => self.parts.push(p.clone()),
            }
        }
    }

    /// How long to wait before rendering, so that no one-time code in it is about to expire.
    pub fn totp_wait(&self) -> std::time::Duration {
        (self.parts.iter())
            .filter_map(|p| match p {
                Part::Totp(t) => Some(t.wait()),
                _ => None,
            })
            .max()
            .unwrap_or_default()
    }

    /// True when the template's text is known at load: no capture, no one-time code.
    pub fn is_static(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Text(_)))
    }

    /// The text, when it is known at load (no capture, no one-time code).
    pub fn as_static(&self) -> Option<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Capture(_) | Part::Totp(_) => return None,
            }
        }
        Some(out)
    }

    /// The text with captures filled in. Loading guarantees every capture named
    /// is taken by an earlier step; one that failed to capture renders empty.
    pub fn render(&self, captures: &Captures) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Capture(name) => {
                    out.push_str(captures.get(name).map(String::as_str).unwrap_or(""))
                }
                Part::Totp(totp) => out.push_str(&totp.now()),
            }
        }
        out
    }
}

/// A JSON value whose strings may refer to captures (a request's `json:` body).
#[derive(Debug, Clone, PartialEq)]
pub enum JsonTemplate {
    /// null, a boolean or a number.
    Plain(serde_json::Value),
    /// A string.
    String(Template),
    /// An array.
    Array(Vec<JsonTemplate>),
    /// An object, keys in order.
    Object(Vec<(String, JsonTemplate)>),
}

impl JsonTemplate {
    /// How long to wait before rendering (see [`Template::totp_wait`]).
    pub fn totp_wait(&self) -> std::time::Duration {
        match self {
            JsonTemplate::Plain(_) => std::time::Duration::ZERO,
            JsonTemplate::String(t) => t.totp_wait(),
            JsonTemplate::Array(items) => {
                items.iter().map(Self::totp_wait).max().unwrap_or_default()
            }
            JsonTemplate::Object(fields) => fields
                .iter()
                .map(|(_, v)| v.totp_wait())
                .max()
                .unwrap_or_default(),
        }
    }

    /// The JSON value with captures filled in.
    pub fn render(&self, captures: &Captures) -> serde_json::Value {
        use serde_json::Value;
        match self {
            JsonTemplate::Plain(v) => v.clone(),
            JsonTemplate::String(t) => Value::String(t.render(captures)),
            JsonTemplate::Array(items) => {
                Value::Array(items.iter().map(|i| i.render(captures)).collect())
            }
            JsonTemplate::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), v.render(captures)))
                    .collect(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(source: Source, name: &str, default: Option<&str>) -> Token {
        Token::Ref(Reference {
            source,
            name: name.into(),
            default: default.map(Into::into),
        })
    }

    #[test]
    fn a_shrunk_template_keeps_no_spare_room() {
        let mut t = Template::empty();
        t.push_text("https://");
        t.push_text("example.com/");
        t.push_capture("id");
        t.shrink_to_fit();
        assert_eq!(t.parts.capacity(), 2);
        assert!(t.parts.iter().all(|p| match p {
            Part::Text(s) | Part::Capture(s) => s.capacity() == s.len(),
            Part::Totp(_) => true,
        }));
        let caps = HashMap::from([("id".to_string(), "7".to_string())]);
        assert_eq!(t.render(&caps), "https://example.com/7");
    }

    #[test]
    fn tokenizes_every_form() {
        let t = tokenize("a${X}b${env:HOME}${secret:T:-d}$${lit}").unwrap();
        assert_eq!(
            t,
            vec![
                Token::Text("a".into()),
                r(Source::Var, "X", None),
                Token::Text("b".into()),
                r(Source::Env, "HOME", None),
                r(Source::Secret, "T", Some("d")),
                Token::Text("${lit}".into()),
            ]
        );
        assert_eq!(tokenize("").unwrap(), vec![]);
        assert_eq!(
            tokenize("${A:-}").unwrap(),
            vec![r(Source::Var, "A", Some(""))]
        );
    }

    #[test]
    fn rejects_bad_references() {
        assert!(tokenize("${X").unwrap_err().contains("unclosed"));
        assert!(
            tokenize("${}")
                .unwrap_err()
                .contains("not a valid reference")
        );
        assert!(tokenize("${1A}").unwrap_err().contains("not a valid"));
        assert!(
            tokenize("${vault:X}")
                .unwrap_err()
                .contains("unknown source")
        );
    }

    #[test]
    fn renders_captures() {
        let mut t = Template::literal("/orders/");
        t.push_capture("id");
        t.push_text("?x=1");
        let mut c = Captures::new();
        assert_eq!(t.as_static(), None);
        c.insert("id".into(), "42".into());
        assert_eq!(t.render(&c), "/orders/42?x=1");
    }
}
