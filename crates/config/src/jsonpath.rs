//! JSONPath as users write it: dot-names with `-` and other characters people put in JSON keys
//! are rewritten to RFC 9535's bracket form before compiling; failures say how to write it.

/// Compiles a path as users write it ([`normalize`]d). Parsing is the costly part of loading a
/// canary with a JSON assertion, and large sets repeat the same few paths, so each distinct
/// path is parsed once per process.
pub fn compile(path: &str) -> Result<serde_json_path::JsonPath, String> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static PARSED: OnceLock<Mutex<HashMap<String, serde_json_path::JsonPath>>> = OnceLock::new();
    let parsed = PARSED.get_or_init(Mutex::default);
    if let Some(p) = parsed.lock().ok().and_then(|m| m.get(path).cloned()) {
        return Ok(p);
    }
    unicode_escapes(path)?;
    bounded(path)?;
    let p = serde_json_path::JsonPath::parse(&normalize(path)).map_err(|e| e.to_string())?;
    if let Ok(mut m) = parsed.lock() {
        m.insert(path.to_string(), p.clone());
    }
    Ok(p)
}

/// At most [`MAX_FILTERS`] filters and [`MAX_LEN`] characters: serde_json_path 0.7's parser
/// backtracks without bound on some long runs of nested filters (found by fuzzing: one path of
/// 28 filters took minutes).
fn bounded(path: &str) -> Result<(), String> {
    let filters = path.matches("[?").count();
    if filters > MAX_FILTERS || path.chars().count() > MAX_LEN {
        return Err(format!(
            "the path is too complex ({filters} filters, {} characters): canary takes at most {MAX_FILTERS} filters and {MAX_LEN} characters",
            path.chars().count()
        ));
    }
    Ok(())
}

/// The most filters (`[?…]`) one path may hold.
pub const MAX_FILTERS: usize = 8;

/// The longest path canary compiles, in characters.
pub const MAX_LEN: usize = 512;

/// Every `\\u` escape has its four hex digits (serde_json_path 0.7 panics on one cut short at
/// the end of the path; found by fuzzing).
fn unicode_escapes(path: &str) -> Result<(), String> {
    let mut chars = path.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            continue;
        }
        if chars.next() == Some('u') {
            let digits: String = chars.clone().take(4).collect();
            if digits.len() < 4 || !digits.chars().all(|d| d.is_ascii_hexdigit()) {
                return Err(format!(
                    "`\\u{digits}` is not a unicode escape: write four hex digits, like `\\u00e9`"
                ));
            }
        }
    }
    Ok(())
}

/// `$.headers.X-Token` → `$.headers['X-Token']`; everything RFC 9535 already accepts is kept.
pub fn normalize(path: &str) -> String {
    let chars: Vec<char> = path.chars().collect();
    let mut out = String::with_capacity(path.len() + 8);
    let mut in_path = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '$' | '@' => {
                in_path = true;
                out.push(c);
                i += 1;
            }
            '\'' | '"' => i = copy_quoted(&chars, i, &mut out),
            '[' => {
                in_path = false;
                out.push(c);
                i += 1;
            }
            ']' => {
                in_path = true;
                out.push(c);
                i += 1;
            }
            '.' if in_path => i = member(&chars, i, &mut out),
            _ => {
                in_path = in_path && is_name_char(c);
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Copies a quoted string starting at `i` (escapes included); returns the index after it.
fn copy_quoted(chars: &[char], mut i: usize, out: &mut String) -> usize {
    let quote = chars[i];
    out.push(quote);
    i += 1;
    while i < chars.len() {
        let c = chars[i];
        out.push(c);
        i += 1;
        if c == '\\' && i < chars.len() {
            out.push(chars[i]);
            i += 1;
        } else if c == quote {
            break;
        }
    }
    i
}

/// A `.name` or `..name` segment at `i`; a name that is not RFC 9535 shorthand becomes `['name']`.
fn member(chars: &[char], mut i: usize, out: &mut String) -> usize {
    i += 1;
    let descendant = chars.get(i) == Some(&'.');
    if descendant {
        i += 1;
    }
    let start = i;
    while i < chars.len() && !ends_name(chars[i]) {
        i += 1;
    }
    let name: String = chars[start..i].iter().collect();
    out.push_str(if descendant { ".." } else { "." });
    if name.is_empty() || name == "*" || is_shorthand(&name) {
        out.push_str(&name);
    } else {
        if !descendant {
            out.pop();
        }
        out.push_str("['");
        out.push_str(&name.replace('\\', "\\\\").replace('\'', "\\'"));
        out.push_str("']");
    }
    i
}

fn ends_name(c: char) -> bool {
    c.is_whitespace() || ".[]()=!<>&|,'\"".contains(c)
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || !c.is_ascii()
}

/// RFC 9535 member-name-shorthand: a letter, `_` or non-ASCII first, then also digits.
fn is_shorthand(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || !c.is_ascii());
    first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || !c.is_ascii())
}

