//! DNS assertions: the response code, the answers, their lowest TTL, and the authoritative flag.

use super::result;
use crate::canary::assertion::{AnswerTest, Assertion};
use crate::observed::Observed;
use crate::run::AssertionResult;
use crate::template::Captures;

/// Evaluates a DNS assertion (anything else is not one: a failed result says so).
pub(super) fn dns(a: &Assertion, seen: &Observed, captures: &Captures) -> AssertionResult {
    let subject = match a {
        Assertion::Rcode(_) => "dns rcode",
        Assertion::Answers(_) => "dns answers",
        Assertion::Ttl(_) => "dns ttl",
        _ => "dns authoritative",
    };
    let Some(d) = &seen.dns else {
        return result(
            subject.into(),
            false,
            "a DNS response".into(),
            "no DNS query in this step".into(),
        );
    };
    let data: Vec<&str> = d.answers.iter().map(|x| x.data.as_str()).collect();
    let shown = if data.is_empty() {
        "(no answers)".to_string()
    } else {
        data.join(", ")
    };
    let (passed, expected, actual) = match a {
        Assertion::Rcode(want) => (&d.rcode == want, want.clone(), d.rcode.clone()),
        Assertion::Answers(test) => {
            let (ok, exp) = answers(test, &data, captures);
            let actual = match **test {
                AnswerTest::Count(_) => format!("{} ({shown})", data.len()),
                _ => shown,
            };
            (ok, exp, actual)
        }
        Assertion::Ttl(bound) => match d.answers.iter().map(|x| u64::from(x.ttl)).min() {
            Some(ttl) => (bound.holds(&ttl), bound.shown.clone(), format!("{ttl}s")),
            None => (false, bound.shown.clone(), "(no answers)".into()),
        },
        Assertion::Authoritative(want) => (
            d.authoritative == *want,
            want.to_string(),
            d.authoritative.to_string(),
        ),
        _ => (false, String::new(), String::new()),
    };
    result(subject.into(), passed, expected, actual)
}

/// Whether the answers pass `test`, and what was expected.
fn answers(test: &AnswerTest, data: &[&str], captures: &Captures) -> (bool, String) {
    let norm = |s: &str| s.trim_end_matches('.').to_ascii_lowercase();
    let has = |pred: &dyn Fn(&str) -> bool| data.iter().any(|d| pred(d));
    match test {
        AnswerTest::Contains(t) => {
            let want = t.render(captures);
            (
                has(&|d| d.contains(&want) || norm(d).contains(&norm(&want))),
                format!("an answer containing {want:?}"),
            )
        }
        AnswerTest::NotContains(t) => {
            let want = t.render(captures);
            (
                !has(&|d| d.contains(&want)),
                format!("no answer containing {want:?}"),
            )
        }
        AnswerTest::Includes(t) => {
            let want = t.render(captures);
            (
                has(&|d| norm(d) == norm(&want)),
                format!("an answer {want:?}"),
            )
        }
        AnswerTest::Excludes(t) => {
            let want = t.render(captures);
            (
                !has(&|d| norm(d) == norm(&want)),
                format!("no answer {want:?}"),
            )
        }
        AnswerTest::Equals(list) => {
            let mut want: Vec<String> = list.iter().map(|t| norm(&t.render(captures))).collect();
            let mut got: Vec<String> = data.iter().map(|d| norm(d)).collect();
            want.sort();
            got.sort();
            (want == got, format!("exactly {}", want.join(", ")))
        }
        AnswerTest::Matches(re) => (
            has(&|d| re.is_match(d)),
            format!("an answer matching /{}/", re.as_str()),
        ),
        AnswerTest::Count(b) => (b.holds(&(data.len() as u64)), format!("count {}", b.shown)),
    }
}
