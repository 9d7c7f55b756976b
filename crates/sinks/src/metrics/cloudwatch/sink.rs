//! CloudWatch as a metrics sink: the runs' samples recorded into windows of the wall clock, each
//! ended window sent as datums (histograms as values and counts), spooled and retried.

use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use super::datum::MAX_DATUMS;
use super::{CloudWatch, IN_FLIGHT, datums};
use crate::delivery::BoxFuture;
use crate::metrics::sink::{Sink, SinkReport};
use crate::metrics::{Recorder, Sample};
use crate::run::Run;

/// The CloudWatch sink: its windows and its sender.
pub struct CloudWatchSink {
    cw: CloudWatch,
    recorder: Recorder,
    spool: bool,
}

impl CloudWatchSink {
    /// Windows of `window` sent through `cw` (with a spool or not, for the shutdown's words).
    pub fn new(cw: CloudWatch, window: Duration, spool: bool) -> CloudWatchSink {
        CloudWatchSink {
            cw,
            recorder: Recorder::new(window),
            spool,
        }
    }

    /// Queues the windows that have ended (all of them when `all`) and sends what is queued,
    /// the batches of one round of requests at a time: while CloudWatch answers, no more than
    /// those are ever copied or queued.
    async fn send_ended(&mut self, all: bool) {
        let now = SystemTime::now();
        self.cw.expect(self.recorder.ended(now, all));
        while self.queue_round(now, all) {
            self.cw.send().await;
        }
        self.cw.send().await;
    }

    /// Moves one round of requests' worth of the windows ended by `now` (all of them when
    /// `all`) from the recorder to CloudWatch's queue; false when there was none left.
    fn queue_round(&mut self, now: SystemTime, all: bool) -> bool {
        let windows = self.recorder.drain_some(now, all, MAX_DATUMS * IN_FLIGHT);
        if windows.is_empty() {
            return false;
        }
        self.cw.enqueue(datums(&windows));
        true
    }

    /// Everything queued (into the spool, when there is one) before any is sent, so what the
    /// time does not allow is counted and kept, never left behind in the recorder; then sent,
    /// retried until all is sent or `deadline` has passed.
    async fn send_all(&mut self, deadline: Instant) -> SinkReport {
        let now = SystemTime::now();
        self.cw.expect(self.recorder.ended(now, true));
        while self.queue_round(now, true) {}
        let _ = tokio::time::timeout_at(deadline, async {
            loop {
                self.cw.send().await;
                if self.cw.pending() == 0 {
                    break;
                }
                match self.cw.retry_at() {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            }
        })
        .await;
        let unsent = self.cw.pending();
        self.warn_unsent(unsent);
        let s = self.cw.stats;
        SinkReport {
            sink: "cloudwatch",
            counts: vec![
                ("requests", s.requests),
                ("datums_sent", s.datums_sent),
                ("dropped_too_old", s.dropped_too_old),
                ("dropped_queue_full", s.dropped_queue_full),
                ("dropped_rejected", s.dropped_rejected),
            ],
            unsent_batches: unsent,
        }
    }

    fn warn_unsent(&self, batches: usize) {
        if batches == 0 {
            return;
        }
        if self.spool {
            tracing::warn!(
                batches,
                "CloudWatch batches not sent by shutdown stay in the spool for the next start"
            );
        } else {
            tracing::error!(
                batches,
                "CloudWatch batches not sent by shutdown are lost (use --spool to keep them)"
            );
        }
    }
}

impl Sink for CloudWatchSink {
    fn name(&self) -> &'static str {
        "cloudwatch"
    }

    fn wants_samples(&self) -> bool {
        true
    }

    fn record(&mut self, _run: &Run, samples: &[Sample], _lateness: Option<Duration>) {
        for s in samples {
            self.recorder.record(s);
        }
    }

    fn skipped(&mut self, _canary: &str, sample: &Sample) {
        self.recorder.record(sample);
    }

    fn flush(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(self.send_ended(false))
    }

    fn retry_at(&self) -> Option<Instant> {
        self.cw.retry_at()
    }

    fn retry(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(self.cw.send())
    }

    fn finish(&mut self, deadline: Instant) -> BoxFuture<'_, SinkReport> {
        Box::pin(self.send_all(deadline))
    }
}
