//! The series of each canary (success, degraded, duration, runs, skips, certificate expiry) in
//! one compact entry per canary, written out on each scrape.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, RwLock};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;

use crate::canary::maintenance::Window;
use crate::run::Outcome;

/// How many bounded duration buckets there are: 5 ms, doubling up to 40.96 s (then +Inf).
const BOUNDS: usize = 14;

fn bound(i: usize) -> f64 {
    0.005 * f64::from(1u32 << i)
}

/// The outcomes, in the order of [`Series::runs`].
const OUTCOMES: [Outcome; 4] = [
    Outcome::Passed,
    Outcome::Degraded,
    Outcome::Failed,
    Outcome::Errored,
];

/// Every canary's series, each created when the canary is loaded (or by its first run or skip).
///
/// One entry holds what were six metric families' entries (each with its own copy of the
/// name, a hash-map slot and a shared counter): about 200 bytes a canary instead of about 800.
/// Boxed, so the map's spare slots cost a pointer each, not an entry.
#[derive(Debug, Default)]
pub struct Canaries {
    by_name: RwLock<HashMap<Arc<str>, Box<Series>>>,
    /// The maintenance windows of the canaries some window covers (most canaries: none).
    windows: RwLock<Covered>,
}

/// The windows of each covered canary, by name.
type Covered = BTreeMap<Arc<str>, Box<[Arc<Window>]>>;

/// One canary's series. Atomics: a scrape reads them while runs are recorded.
#[derive(Debug, Default)]
struct Series {
    /// The last run's outcome, as its index in [`OUTCOMES`] plus one; 0 before the first run.
    /// A canary that has not run shows its counters at 0 and no gauges.
    last: AtomicU8,
    /// Runs by outcome, in the order of [`OUTCOMES`].
    runs: [AtomicU64; 4],
    /// Instants skipped because the previous run was still going.
    skipped: AtomicU64,
    /// When the last server certificate seen expires, Unix seconds as `f64` bits; 0: none seen.
    cert_expiry: AtomicU64,
    /// The sum of the run durations in seconds, as `f64` bits.
    duration_sum: AtomicU64,
    /// Runs by duration bucket: `BOUNDS` bounded buckets, then +Inf (not cumulative). 32 bits
    /// hold a run a second for 136 years.
    duration_buckets: [AtomicU32; BOUNDS + 1],
}

impl Canaries {
    /// Records a run of `canary`: its outcome, its duration in seconds, and the expiry of the
    /// server certificate it saw (Unix seconds), if any.
    pub fn run(&self, canary: &str, outcome: Outcome, seconds: f64, cert_expiry: Option<f64>) {
        self.with(canary, |s| {
            let o = OUTCOMES.iter().position(|x| *x == outcome).unwrap_or(0);
            s.last.store(o as u8 + 1, Relaxed);
            s.runs[o].fetch_add(1, Relaxed);
            add_f64(&s.duration_sum, seconds);
            let b = (0..BOUNDS).find(|&i| seconds <= bound(i)).unwrap_or(BOUNDS);
            s.duration_buckets[b].fetch_add(1, Relaxed);
            if let Some(t) = cert_expiry {
                s.cert_expiry.store(t.to_bits(), Relaxed);
            }
        });
    }

    /// Declares a loaded canary: its counters (runs by every outcome, skips, the duration
    /// histogram) are shown at 0 from now on, so that a rule over an outcome that has not
    /// happened yet sees 0, not a missing series (Prometheus' advice for labelled counters).
    pub fn declare(&self, canary: &str, windows: &[Arc<Window>]) {
        self.with(canary, |_| {});
        let mut all = self.windows.write().unwrap_or_else(|e| e.into_inner());
        match windows.is_empty() {
            true => all.remove(canary),
            false => all.insert(Arc::from(canary), windows.into()),
        };
    }

    /// Records a skipped instant of `canary`.
    pub fn skipped(&self, canary: &str) {
        self.with(canary, |s| {
            s.skipped.fetch_add(1, Relaxed);
        });
    }

