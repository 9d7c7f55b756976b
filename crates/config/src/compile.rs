//! Raw canary → compiled [`Canary`]: every value parsed once, every error collected with its place.

use std::path::Path;

use super::LoadOptions;
use super::compiler::{Compiler, DEFAULT_SCHEDULE, DEFAULT_TIMEOUT, MAX_RETRIES, Parts};
use super::error::ConfigError;
use super::file::{RawCanary, RawStep};
use super::raw::{RawAssert, S};
use super::section::kinds;
use crate::canary::{Canary, Step, StepKind};
use crate::schedule::Schedule;

/// Compiles `raw`, loaded from `file`.
pub fn compile(
    file: &Path,
    raw: &RawCanary,
    opts: &LoadOptions,
) -> Result<Canary, Vec<ConfigError>> {
    let mut c = Compiler::new(file, opts, &raw.variables);
    for (name, value) in &raw.variables {
        let r = c.vars.variable(name);
        c.check(&value.referenced, r);
    }
    c.proxy = match &raw.proxy {
        Some(p) => c.proxy_url(p),
        None => opts.proxy.clone(),
    };
    let name = canary_name(&mut c, &raw.name);
    let schedule = schedule(&mut c, raw);
    let timeout = c
        .duration(&raw.timeout)
        .map(|t| t.unwrap_or(DEFAULT_TIMEOUT));
    let retries = raw.retries.as_ref().map_or(Some(0), |r| {
        let v = r.value;
        c.check(
            &r.referenced,
            if v <= MAX_RETRIES {
                Ok(v)
            } else {
                Err(format!("retries: at most {MAX_RETRIES}"))
            },
        )
    });
    let steps = steps(&mut c, raw, name.as_deref().unwrap_or_default());
    let dimensions = dimensions(&mut c, raw);
    // Only multi-step canaries publish per-step series an alarm can watch.
    let step_names: Vec<String> = match raw.sections().is_empty() {
        false => Vec::new(),
        true => steps.iter().map(|s| s.name.clone()).collect(),
    };
    let project = &opts.project;
    let (alarms, composites) = c.alarms(
        raw,
        &project.default_alarms,
        &step_names,
        &project.locations,
    );
    let alerting = c.canary_alerting(
        &raw.alerting,
        opts.project.default_alerting.as_ref(),
        &opts.project.channel_names(),
        &project.locations,
    );
    if let Some(n) = &name {
        alarm_name_lengths(
            &mut c,
            raw,
            n,
            &opts.project.alarm_prefix,
            &alarms,
            &composites,
        );
    }
    if !c.errors.is_empty() {
        return Err(c.finish());
    }
    let (Some(name), Some(schedule), Some(timeout), Some(retries)) =
        (name, schedule, timeout, retries)
    else {
        return Err(vec![ConfigError::file(file, "could not compile")]);
    };
    let secrets = redactor(c.vars.secrets, &steps);
    Ok(Canary {
        name,
        file: file.to_path_buf(),
        schedule,
        timeout,
        retries,
        tags: raw.tags.clone(),
        steps,
        secrets,
        dimensions,
        cookies: raw.cookies.unwrap_or(true),
        alarms,
        composites,
        alerting,
        maintenance: Vec::new(),
    })
}

/// The canary's redactor: its secrets, the Basic-auth credentials made of them that are fixed
/// at load time (a run adds those that use captures), and OAuth2 client secrets (a run adds
/// the tokens).
fn redactor(secrets: Vec<String>, steps: &[Step]) -> crate::redact::Redactor {
    use crate::canary::http::Auth;
    let mut r = crate::redact::Redactor::new(secrets);
    for step in steps {
        let StepKind::Http(req) = &step.kind else {
            continue;
        };
        match &req.auth {
            Some(Auth::Basic { username, password }) => {
                if let (Some(user), Some(password)) = (username.as_static(), password.as_static()) {
                    r.add_basic(&user, &password);
                }
            }
            Some(Auth::OAuth2(o)) => r.add(&o.client_secret),
            _ => {}
        }
    }
    r.frozen()
}

/// CloudWatch alarm names have at most 255 characters: `<prefix><canary>-<alarm>`.
fn alarm_name_lengths(
    c: &mut Compiler,
    raw: &RawCanary,
    canary: &str,
    prefix: &str,
    alarms: &[crate::canary::alarm::Alarm],
    composites: &[crate::canary::alarm::Composite],
) {
    let names = alarms
        .iter()
        .map(|a| a.name.as_str())
        .chain(composites.iter().map(|a| a.name.as_str()));
    for n in names {
        let full = prefix.len() + canary.len() + 1 + n.len();
        if full > 255 {
            c.fail(
                &raw.name.referenced,
                format!("the alarm name `{prefix}{canary}-{n}` has {full} characters; CloudWatch allows 255"),
            );
        }
    }
}

/// The schedule, in its time zone; one that never fires again is an error. A bad schedule and
/// a bad time zone are both reported.
fn schedule(c: &mut Compiler, raw: &RawCanary) -> Option<Schedule> {
    let schedule = match &raw.schedule {
        Some(s) => c.check(
            &s.referenced,
            s.value.parse::<Schedule>().map_err(|e| e.to_string()),
        ),
        None => DEFAULT_SCHEDULE.parse().ok(),
    };
    let tz = match &raw.timezone {
        Some(tz) => Some(c.timezone(tz)?),
        None => None,
    };
    let mut schedule = schedule?;
    if let Some(tz) = tz {
        schedule.tz = tz;
    }
    let now = chrono::Utc::now();
    let once = schedule.kind == crate::schedule::ScheduleKind::Once;
    if !once && schedule.next_after(now, now).is_none() {
        let at = raw
            .schedule
            .as_ref()
            .map_or(&raw.name.referenced, |s| &s.referenced);
        c.fail(at, format!("`{}` never fires again", schedule.source));
        return None;
    }
    Some(schedule)
}

