//! Fire times, table-driven: AWS's documented cron examples, every special character, month and
//! year rollovers, leap years, DST in a named time zone, Unix cron and rates.

use canary::schedule::Schedule;
use chrono::{DateTime, Utc};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("{s}: {e}"))
        .with_timezone(&Utc)
}

/// The next `n` fire instants after `after` (UTC, RFC 3339 to the minute).
fn fires(expr: &str, tz: &str, after: &str, n: usize) -> Vec<String> {
    fires_from(expr, tz, after, n, false)
}

/// The first `n` fire instants of a scheduler started at `start` (a rate fires at the start).
fn fires_from_start(expr: &str, start: &str, n: usize) -> Vec<String> {
    fires_from(expr, "UTC", start, n, true)
}

fn fires_from(expr: &str, tz: &str, after: &str, n: usize, inclusive: bool) -> Vec<String> {
    let mut s: Schedule = expr.parse().unwrap_or_else(|e| panic!("{expr}: {e}"));
    s.tz = tz.parse().unwrap();
    let start = at(after);
    let mut t = if inclusive {
        start - chrono::TimeDelta::milliseconds(1)
    } else {
        start
    };
    let mut out = Vec::new();
    for _ in 0..n {
        match s.next_after(t, start) {
            Some(next) => {
                out.push(next.format("%Y-%m-%dT%H:%MZ").to_string());
                t = next;
            }
            None => break,
        }
    }
    out
}

#[test]
fn aws_documented_examples() {
    // (expression, after, expected next instants) — 2026-11-24 is a Tuesday.
    let table: &[(&str, &str, &[&str])] = &[
        (
            "cron(0 10 * * ? *)",
            "2026-11-24T09:40:00Z",
            &["2026-11-24T10:00Z", "2026-11-25T10:00Z"],
        ),
        (
            "cron(15 12 * * ? *)",
            "2026-11-24T12:15:00Z",
            &["2026-11-25T12:15Z"],
        ),
        (
            "cron(0 18 ? * MON-FRI *)",
            "2026-11-27T19:00:00Z",
            &["2026-11-30T18:00Z", "2026-12-01T18:00Z"],
        ),
        (
            "cron(0 8 1 * ? *)",
            "2026-11-24T09:40:00Z",
            &["2026-12-01T08:00Z", "2027-01-01T08:00Z"],
        ),
        (
            "cron(0/15 * * * ? *)",
            "2026-11-24T09:40:00Z",
            &["2026-11-24T09:45Z", "2026-11-24T10:00Z"],
        ),
        (
            "cron(0/10 * ? * MON-FRI *)",
            "2026-11-27T23:55:00Z",
            &["2026-11-30T00:00Z", "2026-11-30T00:10Z"],
        ),
        (
            "cron(0/5 8-17 ? * MON-FRI *)",
            "2026-11-24T17:56:00Z",
            &["2026-11-25T08:00Z", "2026-11-25T08:05Z"],
        ),
        (
            "cron(0 9 ? * 2#1 *)",
            "2026-11-24T00:00:00Z",
            &["2026-12-07T09:00Z", "2027-01-04T09:00Z"],
        ),
    ];
    for (expr, after, want) in table {
        assert_eq!(
            fires(expr, "UTC", after, want.len()),
            *want,
            "{expr} after {after}"
        );
    }
}

