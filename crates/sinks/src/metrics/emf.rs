//! Embedded Metric Format: one JSON object per run and dimension set, to AWS's specification —
//! `_aws.Timestamp`, `CloudWatchMetrics[{Namespace, Dimensions, Metrics[{Name, Unit}]}]`.

use std::io::Write;
use std::time::{Duration, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use super::Sample;
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
        let mut text = String::new();
        for line in lines(run, samples, &self.namespace, lateness) {
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
