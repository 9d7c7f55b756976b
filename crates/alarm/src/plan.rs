//! The plan: what must change in CloudWatch for it to match the files — create, update (with
//! the changed fields), delete — and what canary will not touch (an alarm it does not own).

use std::fmt;

use super::spec::{AlarmSpec, Detector, MetricAlarmSpec};

/// An alarm as found in CloudWatch.
#[derive(Debug, Clone, PartialEq)]
pub struct Existing {
    /// What it is.
    pub spec: AlarmSpec,
    /// Its tags say canary manages it (for this namespace and project).
    pub managed: bool,
}

/// One field that differs: its name, what is there, what the files say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    /// The field, as CloudWatch names it.
    pub field: &'static str,
    /// The value in CloudWatch.
    pub old: String,
    /// The value in the files.
    pub new: String,
}

/// One change.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A new alarm.
    Create(AlarmSpec),
    /// An alarm whose fields differ.
    Update(AlarmSpec, Vec<FieldChange>),
    /// An alarm canary created that is no longer in the files.
    Delete(AlarmSpec),
    /// An alarm of the same name that canary does not own: left alone.
    Conflict(String),
}

/// What `apply` would do, in the order it does it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// The changes: metric alarms first, composites after the alarms they name, deletions of
    /// composites before the alarms they named.
    pub changes: Vec<Change>,
    /// Anomaly detectors to create (before their alarms).
    pub detectors: Vec<Detector>,
    /// Anomaly detectors no alarm needs any more (deleted last).
    pub stale_detectors: Vec<Detector>,
}

impl Plan {
    /// True when CloudWatch already matches the files (and nothing conflicts).
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// How many changes of each kind: create, update, delete, conflict.
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let n = |f: fn(&Change) -> bool| self.changes.iter().filter(|c| f(c)).count();
        (
            n(|c| matches!(c, Change::Create(_))),
            n(|c| matches!(c, Change::Update(..))),
            n(|c| matches!(c, Change::Delete(_))),
            n(|c| matches!(c, Change::Conflict(_))),
        )
    }
}

/// The plan that makes `existing` (the alarms under canary's prefix) match `desired`.
pub fn plan(desired: &[AlarmSpec], existing: &[Existing]) -> Plan {
    let mut metric = Vec::new();
    let mut composite = Vec::new();
    let mut conflicts = Vec::new();
    for want in desired {
        let change = match existing.iter().find(|e| e.spec.name() == want.name()) {
            None => Some(Change::Create(want.clone())),
            Some(e) if !e.managed => {
                conflicts.push(Change::Conflict(want.name().to_string()));
                None
            }
            Some(e) => {
                let diff = differences(&e.spec, want);
                (!diff.is_empty()).then(|| Change::Update(want.clone(), diff))
            }
        };
        match (change, want) {
            (Some(c), AlarmSpec::Metric(_)) => metric.push(c),
            (Some(c), AlarmSpec::Composite(_)) => composite.push(c),
            (None, _) => {}
        }
    }
    let gone: Vec<&Existing> = existing
        .iter()
        .filter(|e| e.managed && !desired.iter().any(|d| d.name() == e.spec.name()))
        .collect();
    let mut changes = metric;
    changes.extend(children_first(composite));
    let (gone_composites, gone_metrics): (Vec<&Existing>, Vec<&Existing>) = gone
        .into_iter()
        .partition(|e| matches!(e.spec, AlarmSpec::Composite(_)));
    let mut deletes: Vec<Change> = children_first(
        gone_composites
            .iter()
            .map(|e| Change::Delete(e.spec.clone()))
            .collect(),
    );
    deletes.reverse();
    changes.extend(deletes);
    changes.extend(gone_metrics.iter().map(|e| Change::Delete(e.spec.clone())));
    changes.extend(conflicts);
    let wanted: Vec<Detector> = desired.iter().filter_map(detector).collect();
    let had: Vec<Detector> = existing
        .iter()
        .filter(|e| e.managed)
        .filter_map(|e| detector(&e.spec))
        .collect();
    let detectors = changes
        .iter()
        .filter_map(|c| match c {
            Change::Create(s) | Change::Update(s, _) => detector(s),
            _ => None,
        })
        .collect();
    let mut stale: Vec<Detector> = had.into_iter().filter(|d| !wanted.contains(d)).collect();
    stale.dedup();
    Plan {
        changes,
        detectors,
        stale_detectors: stale,
    }
}

fn detector(s: &AlarmSpec) -> Option<Detector> {
    match s {
        AlarmSpec::Metric(m) => m.detector(),
        AlarmSpec::Composite(_) => None,
    }
}

/// Composites ordered so that each comes after the composites it names.
fn children_first(mut todo: Vec<Change>) -> Vec<Change> {
    let mut out: Vec<Change> = Vec::new();
    while !todo.is_empty() {
        let names: Vec<String> = todo.iter().map(|c| change_name(c).to_string()).collect();
        let ready = todo.iter().position(|c| match change_spec(c) {
            Some(AlarmSpec::Composite(comp)) => !comp
                .children
                .iter()
                .any(|ch| names.contains(ch) && ch != &comp.name),
            _ => true,
        });
        // A cycle cannot be ordered (loading refuses them); keep the rest as they are.
        let i = ready.unwrap_or(0);
        out.push(todo.remove(i));
    }
    out
}

fn change_spec(c: &Change) -> Option<&AlarmSpec> {
    match c {
        Change::Create(s) | Change::Update(s, _) | Change::Delete(s) => Some(s),
        Change::Conflict(_) => None,
    }
}

fn change_name(c: &Change) -> &str {
    match c {
        Change::Conflict(n) => n,
        c => change_spec(c).map_or("", AlarmSpec::name),
    }
}

