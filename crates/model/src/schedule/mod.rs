//! Schedules: CloudWatch Synthetics `rate(…)` and six-field AWS `cron(…)`, five-field Unix cron,
//! and the instants they fire at.

mod next;
mod parse;

use std::fmt;
use std::time::Duration;

use chrono_tz::Tz;

/// A parsed schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// The expression as written.
    pub source: String,
    /// What it means.
    pub kind: ScheduleKind,
    /// The time zone cron fields are read in (UTC unless the canary says `timezone:`).
    pub tz: Tz,
}

/// The meaning of a schedule expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleKind {
    /// `rate(0 minute)`: run once, at start.
    Once,
    /// `rate(N unit)`: every N units, from start.
    Rate(Duration),
    /// `cron(…)` or a five-field Unix cron line.
    Cron(Cron),
}

/// A cron expression, fields already expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    /// Minutes 0–59 (bit n set = minute n).
    pub minutes: u64,
    /// Hours 0–23.
    pub hours: u32,
    /// Day of month.
    pub days: DayOfMonth,
    /// Months 1–12 (bit n set = month n).
    pub months: u16,
    /// Day of week.
    pub weekdays: DayOfWeek,
    /// Years (AWS only); `None` is every year.
    pub years: Option<Vec<u16>>,
    /// Unix cron: when both day fields are restricted, a day matching either fires (AWS forbids that case).
    pub unix: bool,
}

/// The day-of-month field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DayOfMonth {
    /// `*` or `?`.
    Any,
    /// Days 1–31 (bit n set = day n).
    Days(u32),
    /// `L` or `L-n`: the last day of the month, less n days.
    Last(u8),
    /// `nW`: the weekday nearest day n, within the month.
    NearestWeekday(u8),
    /// `LW`: the last weekday of the month.
    LastWeekday,
}

/// The day-of-week field; days are stored 0 = Sunday … 6 = Saturday.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DayOfWeek {
    /// `*` or `?`.
    Any,
    /// Days of the week (bit n set = weekday n).
    Days(u8),
    /// `nL`: the last such weekday of the month.
    Last(u8),
    /// `d#n`: the n-th such weekday of the month (1–5).
    Nth(u8, u8),
}

/// Why an expression could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ScheduleError(pub(crate) String);

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)?;
        if self.tz != chrono_tz::UTC {
            write!(f, " {}", self.tz.name())?;
        }
        Ok(())
    }
}
