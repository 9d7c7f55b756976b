//! JSON assertions: the value(s) a JSONPath selects, as one node or an array.

use serde_json::Value;

use super::{exists_word, preview, result};
use crate::canary::assertion::{JsonQuery, JsonTest};
use crate::observed::Observed;
use crate::redact::Redactor;
use crate::run::AssertionResult;
use crate::template::Captures;

pub(super) fn json(
    query: &JsonQuery,
    test: &JsonTest,
    seen: &Observed,
    captures: &Captures,
    r: &Redactor,
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
    let actual = node.as_ref().map_or_else(
        || "(nothing selected)".into(),
        |v| preview(&r.redacted(&v.to_string())),
    );
    let passed = match (test, &node) {
        (JsonTest::Exists(want), n) => n.is_some() == *want,
        (_, None) => false,
        (JsonTest::Equals(want), Some(v)) => json_equal(v, want),
        (JsonTest::EqualsText(t), Some(v)) => as_text(v) == t.render(captures),
        (JsonTest::NotEquals(want), Some(v)) => !json_equal(v, want),
        (JsonTest::NotEqualsText(t), Some(v)) => as_text(v) != t.render(captures),
        (JsonTest::Contains(want), Some(v)) => json_contains(v, want),
        (JsonTest::NotContains(want), Some(v)) => !json_contains(v, want),
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
        JsonTest::NotEquals(v) => format!("not {v}"),
        JsonTest::NotEqualsText(t) => format!("not {:?}", t.render(captures)),
        JsonTest::Contains(v) => format!("containing {v}"),
        JsonTest::NotContains(v) => format!("not containing {v}"),
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
