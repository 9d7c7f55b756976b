//! Which metrics a run produces — the names CloudWatch Synthetics publishes — as samples.

use std::sync::Arc;
use std::time::SystemTime;

use crate::names;
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

/// A metric and its dimensions: one CloudWatch series. The series of one run share their
/// dimensions (10,000 canaries keep 160,000 series in a window).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesKey {
    /// The metric name, e.g. `SuccessPercent`.
    pub name: &'static str,
    /// Its unit.
    pub unit: Unit,
    /// Dimensions, `CanaryName` first.
    pub dimensions: Arc<[(String, String)]>,
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
/// `SuccessPercent` (100 when passed or degraded), `Duration`, `Failed`, `Error`, `Degraded`,
/// `2xx`, `4xx`, `5xx`, and `RetryCount` when it
/// was retried. Per step of a multi-step canary (plus `StepName`): `SuccessPercent`, `Duration`.
pub fn samples(run: &Run, opts: &SeriesOptions) -> Vec<Sample> {
    let base: Arc<[(String, String)]> = base_dimensions(&run.canary, &run.dimensions, opts).into();
    let mut out = Vec::new();
    let mut add = |name: &'static str, unit, dims: &Arc<[(String, String)]>, value: f64| {
        let series = SeriesKey {
            name,
            unit,
            dimensions: dims.clone(),
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
        names::SUCCESS_PERCENT,
        Unit::Percent,
        &base,
        if outcome.is_pass() { 100.0 } else { 0.0 },
    );
    add(
        names::DURATION,
        Unit::Milliseconds,
        &base,
        millis(run.duration),
    );
    add(
        names::FAILED,
        Unit::Count,
        &base,
        f64::from(u8::from(outcome != Outcome::Passed)),
    );
    add(
        names::ERROR,
        Unit::Count,
        &base,
        f64::from(u8::from(outcome == Outcome::Errored)),
    );
    add(
        names::DEGRADED,
        Unit::Count,
        &base,
        f64::from(u8::from(outcome == Outcome::Degraded)),
    );
    for (class, name) in [
        (2, names::STATUS_2XX),
        (4, names::STATUS_4XX),
        (5, names::STATUS_5XX),
    ] {
        let n = steps
            .iter()
            .filter(|s| s.status.is_some_and(|c| c / 100 == class))
            .count();
        add(name, Unit::Count, &base, n as f64);
    }
    if run.maintenance.is_some() {
        add(names::MAINTENANCE, Unit::Count, &base, 1.0);
    }
    if run.attempts.len() > 1 {
        add(
            names::RETRY_COUNT,
            Unit::Count,
            &base,
            (run.attempts.len() - 1) as f64,
        );
    }
    let multi_step = !(steps.len() == 1 && steps[0].name == run.canary);
    for step in steps {
        let mut dims = base.clone();
        if multi_step {
            let mut with_step = base.to_vec();
            with_step.insert(1, ("StepName".into(), step.name.clone()));
            dims = with_step.into();
            let ok = if step.outcome.is_pass() { 100.0 } else { 0.0 };
            add(names::SUCCESS_PERCENT, Unit::Percent, &dims, ok);
            add(
                names::DURATION,
                Unit::Milliseconds,
                &dims,
                millis(step.duration),
            );
        }
        if let (true, Some(p)) = (opts.phases, step.phases) {
            for phase in Phase::ALL {
                let mut d = dims.to_vec();
                d.push(("Phase".into(), phase.as_str().into()));
                add(
                    names::PHASE_DURATION,
                    Unit::Milliseconds,
                    &d.into(),
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
            name: names::SKIPPED_RUNS,
            unit: Unit::Count,
            dimensions: dimensions.into(),
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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;
    use crate::run::{Attempt, StepRun};

    fn step(name: &str, outcome: Outcome, status: Option<u16>) -> StepRun {
        StepRun {
            outcome,
            status,
            duration: Duration::from_millis(20),
            ..StepRun::new(name)
        }
    }

    fn run(steps: Vec<StepRun>, attempts: usize) -> Run {
        let outcome = if steps.iter().all(|s| s.outcome == Outcome::Passed) {
            Outcome::Passed
        } else {
            Outcome::Failed
        };
        let attempt = Attempt {
            outcome,
            steps,
            duration: Duration::from_millis(40),
        };
        Run {
            canary: "shop".into(),
            file: PathBuf::from("shop.yaml"),
            started_at: SystemTime::UNIX_EPOCH,
            attempts: vec![attempt; attempts],
            duration: Duration::from_millis(80),
            dimensions: vec![("Environment".into(), "prod".into())],
            maintenance: None,
        }
    }

    fn find<'a>(s: &'a [Sample], name: &str, step: Option<&str>) -> &'a Sample {
        s.iter()
            .find(|x| {
                x.series.name == name
                    && x.series
                        .dimensions
                        .iter()
                        .find(|d| d.0 == "StepName")
                        .map(|d| d.1.as_str())
                        == step
            })
            .unwrap_or_else(|| panic!("{name} {step:?} in {s:#?}"))
    }

    #[test]
    fn a_retried_multi_step_run_makes_the_synthetics_series() {
        let r = run(
            vec![
                step("create", Outcome::Passed, Some(201)),
                step("fetch", Outcome::Passed, Some(404)),
            ],
            2,
        );
        let opts = SeriesOptions {
            dimensions: vec![("Region".into(), "eu-west-1".into())],
            phases: false,
        };
        let s = samples(&r, &opts);
        let canary = find(&s, "SuccessPercent", None);
        assert_eq!(canary.value, 100.0);
        assert_eq!(
            *canary.series.dimensions,
            [
                ("CanaryName".into(), "shop".into()),
                ("Environment".into(), "prod".into()),
                ("Region".into(), "eu-west-1".into())
            ]
        );
        assert_eq!(
            (
                find(&s, "Duration", None).value,
                find(&s, "Duration", None).series.unit
            ),
            (80.0, Unit::Milliseconds)
        );
        assert_eq!(
            (
                find(&s, "2xx", None).value,
                find(&s, "4xx", None).value,
                find(&s, "5xx", None).value
            ),
            (1.0, 1.0, 0.0)
        );
        assert_eq!(find(&s, "RetryCount", None).value, 1.0);
        assert_eq!(find(&s, "Duration", Some("fetch")).value, 20.0);
        assert_eq!(
            find(&s, "SuccessPercent", Some("create")).series.dimensions[1],
            ("StepName".into(), "create".into())
        );
        assert!(
            s.iter().all(|x| x.at == SystemTime::UNIX_EPOCH),
            "timestamps are the run's start"
        );
    }

    #[test]
    fn a_single_request_run_has_no_step_series_and_no_retry_count() {
        let s = samples(
            &run(vec![step("shop", Outcome::Failed, Some(500))], 1),
            &SeriesOptions::default(),
        );
        let names: Vec<&str> = s.iter().map(|x| x.series.name).collect();
        assert_eq!(
            names,
            [
                "SuccessPercent",
                "Duration",
                "Failed",
                "Error",
                "Degraded",
                "2xx",
                "4xx",
                "5xx"
            ]
        );
        assert_eq!(
            (
                find(&s, "Failed", None).value,
                find(&s, "Error", None).value
            ),
            (1.0, 0.0)
        );
    }

    #[test]
    fn phases_only_when_asked_and_skips_are_counted() {
        let mut st = step("shop", Outcome::Passed, Some(200));
        st.phases = Some(crate::run::Phases::default());
        let r = run(vec![st], 1);
        assert!(
            samples(&r, &SeriesOptions::default())
                .iter()
                .all(|x| x.series.name != "PhaseDuration")
        );
        let with = samples(
            &r,
            &SeriesOptions {
                phases: true,
                ..Default::default()
            },
        );
        assert_eq!(
            with.iter()
                .filter(|x| x.series.name == "PhaseDuration")
                .count(),
            6
        );
        let skip = skipped(
            "shop",
            &[],
            &SeriesOptions::default(),
            SystemTime::UNIX_EPOCH,
        );
        assert_eq!(
            (skip.series.name, skip.series.unit, skip.value),
            ("SkippedRuns", Unit::Count, 1.0)
        );
    }

    /// Every metric an alarm may watch is a series CloudWatch gets (from the samples) and EMF
    /// writes, under that very name, so no alarm waits on a series nobody sends.
    #[test]
    fn every_alarm_metric_is_a_series_cloudwatch_and_emf_write_under_its_name() {
        let r = run(
            vec![
                step("create", Outcome::Passed, Some(201)),
                step("fetch", Outcome::Passed, Some(404)),
            ],
            2,
        );
        let opts = SeriesOptions::default();
        let mut all = samples(&r, &opts);
        let skip = skipped("shop", &[], &opts, SystemTime::UNIX_EPOCH);
        let mut emf = crate::metrics::emf::lines(&r, &all, "Canary", None);
        emf.push(crate::metrics::emf::skipped_line(&skip, "Canary"));
        all.push(skip);
        let declared: Vec<String> = emf
            .iter()
            .flat_map(|o| {
                o["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                    .as_array()
                    .unwrap()
                    .clone()
            })
            .map(|m| m["Name"].as_str().unwrap().to_string())
            .collect();
        for metric in crate::names::METRICS {
            assert!(
                all.iter().any(|s| s.series.name == metric),
                "{metric} is no sample"
            );
            assert!(
                declared.iter().any(|n| n == metric),
                "{metric} is no EMF metric"
            );
        }
    }
}
