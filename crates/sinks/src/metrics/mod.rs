//! Metrics from runs: series named as CloudWatch Synthetics names them, windowed histograms,
//! and the sinks — CloudWatch, Embedded Metric Format, Prometheus.

pub mod cloudwatch;
pub mod emf;
mod histogram;
mod hub;
pub mod prometheus;
mod series;
pub mod sink;

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, SystemTime};

pub use crate::names::check_dimension;
pub use histogram::Aggregate;
pub use hub::{Config, Metrics, MetricsError, Report, SinkKind};
pub use series::{Sample, SeriesKey, SeriesOptions, Unit, samples, skipped};
pub use sink::{Sink, SinkReport};

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

/// The dimensions the series of one run (or one step) share.
type Dimensions = std::sync::Arc<[(String, String)]>;

/// Keeps an aggregate per series per window, keyed by when each run *started*. The series that
/// share their dimensions (one canary's eight, one step's two) share one entry, each series a
/// small index and a 16-byte aggregate: about 250 bytes per canary per window, where an entry
/// per series took about 1.2 KB. Every window of a canary shares one copy of its dimensions.
#[derive(Debug)]
pub struct Recorder {
    window: Duration,
    /// The metric names and units recorded so far (the program's own, a dozen), by index.
    metrics: Vec<(&'static str, Unit)>,
    open: BTreeMap<(u64, Dimensions), Vec<(u16, Aggregate)>>,
    /// The dimension sets of the open windows (and of those drained last), one copy each: a
    /// run's samples come with a copy of their own, dropped once recorded.
    dimensions: HashSet<Dimensions>,
}

impl Recorder {
    /// A recorder with windows of `window` (at least one second).
    pub fn new(window: Duration) -> Recorder {
        Recorder {
            window: window.max(Duration::from_secs(1)),
            metrics: Vec::new(),
            open: BTreeMap::new(),
            dimensions: HashSet::new(),
        }
    }

    /// Adds a sample to its series' window.
    pub fn record(&mut self, s: &Sample) {
        let w = self.window.as_secs();
        let start = secs(s.at) / w * w;
        let metric = self.metric(s.series.name, s.series.unit);
        let dimensions = self.intern(&s.series.dimensions);
        let series = self.open.entry((start, dimensions)).or_default();
        match series.iter_mut().find(|(m, _)| *m == metric) {
            Some((_, agg)) => agg.record(s.value),
            None => {
                let mut agg = Aggregate::default();
                agg.record(s.value);
                series.push((metric, agg));
            }
        }
    }

    /// The one copy of `dims` the recorder keeps.
    fn intern(&mut self, dims: &Dimensions) -> Dimensions {
        match self.dimensions.get(dims) {
            Some(kept) => kept.clone(),
            None => {
                self.dimensions.insert(dims.clone());
                dims.clone()
            }
        }
    }

    fn metric(&mut self, name: &'static str, unit: Unit) -> u16 {
        let i = match self.metrics.iter().position(|m| *m == (name, unit)) {
            Some(i) => i,
            None => {
                self.metrics.push((name, unit));
                self.metrics.len() - 1
            }
        };
        u16::try_from(i).expect("metric names are the program's own, a dozen")
    }

