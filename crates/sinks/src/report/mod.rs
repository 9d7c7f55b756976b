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

pub use crate::text::{canaries, count, millis};
