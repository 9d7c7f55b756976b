//! Typed HTTP assertions, compiled at load time and evaluated against a response: expected vs actual.

use std::fmt;
use std::time::{Duration, SystemTime};

use regex::Regex;
use serde_json::Value;
use serde_json_path::JsonPath;

use crate::check::http::Response;
use crate::run::{AssertionResult, Phase};
use crate::template::{Captures, Template};

/// One assertion on an HTTP response.
#[derive(Debug, Clone)]
pub enum Assertion {
    /// The status is one of these codes or classes.
    Status(Vec<StatusPattern>),
    /// A phase's duration is within bounds.
    Latency(Phase, Bound<Duration>),
    /// A header (name in lower case) passes a text test.
    Header(String, TextTest),
    /// The body, as text, passes a text test.
    Body(TextTest),
    /// The value(s) at a JSONPath pass a JSON test.
    Json(JsonQuery, JsonTest),
    /// The server certificate expires further away than the bound says.
    TlsExpiresIn(Bound<Duration>),
}

/// A status code (`200`) or class (`2xx`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusPattern {
    /// Exactly this code.
    Code(u16),
    /// Any code whose first digit is this one.
    Class(u16),
}

impl StatusPattern {
    fn matches(self, status: u16) -> bool {
        match self {
            StatusPattern::Code(c) => c == status,
            StatusPattern::Class(c) => status / 100 == c,
        }
    }
}

impl fmt::Display for StatusPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatusPattern::Code(c) => write!(f, "{c}"),
            StatusPattern::Class(c) => write!(f, "{c}xx"),
        }
    }
}

/// Number bounds: any of `lt`, `lte`, `gt`, `gte` (at least one).
#[derive(Debug, Clone, PartialEq)]
pub struct Bound<T> {
    /// Strictly less than.
    pub lt: Option<T>,
    /// Less than or equal.
    pub lte: Option<T>,
    /// Strictly greater than.
    pub gt: Option<T>,
    /// Greater than or equal.
    pub gte: Option<T>,
    /// The bound as written, e.g. `< 800ms`.
    pub shown: String,
}

impl<T: PartialOrd> Bound<T> {
    /// True when `v` is within every given bound.
    pub fn holds(&self, v: &T) -> bool {
        self.lt.as_ref().is_none_or(|b| v < b)
            && self.lte.as_ref().is_none_or(|b| v <= b)
            && self.gt.as_ref().is_none_or(|b| v > b)
            && self.gte.as_ref().is_none_or(|b| v >= b)
    }
}

/// A test on a piece of text.
#[derive(Debug, Clone)]
pub enum TextTest {
    /// Present (`true`) or absent (`false`); for headers.
    Exists(bool),
    /// Equal to.
    Equals(Template),
    /// Contains.
    Contains(Template),
    /// Does not contain.
    NotContains(Template),
    /// Matches the regular expression somewhere.
    Matches(Regex),
}

/// A compiled JSONPath with its source text.
#[derive(Debug, Clone)]
pub struct JsonQuery {
    /// The compiled path.
    pub path: JsonPath,
    /// The path as written.
    pub text: String,
}

/// A test on the value(s) a JSONPath selects: one node is tested as itself, several as an array.
#[derive(Debug, Clone)]
pub enum JsonTest {
    /// The path selects something (`true`) or nothing (`false`).
    Exists(bool),
    /// Equal to a JSON value.
    Equals(Value),
    /// As text, equal to a string (which may use captures); a JSON string is compared unquoted.
    EqualsText(Template),
    /// A string contains the text, or an array holds the value.
    Contains(Value),
    /// The length of an array, string or object is within bounds.
    Length(Bound<u64>),
    /// The value, as text, matches the regular expression.
    Matches(Regex),
    /// A number is within bounds.
    Number(Bound<f64>),
}

/// Evaluates `assertion` against `resp`; `captures` fill templates in expected values.
pub fn evaluate(assertion: &Assertion, resp: &Response, captures: &Captures) -> AssertionResult {
    match assertion {
        Assertion::Status(patterns) => status(patterns, resp.status),
        Assertion::Latency(phase, bound) => {
            let took = resp.phases.get(*phase);
            result(
                format!("latency {}", phase.as_str()),
                bound.holds(&took),
                bound.shown.clone(),
                format_duration(took),
            )
        }
        Assertion::Header(name, test) => header(name, test, resp, captures),
        Assertion::Body(test) => {
            let text = String::from_utf8_lossy(&resp.body);
            let (passed, expected) = text_test(test, Some(&text), captures);
            result("body".into(), passed, expected, preview(&text))
        }
        Assertion::Json(query, test) => json(query, test, resp, captures),
        Assertion::TlsExpiresIn(bound) => tls_expiry(bound, resp.cert_not_after),
    }
}

fn result(subject: String, passed: bool, expected: String, actual: String) -> AssertionResult {
    AssertionResult {
        subject,
        passed,
        expected,
        actual,
    }
}

fn status(patterns: &[StatusPattern], code: u16) -> AssertionResult {
    let shown: Vec<String> = patterns.iter().map(ToString::to_string).collect();
    result(
        "status".into(),
        patterns.iter().any(|p| p.matches(code)),
        shown.join(" or "),
        code.to_string(),
    )
}

fn header(name: &str, test: &TextTest, resp: &Response, captures: &Captures) -> AssertionResult {
    let values: Vec<&str> = resp
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
    resp: &Response,
    captures: &Captures,
) -> AssertionResult {
    let subject = format!("json {}", query.text);
    let doc = match resp.json() {
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

fn tls_expiry(bound: &Bound<Duration>, not_after: Option<SystemTime>) -> AssertionResult {
    let subject = "tls expires_in".to_string();
    let Some(not_after) = not_after else {
        return result(
            subject,
            false,
            bound.shown.clone(),
            "no certificate (plain HTTP)".into(),
        );
    };
    let until = humantime::format_rfc3339_seconds(not_after);
    let (left, actual) = match not_after.duration_since(SystemTime::now()) {
        Ok(left) => (left, format!("{} (until {until})", format_days(left))),
        Err(e) => (
            Duration::ZERO,
            format!("expired {} ago ({until})", format_days(e.duration())),
        ),
    };
    result(subject, bound.holds(&left), bound.shown.clone(), actual)
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
