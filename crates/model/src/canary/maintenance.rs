//! Maintenance windows, as compiled: when each window is open. The canaries a window covers
//! hold it (`Canary::maintenance`); a run that starts while one is open records its name.

use std::time::{Duration, SystemTime};

use chrono::{DateTime, TimeDelta, Utc};

use crate::schedule::Schedule;

/// A maintenance window: runs go on and are recorded, but change no alert state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Its name in the project file, recorded on the runs it covers.
    pub name: String,
    /// When it is open.
    pub when: When,
}

/// When a window is open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum When {
    /// Every time a cron fires, for a while.
    Every {
        /// When each window starts (a cron, in its time zone).
        schedule: Schedule,
        /// How long each lasts.
        duration: Duration,
    },
    /// Once, from `start` until `end`.
    Once {
        /// When it opens.
        start: DateTime<Utc>,
        /// When it closes.
        end: DateTime<Utc>,
    },
}

impl Window {
    /// True when the window is open at `t` (from its start, until before its end).
    pub fn open_at(&self, t: DateTime<Utc>) -> bool {
        self.next(t).is_some_and(|(start, _)| start <= t)
    }

    /// The window open at `t`, or else the next one: its start and end. None when it never
    /// opens again.
    pub fn next(&self, t: DateTime<Utc>) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        match &self.when {
            When::Once { start, end } => (t < *end).then_some((*start, *end)),
            When::Every { schedule, duration } => {
                let length = TimeDelta::from_std(*duration).ok()?;
                // The first start after `t - length` is the one still open at `t`, if any.
                let start = schedule.next_after(t - length, t)?;
                Some((start, start + length))
            }
        }
    }
}

/// The name of the first of `windows` open at `t`.
pub fn open_at(windows: &[std::sync::Arc<Window>], t: SystemTime) -> Option<&str> {
    let t = DateTime::<Utc>::from(t);
    windows
        .iter()
        .find(|w| w.open_at(t))
        .map(|w| w.name.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weekly(duration: Duration) -> Window {
        let mut schedule: Schedule = "cron(0 2 ? * SUN *)".parse().unwrap();
        schedule.tz = chrono_tz::Europe::Berlin;
        Window {
            name: "weekly-db".into(),
            when: When::Every { schedule, duration },
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_cron_window_is_open_from_its_start_until_before_its_end_in_its_time_zone() {
        let w = weekly(Duration::from_secs(2 * 3600));
        // Sunday 2026-12-13 02:00 in Berlin is 01:00 UTC.
        assert!(!w.open_at(at("2026-12-13T00:59:59Z")));
        assert!(w.open_at(at("2026-12-13T01:00:00Z")));
        assert!(w.open_at(at("2026-12-13T02:59:59Z")));
        assert!(!w.open_at(at("2026-12-13T03:00:00Z")));
        let (start, end) = w.next(at("2026-12-13T03:00:00Z")).unwrap();
        assert_eq!(
            (start, end),
            (at("2026-12-20T01:00:00Z"), at("2026-12-20T03:00:00Z"))
        );
        let (start, _) = w.next(at("2026-12-13T02:00:00Z")).unwrap();
        assert_eq!(
            start,
            at("2026-12-13T01:00:00Z"),
            "the open one comes first"
        );
    }

    #[test]
    fn a_window_longer_than_its_period_is_always_open() {
        let w = weekly(Duration::from_secs(8 * 24 * 3600));
        assert!(w.open_at(at("2026-12-16T12:00:00Z")));
    }

    #[test]
    fn a_one_off_window_is_open_between_start_and_end() {
        let w = Window {
            name: "migration".into(),
            when: When::Once {
                start: at("2026-12-10T22:00:00Z"),
                end: at("2026-12-11T01:00:00Z"),
            },
        };
        assert!(!w.open_at(at("2026-12-10T21:59:59Z")));
        assert!(w.open_at(at("2026-12-10T22:00:00Z")));
        assert!(!w.open_at(at("2026-12-11T01:00:00Z")));
        assert_eq!(w.next(at("2026-12-11T01:00:00Z")), None);
    }
}
