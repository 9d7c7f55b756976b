//! One metrics sink behind one trait: what a run becomes in it, the flush when a window ends, a
//! retry when it asked for one, the last flush at shutdown, and what it says it did. The hub
//! speaks to a list of them; a new sink is a module implementing this and a row in `SinkKind`.

use std::time::Duration;

use tokio::time::Instant;

use super::Sample;
use crate::delivery::BoxFuture;
use crate::run::Run;

/// A place metrics go (CloudWatch, EMF, Prometheus, …).
pub trait Sink: Send {
    /// Its name, as `--metrics` takes it.
    fn name(&self) -> &'static str;

    /// True when it takes the Synthetics samples of a run: they are made once, for all the
    /// sinks that take them, and not at all when none does.
    fn wants_samples(&self) -> bool {
        false
    }

    /// A finished run, its samples (empty when no sink wants them), and its lateness.
    fn record(&mut self, run: &Run, samples: &[Sample], lateness: Option<Duration>);

    /// An instant skipped because the canary's previous run was still going, as a sample.
    fn skipped(&mut self, canary: &str, sample: &Sample);

    /// A notification channel's count: `sent`, `failed` (attempts) or `dropped`.
    fn notified(&mut self, _channel: &str, _result: &'static str, _n: u64) {}

    /// Delivers what is due now that a window of the wall clock has ended.
    fn flush(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }

    /// When it wants [`Sink::retry`] called (after a failed delivery), if it does.
    fn retry_at(&self) -> Option<Instant> {
        None
    }

    /// Tries again to deliver what failed.
    fn retry(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }

    /// Delivers everything it holds, trying until `deadline`, and says what became of it.
    fn finish(&mut self, deadline: Instant) -> BoxFuture<'_, SinkReport>;
}

/// What a sink did by shutdown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SinkReport {
    /// The sink, as `--metrics` names it.
    pub sink: &'static str,
    /// Its counters, named as its log line names them (`datums_sent`, `dropped_too_old`, …).
    pub counts: Vec<(&'static str, u64)>,
    /// Batches not delivered by the end (kept in the spool when there is one, else lost).
    pub unsent_batches: usize,
}

impl SinkReport {
    /// A report with nothing to say but the sink's name (a sink that delivers as it goes).
    pub fn nothing_held(sink: &'static str) -> SinkReport {
        SinkReport {
            sink,
            ..SinkReport::default()
        }
    }
}
