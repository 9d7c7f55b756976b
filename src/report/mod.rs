//! Reports of finished runs: the console, a JSON document, JUnit XML, an HTML page.

pub mod console;
pub mod html;
pub mod json;
pub mod junit;

use crate::run::{Outcome, Run};

/// How many runs passed, failed and errored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Runs that passed (after retries or not), degraded ones included.
    pub passed: usize,
    /// Runs that passed but were degraded (also counted in `passed`).
    pub degraded: usize,
    /// Runs whose assertions did not hold.
    pub failed: usize,
    /// Runs that could not complete.
    pub errored: usize,
    /// Runs that passed only after a retry (also counted in `passed`).
    pub flaky: usize,
}

impl Summary {
    /// Counts `runs`.
    pub fn of(runs: &[Run]) -> Self {
        let mut s = Summary::default();
        for r in runs {
            match r.outcome() {
                Outcome::Passed => s.passed += 1,
                Outcome::Degraded => {
                    s.passed += 1;
                    s.degraded += 1;
                }
                Outcome::Failed => s.failed += 1,
                Outcome::Errored => s.errored += 1,
            }
            s.flaky += usize::from(r.flaky());
        }
        s
    }

    /// True when every run passed (degraded counts as passed).
    pub fn all_passed(&self) -> bool {
        self.failed == 0 && self.errored == 0
    }

    /// The exit code: 0 when every run passed (and none was degraded, if `fail_on_degraded`), else 1.
    pub fn exit_code(&self, fail_on_degraded: bool) -> u8 {
        u8::from(!self.all_passed() || (fail_on_degraded && self.degraded > 0))
    }
}

/// Milliseconds with microsecond precision, as reports write durations.
pub fn millis(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// A count and its noun: `count(1, "attempt", "attempts")` is "1 attempt", with 3 "3 attempts".
pub fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// A count of canaries in words: "1 canary", "3 canaries".
pub fn canaries(n: usize) -> String {
    count(n, "canary", "canaries")
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_count_of_canaries_reads_as_words() {
        assert_eq!(super::canaries(0), "0 canaries");
        assert_eq!(super::canaries(1), "1 canary");
        assert_eq!(super::canaries(2), "2 canaries");
    }
}