/// The fields of `old` that `new` changes.
pub fn differences(old: &AlarmSpec, new: &AlarmSpec) -> Vec<FieldChange> {
    let mut out = Vec::new();
    let mut field = |name: &'static str, a: String, b: String| {
        if a != b {
            out.push(FieldChange {
                field: name,
                old: a,
                new: b,
            });
        }
    };
    match (old, new) {
        (AlarmSpec::Metric(a), AlarmSpec::Metric(b)) => metric_fields(a, b, &mut field),
        (AlarmSpec::Composite(a), AlarmSpec::Composite(b)) => {
            field("AlarmRule", a.rule.clone(), b.rule.clone());
            field("ActionsSuppressor", opt(&a.suppressor), opt(&b.suppressor));
            field("AlarmDescription", opt(&a.description), opt(&b.description));
            actions(&a.actions, &b.actions, &mut field);
        }
        _ => field("AlarmType", kind(old).into(), kind(new).into()),
    }
    out
}

fn metric_fields(
    a: &MetricAlarmSpec,
    b: &MetricAlarmSpec,
    field: &mut impl FnMut(&'static str, String, String),
) {
    let num = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |x| x.to_string());
    field("Namespace", a.namespace.clone(), b.namespace.clone());
    field("MetricName", a.metric.clone(), b.metric.clone());
    field("Dimensions", dims(&a.dimensions), dims(&b.dimensions));
    field(
        "Statistic",
        a.statistic.to_string(),
        b.statistic.to_string(),
    );
    field("Period", a.period.to_string(), b.period.to_string());
    field(
        "EvaluationPeriods",
        a.evaluation_periods.to_string(),
        b.evaluation_periods.to_string(),
    );
    field(
        "DatapointsToAlarm",
        a.datapoints.to_string(),
        b.datapoints.to_string(),
    );
    field(
        "ComparisonOperator",
        a.comparison.clone(),
        b.comparison.clone(),
    );
    field("Threshold", num(a.threshold), num(b.threshold));
    field("AnomalyBand", num(a.band), num(b.band));
    field("Locations", quorum(a), quorum(b));
    field("TreatMissingData", a.missing.clone(), b.missing.clone());
    field("AlarmDescription", opt(&a.description), opt(&b.description));
    actions(&a.actions, &b.actions, field);
}

fn actions(
    a: &crate::canary::alarm::Actions,
    b: &crate::canary::alarm::Actions,
    field: &mut impl FnMut(&'static str, String, String),
) {
    field("AlarmActions", a.alarm.join(","), b.alarm.join(","));
    field("OKActions", a.ok.join(","), b.ok.join(","));
    field(
        "InsufficientDataActions",
        a.insufficient_data.join(","),
        b.insufficient_data.join(","),
    );
}

fn kind(s: &AlarmSpec) -> &'static str {
    match s {
        AlarmSpec::Metric(_) => "metric",
        AlarmSpec::Composite(_) => "composite",
    }
}

fn opt(s: &Option<String>) -> String {
    s.clone().unwrap_or_default()
}

/// `2 of eu-west-1,us-east-1,ap-southeast-2`, or `-`.
fn quorum(m: &MetricAlarmSpec) -> String {
    m.quorum.as_ref().map_or_else(
        || "-".into(),
        |q| format!("{} of {}", q.need, q.locations.join(",")),
    )
}

fn dims(d: &[(String, String)]) -> String {
    d.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// A one-line summary of an alarm, for plans.
pub fn describe(s: &AlarmSpec) -> String {
    match s {
        AlarmSpec::Metric(m) => {
            let condition = match (m.threshold, m.band) {
                (Some(t), _) => format!("{} {} {t}", m.statistic, symbol(&m.comparison)),
                (None, Some(b)) => format!("{} outside a {b}σ anomaly band", m.statistic),
                _ => m.statistic.to_string(),
            };
            let places = m.quorum.as_ref().map_or_else(String::new, |q| {
                format!(" in {} of {} locations", q.need, q.locations.len())
            });
            format!(
                "{} {condition}{places}, {} of {} × {}s",
                m.metric, m.datapoints, m.evaluation_periods, m.period
            )
        }
        AlarmSpec::Composite(c) => format!("composite: {}", c.rule),
    }
}

fn symbol(op: &str) -> &str {
    match op {
        "LessThanThreshold" => "<",
        "LessThanOrEqualToThreshold" => "<=",
        "GreaterThanThreshold" => ">",
        "GreaterThanOrEqualToThreshold" => ">=",
        other => other,
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.changes {
            match c {
                Change::Create(s) => writeln!(f, "+ create {}  ({})", s.name(), describe(s))?,
                Change::Update(s, diff) => {
                    writeln!(f, "~ update {}", s.name())?;
                    for d in diff {
                        writeln!(f, "    {}: {} → {}", d.field, show(&d.old), show(&d.new))?;
                    }
                }
                Change::Delete(s) => {
                    writeln!(f, "- delete {}  (no longer in the files)", s.name())?
                }
                Change::Conflict(n) => writeln!(
                    f,
                    "! conflict {n}: an alarm of this name exists and canary does not own it (no canary:managed tag for this namespace and project); it is left alone — rename the canary's alarm or delete that one by hand"
                )?,
            }
        }
        let (c, u, d, x) = self.counts();
        write!(f, "Plan: {c} to create, {u} to update, {d} to delete")?;
        if x > 0 {
            write!(f, ", {x} in conflict")?;
        }
        if self.is_empty() {
            write!(f, " — CloudWatch matches the files")?;
        }
        writeln!(f)
    }
}

fn show(v: &str) -> String {
    if v.is_empty() {
        "(none)".into()
    } else {
        v.to_string()
    }
}
