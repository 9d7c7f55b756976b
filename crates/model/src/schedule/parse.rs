//! Parsing schedule expressions: `rate(…)`, six-field AWS `cron(…)`, five-field Unix cron.

use std::time::Duration;

use super::{Cron, DayOfMonth, DayOfWeek, Schedule, ScheduleError, ScheduleKind};

fn err<T>(msg: impl Into<String>) -> Result<T, ScheduleError> {
    Err(ScheduleError(msg.into()))
}

impl std::str::FromStr for Schedule {
    type Err = ScheduleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let kind = if let Some(inner) = strip_call(t, "rate") {
            parse_rate(inner)?
        } else if let Some(inner) = strip_call(t, "cron") {
            ScheduleKind::Cron(parse_aws_cron(inner)?)
        } else if t.split_whitespace().count() == 5 {
            ScheduleKind::Cron(parse_unix_cron(t)?)
        } else {
            return err(format!(
                "`{t}` is not a schedule: write rate(5 minutes), cron(0/5 * * * ? *) or a five-field cron like */5 * * * *"
            ));
        };
        Ok(Schedule {
            source: t.to_string(),
            kind,
            tz: chrono_tz::UTC,
        })
    }
}

fn strip_call<'a>(s: &'a str, name: &str) -> Option<&'a str> {
    s.strip_prefix(name)?
        .trim_start()
        .strip_prefix('(')?
        .strip_suffix(')')
}

fn parse_rate(inner: &str) -> Result<ScheduleKind, ScheduleError> {
    let words: Vec<&str> = inner.split_whitespace().collect();
    let [n, unit] = words[..] else {
        return err(format!(
            "rate({inner}) needs a number and a unit, like rate(5 minutes)"
        ));
    };
    let n: u64 = n.parse().map_err(|_| {
        ScheduleError(format!(
            "rate({inner}): `{n}` is not a whole number of {unit}"
        ))
    })?;
    let secs = match unit {
        "second" | "seconds" => 1,
        "minute" | "minutes" => 60,
        "hour" | "hours" => 3600,
        "day" | "days" => 86_400,
        other => {
            return err(format!(
                "rate({inner}): unknown unit `{other}`; use seconds, minutes, hours or days"
            ));
        }
    };
    if n == 0 {
        return if secs == 60 {
            Ok(ScheduleKind::Once)
        } else {
            err(format!(
                "rate({inner}): a zero rate is written rate(0 minute) (run once)"
            ))
        };
    }
    let total = n.checked_mul(secs).filter(|t| *t <= 366 * 86_400);
    match total {
        Some(t) => Ok(ScheduleKind::Rate(Duration::from_secs(t))),
        None => err(format!("rate({inner}) is longer than a year")),
    }
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// The range and names of one simple field.
struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
    /// The number the first name stands for.
    names_from: u32,
}

const MINUTE: Field = Field {
    name: "minutes",
    min: 0,
    max: 59,
    names: &[],
    names_from: 0,
};
const HOUR: Field = Field {
    name: "hours",
    min: 0,
    max: 23,
    names: &[],
    names_from: 0,
};
const DOM: Field = Field {
    name: "day-of-month",
    min: 1,
    max: 31,
    names: &[],
    names_from: 0,
};
const MONTH: Field = Field {
    name: "month",
    min: 1,
    max: 12,
    names: &MONTHS,
    names_from: 1,
};
const AWS_DOW: Field = Field {
    name: "day-of-week",
    min: 1,
    max: 7,
    names: &DAYS,
    names_from: 1,
};
const UNIX_DOW: Field = Field {
    name: "day-of-week",
    min: 0,
    max: 7,
    names: &DAYS,
    names_from: 0,
};
const YEAR: Field = Field {
    name: "year",
    min: 1970,
    max: 2199,
    names: &[],
    names_from: 0,
};

impl Field {
    fn value(&self, s: &str) -> Result<u32, ScheduleError> {
        let upper = s.to_ascii_uppercase();
        if let Some(i) = self.names.iter().position(|n| *n == upper) {
            return Ok(i as u32 + self.names_from);
        }
        let named = self
            .names
            .first()
            .map_or(String::new(), |n| format!(" or a name like {n}"));
        match s.parse::<u32>() {
            Ok(v) if (self.min..=self.max).contains(&v) => Ok(v),
            _ => err(format!(
                "{} field: `{s}` is not a value from {} to {}{named}",
                self.name, self.min, self.max
            )),
        }
    }