    /// The series-windows that have ended by `now` (every one when `all`), oldest first, those
    /// of one set of dimensions at a time until there are at least `max`: a flush takes them a
    /// batch at a time, so a window of 10,000 canaries is never copied whole.
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
            let ((start, dimensions), series) = entry.remove_entry();
            let start = SystemTime::UNIX_EPOCH + Duration::from_secs(start);
            out.extend(series.into_iter().map(|(metric, agg)| {
                let (name, unit) = self.metrics[usize::from(metric)];
                let dimensions = dimensions.clone();
                Window {
                    series: SeriesKey {
                        name,
                        unit,
                        dimensions,
                    },
                    start,
                    agg,
                }
            }));
        }
        if out.len() < max {
            // Every ended window is out: forget the dimensions no window holds any more (a
            // canary removed, or renamed), once the last of its windows has been sent.
            self.dimensions
                .retain(|d| std::sync::Arc::strong_count(d) > 1);
        }
        out
    }

    /// How many series-windows have ended by `now` (all of them when `all`).
    pub fn ended(&self, now: SystemTime, all: bool) -> usize {
        let w = self.window.as_secs();
        self.open
            .iter()
            .take_while(|((start, _), _)| all || start + w <= secs(now))
            .map(|(_, series)| series.len())
            .sum()
    }

    /// Series-windows not yet drained.
    pub fn open_windows(&self) -> usize {
        self.open.values().map(Vec::len).sum()
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

    fn sample(canary: &str, name: &'static str, secs: u64, value: f64) -> Sample {
        let series = SeriesKey {
            name,
            unit: Unit::Milliseconds,
            dimensions: vec![("CanaryName".into(), canary.into())].into(),
        };
        Sample {
            series,
            value,
            at: SystemTime::UNIX_EPOCH + Duration::from_secs(secs),
        }
    }

    fn names(w: &[Window]) -> Vec<(String, &'static str)> {
        let canary = |w: &Window| w.series.dimensions[0].1.clone();
        w.iter().map(|w| (canary(w), w.series.name)).collect()
    }

    #[test]
    fn ended_windows_drain_a_canary_at_a_time_oldest_first() {
        let mut r = Recorder::new(Duration::from_secs(60));
        for canary in ["a", "b", "c"] {
            r.record(&sample(canary, "Duration", 120, 1.0));
            r.record(&sample(canary, "Failed", 121, 0.0));
        }
        r.record(&sample("a", "Duration", 180, 1.0));
        let at = |s| SystemTime::UNIX_EPOCH + Duration::from_secs(s);
        assert_eq!((r.ended(at(180), false), r.open_windows()), (6, 7));
        let first = r.drain_some(at(180), false, 3);
        let both = |c: &str| [(c.to_string(), "Duration"), (c.to_string(), "Failed")];
        assert_eq!(names(&first), [both("a"), both("b")].concat());
        assert_eq!(names(&r.drain_some(at(180), false, 10)), both("c"));
        assert!(r.drain_some(at(180), false, 10).is_empty());
        assert_eq!(r.ended(at(180), true), 1);
        assert_eq!(r.drain_some(at(180), true, usize::MAX)[0].start, at(180));
        assert_eq!(r.open_windows(), 0);
    }

    #[test]
    fn the_windows_of_a_canary_share_one_copy_of_its_dimensions_until_it_is_gone() {
        let mut r = Recorder::new(Duration::from_secs(60));
        for secs in [60, 61, 120] {
            r.record(&sample("a", "Duration", secs, 1.0));
        }
        r.record(&sample("b", "Duration", 60, 1.0));
        let at = |s| SystemTime::UNIX_EPOCH + Duration::from_secs(s);
        let dims = |w: &[Window], c: &str| {
            let w = w.iter().find(|w| w.series.dimensions[0].1 == c).unwrap();
            w.series.dimensions.clone()
        };
        let first = r.drain_some(at(120), false, usize::MAX);
        let second = r.drain_some(at(180), false, usize::MAX);
        assert!(std::sync::Arc::ptr_eq(
            &dims(&first, "a"),
            &dims(&second, "a")
        ));
        assert_eq!(r.dimensions.len(), 2, "b's last window is still being sent");
        drop((first, second));
        assert!(r.drain_some(at(240), false, usize::MAX).is_empty());
        assert_eq!(r.dimensions.len(), 0, "no window holds a or b");
    }

    #[test]
    fn windows_follow_run_start_and_drain_when_ended() {
        let mut r = Recorder::new(Duration::from_secs(60));
        r.record(&sample("c", "Duration", 120, 10.0));
        r.record(&sample("c", "Duration", 179, 30.0));
        r.record(&sample("c", "Duration", 180, 50.0));
        let at = |s| SystemTime::UNIX_EPOCH + Duration::from_secs(s);
        assert!(r.drain_some(at(179), false, usize::MAX).is_empty());
        let w = r.drain_some(at(180), false, usize::MAX);
        assert_eq!(w.len(), 1);
        assert_eq!(
            (w[0].start, w[0].agg.count(), w[0].agg.sum()),
            (at(120), 2, 40.0)
        );
        let rest = r.drain_some(at(181), true, usize::MAX);
        assert_eq!(
            (rest.len(), rest[0].start, r.open_windows()),
            (1, at(180), 0)
        );
    }

    #[test]
    fn series_of_one_name_but_another_unit_are_apart() {
        let mut r = Recorder::new(Duration::from_secs(60));
        let mut count = sample("c", "Duration", 120, 3.0);
        count.series.unit = Unit::Count;
        r.record(&sample("c", "Duration", 120, 10.0));
        r.record(&count);
        let w = r.drain_some(SystemTime::UNIX_EPOCH, true, usize::MAX);
        let got: Vec<_> = w.iter().map(|w| (w.series.unit, w.agg.sum())).collect();
        assert_eq!(got, [(Unit::Milliseconds, 10.0), (Unit::Count, 3.0)]);
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
