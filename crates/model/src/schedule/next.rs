//! The instants a schedule fires at: rates count from the start, cron fields are read in the
//! schedule's time zone.

use chrono::offset::LocalResult;
use chrono::{
    DateTime, Datelike, NaiveDate, NaiveDateTime, Offset, TimeDelta, TimeZone, Timelike, Utc,
    Weekday,
};
use chrono_tz::Tz;

use super::{Cron, DayOfMonth, DayOfWeek, Schedule, ScheduleKind};

/// The last year a cron expression can name (as in AWS).
const LAST_YEAR: i32 = 2199;

impl Schedule {
    /// The first instant strictly after `after` at which the schedule fires, or None if it
    /// never fires again. A rate (and `rate(0 minute)`) fires first at `start`, the moment the
    /// scheduler took the canary on.
    pub fn next_after(&self, after: DateTime<Utc>, start: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match &self.kind {
            ScheduleKind::Once => (after < start).then_some(start),
            ScheduleKind::Rate(every) => {
                if after < start {
                    return Some(start);
                }
                let every_ms = i64::try_from(every.as_millis()).ok()?.max(1);
                let n = (after - start).num_milliseconds() / every_ms + 1;
                Some(start + TimeDelta::milliseconds(every_ms.checked_mul(n)?))
            }
            ScheduleKind::Cron(c) => next_cron(c, self.tz, after),
        }
    }
}

/// The next minute after `after` that the cron matches, as an instant.
fn next_cron(c: &Cron, tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let local = after.with_timezone(&tz).naive_local();
    let mut t = local.with_second(0)?.with_nanosecond(0)? + TimeDelta::minutes(1);
    while t.year() <= LAST_YEAR {
        if !c.year_ok(t.year()) {
            t = start_of_day(NaiveDate::from_ymd_opt(c.next_year(t.year())?, 1, 1)?);
        } else if c.months & (1 << t.month()) == 0 {
            t = start_of_day(first_of_next_month(t.date())?);
        } else if !c.day_ok(t.date()) {
            t = start_of_day(t.date().succ_opt()?);
        } else if c.hours & (1 << t.hour()) == 0 {
            t = t.with_minute(0)? + TimeDelta::hours(1);
        } else if c.minutes & (1 << t.minute()) == 0 {
            t += TimeDelta::minutes(1);
        } else if let Some(at) = instant(tz, t, after) {
            return Some(at);
        } else {
            t += TimeDelta::minutes(1);
        }
    }
    None
}

/// The instant of local time `t`, if it is after `after`. A time that does not exist (DST
/// starts) is read with the offset in force before the gap, so a daily 02:30 still runs, at
/// 03:30 by the clock. A time that happens twice (DST ends) fires once, at its first occurrence.
fn instant(tz: Tz, t: NaiveDateTime, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let at = match tz.from_local_datetime(&t) {
        LocalResult::Single(dt) => dt.with_timezone(&Utc),
        LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        LocalResult::None => {
            let before = tz
                .from_local_datetime(&(t - TimeDelta::hours(3)))
                .earliest()?;
            let offset = before.offset().fix().local_minus_utc();
            (t - TimeDelta::seconds(offset.into())).and_utc()
        }
    };
    (at > after).then_some(at)
}

fn start_of_day(d: NaiveDate) -> NaiveDateTime {
    d.and_hms_opt(0, 0, 0).expect("midnight exists")
}

fn first_of_next_month(d: NaiveDate) -> Option<NaiveDate> {
    let (y, m) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
}

fn last_day(d: NaiveDate) -> u32 {
    first_of_next_month(d)
        .and_then(|n| n.pred_opt())
        .map_or(28, |l| l.day())
}

impl Cron {
    fn year_ok(&self, year: i32) -> bool {
        self.years
            .as_ref()
            .is_none_or(|ys| ys.iter().any(|y| i32::from(*y) == year))
    }

    fn next_year(&self, year: i32) -> Option<i32> {
        match &self.years {
            None => Some(year + 1),
            Some(ys) => ys.iter().map(|y| i32::from(*y)).filter(|y| *y > year).min(),
        }
    }

    /// Whether the cron fires on this date. AWS requires one day field to be `?`; Unix cron
    /// fires when either restricted day field matches.
    fn day_ok(&self, d: NaiveDate) -> bool {
        let dom = (self.days != DayOfMonth::Any).then(|| dom_matches(&self.days, d));
        let dow = (self.weekdays != DayOfWeek::Any).then(|| dow_matches(&self.weekdays, d));
        match (dom, dow) {
            (None, None) => true,
            (Some(x), None) | (None, Some(x)) => x,
            (Some(a), Some(b)) if self.unix => a || b,
            (Some(a), Some(b)) => a && b,
        }
    }
}

fn dom_matches(spec: &DayOfMonth, d: NaiveDate) -> bool {
    let (day, last) = (d.day(), last_day(d));
    match spec {
        DayOfMonth::Any => true,
        DayOfMonth::Days(mask) => mask & (1 << day) != 0,
        DayOfMonth::Last(back) => last.checked_sub(u32::from(*back)) == Some(day),
        DayOfMonth::NearestWeekday(n) => nearest_weekday(d, u32::from(*n), last) == Some(day),
        DayOfMonth::LastWeekday => nearest_weekday(d, last, last) == Some(day),
    }
}

/// The weekday nearest day `n` of `d`'s month, without leaving the month.
fn nearest_weekday(d: NaiveDate, n: u32, last: u32) -> Option<u32> {
    if n > last {
        return None;
    }
    Some(match d.with_day(n)?.weekday() {
        Weekday::Sat if n == 1 => 3,
        Weekday::Sat => n - 1,
        Weekday::Sun if n == last => n - 2,
        Weekday::Sun => n + 1,
        _ => n,
    })
}

fn dow_matches(spec: &DayOfWeek, d: NaiveDate) -> bool {
    let wd = d.weekday().num_days_from_sunday() as u8;
    match spec {
        DayOfWeek::Any => true,
        DayOfWeek::Days(mask) => mask & (1 << wd) != 0,
        DayOfWeek::Last(w) => wd == *w && d.day() + 7 > last_day(d),
        DayOfWeek::Nth(w, n) => wd == *w && (d.day() - 1) / 7 + 1 == u32::from(*n),
    }
}