/// The most dimensions a canary may add (CloudWatch allows 30 in all; canary uses up to 3).
pub const MAX_DIMENSIONS: usize = 20;

/// `dimensions:`: names and values as CloudWatch accepts them, within its limits.
fn dimensions(c: &mut Compiler, raw: &RawCanary) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (name, value) in &raw.dimensions {
        let Some(t) = c.template(value) else {
            continue;
        };
        let Some(v) = t.as_static() else {
            let why = "a dimension is fixed when the canary loads: it cannot use a capture";
            c.fail(&value.referenced, why);
            continue;
        };
        if c.vars
            .secrets
            .iter()
            .any(|s| !s.is_empty() && v.contains(s.as_str()))
        {
            let why = "a dimension cannot hold a secret: dimensions are shown to everyone who \
                       reads the metrics (CloudWatch, Prometheus labels, EMF logs)";
            c.fail(&value.referenced, why);
            continue;
        }
        let r = crate::names::check_dimension(name, &v);
        if c.check(&value.referenced, r).is_some() {
            out.push((name.clone(), v));
        }
    }
    if out.len() > MAX_DIMENSIONS {
        c.fail(
            &raw.name.referenced,
            format!("at most {MAX_DIMENSIONS} dimensions"),
        );
    }
    out
}

impl Compiler<'_> {
    /// An IANA time zone, like `Europe/Berlin`.
    pub(super) fn timezone(&mut self, tz: &S<String>) -> Option<chrono_tz::Tz> {
        let r = tz.value.trim().parse::<chrono_tz::Tz>().map_err(|_| {
            format!(
                "`{}` is not an IANA time zone, like UTC, Europe/Berlin or America/New_York",
                tz.value
            )
        });
        self.check(&tz.referenced, r)
    }
}

fn canary_name(c: &mut Compiler, name: &S<String>) -> Option<String> {
    let n = name.value.trim();
    let r = if n.is_empty() {
        Err("the name is empty".to_string())
    } else if n.len() > 255 || n.chars().any(char::is_control) {
        Err("a name has at most 255 characters and no control characters".into())
    } else {
        Ok(n.to_string())
    };
    c.check(&name.referenced, r)
}

fn steps(c: &mut Compiler, raw: &RawCanary, canary_name: &str) -> Vec<Step> {
    let single = raw.sections();
    let given =
        single.len() + usize::from(raw.steps.is_some()) + usize::from(raw.browser.is_some());
    if given > 1 {
        c.fail(
            &raw.name.referenced,
            format!(
                "give exactly one of {} (one check), `steps:` or `browser:`",
                kinds()
            ),
        );
        return Vec::new();
    }
    if let Some(section) = single.first() {
        let parts = Parts {
            canary_degraded: &raw.degraded,
            ..Parts::default()
        };
        return c
            .section_step(canary_name.to_string(), *section, &parts)
            .into_iter()
            .collect();
    }
    if let Some(b) = &raw.browser {
        if let Some(d) = raw.degraded.first() {
            c.fail(
                &d.referenced,
                "`degraded:` applies to http steps; a browser canary asserts with `assert:` actions",
            );
        }
        return c.browser(b);
    }
    match &raw.steps {
        Some(steps) if !steps.value.is_empty() => many_steps(c, &steps.value, &raw.degraded),
        Some(steps) => {
            c.fail(
                &steps.referenced,
                "`steps:` is empty: give at least one step",
            );
            Vec::new()
        }
        None => {
            c.fail(
                &raw.name.referenced,
                format!(
                    "this canary has nothing to run: add {} (one check), `steps:` or `browser:`",
                    kinds()
                ),
            );
            Vec::new()
        }
    }
}

fn many_steps(c: &mut Compiler, raw: &[S<RawStep>], degraded: &[S<RawAssert>]) -> Vec<Step> {
    for s in raw {
        c.vars.all_captures.extend(s.value.capture.keys().cloned());
        for section in s.value.sections() {
            c.vars.all_captures.extend(section.capture_names());
        }
    }
    let mut out: Vec<Step> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for (i, s) in raw.iter().enumerate() {
        let step = &s.value;
        let name = step
            .name
            .as_ref()
            .map_or_else(|| format!("step {}", i + 1), |n| n.value.trim().to_string());
        if names.contains(&name) {
            let at = step.name.as_ref().map_or(&s.referenced, |n| &n.referenced);
            c.fail(
                at,
                format!("step name `{name}` is used twice in this canary"),
            );
        }
        names.push(name.clone());
        let timeout = c.duration(&step.timeout).flatten();
        let parts = Parts {
            assert: &step.assert,
            capture: Some(&step.capture),
            degraded: &step.degraded,
            canary_degraded: degraded,
            secret: step.secret,
        };
        let sections = step.sections();
        let section = match sections.as_slice() {
            [one] => *one,
            [] => {
                c.fail(
                    &s.referenced,
                    format!("this step has nothing to run: add {}", kinds()),
                );
                continue;
            }
            _ => {
                c.fail(
                    &s.referenced,
                    format!("a step runs one check: give exactly one of {}", kinds()),
                );
                continue;
            }
        };
        if let Some(mut compiled) = c.section_step(name, section, &parts) {
            compiled.timeout = timeout;
            compiled.continue_on_failure = step.continue_on_failure;
            out.push(compiled);
        }
    }
    out
}
