//! The CloudWatch state the canaries ask for: each alarm with its full name, namespace,
//! dimensions and actions, as CloudWatch stores it — compared with what is there, and exported.

use crate::canary::Canary;
use crate::canary::alarm::{
    Actions, Alarm, Comparison, Composite, Condition, Missing, Quorum, Statistic,
};

/// Tags on every alarm canary manages; nothing without them is ever changed or deleted.
pub const TAG_MANAGED: &str = "canary:managed";
/// The metric namespace the alarm watches.
pub const TAG_NAMESPACE: &str = "canary:namespace";
/// The project (`project:` of the project file) that owns the alarm.
pub const TAG_PROJECT: &str = "canary:project";
/// The canary the alarm belongs to.
pub const TAG_CANARY: &str = "canary:canary";

/// Where the alarms go and whose they are.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The metric namespace (`--namespace`).
    pub namespace: String,
    /// The alarm names' prefix.
    pub prefix: String,
    /// The owning project.
    pub project: String,
    /// The runner's dimensions (`--dimension`): part of every series, so of every alarm's metric.
    pub dimensions: Vec<(String, String)>,
}

impl Settings {
    /// The tags canary puts on an alarm of `canary`.
    pub fn tags(&self, canary: &str) -> Vec<(String, String)> {
        vec![
            (TAG_MANAGED.into(), "true".into()),
            (TAG_NAMESPACE.into(), self.namespace.clone()),
            (TAG_PROJECT.into(), self.project.clone()),
            (TAG_CANARY.into(), canary.into()),
        ]
    }

    /// True when `tags` say canary manages the alarm for this namespace and project.
    pub fn owns(&self, tags: &[(String, String)]) -> bool {
        let has = |k: &str, v: &str| tags.iter().any(|(a, b)| a == k && b == v);
        has(TAG_MANAGED, "true")
            && has(TAG_NAMESPACE, &self.namespace)
            && has(TAG_PROJECT, &self.project)
    }

    /// `<prefix><canary>-<name>`.
    pub fn full_name(&self, canary: &str, name: &str) -> String {
        format!("{}{canary}-{name}", self.prefix)
    }
}

/// A metric alarm as CloudWatch stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricAlarmSpec {
    /// The full name.
    pub name: String,
    /// The canary it belongs to.
    pub canary: String,
    /// Its description.
    pub description: Option<String>,
    /// The metric's namespace.
    pub namespace: String,
    /// The metric's name.
    pub metric: String,
    /// The metric's dimensions, sorted by name.
    pub dimensions: Vec<(String, String)>,
    /// The statistic.
    pub statistic: Statistic,
    /// Seconds a period.
    pub period: u32,
    /// Periods looked at.
    pub evaluation_periods: u32,
    /// Breaching periods that set it off.
    pub datapoints: u32,
    /// CloudWatch's ComparisonOperator.
    pub comparison: String,
    /// The threshold, for a threshold alarm.
    pub threshold: Option<f64>,
    /// The band's width, for an anomaly-detection alarm.
    pub band: Option<f64>,
    /// CloudWatch's TreatMissingData.
    pub missing: String,
    /// Actions per state, each list sorted.
    pub actions: Actions,
    /// Agreement between locations: the metric, comparison and threshold are each location's,
    /// and the alarm breaches when `need` of them do (a metric-math alarm).
    pub quorum: Option<Quorum>,
}

impl MetricAlarmSpec {
    /// The anomaly detector the alarm's band needs.
    pub fn detector(&self) -> Option<Detector> {
        self.band.map(|_| Detector {
            namespace: self.namespace.clone(),
            metric: self.metric.clone(),
            dimensions: self.dimensions.clone(),
            stat: self.statistic.as_str().to_string(),
        })
    }
}

/// An anomaly-detection model: one metric and statistic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detector {
    /// The namespace.
    pub namespace: String,
    /// The metric.
    pub metric: String,
    /// Its dimensions, sorted.
    pub dimensions: Vec<(String, String)>,
    /// The statistic the model learns.
    pub stat: String,
}

/// A composite alarm as CloudWatch stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct CompositeSpec {
    /// The full name.
    pub name: String,
    /// The canary it belongs to.
    pub canary: String,
    /// Its description.
    pub description: Option<String>,
    /// The rule, as CloudWatch writes it.
    pub rule: String,
    /// The full names of the alarms of this set it refers to (they go first).
    pub children: Vec<String>,
    /// Actions per state, each list sorted.
    pub actions: Actions,
    /// The alarm that silences the actions while it is in ALARM: the canary's maintenance
    /// alarm, when a window covers the canary.
    pub suppressor: Option<String>,
}

/// How long a composite waits for its suppressor to go into ALARM: the runner publishes a
/// window's first runs up to a minute and 5 s after, and CloudWatch evaluates a period later.
pub const SUPPRESSOR_WAIT: u32 = 300;
/// How long a composite stays silent after its suppressor leaves ALARM; then, still in ALARM,
/// it acts.
pub const SUPPRESSOR_EXTENSION: u32 = 60;
/// Added to a metric alarm's name for the composite that carries its actions when a
/// maintenance window covers its canary.
pub const NOTIFY_SUFFIX: &str = "-notify";

/// One alarm of the desired (or actual) state.
#[derive(Debug, Clone, PartialEq)]
pub enum AlarmSpec {
    /// A metric alarm.
    Metric(MetricAlarmSpec),
    /// A composite alarm.
    Composite(CompositeSpec),
}

