//! `maintenance:` of the project file: windows during which the canaries they cover run and are
//! recorded, but change no alert state — compiled, then given to the canaries they cover.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Location;

use super::compiler::Compiler;
use super::error::ConfigError;
use super::raw::S;
use super::values;
use crate::canary::Canary;
use crate::canary::maintenance::{When, Window};
use crate::names::MAINTENANCE_ALARM;
use crate::schedule::{Schedule, ScheduleKind};

/// A maintenance window: a cron with a duration, or a start and an end.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawWindow {
    /// Its name, recorded on the runs it covers (`maintenance: weekly-db`).
    pub name: S<String>,
    /// When each window starts: a cron, `cron(0 2 ? * SUN *)` or `0 2 * * 0`.
    #[schemars(extend("examples" = ["cron(0 2 ? * SUN *)"]))]
    pub schedule: Option<S<String>>,
    /// The IANA time zone the cron is read in, e.g. `Europe/Berlin`. Default `UTC`.
    pub timezone: Option<S<String>>,
    /// How long each window of `schedule:` lasts, e.g. `2h`.
    pub duration: Option<S<String>>,
    /// A one-off window's start, RFC 3339: `2026-12-10T22:00:00Z`.
    pub start: Option<S<String>>,
    /// A one-off window's end, RFC 3339.
    pub end: Option<S<String>>,
    /// The canaries it covers, by tag and by name (either matches). Default: all.
    #[serde(default)]
    pub canaries: RawCovers,
}

/// Which canaries a window covers.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCovers {
    /// Canaries with any of these tags.
    #[serde(default)]
    pub tags: Vec<S<String>>,
    /// Canaries with these names.
    #[serde(default)]
    pub names: Vec<S<String>>,
}

/// A compiled window, with what it covers as written (checked against the canaries loaded).
#[derive(Debug, Clone)]
pub struct Covering {
    /// The window.
    pub window: Arc<Window>,
    tags: Vec<(String, Location)>,
    names: Vec<(String, Location)>,
    at: Location,
}

impl Covering {
    /// True when the window covers `c`.
    fn covers(&self, c: &Canary) -> bool {
        (self.tags.is_empty() && self.names.is_empty())
            || self.names.iter().any(|(n, _)| *n == c.name)
            || self.tags.iter().any(|(t, _)| c.tags.contains(t))
    }
}

