//! Compiling alarms: each entry into a patch (field by field, errors at their place), the
//! project's defaults merged under the canary's entries by name, then completed and checked.

use std::collections::BTreeMap;

use serde_json::Value;
use serde_saphyr::Location;

use super::compiler::Compiler;
use super::file::RawCanary;
use super::raw::{RawAlarm, RawComposite, S};
use super::{rule, values};
use crate::canary::alarm::{
    Actions, Alarm, Comparison, Composite, Condition, METRICS, Missing, Quorum, Rule, STEP_METRICS,
    Side, Statistic,
};

/// The longest evaluation range CloudWatch accepts: periods × seconds per period.
const MAX_RANGE: u32 = 86_400;

/// An alarm entry as written: every field optional, so a canary can change a default's fields.
#[derive(Debug, Clone)]
pub struct AlarmPatch {
    name: String,
    at: Location,
    metric: Option<String>,
    step: Option<String>,
    statistic: Option<Statistic>,
    condition: Option<Condition>,
    period: Option<u32>,
    datapoints: Option<(u32, u32)>,
    missing: Option<Missing>,
    actions: Option<Vec<String>>,
    ok_actions: Option<Vec<String>>,
    insufficient: Option<Vec<String>>,
    description: Option<String>,
    enabled: Option<bool>,
    /// `locations:` as written: N, and M when given.
    locations: Option<(u32, Option<u32>)>,
}

impl AlarmPatch {
    /// The entry's short name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `self`'s fields, and `base`'s where `self` has none.
    fn over(&self, base: &AlarmPatch) -> AlarmPatch {
        AlarmPatch {
            name: self.name.clone(),
            at: self.at,
            metric: self.metric.clone().or_else(|| base.metric.clone()),
            step: self.step.clone().or_else(|| base.step.clone()),
            statistic: self.statistic.clone().or_else(|| base.statistic.clone()),
            condition: self.condition.clone().or_else(|| base.condition.clone()),
            period: self.period.or(base.period),
            datapoints: self.datapoints.or(base.datapoints),
            missing: self.missing.or(base.missing),
            actions: self.actions.clone().or_else(|| base.actions.clone()),
            ok_actions: self.ok_actions.clone().or_else(|| base.ok_actions.clone()),
            insufficient: self
                .insufficient
                .clone()
                .or_else(|| base.insufficient.clone()),
            description: self
                .description
                .clone()
                .or_else(|| base.description.clone()),
            enabled: self.enabled.or(base.enabled),
            locations: self.locations.or(base.locations),
        }
    }

    /// The alarm, or what is missing or inconsistent. `steps` are the canary's step names
    /// (None: not known yet, for a project default); `locations` the project's.
    pub fn complete(
        &self,
        steps: Option<&[String]>,
        locations: &[String],
    ) -> Result<Alarm, String> {
        let name = &self.name;
        let quorum = self.quorum(locations)?;
        let metric = self.metric.clone().ok_or_else(|| {
            format!(
                "alarm `{name}` has no `metric:` (one of {})",
                METRICS.join(", ")
            )
        })?;
        let condition = self.condition.clone().ok_or_else(|| {
            format!("alarm `{name}` needs `threshold:` (like `{{ lt: 90 }}`) or `anomaly:` (like `{{ band: 2 }}`)")
        })?;
        if let Some(step) = &self.step {
            if !STEP_METRICS.contains(&metric.as_str()) {
                return Err(format!(
                    "alarm `{name}`: `step:` goes with {}, not {metric}",
                    STEP_METRICS.join(" or ")
                ));
            }
            if steps.is_some_and(<[String]>::is_empty) {
                return Err(format!(
                    "alarm `{name}`: `step:` needs a multi-step canary (only those publish per-step series)"
                ));
            }
            if let Some(steps) = steps.filter(|s| !s.contains(step)) {
                return Err(format!(
                    "alarm `{name}`: this canary has no step `{step}` (its steps: {})",
                    steps.join(", ")
                ));
            }
        }
        let period = self.period.unwrap_or(60);
        let (datapoints, evaluation_periods) = self.datapoints.unwrap_or((1, 1));
        if u64::from(period) * u64::from(evaluation_periods) > u64::from(MAX_RANGE) {
            return Err(format!(
                "alarm `{name}`: {evaluation_periods} periods of {period}s look back further than the day CloudWatch allows"
            ));
        }
        Ok(Alarm {
            name: name.clone(),
            metric,
            step: self.step.clone(),
            statistic: self
                .statistic
                .clone()
                .unwrap_or(Statistic::Simple("Average".into())),
            condition,
            period,
            datapoints,
            evaluation_periods,
            missing: self.missing.unwrap_or(Missing::Breaching),
            actions: Actions {
                alarm: self.actions.clone().unwrap_or_default(),
                ok: self.ok_actions.clone().unwrap_or_default(),
                insufficient_data: self.insufficient.clone().unwrap_or_default(),
            },
            description: self.description.clone(),
            locations: quorum,
        })
    }