    /// Applies `f` to `canary`'s series, creating them on first use.
    fn with(&self, canary: &str, f: impl FnOnce(&Series)) {
        if let Some(s) = self.read().get(canary) {
            return f(s);
        }
        let mut all = self.by_name.write().unwrap_or_else(|e| e.into_inner());
        f(all.entry(Arc::from(canary)).or_default());
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<Arc<str>, Box<Series>>> {
        self.by_name.read().unwrap_or_else(|e| e.into_inner())
    }
}

/// Adds `v` to an `f64` kept as bits.
fn add_f64(bits: &AtomicU64, v: f64) {
    let _ = bits.fetch_update(Relaxed, Relaxed, |b| {
        Some((f64::from_bits(b) + v).to_bits())
    });
}

/// What one family shows of a canary's series (None: no sample for it).
type Sample = fn(&Series) -> Option<Value>;

enum Value {
    Gauge(i64),
    GaugeF(f64),
    Counter(u64),
}

const GAUGES: [(&str, &str, Sample); 3] = [
    (
        "canary_success",
        "1 if the canary's last run passed (or was degraded), else 0",
        |s| match s.last.load(Relaxed) {
            0 => None,
            o => Some(Value::Gauge(i64::from(o <= 2))),
        },
    ),
    (
        "canary_degraded",
        "1 if the canary's last run was degraded, else 0",
        |s| match s.last.load(Relaxed) {
            0 => None,
            o => Some(Value::Gauge(i64::from(o == 2))),
        },
    ),
    (
        "canary_tls_cert_expiry_timestamp_seconds",
        "When the server certificate expires (Unix time)",
        |s| match s.cert_expiry.load(Relaxed) {
            0 => None,
            b => Some(Value::GaugeF(f64::from_bits(b))),
        },
    ),
];

impl Collector for Canaries {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let all = self.read();
        let mut sorted: Vec<(&Arc<str>, &Series)> = all.iter().map(|(c, s)| (c, &**s)).collect();
        sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
        for (name, help, sample) in GAUGES {
            encode_simple(&mut encoder, name, help, MetricType::Gauge, &sorted, sample)?;
        }
        encode_durations(&mut encoder, &sorted)?;
        encode_runs(&mut encoder, &sorted)?;
        encode_maintenance(
            &mut encoder,
            &self.windows.read().unwrap_or_else(|e| e.into_inner()),
        )?;
        encode_simple(
            &mut encoder,
            "canary_skipped_runs",
            "Instants skipped because the previous run was still going",
            MetricType::Counter,
            &sorted,
            |s| Some(Value::Counter(s.skipped.load(Relaxed))),
        )
    }
}

/// One family with a `canary` label, written only when some canary has a sample for it.
fn encode_simple(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    kind: MetricType,
    sorted: &[(&Arc<str>, &Series)],
    sample: Sample,
) -> Result<(), std::fmt::Error> {
    let mut samples = sorted.iter().filter_map(|(c, s)| Some((c, sample(s)?)));
    let Some(first) = samples.next() else {
        return Ok(());
    };
    let mut family = encoder.encode_descriptor(name, help, None, kind)?;
    for (canary, value) in std::iter::once(first).chain(samples) {
        let labels = [("canary", &***canary)];
        let mut m = family.encode_family(&labels)?;
        match value {
            Value::Gauge(v) => m.encode_gauge(&v)?,
            Value::GaugeF(v) => m.encode_gauge(&v)?,
            Value::Counter(v) => m.encode_counter::<NoLabelSet, u64, u64>(&v, None)?,
        }
    }
    Ok(())
}

fn encode_durations(
    encoder: &mut DescriptorEncoder,
    sorted: &[(&Arc<str>, &Series)],
) -> Result<(), std::fmt::Error> {
    if sorted.is_empty() {
        return Ok(());
    }
    let mut family = encoder.encode_descriptor(
        "canary_duration_seconds",
        "Run duration",
        None,
        MetricType::Histogram,
    )?;
    let mut buckets = [(f64::MAX, 0u64); BOUNDS + 1];
    for (canary, s) in sorted {
        for (i, b) in buckets.iter_mut().enumerate() {
            b.0 = if i < BOUNDS { bound(i) } else { f64::MAX };
            b.1 = u64::from(s.duration_buckets[i].load(Relaxed));
        }
        let count = buckets.iter().map(|b| b.1).sum();
        let sum = f64::from_bits(s.duration_sum.load(Relaxed));
        let labels = [("canary", &***canary)];
        family
            .encode_family(&labels)?
            .encode_histogram::<NoLabelSet>(sum, count, &buckets, None)?;
    }
    Ok(())
}

fn encode_runs(
    encoder: &mut DescriptorEncoder,
    sorted: &[(&Arc<str>, &Series)],
) -> Result<(), std::fmt::Error> {
    if sorted.is_empty() {
        return Ok(());
    }
    let mut family =
        encoder.encode_descriptor("canary_runs", "Runs by outcome", None, MetricType::Counter)?;
    for (canary, s) in sorted {
        for (o, n) in OUTCOMES.iter().zip(&s.runs) {
            let n = n.load(Relaxed);
            let labels = [("canary", &***canary), ("outcome", o.as_str())];
            family
                .encode_family(&labels)?
                .encode_counter::<NoLabelSet, u64, u64>(&n, None)?;
        }
    }
    Ok(())
}