/// What is wrong with `path` and how to write it, from the parser's `reason`.
pub fn explain(path: &str, reason: &str) -> String {
    let p = path.trim();
    let hint = if p.is_empty() {
        "write a path like `$.id`".to_string()
    } else if !p.starts_with('$') {
        let fixed = if p.starts_with('.') || p.starts_with('[') {
            format!("${p}")
        } else {
            format!("$.{p}")
        };
        format!("a JSONPath starts with `$`: write `{fixed}`")
    } else if p.matches('[').count() != p.matches(']').count() {
        "the brackets do not pair up: every `[` needs its `]`".to_string()
    } else if let Some(name) = spaced_name(p) {
        format!("a name with spaces goes in brackets and quotes: `$['{name}']`")
    } else {
        "RFC 9535 forms: `$.a.b`, `$.items[0]`, `$.items[*].id`, `$['any key']`, `$..name`, `$.items[?@.price > 10]`".to_string()
    };
    format!("bad JSONPath `{path}`: {reason}; {hint}")
}

/// A dot-name with whitespace in it (`$.first name`), if any.
fn spaced_name(p: &str) -> Option<String> {
    let (_, rest) = p.split_once('.')?;
    let seg: String = rest.chars().take_while(|c| !".[]".contains(*c)).collect();
    let seg = seg.trim();
    let words = seg
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == ' ');
    (words && seg.contains(' ')).then(|| seg.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_escape_cut_short_is_an_error_not_a_panic() {
        // Found by fuzz/fuzz_targets/jsonpath.rs: serde_json_path panicked on these.
        for path in ["$['s1\\ta0\\u", "$['a\\u", "$['a\\u12"] {
            let e = compile(path).expect_err(path);
            assert!(e.contains("four hex digits"), "{path}: {e}");
        }
        assert!(
            compile("$['a\\\\u']").is_ok(),
            "an escaped backslash then u"
        );
        assert!(compile("$['caf\\u00e9']").is_ok());
        let _ = compile("$['\\uD800\\u");
        let slow = "$.?@.p$[?@.p$s[?@.p$[?@.s[?@.p$[?@.p$.h$.itd-$.?@.p$[?@.p$s[?@.p$[?@.s[?@.p$[?@.p$.h$.itd-s[?@.p$[?@.p$s[?@.p$[?@.p$h$..p$s[?@.p$[?@.s[?@.p$[?@.p$s[?@.p$[?@.p$h$..p$s[?@.p$[?@.s[..$";
        let e = compile(slow).expect_err("refused before parsing");
        assert!(e.contains("too complex"), "{e}");
        let _ = compile("$['\\uD800");
    }

    #[test]
    fn rewrites_what_users_write_and_keeps_the_rest() {
        let cases = [
            ("$.headers.X-Request-Id", "$.headers['X-Request-Id']"),
            ("$.data.user-id", "$.data['user-id']"),
            ("$..x-y", "$..['x-y']"),
            ("$.a.b[0].c", "$.a.b[0].c"),
            ("$['a b'].c-d", "$['a b']['c-d']"),
            (
                "$.items[?@.in-stock == true].id",
                "$.items[?@['in-stock'] == true].id",
            ),
            ("$.items[?@.price < 1.5]", "$.items[?@.price < 1.5]"),
            ("$.a.*", "$.a.*"),
            ("$.héllo", "$.héllo"),
            ("$.it's", "$.it's"),
            ("$.2fa", "$['2fa']"),
            ("$.a\\b", "$['a\\\\b']"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize(input), want, "{input}");
        }
        let compiles = [
            "$.headers.X-Request-Id",
            "$.items[?@.in-stock == true].id",
            "$..x-y",
            "$.2fa",
        ];
        for p in compiles {
            assert!(
                serde_json_path::JsonPath::parse(&normalize(p)).is_ok(),
                "{p}"
            );
        }
    }

    #[test]
    fn says_how_to_write_it() {
        assert!(explain("id", "x").contains("write `$.id`"));
        assert!(explain("$.a[0", "x").contains("do not pair up"));
        assert!(explain("$.first name", "x").contains("$['first name']"));
        assert!(explain("$.a ==", "x").contains("RFC 9535 forms"));
    }
}