impl AlarmSpec {
    /// The full name.
    pub fn name(&self) -> &str {
        match self {
            AlarmSpec::Metric(m) => &m.name,
            AlarmSpec::Composite(c) => &c.name,
        }
    }

    /// The canary it belongs to.
    pub fn canary(&self) -> &str {
        match self {
            AlarmSpec::Metric(m) => &m.canary,
            AlarmSpec::Composite(c) => &c.canary,
        }
    }
}

/// The alarms `canaries` ask for, in order: each canary's metric alarms, then its composites.
/// A canary a maintenance window covers also gets its maintenance alarm, and its metric alarms'
/// actions move to a composite each that the maintenance alarm silences.
pub fn desired(canaries: &[Canary], s: &Settings) -> Vec<AlarmSpec> {
    let mut out = Vec::new();
    for c in canaries {
        let quiet = (!c.maintenance.is_empty()).then(|| maintenance_alarm(c, s));
        let suppressor = quiet.as_ref().map(|m| m.name.clone());
        let mut notify = Vec::new();
        for a in &c.alarms {
            let mut m = metric_alarm(c, a, s);
            if let Some(sup) = &suppressor
                && m.actions != Actions::default()
            {
                notify.push(CompositeSpec {
                    name: format!("{}{NOTIFY_SUFFIX}", m.name),
                    canary: c.name.clone(),
                    description: m.description.clone(),
                    // Names hold no quotes (checked at load).
                    rule: format!("ALARM(\"{}\")", m.name),
                    children: vec![m.name.clone()],
                    actions: std::mem::take(&mut m.actions),
                    suppressor: Some(sup.clone()),
                });
            }
            out.push(AlarmSpec::Metric(m));
        }
        out.extend(quiet.map(AlarmSpec::Metric));
        out.extend(notify.into_iter().map(AlarmSpec::Composite));
        for comp in &c.composites {
            let mut spec = composite(c, comp, s);
            spec.suppressor = suppressor.clone();
            out.push(AlarmSpec::Composite(spec));
        }
    }
    out
}

/// The canary's maintenance alarm: in ALARM while its runs say a window is open (in any of the
/// project's locations), silencing the composites that carry its alarms' actions.
fn maintenance_alarm(c: &Canary, s: &Settings) -> MetricAlarmSpec {
    let quorum = c.alarms.iter().find_map(|a| a.locations.clone());
    let alarm = Alarm {
        name: crate::names::MAINTENANCE_ALARM.into(),
        metric: crate::names::MAINTENANCE.into(),
        step: None,
        statistic: Statistic::Simple("Maximum".into()),
        condition: Condition::Threshold(Comparison::Gte, 1.0),
        period: 60,
        datapoints: 1,
        evaluation_periods: 1,
        missing: Missing::NotBreaching,
        actions: Actions::default(),
        description: Some(format!(
            "canary {}: a maintenance window is open (silences the -notify alarms)",
            c.name
        )),
        locations: quorum.map(|q| Quorum { need: 1, ..q }),
    };
    metric_alarm(c, &alarm, s)
}

fn metric_alarm(c: &Canary, a: &Alarm, s: &Settings) -> MetricAlarmSpec {
    let mut dimensions = vec![("CanaryName".to_string(), c.name.clone())];
    dimensions.extend(c.dimensions.iter().cloned());
    for (k, v) in &s.dimensions {
        if !dimensions.iter().any(|(n, _)| n == k) {
            dimensions.push((k.clone(), v.clone()));
        }
    }
    if let Some(step) = &a.step {
        dimensions.push(("StepName".into(), step.clone()));
    }
    dimensions.sort();
    let (comparison, threshold, band) = match &a.condition {
        Condition::Threshold(cmp, t) => (cmp.cloudwatch().to_string(), Some(*t), None),
        Condition::Anomaly { band, side } => (side.cloudwatch().to_string(), None, Some(*band)),
    };
    MetricAlarmSpec {
        name: s.full_name(&c.name, &a.name),
        canary: c.name.clone(),
        description: a.description.clone(),
        namespace: s.namespace.clone(),
        metric: a.metric.clone(),
        dimensions,
        statistic: a.statistic.clone(),
        period: a.period,
        evaluation_periods: a.evaluation_periods,
        datapoints: a.datapoints,
        comparison,
        threshold,
        band,
        missing: a.missing.cloudwatch().to_string(),
        actions: sorted(&a.actions),
        quorum: a.locations.clone(),
    }
}

fn composite(c: &Canary, comp: &Composite, s: &Settings) -> CompositeSpec {
    let full = |n: &str| s.full_name(&c.name, n);
    let mut children: Vec<String> = comp.rule.locals().into_iter().map(full).collect();
    children.sort();
    children.dedup();
    CompositeSpec {
        name: full(&comp.name),
        canary: c.name.clone(),
        description: comp.description.clone(),
        rule: comp.rule.render(&full),
        children,
        actions: sorted(&comp.actions),
        suppressor: None,
    }
}

/// Actions with each list sorted and without repeats (CloudWatch keeps them as a set).
pub fn sorted(a: &Actions) -> Actions {
    let s = |v: &Vec<String>| {
        let mut v = v.clone();
        v.sort();
        v.dedup();
        v
    };
    Actions {
        alarm: s(&a.alarm),
        ok: s(&a.ok),
        insufficient_data: s(&a.insufficient_data),
    }
}
