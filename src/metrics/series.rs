//! Which metrics a run produces — the names CloudWatch Synthetics publishes — as samples.

use std::time::SystemTime;

use crate::report::millis;
use crate::run::{Outcome, Phase, Run};

/// A CloudWatch unit.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Unit {
    /// 0–100.
    Percent,
    /// Milliseconds.
    Milliseconds,
    /// A count.
    Count,
}

impl Unit {
    /// The unit's CloudWatch name.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Percent => "Percent",
            Unit::Milliseconds => "Milliseconds",
            Unit::Count => "Count",
        }
    }
}

/// A metric and its dimensions: one CloudWatch series.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesKey {
    /// The metric name, e.g. `SuccessPercent`.
    pub name: String,
    /// Its unit.
    pub unit: Unit,
    /// Dimensions, `CanaryName` first.
    pub dimensions: Vec<(String, String)>,
}

/// One observation of one series.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The series.
    pub series: SeriesKey,
    /// The value.
    pub value: f64,
    /// When the run it comes from started.
    pub at: SystemTime,
}

/// What the runner adds to every series.
#[derive(Debug, Clone, Default)]
pub struct SeriesOptions {
    /// Dimensions from `--dimension`, on every series.
    pub dimensions: Vec<(String, String)>,
    /// Publish per-phase durations (`PhaseDuration` with a `Phase` dimension): six more series
    /// per canary (and step).
    pub phases: bool,
}

/// The samples of one run. Per canary (`CanaryName`, the canary's and the runner's dimensions):
/// `SuccessPercent`, `Duration`, `Failed`, `Error`, `2xx`, `4xx`, `5xx`, and `RetryCount` when it
/// was retried. Per step of a multi-step canary (plus `StepName`): `SuccessPercent`, `Duration`.
pub fn samples(run: &Run, opts: &SeriesOptions) -> Vec<Sample> {
    let base = base_dimensions(&run.canary, &run.dimensions, opts);
    let mut out = Vec::new();
    let mut add = |name: &str, unit, dims: &[(String, String)], value: f64| {
        let series = SeriesKey {
            name: name.into(),
            unit,
            dimensions: dims.to_vec(),
        };
        out.push(Sample {
            series,
            value,
            at: run.started_at,
        });
    };
    let outcome = run.outcome();
    let steps = &run.last().steps;
    add(
        "SuccessPercent",
        Unit::Percent,
        &base,
        if outcome == Outcome::Passed {
            100.0
        } else {
            0.0
        },
    );
    add("Duration", Unit::Milliseconds, &base, millis(run.duration));
    add(
        "Failed",
        Unit::Count,
        &base,
        f64::from(u8::from(outcome != Outcome::Passed)),
    );
    add(
        "Error",
        Unit::Count,
        &base,
        f64::from(u8::from(outcome == Outcome::Errored)),
    );
    for class in [2, 4, 5] {
        let n = steps
            .iter()
            .filter(|s| s.status.is_some_and(|c| c / 100 == class))
            .count();
        add(&format!("{class}xx"), Unit::Count, &base, n as f64);
    }
    if run.attempts.len() > 1 {
        add(
            "RetryCount",
            Unit::Count,
            &base,
            (run.attempts.len() - 1) as f64,
        );
    }
    let multi_step = !(steps.len() == 1 && steps[0].name == run.canary);
    for step in steps {
        let mut dims = base.clone();
        if multi_step {
            dims.insert(1, ("StepName".into(), step.name.clone()));
            let ok = if step.outcome == Outcome::Passed {
                100.0
            } else {
                0.0
            };
            add("SuccessPercent", Unit::Percent, &dims, ok);
            add("Duration", Unit::Milliseconds, &dims, millis(step.duration));
        }
        if let (true, Some(p)) = (opts.phases, step.phases) {
            for phase in Phase::ALL {
                let mut d = dims.clone();
                d.push(("Phase".into(), phase.as_str().into()));
                add(
                    "PhaseDuration",
                    Unit::Milliseconds,
                    &d,
                    millis(p.get(phase)),
                );
            }
        }
    }
    out
}

/// A `SkippedRuns` sample: an instant skipped because the previous run was still going.
pub fn skipped(
    canary: &str,
    canary_dims: &[(String, String)],
    opts: &SeriesOptions,
    at: SystemTime,
) -> Sample {
    let dimensions = base_dimensions(canary, canary_dims, opts);
    Sample {
        series: SeriesKey {
            name: "SkippedRuns".into(),
            unit: Unit::Count,
            dimensions,
        },
        value: 1.0,
        at,
    }
}

fn base_dimensions(
    canary: &str,
    canary_dims: &[(String, String)],
    opts: &SeriesOptions,
) -> Vec<(String, String)> {
    let mut dims = vec![("CanaryName".to_string(), canary.to_string())];
    dims.extend(canary_dims.iter().cloned());
    for (k, v) in &opts.dimensions {
        if !dims.iter().any(|(n, _)| n == k) {
            dims.push((k.clone(), v.clone()));
        }
    }
    dims
}
