//! The CloudWatch sink: PutMetricData in batches, retried with jittered exponential backoff;
//! a bounded queue, or a spool on disk, while CloudWatch is unreachable; nothing accepted sent twice.

pub mod datum;
pub mod sink;
mod spool;

use std::collections::{HashSet, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use tokio::time::Instant;

pub use datum::{Datum, batches, datums, to_sdk};
pub use spool::Spool;

use super::MetricsError;

/// PutMetricData requests sent at once: 100,000 canaries make about 700 a minute (1,600 with
/// phase metrics), more than one at a time can send; CloudWatch allows hundreds a second.
pub const IN_FLIGHT: usize = 8;

/// How to reach CloudWatch.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The metric namespace.
    pub namespace: String,
    /// Another endpoint (an emulator); None: AWS's, from the region.
    pub endpoint_url: Option<String>,
    /// A folder for batches not yet accepted; None: keep them in memory.
    pub spool: Option<PathBuf>,
    /// The most datums kept in memory (or the newest window's, when more); beyond it the oldest
    /// are dropped, counted and logged.
    pub max_queued: usize,
    /// Publish high-resolution metrics (StorageResolution 1), for alarms on 10 s or 30 s periods.
    pub high_resolution: bool,
}

/// What the sink did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    /// PutMetricData requests accepted.
    pub requests: u64,
    /// Datums accepted.
    pub datums_sent: u64,
    /// Datums dropped because they were older than CloudWatch accepts (two weeks).
    pub dropped_too_old: u64,
    /// Datums dropped because the in-memory queue was full.
    pub dropped_queue_full: u64,
    /// Datums CloudWatch rejected as invalid (never retried).
    pub dropped_rejected: u64,
}

/// A batch waiting to be sent.
#[derive(Debug)]
enum Pending {
    Memory(Vec<Datum>),
    File(PathBuf),
}

/// Why a request failed.
enum Failure {
    /// Worth retrying: throttling, a 5xx, the network, a timeout.
    Retry(String),
    /// Not worth retrying: CloudWatch said the data is invalid.
    Reject(String),
}

/// The CloudWatch sink.
pub struct CloudWatch {
    client: Client,
    namespace: String,
    high_resolution: bool,
    spool: Option<Spool>,
    queue: VecDeque<Pending>,
    queued: usize,
    max_queued: usize,
    /// The datums of the newest window: never dropped for room, however many canaries made it.
    newest: usize,
    failures: u32,
    retry_at: Option<Instant>,
    sent_files: HashSet<PathBuf>,
    /// What it has done so far.
    pub stats: Stats,
}

impl CloudWatch {
    /// A sink with the default AWS credential and region chain; spooled batches are queued first.
    pub async fn connect(s: Settings) -> Result<CloudWatch, MetricsError> {
        let conf = crate::aws::config(s.endpoint_url.as_deref(), crate::aws::Patience::Sink)
            .await
            .map_err(|_| MetricsError::NoRegion)?;
        let spool = match &s.spool {
            Some(dir) => Some(Spool::open(dir).map_err(|e| MetricsError::Spool(dir.clone(), e))?),
            None => None,
        };
        let mut queue = VecDeque::new();
        if let Some(sp) = &spool {
            let files = sp
                .pending()
                .map_err(|e| MetricsError::Spool(s.spool.clone().unwrap_or_default(), e))?;
            if !files.is_empty() {
                tracing::info!(
                    batches = files.len(),
                    "replaying spooled CloudWatch batches"
                );
            }
            queue.extend(files.into_iter().map(Pending::File));
        }
        Ok(CloudWatch {
            client: Client::new(&conf),
            namespace: s.namespace,
            high_resolution: s.high_resolution,
            spool,
            queue,
            queued: 0,
            max_queued: s.max_queued,
            newest: 0,
            failures: 0,
            retry_at: None,
            sent_files: HashSet::new(),
            stats: Stats::default(),
        })
    }

    /// Announces a window of `datums` about to be queued (in parts): it is never dropped for room.
    pub fn expect(&mut self, datums: usize) {
        self.newest = datums;
    }