impl Compiler<'_> {
    /// The windows of `maintenance:`, each name once.
    pub(super) fn windows(&mut self, raw: &[S<RawWindow>]) -> Vec<Covering> {
        let mut out: Vec<Covering> = Vec::new();
        for w in raw {
            let Some(c) = self.window(w) else { continue };
            if out.iter().any(|o| o.window.name == c.window.name) {
                let why = format!("the window `{}` is given twice", c.window.name);
                self.fail(&w.value.name.referenced, why);
                continue;
            }
            out.push(c);
        }
        out
    }

    fn window(&mut self, raw: &S<RawWindow>) -> Option<Covering> {
        let w = &raw.value;
        let name = self.identifier(&w.name, "a window name", 128);
        let when = match (&w.schedule, &w.start) {
            (Some(s), None) => self.every(w, s),
            (None, Some(start)) => self.once(w, start),
            _ => {
                let why = "give `schedule:` and `duration:` (a window that comes back), or \
                           `start:` and `end:` (a one-off window)";
                self.fail(&raw.referenced, why);
                None
            }
        };
        let pair = |s: &S<String>| (s.value.trim().to_string(), s.referenced);
        Some(Covering {
            window: Arc::new(Window {
                name: name?,
                when: when?,
            }),
            tags: w.canaries.tags.iter().map(pair).collect(),
            names: w.canaries.names.iter().map(pair).collect(),
            at: w.name.referenced,
        })
    }

    /// `schedule:` (a cron), `timezone:` and `duration:`.
    fn every(&mut self, w: &RawWindow, s: &S<String>) -> Option<When> {
        let parsed = s.value.parse::<Schedule>().map_err(|e| e.to_string());
        let schedule = self.check(&s.referenced, parsed).and_then(|sch| {
            let cron = matches!(sch.kind, ScheduleKind::Cron(_));
            let why = "a window's schedule is a cron (when each window starts): a rate has no \
                       fixed start, so runners started at different times would disagree";
            self.check(&s.referenced, cron.then_some(sch).ok_or(why.to_string()))
        });
        let tz = w.timezone.as_ref().map(|tz| self.timezone(tz));
        for stray in [&w.end].into_iter().flatten() {
            self.fail(
                &stray.referenced,
                "`end:` goes with `start:`, not `schedule:`",
            );
        }
        let Some(d) = &w.duration else {
            let why = "a window with `schedule:` needs `duration:`, e.g. `duration: 2h`";
            self.fail(&s.referenced, why);
            return None;
        };
        let duration = values::duration(&d.value).and_then(|d| match d.is_zero() {
            true => Err("a window lasts longer than zero".into()),
            false => Ok(d),
        });
        let duration = self.check(&d.referenced, duration);
        let mut schedule = schedule?;
        if let Some(tz) = tz {
            schedule.tz = tz?;
        }
        Some(When::Every {
            schedule,
            duration: duration?,
        })
    }

    /// `start:` and `end:`.
    fn once(&mut self, w: &RawWindow, start: &S<String>) -> Option<When> {
        for stray in [&w.duration, &w.timezone].into_iter().flatten() {
            let why = "`duration:` and `timezone:` go with `schedule:`; `start:` and `end:` \
                       carry their own offset";
            self.fail(&stray.referenced, why);
        }
        let Some(end) = &w.end else {
            self.fail(&start.referenced, "a window with `start:` needs `end:`");
            return None;
        };
        let (start_at, end_at) = (self.instant(start)?, self.instant(end)?);
        if end_at <= start_at {
            let why = format!("the window ends ({}) before it starts", end.value.trim());
            self.fail(&end.referenced, why);
            return None;
        }
        Some(When::Once {
            start: start_at,
            end: end_at,
        })
    }

    fn instant(&mut self, s: &S<String>) -> Option<DateTime<Utc>> {
        let r = DateTime::parse_from_rfc3339(s.value.trim())
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| {
                format!(
                    "`{}` is not an RFC 3339 time, like 2026-12-10T22:00:00Z",
                    s.value
                )
            });
        self.check(&s.referenced, r)
    }
}

/// Gives each canary the windows that cover it. With `check`, a name or tag no canary has, and
/// a window that covers none, are errors in the project file (`file`); it is set when a folder
/// of canaries was loaded, where every canary of the project is.
pub(super) fn assign(
    windows: &[Covering],
    canaries: &mut [Canary],
    check: Option<&std::path::Path>,
    errors: &mut Vec<ConfigError>,
) {
    for c in canaries.iter_mut() {
        c.maintenance = (windows.iter())
            .filter(|w| w.covers(c))
            .map(|w| w.window.clone())
            .collect();
        let taken = c.alarms.iter().any(|a| a.name == MAINTENANCE_ALARM);
        if taken && !c.maintenance.is_empty() {
            let why = format!(
                "canary `{}` has an alarm named `{MAINTENANCE_ALARM}`, the name of the alarm this window adds to it: rename that alarm",
                c.name
            );
            errors.push(ConfigError::file(&c.file, why));
        }
    }
    let Some(file) = check else { return };
    let mut found = Vec::new();
    let names: BTreeSet<&str> = canaries.iter().map(|c| c.name.as_str()).collect();
    let tags: BTreeSet<&str> = canaries
        .iter()
        .flat_map(|c| c.tags.iter().map(String::as_str))
        .collect();
    for w in windows {
        for (n, at) in &w.names {
            if !names.contains(n.as_str()) {
                let why = format!("no canary is named `{n}`");
                found.push(ConfigError::at(file, at, why));
            }
        }
        for (t, at) in &w.tags {
            if !tags.contains(t.as_str()) {
                let why = format!("no canary has the tag `{t}`");
                found.push(ConfigError::at(file, at, why));
            }
        }
        if !canaries.iter().any(|c| w.covers(c)) {
            let why = format!("the window `{}` covers no canary", w.window.name);
            found.push(ConfigError::at(file, &w.at, why));
        }
    }
    found.sort_by_key(|e| (e.line, e.column));
    errors.append(&mut found);
}