    /// "N of M" of the project's locations; `1 of M` when the alarm says nothing.
    fn quorum(&self, locations: &[String]) -> Result<Option<Quorum>, String> {
        let (need, of) = match self.locations {
            None if locations.is_empty() => return Ok(None),
            None => (1, None),
            Some(written) => written,
        };
        let name = &self.name;
        let q = quorum(need, of, locations).map_err(|e| format!("alarm `{name}`: {e}"))?;
        if matches!(self.condition, Some(Condition::Anomaly { .. })) {
            return Err(format!(
                "alarm `{name}`: an anomaly band is learnt per series; with `locations:` give a `threshold:`"
            ));
        }
        Ok(Some(q))
    }
}

impl Compiler<'_> {
    /// Compiles one alarm entry into a patch; None after an error (recorded at its place).
    pub(super) fn alarm_patch(&mut self, a: &S<RawAlarm>) -> Option<AlarmPatch> {
        let r = &a.value;
        let errors = self.errors.len();
        let name = self.alarm_name(&r.name);
        let metric = r.metric.as_ref().and_then(|m| {
            let ok = METRICS.contains(&m.value.as_str());
            let why = || {
                format!(
                    "unknown metric `{}`{} (canary publishes {})",
                    m.value,
                    suggest(&m.value, &METRICS),
                    METRICS.join(", ")
                )
            };
            self.check(
                &m.referenced,
                if ok { Ok(m.value.clone()) } else { Err(why()) },
            )
        });
        let statistic = r
            .statistic
            .as_ref()
            .and_then(|s| self.check(&s.referenced, statistic(&s.value)));
        let condition = self.condition(a);
        let period = r.period.as_ref().and_then(|p| {
            let v = values::duration(&p.value).and_then(|d| period(d.as_secs(), d.subsec_nanos()));
            self.check(&p.referenced, v)
        });
        let datapoints = r
            .datapoints
            .as_ref()
            .and_then(|d| self.check(&d.referenced, datapoints(&d.value, "breaching periods")));
        let missing = r.missing.as_ref().and_then(|m| {
            let v = match m.value.as_str() {
                "breaching" => Ok(Missing::Breaching),
                "notBreaching" | "not_breaching" => Ok(Missing::NotBreaching),
                "ignore" => Ok(Missing::Ignore),
                "missing" => Ok(Missing::Missing),
                other => Err(format!(
                    "`{other}` is not a way to treat missing data: breaching, notBreaching, ignore or missing"
                )),
            };
            self.check(&m.referenced, v)
        });
        let locations = r.locations.as_ref().and_then(|l| {
            self.check(
                &l.referenced,
                locations_written(&l.value, "locations breaching"),
            )
        });
        let actions = r.actions.as_ref().map(|v| self.arns(v));
        let ok_actions = r.ok_actions.as_ref().map(|v| self.arns(v));
        let insufficient = r.insufficient_data_actions.as_ref().map(|v| self.arns(v));
        let description = r
            .description
            .as_ref()
            .and_then(|d| self.template(d).and_then(|t| t.as_static()));
        if self.errors.len() > errors {
            return None;
        }
        Some(AlarmPatch {
            name: name?,
            at: a.referenced,
            metric,
            step: r.step.as_ref().map(|s| s.value.trim().to_string()),
            statistic,
            condition,
            period,
            datapoints,
            missing,
            actions,
            ok_actions,
            insufficient,
            description,
            enabled: r.enabled,
            locations,
        })
    }

    fn alarm_name(&mut self, n: &S<String>) -> Option<String> {
        self.identifier(n, "an alarm name", 200)
    }

    /// A name of 1 to `max` letters, digits, `-`, `_` or `.` (alarm names, the project's).
    pub(super) fn identifier(&mut self, n: &S<String>, what: &str, max: usize) -> Option<String> {
        let v = n.value.trim();
        let ok = !v.is_empty()
            && v.len() <= max
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        let r = if ok {
            Ok(v.to_string())
        } else {
            Err(format!(
                "`{v}` is not {what}: 1 to {max} letters, digits, `-`, `_` or `.`"
            ))
        };
        self.check(&n.referenced, r)
    }

    fn condition(&mut self, a: &S<RawAlarm>) -> Option<Condition> {
        let r = &a.value;
        match (&r.threshold, &r.anomaly) {
            (Some(_), Some(_)) => {
                self.fail(&a.referenced, "give `threshold:` or `anomaly:`, not both");
                None
            }
            (Some(t), None) => self.threshold(t),
            (None, Some(an)) => {
                let band = match an.value.band.value.as_f64() {
                    Some(b) if b > 0.0 && b <= 100.0 => Some(b),
                    _ => {
                        let why = "`band:` is the band's width in standard deviations: a number above 0, like 2";
                        self.fail(&an.value.band.referenced, why);
                        None
                    }
                };
                let side = match an.value.side.as_ref().map(|s| s.value.as_str()) {
                    None | Some("both") => Some(Side::Both),
                    Some("above") => Some(Side::Above),
                    Some("below") => Some(Side::Below),
                    Some(other) => {
                        let at = an
                            .value
                            .side
                            .as_ref()
                            .map_or(an.referenced, |s| s.referenced);
                        self.fail(
                            &at,
                            format!("`{other}` is not a side: above, below or both"),
                        );
                        None
                    }
                };
                Some(Condition::Anomaly {
                    band: band?,
                    side: side?,
                })
            }
            (None, None) => None,
        }
    }

    fn threshold(&mut self, t: &S<BTreeMap<String, S<Value>>>) -> Option<Condition> {
        if t.value.len() != 1 {
            self.fail(
                &t.referenced,
                "`threshold:` takes exactly one of lt, lte, gt, gte, like `{ lt: 90 }`",
            );
            return None;
        }
        let (op, v) = t.value.iter().next()?;
        let cmp = match op.as_str() {
            "lt" => Comparison::Lt,
            "lte" => Comparison::Lte,
            "gt" => Comparison::Gt,
            "gte" => Comparison::Gte,
            other => {
                self.fail(
                    &v.referenced,
                    format!("`{other}` is not a comparison: lt, lte, gt or gte"),
                );
                return None;
            }
        };
        let n = v.value.as_f64().or_else(|| {
            // `lt: 800ms` on Duration reads as milliseconds, the metric's unit.
            values::duration_value(&v.value)
                .ok()
                .map(|d| d.as_secs_f64() * 1000.0)
        });
        let r = n.ok_or_else(|| format!("`{}` is not a number", values::text(&v.value)));
        Some(Condition::Threshold(cmp, self.check(&v.referenced, r)?))
    }

    /// ARNs, `${…}` resolved; an empty one (an unset optional variable) is left out.
    fn arns(&mut self, list: &[S<String>]) -> Vec<String> {
        let mut out = Vec::new();
        for a in list {
            let Some(text) = self.template(a).and_then(|t| t.as_static()) else {
                continue;
            };
            let text = text.trim().to_string();
            if text.is_empty() {
                continue;
            }
            if let Some(v) = self.check(&a.referenced, arn(&text)) {
                out.push(v);
            }
        }
        out
    }

    /// The canary's alarms and composites: the project's defaults merged under its own entries.
    pub(super) fn alarms(
        &mut self,
        raw: &RawCanary,
        defaults: &[AlarmPatch],
        steps: &[String],
        locations: &[String],
    ) -> (Vec<Alarm>, Vec<Composite>) {
        let own: Vec<AlarmPatch> = match &raw.alarms {
            Some(list) if list.value.is_empty() => {
                return (Vec::new(), self.composites(&raw.composite, &[]));
            }
            Some(list) => list
                .value
                .iter()
                .filter_map(|a| self.alarm_patch(a))
                .collect(),
            None => Vec::new(),
        };
        let mut alarms: Vec<Alarm> = Vec::new();
        for d in defaults
            .iter()
            .filter(|d| !own.iter().any(|o| o.name == d.name))
        {
            if d.enabled != Some(false) {
                match d.complete(Some(steps), locations) {
                    Ok(a) => alarms.push(a),
                    Err(e) => self.fail(&raw.name.referenced, format!("project default: {e}")),
                }
            }
        }
        for o in &own {
            if alarms.iter().any(|a| a.name == o.name) {
                self.fail(&o.at, format!("alarm `{}` is given twice", o.name));
                continue;
            }
            let merged = match defaults.iter().find(|d| d.name == o.name) {
                Some(d) => o.over(d),
                None => o.clone(),
            };
            if merged.enabled == Some(false) {
                continue;
            }
            let r = merged.complete(Some(steps), locations);
            if let Some(a) = self.check(&o.at, r) {
                alarms.push(a);
            }
        }
        let names: Vec<String> = alarms.iter().map(|a| a.name.clone()).collect();
        let composites = self.composites(&raw.composite, &names);
        (alarms, composites)
    }

    fn composites(&mut self, raw: &[S<RawComposite>], alarms: &[String]) -> Vec<Composite> {
        let mut out: Vec<Composite> = Vec::new();
        let names: Vec<String> = raw
            .iter()
            .map(|c| c.value.name.value.trim().to_string())
            .collect();
        for c in raw {
            let r = &c.value;
            let Some(name) = self.alarm_name(&r.name) else {
                continue;
            };
            if alarms.contains(&name) || out.iter().any(|o| o.name == name) {
                self.fail(
                    &r.name.referenced,
                    format!("the name `{name}` is used twice among this canary's alarms"),
                );
                continue;
            }
            let Some(rule) = self.check(&r.rule.referenced, rule::parse(&r.rule.value)) else {
                continue;
            };
            let unknown: Vec<&str> = rule
                .locals()
                .into_iter()
                .filter(|l| !alarms.iter().any(|a| a == l) && !names.iter().any(|n| n == l))
                .collect();
            if let Some(first) = unknown.first() {
                let known = if alarms.is_empty() {
                    "none".to_string()
                } else {
                    alarms.join(", ")
                };
                self.fail(
                    &r.rule.referenced,
                    format!("the rule names `{first}`, which is not an alarm of this canary (its alarms: {known}); another canary's alarm is ALARM(\"its-full-name\")"),
                );
                continue;
            }
            if refers_to(&rule, &name, raw) {
                self.fail(
                    &r.rule.referenced,
                    format!("composite `{name}` refers to itself"),
                );
                continue;
            }
            let actions = Actions {
                alarm: self.arns(&r.actions),
                ok: self.arns(&r.ok_actions),
                insufficient_data: self.arns(&r.insufficient_data_actions),
            };
            let description = r
                .description
                .as_ref()
                .and_then(|d| self.template(d).and_then(|t| t.as_static()));
            out.push(Composite {
                name,
                rule,
                actions,
                description,
            });
        }
        out
    }
}

