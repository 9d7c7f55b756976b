//! Evaluating assertions against what a check observed: pure functions, expected vs actual.

use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::canary::assertion::{
    Assertion, Bound, JsonQuery, JsonTest, StatusPattern, TextTest, TlsTest,
};
use crate::observed::{CertInfo, Observed};
use crate::run::AssertionResult;
use crate::template::Captures;

/// Evaluates `assertion` against `seen`; `captures` fill templates in expected values.
pub fn evaluate(assertion: &Assertion, seen: &Observed, captures: &Captures) -> AssertionResult {
    match assertion {
        Assertion::Status(patterns) => status(patterns, seen.status),
        Assertion::Latency(phase, bound) => {
            let took = seen.phases.get(*phase);
            result(
                format!("latency {}", phase.as_str()),
                bound.holds(&took),
                bound.shown.clone(),
                format_duration(took),
            )
        }
        Assertion::Header(name, test) => header(name, test, seen, captures),
        Assertion::Body(test) => {
            let text = String::from_utf8_lossy(&seen.body);
            let (passed, expected) = text_test(test, Some(&text), captures);
            result("body".into(), passed, expected, preview(&text))
        }
        Assertion::Json(query, test) => json(query, test, seen, captures),
        Assertion::Tls(test) => tls(test, seen),
        Assertion::Cookie(name, test) => {
            let value = seen.cookie(name);
            let (passed, expected) = text_test(test, value, captures);
            let actual = value.map_or_else(|| "(absent)".into(), |v| format!("{v:?}"));
            result(format!("cookie {name}"), passed, expected, actual)
        }
    }
}

fn result(subject: String, passed: bool, expected: String, actual: String) -> AssertionResult {
    AssertionResult::new(subject, passed, expected, actual)
}

fn status(patterns: &[StatusPattern], code: Option<u16>) -> AssertionResult {
    let shown: Vec<String> = patterns.iter().map(ToString::to_string).collect();
    result(
        "status".into(),
        code.is_some_and(|code| patterns.iter().any(|p| p.matches(code))),
        shown.join(" or "),
        code.map_or_else(|| "(no status)".into(), |c| c.to_string()),
    )
}

fn header(name: &str, test: &TextTest, seen: &Observed, captures: &Captures) -> AssertionResult {
    let values: Vec<&str> = seen
        .headers
        .get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap_or("(not text)"))
        .collect();
    let joined = (!values.is_empty()).then(|| values.join(", "));
    let (passed, expected) = text_test(test, joined.as_deref(), captures);
    let actual = joined.unwrap_or_else(|| "(absent)".into());
    result(format!("header {name}"), passed, expected, actual)
}

/// Applies a text test to `text` (None when absent); returns whether it held and what was expected.
pub fn text_test(test: &TextTest, text: Option<&str>, captures: &Captures) -> (bool, String) {
    match (test, text) {
        (TextTest::Exists(want), t) => (t.is_some() == *want, exists_word(*want).into()),
        (TextTest::NotContains(s), None) => {
            (true, format!("not containing {:?}", s.render(captures)))
        }
        (TextTest::Equals(s), t) => {
            let s = s.render(captures);
            (t == Some(s.as_str()), format!("{s:?}"))
        }
        (TextTest::Contains(s), t) => {
            let s = s.render(captures);
            (
                t.is_some_and(|t| t.contains(&s)),
                format!("containing {s:?}"),
            )
        }
        (TextTest::NotContains(s), Some(t)) => {
            let s = s.render(captures);
            (!t.contains(&s), format!("not containing {s:?}"))
        }
        (TextTest::Matches(re), t) => (
            t.is_some_and(|t| re.is_match(t)),
            format!("matching /{}/", re.as_str()),
        ),
    }
}

fn exists_word(want: bool) -> &'static str {
    if want { "present" } else { "absent" }
}

fn json(
    query: &JsonQuery,
    test: &JsonTest,
    seen: &Observed,
    captures: &Captures,
) -> AssertionResult {
    let subject = format!("json {}", query.text);
    let doc = match seen.json() {
        Ok(doc) => doc,
        Err(e) => return result(subject, false, expectation(test, captures), e),
    };
    let nodes = query.path.query(doc).all();
    let node = match nodes.len() {
        0 => None,
        1 => Some(nodes[0].clone()),
        _ => Some(Value::Array(nodes.into_iter().cloned().collect())),
    };
    let actual = node
        .as_ref()
        .map_or_else(|| "(nothing selected)".into(), |v| preview(&v.to_string()));
    let passed = match (test, &node) {
        (JsonTest::Exists(want), n) => n.is_some() == *want,
        (_, None) => false,
        (JsonTest::Equals(want), Some(v)) => json_equal(v, want),
        (JsonTest::EqualsText(t), Some(v)) => as_text(v) == t.render(captures),
        (JsonTest::Contains(want), Some(v)) => json_contains(v, want),
        (JsonTest::Length(b), Some(v)) => json_length(v).is_some_and(|n| b.holds(&n)),
        (JsonTest::Matches(re), Some(v)) => re.is_match(&as_text(v)),
        (JsonTest::Number(b), Some(v)) => v.as_f64().is_some_and(|n| b.holds(&n)),
    };
    let actual = match (test, &node) {
        (JsonTest::Length(_), Some(v)) => match json_length(v) {
            Some(n) => format!("length {n}"),
            None => format!("{actual} (has no length)"),
        },
        _ => actual,
    };
    result(subject, passed, expectation(test, captures), actual)
}

