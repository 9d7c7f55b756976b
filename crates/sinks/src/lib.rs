//! Where finished runs go besides the console: metrics, notifications and the archive, fed the
//! same way by `canary run`, `run --once` and `canary test`, and flushed together at the end;
//! and the reports (console, JSON, JUnit, HTML) a run is written as.

// The crates below this one, reached as `crate::…` like this crate's own modules.
use canary_aws as aws;
use canary_model::{canary, names, observed, redact, run, shard, text, tls};

pub mod archive;
pub mod delivery;
pub mod health;
pub mod memory;
pub mod metrics;
pub mod notify;
pub mod report;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::archive::Archive;
use crate::archive::record::Audit;
use crate::canary::Canary;
use crate::metrics::Metrics;
use crate::notify::Notifier;
use crate::run::Run;

/// The sinks a command feeds.
#[derive(Clone, Default)]
pub struct Sinks {
    /// Metrics (CloudWatch, EMF, Prometheus).
    pub metrics: Option<Metrics>,
    /// The runner's alert state and notifications.
    pub notifier: Option<Arc<Notifier>>,
    /// The run history: an archive (folder or S3) and CloudWatch Logs.
    pub archives: Vec<Arc<Archive>>,
}

impl Sinks {
    /// A finished run (with its lateness when it was scheduled).
    pub fn run(&self, run: &Run, lateness: Option<Duration>) {
        if let Some(m) = &self.metrics {
            m.run(run, lateness);
        }
        if let Some(n) = &self.notifier {
            n.observe(run);
        }
        for a in &self.archives {
            a.run(run);
        }
    }

    /// An instant skipped because the canary's previous run was still going.
    pub fn skipped(&self, canary: &str, dims: &[(String, String)], at: SystemTime) {
        if let Some(m) = &self.metrics {
            m.skipped(canary, dims, at);
        }
    }

    /// The canaries now loaded (at start and after a reload).
    pub fn canaries(&self, canaries: &[Canary]) {
        if let Some(m) = &self.metrics {
            m.canaries(canaries);
        }
        if let Some(n) = &self.notifier {
            n.set_canaries(canaries);
        }
        for a in &self.archives {
            a.canaries(canaries);
        }
    }

    /// The runner stops (`signal`, or `finished` after `test` and `run --once`): an audit event.
    pub fn stopping(&self, reason: &'static str) {
        for a in &self.archives {
            a.audit(Audit::Shutdown { reason });
        }
    }

    /// Flushes the metrics, delivers waiting notifications and writes the archive, each within `within`.
    pub async fn flush(&self, within: Duration) {
        let metrics = async {
            if let Some(m) = &self.metrics {
                flush_metrics(m, within).await;
            }
        };
        let notes = async {
            if let Some(n) = &self.notifier {
                for (channel, c) in n.shutdown(within).await {
                    tracing::info!(
                        channel,
                        sent = c.sent,
                        failed_attempts = c.failed,
                        dropped = c.dropped,
                        "notifications flushed"
                    );
                }
            }
        };
        let archive = futures_util::future::join_all(self.archives.iter().map(|a| a.close(within)));
        tokio::join!(metrics, notes, archive);
    }
}

/// Flushes the metrics within `within` and logs what became of them.
async fn flush_metrics(m: &Metrics, within: Duration) {
    for r in m.shutdown(within).await.sinks {
        let counts: Vec<String> = r.counts.iter().map(|(k, v)| format!("{k}={v}")).collect();
        tracing::info!(
            sink = r.sink,
            counts = counts.join(" "),
            unsent_batches = r.unsent_batches,
            "metrics flushed"
        );
    }
}
