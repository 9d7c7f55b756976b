//! The uploader: takes a spool's entries oldest first and sends each to its destination (S3,
//! CloudWatch Logs), deleting it once accepted; while the destination is down it retries on an
//! interval, and what is left at exit stays in the spool for the next start.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use super::spool::{Entry, Spool};

pub use crate::delivery::BoxFuture;

/// Where entries go.
pub trait Destination: Send + Sync + 'static {
    /// Sends one entry; Ok once the destination has it all.
    fn send<'a>(&'a self, entry: &'a Entry) -> BoxFuture<'a, Result<(), String>>;
}

/// What an upload pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    /// Entries sent.
    pub uploaded: usize,
    /// Entries still waiting.
    pub waiting: usize,
}

/// Sends a spool's entries to a destination.
pub struct Uploader<D> {
    /// The destination's name, for logs (`S3 archive`, `CloudWatch Logs`).
    pub what: &'static str,
    /// Where to.
    pub dest: D,
    /// What waits.
    pub spool: Spool,
}

impl<D: Destination> Uploader<D> {
    /// Sends what waits, in order, stopping at the first failure.
    pub async fn pass(&self) -> Result<Pass, String> {
        let pending = self.spool.pending().map_err(|e| e.to_string())?;
        let mut pass = Pass {
            uploaded: 0,
            waiting: pending.len(),
        };
        for entry in pending {
            self.dest.send(&entry).await?;
            entry.remove().map_err(|e| e.to_string())?;
            pass.uploaded += 1;
            pass.waiting -= 1;
        }
        Ok(pass)
    }

    async fn last_pass(&self) -> Pass {
        self.pass().await.unwrap_or_else(|e| {
            let waiting = self.spool.pending().map_or(0, |p| p.len());
            tracing::warn!(error = %e, waiting, "{} unreachable at exit: what waits stays in the spool for the next start", self.what);
            Pass { uploaded: 0, waiting }
        })
    }

    /// Sends whenever woken (and every `retry` while entries wait), until `stop` is notified;
    /// then one last pass.
    pub async fn run(self, wake: Arc<Notify>, stop: Arc<Notify>, retry: Duration) -> Pass {
        let mut failing = false;
        loop {
            let waiting = match self.pass().await {
                Ok(p) => {
                    if failing {
                        tracing::info!(sent = p.uploaded, "{} reachable again", self.what);
                    }
                    failing = false;
                    p.waiting
                }
                Err(e) => {
                    if !failing {
                        tracing::warn!(error = %e, "{} unreachable; records wait in the spool", self.what);
                    }
                    failing = true;
                    1
                }
            };
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(retry), if waiting > 0 => {}
                _ = stop.notified() => return self.last_pass().await,
            }
        }
    }
}