fn expectation(test: &JsonTest, captures: &Captures) -> String {
    match test {
        JsonTest::Exists(want) => exists_word(*want).into(),
        JsonTest::Equals(v) => v.to_string(),
        JsonTest::EqualsText(t) => format!("{:?}", t.render(captures)),
        JsonTest::Contains(v) => format!("containing {v}"),
        JsonTest::Length(b) => format!("length {}", b.shown),
        JsonTest::Matches(re) => format!("matching /{}/", re.as_str()),
        JsonTest::Number(b) => b.shown.clone(),
    }
}

/// A JSON string unquoted; anything else as JSON text.
pub fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Equality where 1 and 1.0 are the same number.
fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn json_contains(v: &Value, want: &Value) -> bool {
    match (v, want) {
        (Value::String(s), Value::String(w)) => s.contains(w.as_str()),
        (Value::Array(items), w) => items.iter().any(|i| json_equal(i, w)),
        (Value::Object(map), Value::String(key)) => map.contains_key(key),
        _ => false,
    }
}

fn json_length(v: &Value) -> Option<u64> {
    match v {
        Value::Array(a) => Some(a.len() as u64),
        Value::String(s) => Some(s.chars().count() as u64),
        Value::Object(o) => Some(o.len() as u64),
        _ => None,
    }
}

fn tls(test: &TlsTest, seen: &Observed) -> AssertionResult {
    let subject = match test {
        TlsTest::ExpiresIn(_) => "tls expires_in",
        TlsTest::ChainExpiresIn(_) => "tls chain_expires_in",
        TlsTest::Protocol(_) => "tls protocol",
        TlsTest::HostnameMatches(_) => "tls hostname_matches",
    };
    let expected = match test {
        TlsTest::ExpiresIn(b) | TlsTest::ChainExpiresIn(b) => b.shown.clone(),
        TlsTest::Protocol(p) => format!("TLS {p}"),
        TlsTest::HostnameMatches(want) => want.to_string(),
    };
    let Some(t) = &seen.tls else {
        return result(subject.into(), false, expected, "no TLS connection".into());
    };
    let (passed, actual) = match test {
        TlsTest::ExpiresIn(bound) => expiry(bound, t.leaf(), "leaf"),
        TlsTest::ChainExpiresIn(bound) => expiry(bound, t.earliest(), "earliest in the chain"),
        TlsTest::Protocol(p) => {
            let got = t.protocol.as_deref().unwrap_or("unknown");
            (got == p, format!("TLS {got}"))
        }
        TlsTest::HostnameMatches(want) => {
            let names = t.leaf().map(|c| c.names.join(", ")).unwrap_or_default();
            (
                t.hostname_matches == *want,
                format!("{} (certificate names: {names})", t.hostname_matches),
            )
        }
    };
    result(subject.into(), passed, expected, actual)
}

/// Time left on `cert`, shown with which certificate it is.
fn expiry(bound: &Bound<Duration>, cert: Option<&CertInfo>, which: &str) -> (bool, String) {
    let Some(cert) = cert else {
        return (false, "no certificate".into());
    };
    let until = humantime::format_rfc3339_seconds(cert.not_after);
    match cert.not_after.duration_since(SystemTime::now()) {
        Ok(left) => (
            bound.holds(&left),
            format!(
                "{} (until {until}; {which}: {})",
                format_days(left),
                cert.subject
            ),
        ),
        Err(e) => (
            bound.holds(&Duration::ZERO),
            format!(
                "expired {} ago ({until}; {which}: {})",
                format_days(e.duration()),
                cert.subject
            ),
        ),
    }
}

fn format_days(d: Duration) -> String {
    format!("{:.1}d", d.as_secs_f64() / 86_400.0)
}

/// A duration as people read latency: `812.4ms`, `2.031s`.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 1000.0 {
        format!("{ms:.1}ms")
    } else {
        format!("{:.3}s", d.as_secs_f64())
    }
}

/// At most 200 characters of `text` on one line (newlines and control characters escaped),
/// with the full length when cut.
pub fn preview(text: &str) -> String {
    const MAX: usize = 200;
    let escape = |c: char| -> String {
        match c {
            '\n' => "\\n".into(),
            '\r' => "\\r".into(),
            '\t' => "\\t".into(),
            c if c.is_control() => c.escape_unicode().to_string(),
            c => c.to_string(),
        }
    };
    let shown: String = text.chars().take(MAX).map(escape).collect();
    if text.chars().count() <= MAX {
        shown
    } else {
        format!("{shown}… ({} bytes)", text.len())
    }
}