/// True when `rule` reaches the composite `me` through the other composites' rules.
fn refers_to(rule: &Rule, me: &str, all: &[S<RawComposite>]) -> bool {
    let mut seen: Vec<String> = Vec::new();
    let mut todo: Vec<String> = rule.locals().into_iter().map(String::from).collect();
    while let Some(n) = todo.pop() {
        if n == me {
            return true;
        }
        if seen.contains(&n) {
            continue;
        }
        seen.push(n.clone());
        if let Some(c) = all.iter().find(|c| c.value.name.value.trim() == n)
            && let Ok(r) = rule::parse(&c.value.rule.value)
        {
            todo.extend(r.locals().into_iter().map(String::from));
        }
    }
    false
}

/// `Average`, `Sum`, … or an extended statistic (`p99`, `p99.9`, `tm90`, …, `IQM`).
fn statistic(s: &str) -> Result<Statistic, String> {
    const SIMPLE: [&str; 5] = ["Average", "Sum", "Minimum", "Maximum", "SampleCount"];
    let s = s.trim();
    if SIMPLE.contains(&s) {
        return Ok(Statistic::Simple(s.into()));
    }
    if s == "IQM" {
        return Ok(Statistic::Extended(s.into()));
    }
    let lower = s.to_ascii_lowercase();
    let number = ["tm", "wm", "tc", "ts", "p"]
        .iter()
        .find_map(|p| lower.strip_prefix(p).map(|n| (p, n)));
    if let Some((prefix, n)) = number
        && let Ok(v) = n.parse::<f64>()
        && (0.0..=100.0).contains(&v)
        && !n.starts_with('+')
    {
        return Ok(Statistic::Extended(format!("{prefix}{n}")));
    }
    let sim = SIMPLE.iter().find(|x| x.eq_ignore_ascii_case(s));
    Err(match sim {
        Some(x) => format!("statistic `{s}`: CloudWatch spells it `{x}`"),
        None => format!(
            "`{s}` is not a statistic CloudWatch accepts: Average, Sum, Minimum, Maximum, SampleCount, or a percentile like p99 (also tm90, wm90, tc90, ts90, IQM)"
        ),
    })
}