#[test]
fn special_characters_and_rollovers() {
    let table: &[(&str, &str, &[&str])] = &[
        // L: the last day, across month lengths and a leap February.
        (
            "cron(0 0 L * ? *)",
            "2027-01-31T00:00:00Z",
            &["2027-02-28T00:00Z", "2027-03-31T00:00Z"],
        ),
        (
            "cron(0 0 L * ? *)",
            "2028-01-31T12:00:00Z",
            &["2028-02-29T00:00Z"],
        ),
        (
            "cron(0 0 L-2 * ? *)",
            "2026-11-24T00:00:00Z",
            &["2026-11-28T00:00Z", "2026-12-29T00:00Z"],
        ),
        // W: 15 Nov 2026 is a Sunday → Monday 16th; 1 May 2027 is a Saturday → Monday 3rd.
        (
            "cron(0 0 15W * ? *)",
            "2026-11-01T00:00:00Z",
            &["2026-11-16T00:00Z", "2026-12-15T00:00Z"],
        ),
        (
            "cron(0 0 1W * ? *)",
            "2027-04-02T00:00:00Z",
            &["2027-05-03T00:00Z"],
        ),
        // LW: 31 Jan 2027 is a Sunday → Friday 29th.
        (
            "cron(0 0 LW * ? *)",
            "2027-01-01T00:00:00Z",
            &["2027-01-29T00:00Z", "2027-02-26T00:00Z"],
        ),
        // 6L: the last Friday; #: the n-th weekday, with names.
        (
            "cron(0 0 ? * 6L *)",
            "2026-11-24T00:00:00Z",
            &["2026-11-27T00:00Z", "2026-12-25T00:00Z"],
        ),
        (
            "cron(0 0 ? JAN,JUL SUN#1 *)",
            "2026-11-24T00:00:00Z",
            &["2027-01-03T00:00Z", "2027-07-04T00:00Z"],
        ),
        // Years, year rollover, leap day.
        (
            "cron(0 12 1 1 ? 2028)",
            "2026-11-24T00:00:00Z",
            &["2028-01-01T12:00Z"],
        ),
        (
            "cron(59 23 31 12 ? *)",
            "2026-12-31T23:59:00Z",
            &["2027-12-31T23:59Z"],
        ),
        (
            "cron(0 0 29 2 ? *)",
            "2026-11-24T00:00:00Z",
            &["2028-02-29T00:00Z", "2032-02-29T00:00Z"],
        ),
        // Never again: a year list that has passed; a day that does not exist.
        ("cron(0 12 1 1 ? 2025)", "2026-11-24T00:00:00Z", &[]),
        ("cron(0 0 30 2 ? *)", "2026-11-24T00:00:00Z", &[]),
    ];
    for (expr, after, want) in table {
        assert_eq!(
            fires(expr, "UTC", after, want.len().max(1)),
            *want,
            "{expr} after {after}"
        );
    }
}

#[test]
fn daylight_saving_time_in_a_named_zone() {
    // Berlin: 2027-03-28 02:00 CET → 03:00 CEST; 2027-10-31 03:00 CEST → 02:00 CET.
    let berlin = "Europe/Berlin";
    // 02:30 does not exist on 28 March: it is read as 02:30+01:00 (03:30 CEST).
    assert_eq!(
        fires("cron(30 2 * * ? *)", berlin, "2027-03-26T12:00:00Z", 3),
        [
            "2027-03-27T01:30Z",
            "2027-03-28T01:30Z",
            "2027-03-29T00:30Z"
        ]
    );
    // 02:30 happens twice on 31 October: it fires once, at the first (CEST) one.
    assert_eq!(
        fires("cron(30 2 * * ? *)", berlin, "2027-10-30T12:00:00Z", 3),
        [
            "2027-10-31T00:30Z",
            "2027-11-01T01:30Z",
            "2027-11-02T01:30Z"
        ]
    );
    // Local 09:00 on weekdays follows the zone across the change.
    assert_eq!(
        fires("cron(0 9 ? * MON-FRI *)", berlin, "2027-03-26T12:00:00Z", 2),
        ["2027-03-29T07:00Z", "2027-03-30T07:00Z"]
    );
    assert_eq!(
        fires("0 9 * * 1", "America/New_York", "2027-03-10T00:00:00Z", 2),
        ["2027-03-15T13:00Z", "2027-03-22T13:00Z"]
    );
}

#[test]
fn unix_cron_and_rates() {
    assert_eq!(
        fires("*/5 * * * *", "UTC", "2026-11-24T09:41:00Z", 2),
        ["2026-11-24T09:45Z", "2026-11-24T09:50Z"]
    );
    // Both day fields restricted: Unix cron fires on either (Monday the 30th, then the 1st).
    assert_eq!(
        fires("0 12 1 * MON", "UTC", "2026-11-24T13:00:00Z", 2),
        ["2026-11-30T12:00Z", "2026-12-01T12:00Z"]
    );
    assert_eq!(
        fires("0 0 * * 7", "UTC", "2026-11-24T00:00:00Z", 1),
        ["2026-11-29T00:00Z"]
    );
    // A rate fires at the start, then every period.
    assert_eq!(
        fires_from_start("rate(5 minutes)", "2026-11-24T09:41:30Z", 3),
        [
            "2026-11-24T09:41Z",
            "2026-11-24T09:46Z",
            "2026-11-24T09:51Z"
        ]
    );
    assert_eq!(
        fires_from_start("rate(0 minute)", "2026-11-24T09:41:00Z", 3),
        ["2026-11-24T09:41Z"]
    );
    let s: Schedule = "rate(30 seconds)".parse().unwrap();
    let start = at("2026-11-24T00:00:00Z");
    assert_eq!(
        s.next_after(at("2026-11-24T00:00:45Z"), start),
        Some(at("2026-11-24T00:01:00Z"))
    );
}