/// `canary_maintenance{canary, window}`: 1 while the window is open, else 0, for every window
/// that covers a canary — from the clock at the scrape, so it opens on time without a run.
fn encode_maintenance(
    encoder: &mut DescriptorEncoder,
    covered: &Covered,
) -> Result<(), std::fmt::Error> {
    if covered.is_empty() {
        return Ok(());
    }
    let mut family = encoder.encode_descriptor(
        "canary_maintenance",
        "1 while a maintenance window that covers the canary is open, else 0",
        None,
        MetricType::Gauge,
    )?;
    let now = chrono::Utc::now();
    for (canary, windows) in covered {
        for w in windows.iter() {
            let labels = [("canary", &**canary), ("window", w.name.as_str())];
            let open = i64::from(w.open_at(now));
            family.encode_family(&labels)?.encode_gauge(&open)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::registry::Registry;

    fn text(c: &Arc<Canaries>) -> String {
        let mut r = Registry::default();
        r.register_collector(Box::new(c.clone()));
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &r).unwrap();
        out
    }

    #[test]
    fn a_loaded_canary_shows_every_counter_at_0_and_no_gauge_before_it_runs() {
        let c = Arc::new(Canaries::default());
        c.declare("new", &[]);
        let out = text(&c);
        for o in ["passed", "degraded", "failed", "errored"] {
            let line = format!("canary_runs_total{{canary=\"new\",outcome=\"{o}\"}} 0");
            assert!(out.lines().any(|l| l == line), "no `{line}` in\n{out}");
        }
        for line in [
            "canary_skipped_runs_total{canary=\"new\"} 0",
            "canary_duration_seconds_count{canary=\"new\"} 0",
        ] {
            assert!(out.lines().any(|l| l == line), "no `{line}` in\n{out}");
        }
        assert!(
            !out.contains("canary_success"),
            "no success before a run:\n{out}"
        );
    }

    #[test]
    fn each_canary_shows_what_its_runs_and_skips_recorded() {
        let c = Arc::new(Canaries::default());
        assert_eq!(text(&c), "# EOF\n", "nothing before a run");
        c.run("web", Outcome::Passed, 0.004, None);
        c.run("web", Outcome::Degraded, 0.3, Some(1.9e9));
        c.run("api", Outcome::Errored, 100.0, None);
        c.skipped("api");
        let out = text(&c);
        for line in [
            "canary_success{canary=\"api\"} 0",
            "canary_success{canary=\"web\"} 1",
            "canary_degraded{canary=\"web\"} 1",
            "canary_tls_cert_expiry_timestamp_seconds{canary=\"web\"} 1900000000.0",
            "canary_duration_seconds_sum{canary=\"web\"} 0.304",
            "canary_duration_seconds_count{canary=\"web\"} 2",
            "canary_duration_seconds_bucket{le=\"0.005\",canary=\"web\"} 1",
            "canary_duration_seconds_bucket{le=\"0.16\",canary=\"web\"} 1",
            "canary_duration_seconds_bucket{le=\"0.32\",canary=\"web\"} 2",
            "canary_duration_seconds_bucket{le=\"40.96\",canary=\"api\"} 0",
            "canary_duration_seconds_bucket{le=\"+Inf\",canary=\"api\"} 1",
            "canary_runs_total{canary=\"web\",outcome=\"passed\"} 1",
            "canary_runs_total{canary=\"web\",outcome=\"degraded\"} 1",
            "canary_runs_total{canary=\"api\",outcome=\"errored\"} 1",
            "canary_skipped_runs_total{canary=\"api\"} 1",
        ] {
            assert!(out.lines().any(|l| l == line), "no `{line}` in\n{out}");
        }
        assert!(!out.contains("expiry_timestamp_seconds{canary=\"api\"}"));
        for line in [
            "canary_skipped_runs_total{canary=\"web\"} 0",
            "canary_runs_total{canary=\"web\",outcome=\"failed\"} 0",
            "canary_runs_total{canary=\"api\",outcome=\"passed\"} 0",
        ] {
            assert!(out.lines().any(|l| l == line), "no `{line}` in\n{out}");
        }
        assert!(
            out.find("canary=\"api\"") < out.find("canary=\"web\""),
            "canaries in name order"
        );
    }

    #[test]
    fn a_covered_canary_shows_each_window_open_or_closed_by_the_clock() {
        use crate::canary::maintenance::When;
        let window = |name: &str, start: &str, end: &str| {
            Arc::new(Window {
                name: name.into(),
                when: When::Once {
                    start: start.parse().unwrap(),
                    end: end.parse().unwrap(),
                },
            })
        };
        let c = Arc::new(Canaries::default());
        let open = window("now", "2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z");
        let past = window("past", "2000-01-01T00:00:00Z", "2000-01-02T00:00:00Z");
        c.declare("db", &[open, past]);
        c.declare("web", &[]);
        let out = text(&c);
        assert!(
            out.contains("canary_maintenance{canary=\"db\",window=\"now\"} 1"),
            "{out}"
        );
        assert!(
            out.contains("canary_maintenance{canary=\"db\",window=\"past\"} 0"),
            "{out}"
        );
        assert!(!out.contains("canary_maintenance{canary=\"web\""), "{out}");
        c.declare("db", &[]);
        assert!(
            !text(&c).contains("canary_maintenance"),
            "a reload that drops the windows"
        );
    }
}
