//! Alarms as code, as compiled: metric alarms (a threshold or an anomaly-detection band) on the
//! series canary publishes, and composite alarms over them.

use std::fmt;

pub use crate::names::{METRICS, STEP_METRICS};

/// A metric alarm of one canary.
#[derive(Debug, Clone, PartialEq)]
pub struct Alarm {
    /// The alarm's short name; CloudWatch's is `<prefix><canary>-<name>`.
    pub name: String,
    /// The metric, one of [`METRICS`].
    pub metric: String,
    /// A step of a multi-step canary (its `StepName` series), or the canary's own series.
    pub step: Option<String>,
    /// The statistic.
    pub statistic: Statistic,
    /// A fixed threshold or an anomaly-detection band.
    pub condition: Condition,
    /// Seconds in a period: 10, 30 or a multiple of 60.
    pub period: u32,
    /// M of "M of N": breaching periods that set off the alarm.
    pub datapoints: u32,
    /// N of "M of N": the periods looked at.
    pub evaluation_periods: u32,
    /// How periods without data count.
    pub missing: Missing,
    /// What the alarm does on each state.
    pub actions: Actions,
    /// Free text shown with the alarm.
    pub description: Option<String>,
    /// Agreement between the project's locations: in ALARM only when enough of them breach
    /// (None: the runner's own series, one location or none).
    pub locations: Option<Quorum>,
}

/// "N of M" locations: the alarm breaches in a period when at least `need` of `locations`
/// breach; a location without data counts as the alarm's `missing:` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quorum {
    /// N.
    pub need: u32,
    /// The locations (the project file's `locations:`), M of them.
    pub locations: Vec<String>,
}

/// A composite alarm of one canary: a rule over alarms.
#[derive(Debug, Clone, PartialEq)]
pub struct Composite {
    /// The short name; CloudWatch's is `<prefix><canary>-<name>`.
    pub name: String,
    /// When it is in ALARM.
    pub rule: Rule,
    /// What it does on each state.
    pub actions: Actions,
    /// Free text shown with the alarm.
    pub description: Option<String>,
}

/// A CloudWatch statistic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Statistic {
    /// `Average`, `Sum`, `Minimum`, `Maximum` or `SampleCount`.
    Simple(String),
    /// An extended statistic: `p99`, `p99.9`, `tm90`, `wm90`, `tc90`, `ts90`, `IQM`…
    Extended(String),
}

impl Statistic {
    /// The statistic as CloudWatch writes it.
    pub fn as_str(&self) -> &str {
        match self {
            Statistic::Simple(s) | Statistic::Extended(s) => s,
        }
    }
}

impl fmt::Display for Statistic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What breaches.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// The statistic compared with a number.
    Threshold(Comparison, f64),
    /// Outside an anomaly-detection band this many standard deviations wide.
    Anomaly {
        /// The band's width in standard deviations.
        band: f64,
        /// Which side of the band breaches.
        side: Side,
    },
}

/// A threshold comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// `lt`.
    Lt,
    /// `lte`.
    Lte,
    /// `gt`.
    Gt,
    /// `gte`.
    Gte,
}

impl Comparison {
    /// CloudWatch's ComparisonOperator.
    pub fn cloudwatch(self) -> &'static str {
        match self {
            Comparison::Lt => "LessThanThreshold",
            Comparison::Lte => "LessThanOrEqualToThreshold",
            Comparison::Gt => "GreaterThanThreshold",
            Comparison::Gte => "GreaterThanOrEqualToThreshold",
        }
    }

    /// The operator in PromQL and in plans.
    pub fn symbol(self) -> &'static str {
        match self {
            Comparison::Lt => "<",
            Comparison::Lte => "<=",
            Comparison::Gt => ">",
            Comparison::Gte => ">=",
        }
    }
}

/// Which side of an anomaly band breaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Above the band.
    Above,
    /// Below the band.
    Below,
    /// Either side.
    Both,
}

impl Side {
    /// CloudWatch's ComparisonOperator for the band.
    pub fn cloudwatch(self) -> &'static str {
        match self {
            Side::Above => "GreaterThanUpperThreshold",
            Side::Below => "LessThanLowerThreshold",
            Side::Both => "LessThanLowerOrGreaterThanUpperThreshold",
        }
    }
}

/// How a period without data counts (CloudWatch's TreatMissingData).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// As breaching: a canary that stopped reporting is failing.
    Breaching,
    /// As not breaching.
    NotBreaching,
    /// Neither: the alarm keeps its state.
    Ignore,
    /// As missing: CloudWatch's default.
    Missing,
}

impl Missing {
    /// CloudWatch's TreatMissingData.
    pub fn cloudwatch(self) -> &'static str {
        match self {
            Missing::Breaching => "breaching",
            Missing::NotBreaching => "notBreaching",
            Missing::Ignore => "ignore",
            Missing::Missing => "missing",
        }
    }
}

/// Actions (ARNs) per state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Actions {
    /// On entering ALARM.
    pub alarm: Vec<String>,
    /// On entering OK.
    pub ok: Vec<String>,
    /// On entering INSUFFICIENT_DATA.
    pub insufficient_data: Vec<String>,
}

/// An alarm state a rule can test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// `ALARM(…)`.
    Alarm,
    /// `OK(…)`.
    Ok,
    /// `INSUFFICIENT_DATA(…)`.
    InsufficientData,
}

impl State {
    /// The function name in a rule.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Alarm => "ALARM",
            State::Ok => "OK",
            State::InsufficientData => "INSUFFICIENT_DATA",
        }
    }
}

/// A composite alarm's rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// `TRUE` or `FALSE`.
    Const(bool),
    /// An alarm of this canary (its short name) in a state (a bare name means ALARM).
    Local(State, String),
    /// Any alarm, by its full CloudWatch name.
    External(State, String),
    /// Both.
    And(Box<Rule>, Box<Rule>),
    /// Either.
    Or(Box<Rule>, Box<Rule>),
    /// Not.
    Not(Box<Rule>),
}

impl Rule {
    /// The short names of this canary's alarms the rule refers to.
    pub fn locals(&self) -> Vec<&str> {
        match self {
            Rule::Const(_) | Rule::External(..) => Vec::new(),
            Rule::Local(_, n) => vec![n.as_str()],
            Rule::And(a, b) | Rule::Or(a, b) => {
                let mut v = a.locals();
                v.extend(b.locals());
                v
            }
            Rule::Not(a) => a.locals(),
        }
    }

    /// The rule as CloudWatch writes it, local names made full with `full`.
    pub fn render(&self, full: &dyn Fn(&str) -> String) -> String {
        self.render_in(full, 0)
    }

    fn render_in(&self, full: &dyn Fn(&str) -> String, parent: u8) -> String {
        let (text, own) = match self {
            Rule::Const(b) => ((if *b { "TRUE" } else { "FALSE" }).to_string(), 3),
            Rule::Local(s, n) => (format!("{}(\"{}\")", s.as_str(), full(n)), 3),
            Rule::External(s, n) => (format!("{}(\"{n}\")", s.as_str()), 3),
            Rule::Not(a) => (format!("NOT {}", a.render_in(full, 3)), 3),
            Rule::And(a, b) => (
                format!("{} AND {}", a.render_in(full, 2), b.render_in(full, 2)),
                2,
            ),
            Rule::Or(a, b) => (
                format!("{} OR {}", a.render_in(full, 1), b.render_in(full, 1)),
                1,
            ),
        };
        if own < parent {
            format!("({text})")
        } else {
            text
        }
    }
}