    /// Queues datums, in batches within CloudWatch's limits (on disk when there is a spool).
    pub fn enqueue(&mut self, datums: Vec<Datum>) {
        for batch in batches(datums) {
            let Some(spool) = &mut self.spool else {
                self.push_memory(batch);
                continue;
            };
            match spool.write(&batch) {
                Ok(path) => self.queue.push_back(Pending::File(path)),
                Err(e) => {
                    tracing::error!(error = %e, "cannot write to the spool; keeping the batch in memory");
                    self.push_memory(batch);
                }
            }
        }
    }

    fn push_memory(&mut self, batch: Vec<Datum>) {
        self.queued += batch.len();
        self.queue.push_back(Pending::Memory(batch));
        // Room for the newest window whole: at 10,000 canaries one window is 160,000 datums, and
        // a bound below that would drop healthy data while CloudWatch answers.
        while self.queued > self.max_queued.max(self.newest) {
            let Some(i) = self
                .queue
                .iter()
                .position(|p| matches!(p, Pending::Memory(_)))
            else {
                break;
            };
            if let Some(Pending::Memory(old)) = self.queue.remove(i) {
                self.queued -= old.len();
                self.stats.dropped_queue_full += old.len() as u64;
                tracing::error!(
                    datums = old.len(),
                    "CloudWatch is unreachable and the queue is full: dropped the oldest datums (use --spool to keep them on disk)"
                );
            }
        }
    }

    /// Batches waiting.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// When the next attempt is due after a failure.
    pub fn retry_at(&self) -> Option<Instant> {
        self.retry_at
    }

    /// Sends the queued batches, up to [`IN_FLIGHT`] at a time, until a request fails; then
    /// waits a jittered, growing delay before trying again (a call before then does nothing).
    /// What CloudWatch accepted is never sent again, even when a request beside it failed.
    pub async fn send(&mut self) {
        if self.retry_at.is_some_and(|t| t > Instant::now()) {
            return;
        }
        self.retry_at = None;
        while !self.queue.is_empty() {
            // The batches stay queued while they are sent: a flush cut short by its deadline
            // (this future dropped) loses none of them.
            let take = self.queue.len().min(IN_FLIGHT);
            let batches: Vec<Vec<Datum>> = (0..take).map(|i| self.load(i)).collect();
            let this = &*self;
            let puts = batches.iter().map(|b| async move {
                match b.is_empty() {
                    true => Ok(()),
                    false => this.put(b).await,
                }
            });
            let results = futures_util::future::join_all(puts).await;
            let mut failed = None;
            let mut again = Vec::new();
            let taken: Vec<Pending> = self.queue.drain(..take).collect();
            for ((pending, batch), result) in taken.into_iter().zip(batches).zip(results) {
                match result {
                    Ok(()) if !batch.is_empty() => {
                        self.stats.requests += 1;
                        self.stats.datums_sent += batch.len() as u64;
                    }
                    Ok(()) => {}
                    Err(Failure::Retry(why)) => {
                        failed.get_or_insert(why);
                        again.push(pending);
                        continue;
                    }
                    Err(Failure::Reject(why)) => {
                        self.stats.dropped_rejected += batch.len() as u64;
                        tracing::error!(datums = batch.len(), error = %why, "CloudWatch rejected a batch; it will not be retried");
                    }
                }
                self.done(pending);
            }
            // The failed ones go back to the front, in their order.
            for pending in again.into_iter().rev() {
                self.queue.push_front(pending);
            }
            if let Some(why) = failed {
                return self.back_off(&why);
            }
            self.failures = 0;
        }
    }

    /// The datums of the `i`th queued batch that CloudWatch still accepts (none for a spool file
    /// already sent or unreadable).
    fn load(&mut self, i: usize) -> Vec<Datum> {
        let batch = match &self.queue[i] {
            Pending::Memory(b) => b.clone(),
            Pending::File(p) if self.sent_files.contains(p) => Vec::new(),
            Pending::File(p) => match Spool::read(p) {
                Ok(b) => b,
                Err(e) => {
                    tracing::error!(file = %p.display(), error = %e, "unreadable spool file set aside");
                    let _ = crate::delivery::set_aside(p);
                    Vec::new()
                }
            },
        };
        self.drop_too_old(batch)
    }

