//! Embedded Metric Format: one JSON object per run and dimension set, to AWS's specification —
//! `_aws.Timestamp`, `CloudWatchMetrics[{Namespace, Dimensions, Metrics[{Name, Unit}]}]`.

use std::io::Write;
use std::time::{Duration, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use tokio::time::Instant;

use super::Sample;
use super::sink::{Sink, SinkReport};
use crate::delivery::BoxFuture;
use crate::run::Run;

type Dimensions = std::sync::Arc<[(String, String)]>;

/// The most metrics in one directive (AWS's limit).
pub const MAX_METRICS: usize = 100;

/// The EMF objects of one run: one per set of dimensions (the canary's, then each step's), with
/// the run's outcome, attempts, lateness and error kind as plain (unbilled) properties.
pub fn lines(
    run: &Run,
    samples: &[Sample],
    namespace: &str,
    lateness: Option<Duration>,
) -> Vec<Value> {
    let mut groups: Vec<(Dimensions, Vec<Sample>)> = Vec::new();
    for s in samples {
        match groups.iter_mut().find(|(d, _)| *d == s.series.dimensions) {
            Some((_, v)) => v.push(s.clone()),
            None => groups.push((s.series.dimensions.clone(), vec![s.clone()])),
        }
    }
    let ts = run
        .started_at
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64;
    groups
        .into_iter()
        .flat_map(|(dims, group)| {
            group
                .chunks(MAX_METRICS)
                .map(|chunk| line(&dims, chunk, namespace, ts, run, lateness))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn line(
    dims: &[(String, String)],
    metrics: &[Sample],
    namespace: &str,
    ts: u64,
    run: &Run,
    lateness: Option<Duration>,
) -> Value {
    let mut obj = directive(dims, metrics, namespace, ts);
    obj.insert("Outcome".into(), json!(run.outcome().as_str()));
    obj.insert("Attempts".into(), json!(run.attempts.len()));
    if let Some(l) = lateness {
        obj.insert("LatenessMs".into(), json!(crate::report::millis(l)));
    }
    let error = run.last().steps.iter().find_map(|s| s.error.as_ref());
    if let Some(e) = error {
        obj.insert("ErrorKind".into(), json!(e.kind.as_str()));
    }
    Value::Object(obj)
}

/// The object's directive and values: `_aws` declaring `metrics` with `dims`, the dimensions'
/// values, and each metric's value.
fn directive(
    dims: &[(String, String)],
    metrics: &[Sample],
    namespace: &str,
    ts: u64,
) -> Map<String, Value> {
    let names: Vec<&str> = dims.iter().map(|(k, _)| k.as_str()).collect();
    let declared: Vec<Value> = metrics
        .iter()
        .map(|s| json!({"Name": s.series.name, "Unit": s.series.unit.as_str()}))
        .collect();
    let mut obj = Map::new();
    obj.insert(
        "_aws".into(),
        json!({"Timestamp": ts, "CloudWatchMetrics": [{"Namespace": namespace, "Dimensions": [names], "Metrics": declared}]}),
    );
    for (k, v) in dims {
        obj.insert(k.clone(), Value::String(v.clone()));
    }
    for s in metrics {
        obj.insert(s.series.name.to_string(), json!(s.value));
    }
    obj
}

/// The EMF object of a skipped instant: its `SkippedRuns` sample alone.
pub fn skipped_line(sample: &Sample, namespace: &str) -> Value {
    let ts = sample
        .at
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64;
    let dims = &sample.series.dimensions;
    Value::Object(directive(dims, std::slice::from_ref(sample), namespace, ts))
}

/// Writes EMF lines to stdout or a file.
pub struct EmfWriter {
    out: Box<dyn Write + Send>,
    namespace: String,
}

impl EmfWriter {
    /// A writer to `out`.
    pub fn new(out: Box<dyn Write + Send>, namespace: String) -> EmfWriter {
        EmfWriter { out, namespace }
    }

    /// Writes a run's lines (from its samples), one JSON object a line.
    pub fn write(&mut self, run: &Run, samples: &[Sample], lateness: Option<Duration>) {
        self.emit(lines(run, samples, &self.namespace, lateness));
    }

    fn emit(&mut self, objects: Vec<Value>) {
        let mut text = String::new();
        for line in objects {
            text.push_str(&line.to_string());
            text.push('\n');
        }
        if let Err(e) = self
            .out
            .write_all(text.as_bytes())
            .and_then(|()| self.out.flush())
        {
            tracing::error!(error = %e, "cannot write EMF lines");
        }
    }
}

impl Sink for EmfWriter {
    fn name(&self) -> &'static str {
        "emf"
    }

    fn wants_samples(&self) -> bool {
        true
    }

    fn record(&mut self, run: &Run, samples: &[Sample], lateness: Option<Duration>) {
        self.write(run, samples, lateness);
    }

    fn skipped(&mut self, _canary: &str, sample: &Sample) {
        let line = skipped_line(sample, &self.namespace);
        self.emit(vec![line]);
    }

    fn finish(&mut self, _deadline: Instant) -> BoxFuture<'_, SinkReport> {
        Box::pin(async { SinkReport::nothing_held("emf") })
    }
}