/// A period CloudWatch accepts: 10 s, 30 s (high resolution) or a multiple of 60 s.
fn period(secs: u64, nanos: u32) -> Result<u32, String> {
    if nanos == 0
        && (secs == 10 || secs == 30 || (secs >= 60 && secs.is_multiple_of(60)))
        && let Ok(s) = u32::try_from(secs)
    {
        return Ok(s);
    }
    Err(format!(
        "a period of {secs}s is not one CloudWatch takes: a multiple of 60s (1m, 5m…), or 10s/30s for high-resolution metrics"
    ))
}

/// `2 of 3`, or `3` for 3 of 3: `what` of the last N (breaching periods, failed runs).
pub(super) fn datapoints(v: &Value, what: &str) -> Result<(u32, u32), String> {
    let text = values::text(v);
    let bad = || format!("`{text}` is not `M of N` (like `2 of 3`): M {what} of the last N");
    let (m, n) = match text.split_once(" of ") {
        Some((m, n)) => (
            m.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        ),
        None => {
            let n: u32 = text.trim().parse().map_err(|_| bad())?;
            (n, n)
        }
    };
    if m == 0 || n == 0 {
        return Err(bad());
    }
    if m > n {
        return Err(format!(
            "`{text}`: {m} {what} cannot happen in {n}; M is at most N"
        ));
    }
    Ok((m, n))
}

