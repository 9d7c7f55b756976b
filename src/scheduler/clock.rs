//! The scheduler's clock: wall time for cron, sleeping on tokio's timer (pausable in tests).

use std::time::Duration;

use chrono::{DateTime, Utc};

/// Where the scheduler reads the time.
#[derive(Debug, Clone)]
pub enum Clock {
    /// The system clock.
    System,
    /// Wall time that follows tokio's clock from a fixed start: with tokio's paused time, tests
    /// move through hours of schedule in milliseconds.
    Tokio {
        /// The wall time at `at`.
        start: DateTime<Utc>,
        /// tokio's instant when the clock was made.
        at: tokio::time::Instant,
    },
}

impl Clock {
    /// A clock that reads `start` now and follows tokio's clock from here.
    pub fn following_tokio(start: DateTime<Utc>) -> Clock {
        Clock::Tokio {
            start,
            at: tokio::time::Instant::now(),
        }
    }

    /// The current wall time.
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Tokio { start, at } => {
                let elapsed = chrono::TimeDelta::from_std(at.elapsed()).unwrap_or_default();
                *start + elapsed
            }
        }
    }

    /// Sleeps until wall time `t`, waking at least once a minute so a changed system clock
    /// is noticed.
    pub async fn sleep_until(&self, t: DateTime<Utc>) {
        loop {
            let left = (t - self.now()).to_std().unwrap_or_default();
            if left.is_zero() {
                return;
            }
            tokio::time::sleep(left.min(Duration::from_secs(60))).await;
        }
    }
}
