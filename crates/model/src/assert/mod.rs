//! Evaluating assertions against what a check observed: pure functions, expected vs actual.

mod dns;
mod json;
pub use json::as_text;
mod tls;

use std::time::Duration;

use crate::canary::assertion::{Assertion, StatusPattern, TextTest};
use crate::observed::Observed;
use crate::redact::Redactor;
use crate::run::AssertionResult;
use crate::template::Captures;

/// Evaluates `assertion` against `seen`; `captures` fill templates in expected values. What
/// is shown of a body is redacted by `r` before it is cut short, so no part of a secret shows.
pub fn evaluate(
    assertion: &Assertion,
    seen: &Observed,
    captures: &Captures,
    r: &Redactor,
) -> AssertionResult {
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
            result("body".into(), passed, expected, preview(&r.redacted(&text)))
        }
        Assertion::Json(j) => json::json(&j.0, &j.1, seen, captures, r),
        Assertion::Tls(test) => tls::tls(test, seen, captures),
        Assertion::Cookie(name, test) => {
            let value = seen.cookie(name);
            let (passed, expected) = text_test(test, value, captures);
            let actual = value.map_or_else(|| "(absent)".into(), |v| format!("{v:?}"));
            result(format!("cookie {name}"), passed, expected, actual)
        }
        Assertion::Rcode(_)
        | Assertion::Answers(_)
        | Assertion::Ttl(_)
        | Assertion::Authoritative(_) => dns::dns(assertion, seen, captures),
    }
}

pub(crate) fn result(
    subject: String,
    passed: bool,
    expected: String,
    actual: String,
) -> AssertionResult {
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
        (TextTest::NotEquals(s), t) => {
            let s = s.render(captures);
            (t != Some(s.as_str()), format!("not {s:?}"))
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

pub(crate) fn exists_word(want: bool) -> &'static str {
    if want { "present" } else { "absent" }
}

pub(crate) fn format_days(d: Duration) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Template;

    #[test]
    fn a_secret_across_the_cut_of_a_long_body_is_masked_whole() {
        let secret = "s3cr3t-value";
        let body = format!("{}{secret}{}", "x".repeat(195), "y".repeat(100));
        let seen = Observed {
            body: body.into_bytes(),
            ..Observed::default()
        };
        let test = Assertion::Body(Box::new(TextTest::Equals(Template::literal("z"))));
        let r = Redactor::new([secret.to_string()]);
        let got = evaluate(&test, &seen, &Captures::default(), &r);
        assert!(got.actual.contains("x***y"), "{}", got.actual);
        assert!(!got.actual.contains("s3cr"), "{}", got.actual);
    }
}