    /// Expands `*`, `a`, `a-b`, `*/n`, `a/n`, `a-b/n` and comma lists into the values they cover.
    fn expand(&self, spec: &str) -> Result<Vec<u32>, ScheduleError> {
        let mut out = Vec::new();
        for item in spec.split(',') {
            let (range, step) = match item.split_once('/') {
                Some((r, s)) => match s.parse::<u32>() {
                    Ok(s) if s > 0 => (r, s),
                    _ => return err(format!("{} field: `{item}` has a bad step", self.name)),
                },
                None => (item, 1),
            };
            let (lo, hi) = match range {
                "*" => (self.min, self.max),
                r => match r.split_once('-') {
                    Some((a, b)) => (self.value(a)?, self.value(b)?),
                    None if item.contains('/') => (self.value(r)?, self.max),
                    None => (self.value(r)?, self.value(r)?),
                },
            };
            if lo > hi {
                return err(format!("{} field: `{item}` runs backwards", self.name));
            }
            out.extend((lo..=hi).step_by(step as usize));
        }
        Ok(out)
    }

    fn mask(&self, spec: &str) -> Result<u64, ScheduleError> {
        Ok(self.expand(spec)?.into_iter().fold(0, |m, v| m | 1 << v))
    }
}

fn parse_aws_cron(inner: &str) -> Result<Cron, ScheduleError> {
    let f: Vec<&str> = inner.split_whitespace().collect();
    let [min, hour, dom, month, dow, year] = f[..] else {
        return err(format!(
            "cron({inner}) has {} fields; AWS cron has six: minutes hours day-of-month month day-of-week year",
            f.len()
        ));
    };
    if (dom == "?") == (dow == "?") {
        return err(format!(
            "cron({inner}): exactly one of day-of-month and day-of-week must be `?` (AWS rule), e.g. cron(0 12 * * ? *)"
        ));
    }
    let years = match year {
        "*" => None,
        y => Some(YEAR.expand(y)?.into_iter().map(|v| v as u16).collect()),
    };
    Ok(Cron {
        minutes: MINUTE.mask(min)?,
        hours: HOUR.mask(hour)? as u32,
        days: parse_dom(dom)?,
        months: MONTH.mask(month)? as u16,
        weekdays: parse_aws_dow(dow)?,
        years,
        unix: false,
    })
}

fn parse_unix_cron(line: &str) -> Result<Cron, ScheduleError> {
    let f: Vec<&str> = line.split_whitespace().collect();
    let [min, hour, dom, month, dow] = f[..] else {
        return err("a Unix cron line has five fields");
    };
    let days = match dom {
        "*" => DayOfMonth::Any,
        d => DayOfMonth::Days(DOM.mask(d)? as u32),
    };
    let weekdays = match dow {
        "*" => DayOfWeek::Any,
        d => {
            // 0 and 7 are both Sunday.
            let m = UNIX_DOW.mask(d)?;
            DayOfWeek::Days(((m | (m >> 7)) & 0x7f) as u8)
        }
    };
    Ok(Cron {
        minutes: MINUTE.mask(min)?,
        hours: HOUR.mask(hour)? as u32,
        days,
        months: MONTH.mask(month)? as u16,
        weekdays,
        years: None,
        unix: true,
    })
}

fn parse_dom(s: &str) -> Result<DayOfMonth, ScheduleError> {
    match s {
        "?" | "*" => return Ok(DayOfMonth::Any),
        "L" => return Ok(DayOfMonth::Last(0)),
        "LW" => return Ok(DayOfMonth::LastWeekday),
        _ => {}
    }
    if let Some(off) = s.strip_prefix("L-") {
        return match off.parse::<u8>() {
            Ok(n) if n <= 30 => Ok(DayOfMonth::Last(n)),
            _ => err(format!(
                "day-of-month field: `{s}` needs L-n with n from 0 to 30"
            )),
        };
    }
    if let Some(day) = s.strip_suffix('W') {
        return Ok(DayOfMonth::NearestWeekday(DOM.value(day)? as u8));
    }
    Ok(DayOfMonth::Days(DOM.mask(s)? as u32))
}