    /// Forgets a batch CloudWatch has (or that was dropped): its spool file goes at once, so it
    /// is never sent again.
    fn done(&mut self, pending: Pending) {
        match pending {
            Pending::Memory(b) => self.queued -= b.len(),
            Pending::File(p) => match std::fs::remove_file(&p) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    tracing::error!(file = %p.display(), error = %e, "cannot delete a sent spool file; it will not be resent by this process");
                    self.sent_files.insert(p);
                }
                _ => {}
            },
        }
    }

    fn drop_too_old(&mut self, batch: Vec<Datum>) -> Vec<Datum> {
        let (fresh, old) = datum::split_too_old(batch, SystemTime::now());
        if !old.is_empty() {
            self.stats.dropped_too_old += old.len() as u64;
            tracing::warn!(
                datums = old.len(),
                "dropped datums older than CloudWatch accepts (two weeks)"
            );
        }
        fresh
    }

    fn back_off(&mut self, why: &str) {
        self.failures += 1;
        let delay = backoff(self.failures);
        self.retry_at = Some(Instant::now() + delay);
        tracing::warn!(error = %why, retry_in_s = delay.as_secs_f64(), pending_batches = self.queue.len(), "CloudWatch PutMetricData failed; will retry");
    }

    async fn put(&self, batch: &[Datum]) -> Result<(), Failure> {
        let data = batch
            .iter()
            .map(|d| to_sdk(d, self.high_resolution))
            .collect();
        let sent = self
            .client
            .put_metric_data()
            .namespace(&self.namespace)
            .set_metric_data(Some(data))
            .send()
            .await;
        sent.map(|_| ()).map_err(|e| {
            let retry = match &e {
                SdkError::ServiceError(se) => {
                    let status = se.raw().status().as_u16();
                    let code = se.err().code().unwrap_or_default();
                    status >= 500 || status == 429 || code.contains("Throttl")
                }
                SdkError::ConstructionFailure(_) => false,
                _ => true,
            };
            let why = DisplayErrorContext(&e).to_string();
            if retry {
                Failure::Retry(why)
            } else {
                Failure::Reject(why)
            }
        })
    }
}

/// 1 s, 2 s, 4 s … up to 60 s, each with ±25 % jitter.
fn backoff(failures: u32) -> Duration {
    crate::delivery::jittered(crate::delivery::backoff(failures))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Unit;
    use aws_config::BehaviorVersion;

    fn sink(max_queued: usize) -> CloudWatch {
        let conf = aws_sdk_cloudwatch::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .build();
        CloudWatch {
            client: Client::from_conf(conf),
            namespace: "Test".into(),
            high_resolution: false,
            spool: None,
            queue: VecDeque::new(),
            queued: 0,
            max_queued,
            newest: 0,
            failures: 0,
            retry_at: None,
            sent_files: HashSet::new(),
            stats: Stats::default(),
        }
    }

    fn datums(n: usize) -> Vec<Datum> {
        let d = Datum {
            name: "Duration".into(),
            unit: Unit::Milliseconds,
            dimensions: vec![],
            timestamp_ms: 0,
            values: vec![1.0],
            counts: vec![1.0],
        };
        vec![d; n]
    }

    #[test]
    fn a_full_queue_drops_the_oldest_batches_and_counts_them() {
        let mut cw = sink(2500);
        cw.enqueue(datums(1500));
        cw.enqueue(datums(1500));
        // 3,000 queued in batches of 1,000 and 500 each: the oldest batch goes.
        assert_eq!(cw.stats.dropped_queue_full, 1000);
        assert_eq!((cw.queued, cw.pending()), (2000, 3));
    }

    #[test]
    fn the_newest_window_is_kept_whole_however_large() {
        let mut cw = sink(2500);
        cw.enqueue(datums(1000));
        cw.expect(6000);
        cw.enqueue(datums(6000));
        // Only the older window makes room; the newest 6,000 stay although above the bound.
        assert_eq!(cw.stats.dropped_queue_full, 1000);
        assert_eq!((cw.queued, cw.pending()), (6000, 6));
    }
}