/// `locations:` as written: N, and M when given as `N of M` (a number N means N of all).
pub(super) fn locations_written(v: &Value, what: &str) -> Result<(u32, Option<u32>), String> {
    let of = values::text(v).contains(" of ");
    datapoints(v, what).map(|(n, m)| (n, of.then_some(m)))
}

/// `N` (of `M`, when given) of the project's `locations`, checked against them.
pub(super) fn quorum(n: u32, m: Option<u32>, locations: &[String]) -> Result<Quorum, String> {
    let all = locations.len() as u32;
    if all == 0 {
        return Err(
            "`locations:` counts the project file's `locations: [...]`, and it names none".into(),
        );
    }
    if let Some(m) = m.filter(|m| *m != all) {
        return Err(format!(
            "`{n} of {m}` locations, but the project names {all}: {}",
            locations.join(", ")
        ));
    }
    if n > all {
        return Err(format!(
            "{n} locations cannot agree when the project names {all}"
        ));
    }
    Ok(Quorum {
        need: n,
        locations: locations.to_vec(),
    })
}

/// An action ARN CloudWatch alarms can use.
fn arn(text: &str) -> Result<String, String> {
    let parts: Vec<&str> = text.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && [
            "sns",
            "lambda",
            "autoscaling",
            "automate",
            "ssm",
            "ssm-incidents",
            "swf",
        ]
        .contains(&parts[2])
        && !parts[5].is_empty();
    if ok {
        Ok(text.to_string())
    } else {
        Err(format!(
            "`{text}` is not an action ARN: like arn:aws:sns:eu-west-1:123456789012:oncall (SNS, Lambda, Auto Scaling, EC2 or Systems Manager)"
        ))
    }
}

/// ` (did you mean `X`?)` for the closest known name.
fn suggest(name: &str, known: &[&str]) -> String {
    known
        .iter()
        .map(|k| {
            (
                strsim::jaro_winkler(&name.to_ascii_lowercase(), &k.to_ascii_lowercase()),
                k,
            )
        })
        .filter(|(s, _)| *s >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map_or_else(String::new, |(_, k)| format!(": did you mean `{k}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_as_cloudwatch_takes_them() {
        assert_eq!(
            datapoints(&json!("2 of 3"), "breaching periods"),
            Ok((2, 3))
        );
        assert_eq!(datapoints(&json!(3), "breaching periods"), Ok((3, 3)));
        assert!(
            datapoints(&json!("4 of 3"), "breaching periods")
                .unwrap_err()
                .contains("at most N")
        );
        assert!(datapoints(&json!("two"), "breaching periods").is_err());
        assert_eq!(period(60, 0), Ok(60));
        assert_eq!(period(30, 0), Ok(30));
        assert!(period(90, 0).is_err());
        assert_eq!(statistic("p99.9"), Ok(Statistic::Extended("p99.9".into())));
        assert!(statistic("p101").is_err());
        assert!(
            statistic("average")
                .unwrap_err()
                .contains("spells it `Average`")
        );
        assert!(arn("arn:aws:sns:eu-west-1:123456789012:oncall").is_ok());
        assert!(arn("oncall").is_err());
        assert!(arn("arn:aws:s3:::bucket").is_err());
    }
}
