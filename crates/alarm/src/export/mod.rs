//! Exporting the alarms for teams that deploy through infrastructure as code: a CloudFormation
//! template, Terraform, or Prometheus alerting rules over canary's own Prometheus series (and
//! Alertmanager inhibit rules for maintenance windows).

pub mod alertmanager;
pub mod cloudformation;
pub mod prometheus;
pub mod terraform;

use super::spec::{AlarmSpec, Detector, Settings};

/// What to export to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A CloudFormation template (JSON): AWS::CloudWatch::Alarm, CompositeAlarm, AnomalyDetector.
    Cloudformation,
    /// Terraform: aws_cloudwatch_metric_alarm and aws_cloudwatch_composite_alarm.
    Terraform,
    /// Prometheus alerting rules (for Alertmanager) over canary's Prometheus series.
    Prometheus,
    /// Alertmanager inhibit rules for the maintenance windows.
    Alertmanager,
}

impl Format {
    /// Every format: the name `canary alarms export --format` takes, and what it is.
    pub const ALL: &[(Format, &str, &str)] = &[
        (
            Format::Cloudformation,
            "cloudformation",
            "A CloudFormation template (JSON): AWS::CloudWatch::Alarm, CompositeAlarm, AnomalyDetector",
        ),
        (
            Format::Terraform,
            "terraform",
            "Terraform: aws_cloudwatch_metric_alarm and aws_cloudwatch_composite_alarm",
        ),
        (
            Format::Prometheus,
            "prometheus",
            "Prometheus alerting rules (for Alertmanager) over canary's Prometheus series",
        ),
        (
            Format::Alertmanager,
            "alertmanager",
            "Alertmanager inhibit rules: alerts about a canary wait while a maintenance window covers it",
        ),
    ];
}

/// An export and what it could not carry over (one line each, for a warning).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    /// The file's text.
    pub text: String,
    /// What was left out, and why.
    pub left_out: Vec<String>,
}

/// Renders `alarms` in `format`.
pub fn render(format: Format, alarms: &[AlarmSpec], s: &Settings) -> Exported {
    match format {
        Format::Cloudformation => cloudformation::render(alarms, s),
        Format::Terraform => terraform::render(alarms, s),
        Format::Prometheus => prometheus::render(alarms, s),
        Format::Alertmanager => alertmanager::render(alarms, s),
    }
}

/// The anomaly detectors the alarms need, once each.
pub fn detectors(alarms: &[AlarmSpec]) -> Vec<Detector> {
    let mut out: Vec<Detector> = Vec::new();
    for a in alarms {
        if let AlarmSpec::Metric(m) = a
            && let Some(d) = m.detector().filter(|d| !out.contains(d))
        {
            out.push(d);
        }
    }
    out
}

/// An identifier from a name: letters and digits (CloudFormation) or also `_` (Terraform),
/// unique among `taken`.
pub fn identifier(name: &str, underscores: bool, taken: &mut Vec<String>) -> String {
    let mut id = String::new();
    let mut upper = !underscores;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            id.push(if upper { c.to_ascii_uppercase() } else { c });
            upper = false;
        } else if underscores {
            id.push('_');
        } else {
            upper = true;
        }
    }
    if id.is_empty() || id.starts_with(|c: char| c.is_ascii_digit()) {
        id.insert_str(0, if underscores { "a_" } else { "A" });
    }
    let mut unique = id.clone();
    let mut n = 2;
    while taken.contains(&unique) {
        unique = format!("{id}{n}");
        n += 1;
    }
    taken.push(unique.clone());
    unique
}
