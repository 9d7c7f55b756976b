//! Metric names and dimensions as each engine spells and limits them: the one list of the
//! metrics canary publishes, which the sinks write, alarms watch and exporters translate.

/// A run's success: 100 when it passed (or was degraded), else 0; also per step.
pub const SUCCESS_PERCENT: &str = "SuccessPercent";
/// A run's duration in milliseconds; also per step.
pub const DURATION: &str = "Duration";
/// 1 when a run failed or errored.
pub const FAILED: &str = "Failed";
/// 1 when a run errored (could not complete).
pub const ERROR: &str = "Error";
/// 1 when a run was degraded.
pub const DEGRADED: &str = "Degraded";
/// The responses of a run's last attempt with a 2xx status.
pub const STATUS_2XX: &str = "2xx";
/// The responses of a run's last attempt with a 4xx status.
pub const STATUS_4XX: &str = "4xx";
/// The responses of a run's last attempt with a 5xx status.
pub const STATUS_5XX: &str = "5xx";
/// The attempts after the first, when there were any.
pub const RETRY_COUNT: &str = "RetryCount";
/// 1 for an instant skipped because the canary's previous run was still going.
pub const SKIPPED_RUNS: &str = "SkippedRuns";
/// A phase's duration in milliseconds (`--phase-metrics`), with a `Phase` dimension.
pub const PHASE_DURATION: &str = "PhaseDuration";
/// 1 for a run in a maintenance window (published only then): what the CloudWatch alarms'
/// actions suppressor watches.
pub const MAINTENANCE: &str = "Maintenance";
/// The short name of the alarm on [`MAINTENANCE`] that a window adds to each canary it covers.
pub const MAINTENANCE_ALARM: &str = "maintenance";

/// The metrics an alarm can watch: the series canary publishes (CloudWatch Synthetics' names).
pub const METRICS: [&str; 10] = [
    SUCCESS_PERCENT,
    DURATION,
    FAILED,
    ERROR,
    DEGRADED,
    STATUS_2XX,
    STATUS_4XX,
    STATUS_5XX,
    RETRY_COUNT,
    SKIPPED_RUNS,
];

/// The metrics that also exist per step (with a `StepName` dimension).
pub const STEP_METRICS: [&str; 2] = [SUCCESS_PERCENT, DURATION];

/// Checks a dimension as CloudWatch accepts it: a name of 1–255 and a value of 1–1024
/// characters, no control characters, and a name that does not start with `:`.
pub fn check_dimension(name: &str, value: &str) -> Result<(), String> {
    let ok = |s: &str, max: usize| {
        !s.is_empty() && s.chars().count() <= max && !s.chars().any(char::is_control)
    };
    if !ok(name, 255) || name.starts_with(':') {
        return Err(format!(
            "dimension name `{name}`: 1 to 255 characters, no control characters, not starting with `:`"
        ));
    }
    if !ok(value, 1024) {
        return Err(format!(
            "dimension `{name}`: the value must have 1 to 1024 characters and no control characters"
        ));
    }
    Ok(())
}

/// The dimension a runner's `--location` adds to every series.
pub const LOCATION: &str = "Location";

/// A Prometheus label name from a dimension name: invalid characters become `_`; the
/// runner's [`LOCATION`] is `location`, as Prometheus' conventions spell labels.
pub fn label_name(name: &str) -> String {
    if name == LOCATION {
        return "location".into();
    }
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    s
}