/// AWS numbers weekdays 1–7 from Sunday; stored 0–6.
fn parse_aws_dow(s: &str) -> Result<DayOfWeek, ScheduleError> {
    if s == "?" || s == "*" {
        return Ok(DayOfWeek::Any);
    }
    if let Some((d, n)) = s.split_once('#') {
        let day = AWS_DOW.value(d)? as u8 - 1;
        return match n.parse::<u8>() {
            Ok(n @ 1..=5) => Ok(DayOfWeek::Nth(day, n)),
            _ => err(format!(
                "day-of-week field: `{s}`: the number after # is 1 to 5"
            )),
        };
    }
    if s == "L" {
        return Ok(DayOfWeek::Days(1 << 6));
    }
    if let Some(d) = s.strip_suffix('L') {
        return Ok(DayOfWeek::Last(AWS_DOW.value(d)? as u8 - 1));
    }
    Ok(DayOfWeek::Days((AWS_DOW.mask(s)? >> 1) as u8))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::ScheduleKind;

    fn cron(s: &str) -> Cron {
        match s.parse::<Schedule>().unwrap().kind {
            ScheduleKind::Cron(c) => c,
            k => panic!("{s}: {k:?}"),
        }
    }

    fn fails(s: &str, needle: &str) {
        let e = s.parse::<Schedule>().unwrap_err().to_string();
        assert!(e.contains(needle), "{s}: {e}");
    }

    #[test]
    fn rates() {
        let k = |s: &str| s.parse::<Schedule>().unwrap().kind;
        assert_eq!(k("rate(0 minute)"), ScheduleKind::Once);
        assert_eq!(
            k("rate(1 minute)"),
            ScheduleKind::Rate(Duration::from_secs(60))
        );
        assert_eq!(
            k("rate(5 minutes)"),
            ScheduleKind::Rate(Duration::from_secs(300))
        );
        assert_eq!(
            k("rate(2 hours)"),
            ScheduleKind::Rate(Duration::from_secs(7200))
        );
        assert_eq!(
            k("rate(30 seconds)"),
            ScheduleKind::Rate(Duration::from_secs(30))
        );
        fails("rate(5 fortnights)", "unknown unit");
        fails("rate(five minutes)", "not a whole number");
        fails("rate(0 hours)", "rate(0 minute)");
        fails("rate(5)", "a number and a unit");
        fails("every 5 minutes", "not a schedule");
    }

    #[test]
    fn aws_cron_fields() {
        let c = cron("cron(0/15 8-17 ? JAN,MAR MON-FRI 2026-2027)");
        assert_eq!(c.minutes, 1 | 1 << 15 | 1 << 30 | 1 << 45);
        assert_eq!(c.hours, (8..=17).fold(0, |m, h| m | 1 << h));
        assert_eq!(c.months, 1 << 1 | 1 << 3);
        assert_eq!(c.weekdays, DayOfWeek::Days(0b0111110));
        assert_eq!(c.years, Some(vec![2026, 2027]));
        assert_eq!(cron("cron(0 10 L * ? *)").days, DayOfMonth::Last(0));
        assert_eq!(cron("cron(0 10 L-2 * ? *)").days, DayOfMonth::Last(2));
        assert_eq!(cron("cron(0 10 LW * ? *)").days, DayOfMonth::LastWeekday);
        assert_eq!(
            cron("cron(0 10 15W * ? *)").days,
            DayOfMonth::NearestWeekday(15)
        );
        assert_eq!(cron("cron(0 10 ? * 6#3 *)").weekdays, DayOfWeek::Nth(5, 3));
        assert_eq!(cron("cron(0 10 ? * 6L *)").weekdays, DayOfWeek::Last(5));
        assert_eq!(cron("cron(0 10 ? * SUN *)").weekdays, DayOfWeek::Days(1));
    }

    #[test]
    fn aws_cron_errors() {
        fails("cron(0 10 * * * *)", "exactly one of");
        fails("cron(0 10 ? * ? *)", "exactly one of");
        fails("cron(0 10 * * ?)", "has 5 fields");
        fails("cron(60 10 * * ? *)", "minutes field");
        fails("cron(0 10 ? * 8 *)", "day-of-week field");
        fails("cron(0 10 ? * 2#6 *)", "1 to 5");
        fails("cron(0 10 ? FOO * *)", "month field");
        fails("cron(0/0 10 * * ? *)", "bad step");
        fails("cron(30-10 10 * * ? *)", "backwards");
    }

    #[test]
    fn unix_cron() {
        let c = cron("*/5 * * * 0,7");
        assert!(c.unix);
        assert_eq!(c.weekdays, DayOfWeek::Days(1));
        assert_eq!(c.minutes.count_ones(), 12);
        fails("* * * *", "not a schedule");
    }
}
