//! Metrics from runs: series named as CloudWatch Synthetics names them, windowed histograms,
//! and the sinks — CloudWatch, Embedded Metric Format, Prometheus.

pub mod cloudwatch;
pub mod emf;
mod histogram;
mod hub;
pub mod prometheus;
mod series;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

pub use histogram::Aggregate;
pub use hub::{Config, Metrics, MetricsError, Report, SinkKind};
pub use series::{Sample, SeriesKey, SeriesOptions, Unit, samples, skipped};

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

/// One series' observations in one window.
#[derive(Debug, Clone)]
pub struct Window {
    /// The series.
    pub series: SeriesKey,
    /// When the window starts (its datum's timestamp): the runs in it started in
    /// `[start, start + window)`.
    pub start: SystemTime,
    /// The observations.
    pub agg: Aggregate,
}

/// Keeps an aggregate per series per window, keyed by when each run *started*.
#[derive(Debug)]
pub struct Recorder {
    window: Duration,
    open: BTreeMap<(u64, SeriesKey), Aggregate>,
}

impl Recorder {
    /// A recorder with windows of `window` (at least one second).
    pub fn new(window: Duration) -> Recorder {
        Recorder {
            window: window.max(Duration::from_secs(1)),
            open: BTreeMap::new(),
        }
    }

    /// Adds a sample to its series' window.
    pub fn record(&mut self, s: &Sample) {
        let secs =
            s.at.duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs();
        let w = self.window.as_secs();
        self.open
            .entry((secs / w * w, s.series.clone()))
            .or_default()
            .record(s.value);
    }

    /// The windows that have ended by `now` (every window when `all`), oldest first.
    pub fn drain(&mut self, now: SystemTime, all: bool) -> Vec<Window> {
        self.drain_some(now, all, usize::MAX)
    }

    /// At most `max` of the windows that have ended by `now` (every window when `all`), oldest
    /// first: a flush takes them a batch at a time, so a window of 10,000 canaries is never
    /// copied whole.
    pub fn drain_some(&mut self, now: SystemTime, all: bool, max: usize) -> Vec<Window> {
        let w = self.window.as_secs();
        let mut out = Vec::new();
        while out.len() < max {
            let Some(entry) = self.open.first_entry() else {
                break;
            };
            if !all && entry.key().0 + w > secs(now) {
                break;
            }
            let ((start, series), agg) = entry.remove_entry();
            out.push(Window {
                series,
                start: SystemTime::UNIX_EPOCH + Duration::from_secs(start),
                agg,
            });
        }
        out
    }

    /// How many series-windows have ended by `now` (all of them when `all`).
    pub fn ended(&self, now: SystemTime, all: bool) -> usize {
        let w = self.window.as_secs();
        self.open
            .keys()
            .take_while(|(start, _)| all || start + w <= secs(now))
            .count()
    }

    /// Series-windows not yet drained.
    pub fn open_windows(&self) -> usize {
        self.open.len()
    }
}

/// Whole seconds since the Unix epoch.
fn secs(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &'static str, secs: u64, value: f64) -> Sample {
        let series = SeriesKey {
            name,
            unit: Unit::Milliseconds,
            dimensions: vec![("CanaryName".into(), "c".into())].into(),
        };
        Sample {
            series,
            value,
            at: SystemTime::UNIX_EPOCH + Duration::from_secs(secs),
        }
    }

    #[test]
    fn ended_windows_drain_a_batch_at_a_time_oldest_first() {
        let mut r = Recorder::new(Duration::from_secs(60));
        for name in ["A", "B", "C", "D", "E"] {
            r.record(&sample(name, 120, 1.0));
        }
        r.record(&sample("A", 180, 1.0));
        let at = |s| SystemTime::UNIX_EPOCH + Duration::from_secs(s);
        assert_eq!(r.ended(at(180), false), 5);
        let first = r.drain_some(at(180), false, 2);
        assert_eq!(
            first.iter().map(|w| w.series.name).collect::<Vec<_>>(),
            ["A", "B"]
        );
        assert_eq!(r.drain_some(at(180), false, 10).len(), 3);
        assert!(r.drain_some(at(180), false, 10).is_empty());
        assert_eq!(r.ended(at(180), true), 1);
        assert_eq!(r.drain(at(180), true)[0].start, at(180));
        assert_eq!(r.open_windows(), 0);
    }

    #[test]
    fn windows_follow_run_start_and_drain_when_ended() {
        let mut r = Recorder::new(Duration::from_secs(60));
        r.record(&sample("Duration", 120, 10.0));
        r.record(&sample("Duration", 179, 30.0));
        r.record(&sample("Duration", 180, 50.0));
        let at = |s| SystemTime::UNIX_EPOCH + Duration::from_secs(s);
        assert!(r.drain(at(179), false).is_empty());
        let w = r.drain(at(180), false);
        assert_eq!(w.len(), 1);
        assert_eq!(
            (w[0].start, w[0].agg.count, w[0].agg.sum),
            (at(120), 2, 40.0)
        );
        let rest = r.drain(at(181), true);
        assert_eq!(
            (rest.len(), rest[0].start, r.open_windows()),
            (1, at(180), 0)
        );
    }

    #[test]
    fn dimensions_are_checked() {
        assert!(check_dimension("Environment", "prod").is_ok());
        assert!(check_dimension("", "x").is_err());
        assert!(check_dimension(":aws", "x").is_err());
        assert!(check_dimension("E", "").is_err());
        assert!(check_dimension("E", &"x".repeat(1025)).is_err());
    }
}
