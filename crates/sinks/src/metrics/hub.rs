//! The metrics hub: one task takes runs, feeds every sink, flushes CloudWatch windows on an
//! interval, retries on schedule, and flushes everything on shutdown.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::{mpsc, oneshot};

use super::cloudwatch::sink::CloudWatchSink;
use super::cloudwatch::{self, CloudWatch};
use super::emf::EmfWriter;
use super::prometheus::{self, Prometheus};
use super::sink::{Sink, SinkReport};
use super::{SeriesOptions, samples, skipped};
use crate::run::Run;

/// A place metrics go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkKind {
    /// CloudWatch PutMetricData, with histograms per window.
    Cloudwatch,
    /// Embedded Metric Format lines on stdout (or `--emf-file`).
    Emf,
    /// A Prometheus `/metrics` endpoint.
    Prometheus,
}

impl SinkKind {
    /// Every sink: the name `--metrics` takes, and what it is.
    pub const ALL: &[(SinkKind, &str, &str)] = &[
        (
            SinkKind::Cloudwatch,
            "cloudwatch",
            "CloudWatch PutMetricData, with histograms per window",
        ),
        (
            SinkKind::Emf,
            "emf",
            "Embedded Metric Format lines on stdout (or `--emf-file`)",
        ),
        (
            SinkKind::Prometheus,
            "prometheus",
            "A Prometheus `/metrics` endpoint",
        ),
    ];
}

/// The metrics settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// The sinks.
    pub sinks: Vec<SinkKind>,
    /// The CloudWatch and EMF namespace.
    pub namespace: String,
    /// Runner dimensions, phase metrics.
    pub series: SeriesOptions,
    /// The CloudWatch window and flush interval.
    pub flush_interval: Duration,
    /// Another CloudWatch endpoint (an emulator).
    pub endpoint_url: Option<String>,
    /// The CloudWatch spool folder.
    pub spool: Option<PathBuf>,
    /// Where Prometheus is served.
    pub listen: SocketAddr,
    /// Where EMF lines go; None: stdout.
    pub emf_file: Option<PathBuf>,
    /// Publish CloudWatch metrics at one-second resolution.
    pub high_resolution: bool,
    /// The scheduler's heartbeat, for `/healthz` and `/readyz`.
    pub heartbeat: Option<Arc<crate::health::Heartbeat>>,
    /// This runner's shard (`--shard`), published to Prometheus.
    pub shard: Option<crate::shard::Shard>,
}

/// Why the metrics could not start.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// No region in the AWS chain.
    #[error("no AWS region for CloudWatch: set AWS_REGION (or a profile's region)")]
    NoRegion,
    /// The spool folder is unusable.
    #[error("spool folder {path}: {1}", path = .0.display())]
    Spool(PathBuf, io::Error),
    /// The Prometheus address cannot be bound.
    #[error("cannot listen on {0} for Prometheus: {1}")]
    Listen(SocketAddr, io::Error),
    /// The EMF file cannot be opened.
    #[error("cannot open the EMF file {path}: {1}", path = .0.display())]
    EmfFile(PathBuf, io::Error),
}

/// What happened to the metrics by shutdown: each sink's report, in the order of `SinkKind::ALL`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The sinks' reports.
    pub sinks: Vec<SinkReport>,
}

enum Msg {
    Run(Box<Run>, Option<Duration>),
    Notified(String, &'static str, u64),
    Skipped(String, Vec<(String, String)>, SystemTime),
    Shutdown(Duration, oneshot::Sender<Report>),
}

/// A handle on the metrics task.
#[derive(Clone)]
pub struct Metrics {
    tx: mpsc::UnboundedSender<Msg>,
    prometheus: Option<(SocketAddr, Arc<Prometheus>)>,
}

/// The metrics task: the sinks, and what makes a run's samples.
struct Hub {
    sinks: Vec<Box<dyn Sink>>,
    series: SeriesOptions,
    /// True when some sink takes samples.
    samples: bool,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// Starts the sinks (connects CloudWatch, replays its spool, binds Prometheus, opens EMF).
    pub async fn start(cfg: Config) -> Result<Metrics, MetricsError> {
        let mut sinks = Vec::new();
        let mut prometheus = None;
        for (kind, _, _) in SinkKind::ALL {
            if cfg.sinks.contains(kind) {
                sinks.push(start_sink(*kind, &cfg, &mut prometheus).await?);
            }
        }
        let hub = Hub {
            samples: sinks.iter().any(|s| s.wants_samples()),
            sinks,
            series: cfg.series,
        };
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(hub.serve(rx, cfg.flush_interval));
        Ok(Metrics { tx, prometheus })
    }

    /// Records a finished run (with its lateness when it was scheduled).
    pub fn run(&self, run: &Run, lateness: Option<Duration>) {
        let _ = self.tx.send(Msg::Run(Box::new(run.clone()), lateness));
    }

    /// Counts notifications of a channel: `sent`, `failed` (attempts) or `dropped`.
    pub fn notified(&self, channel: &str, result: &'static str, n: u64) {
        let _ = self.tx.send(Msg::Notified(channel.to_string(), result, n));
    }

    /// Records a skipped instant.
    pub fn skipped(&self, canary: &str, dims: &[(String, String)], at: SystemTime) {
        let _ = self
            .tx
            .send(Msg::Skipped(canary.to_string(), dims.to_vec(), at));
    }

    /// Where Prometheus is served, if it is.
    pub fn prometheus_addr(&self) -> Option<SocketAddr> {
        self.prometheus.as_ref().map(|(a, _)| *a)
    }

    /// The canaries now loaded: Prometheus shows their counters at 0 before their first run.
    pub fn canaries<'a>(&self, canaries: impl IntoIterator<Item = &'a crate::canary::Canary>) {
        if let Some((_, p)) = &self.prometheus {
            p.declare(
                canaries
                    .into_iter()
                    .map(|c| (c.name.as_str(), &c.maintenance[..])),
            );
        }
    }

    /// Flushes every sink, trying for at most `within`, and says what could not be delivered.
    pub async fn shutdown(&self, within: Duration) -> Report {
        let (reply, report) = oneshot::channel();
        if self.tx.send(Msg::Shutdown(within, reply)).is_err() {
            return Report::default();
        }
        report.await.unwrap_or_default()
    }
}

/// Starts the sink of `kind`: the one place a sink is built from the options. Prometheus's
/// registry is also kept in `prometheus`, for its address and the loaded canaries.
async fn start_sink(
    kind: SinkKind,
    cfg: &Config,
    prometheus: &mut Option<(SocketAddr, Arc<Prometheus>)>,
) -> Result<Box<dyn Sink>, MetricsError> {
    Ok(match kind {
        SinkKind::Cloudwatch => {
            let cw = CloudWatch::connect(cloudwatch::Settings {
                namespace: cfg.namespace.clone(),
                endpoint_url: cfg.endpoint_url.clone(),
                spool: cfg.spool.clone(),
                max_queued: 100_000,
                high_resolution: cfg.high_resolution,
            })
            .await?;
            Box::new(CloudWatchSink::new(
                cw,
                cfg.flush_interval,
                cfg.spool.is_some(),
            ))
        }
        SinkKind::Emf => Box::new(EmfWriter::new(emf_out(cfg)?, cfg.namespace.clone())),
        SinkKind::Prometheus => {
            let served = serve_prometheus(cfg).await?;
            let registry = served.1.clone();
            *prometheus = Some(served);
            Box::new(registry)
        }
    })
}

/// Where EMF lines go: `--emf-file`, else stdout.
fn emf_out(cfg: &Config) -> Result<Box<dyn io::Write + Send>, MetricsError> {
    Ok(match &cfg.emf_file {
        None => Box::new(io::stdout()),
        Some(path) => Box::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| MetricsError::EmfFile(path.clone(), e))?,
        ),
    })
}

/// Binds `--listen` and serves the registry on `/metrics`.
async fn serve_prometheus(cfg: &Config) -> Result<(SocketAddr, Arc<Prometheus>), MetricsError> {
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .map_err(|e| MetricsError::Listen(cfg.listen, e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| MetricsError::Listen(cfg.listen, e))?;
    let prom = Arc::new(Prometheus::new(
        &cfg.series.dimensions,
        cfg.heartbeat.clone(),
        cfg.series.phases,
    ));
    prom.set_shard(cfg.shard);
    tokio::spawn(prometheus::serve(prom.clone(), listener));
    tracing::info!(address = %addr, "Prometheus metrics on /metrics");
    Ok((addr, prom))
}

impl Hub {
    async fn serve(mut self, mut rx: mpsc::UnboundedReceiver<Msg>, window: Duration) {
        // An instant, kept until the flush has run: recomputed on every message, it would move
        // a window on whenever runs came faster than the timer's millisecond.
        let next_flush = || tokio::time::Instant::now() + until_flush(window, SystemTime::now());
        let mut flush_at = next_flush();
        loop {
            let retry = self.sinks.iter().filter_map(|s| s.retry_at()).min();
            tokio::select! {
                msg = rx.recv() => match msg {
                    Some(Msg::Run(run, lateness)) => self.record(&run, lateness),
                    Some(Msg::Skipped(canary, dims, at)) => self.skip(&canary, &dims, at),
                    Some(Msg::Notified(channel, result, n)) => {
                        for s in &mut self.sinks {
                            s.notified(&channel, result, n);
                        }
                    }
                    Some(Msg::Shutdown(within, reply)) => {
                        let _ = reply.send(self.finish(within).await);
                        return;
                    }
                    None => {
                        self.finish(Duration::from_secs(5)).await;
                        return;
                    }
                },
                () = tokio::time::sleep_until(flush_at) => {
                    self.flush().await;
                    flush_at = next_flush();
                }
                () = sleep_until(retry), if retry.is_some() => self.retry().await,
            }
        }
    }

    fn record(&mut self, run: &Run, lateness: Option<Duration>) {
        let samples = match self.samples {
            true => samples(run, &self.series),
            false => Vec::new(),
        };
        for s in &mut self.sinks {
            s.record(run, &samples, lateness);
        }
    }

    fn skip(&mut self, canary: &str, dims: &[(String, String)], at: SystemTime) {
        let sample = skipped(canary, dims, &self.series, at);
        for s in &mut self.sinks {
            s.skipped(canary, &sample);
        }
    }

    /// A window has ended: every sink delivers what is due, then the copies made for it are
    /// handed back to the system.
    async fn flush(&mut self) {
        for s in &mut self.sinks {
            s.flush().await;
        }
        crate::memory::give_back();
    }

    /// The sinks whose retry is due try again.
    async fn retry(&mut self) {
        let now = tokio::time::Instant::now();
        for s in &mut self.sinks {
            if s.retry_at().is_some_and(|at| at <= now) {
                s.retry().await;
            }
        }
    }

    /// Every sink delivers all it holds, together, until `within` has passed.
    async fn finish(&mut self, within: Duration) -> Report {
        let deadline = tokio::time::Instant::now() + within;
        let finishing = self.sinks.iter_mut().map(|s| s.finish(deadline));
        Report {
            sinks: futures_util::future::join_all(finishing).await,
        }
    }
}

/// How long from `now` until the next flush: a little (a tenth of the window, at most 5 s) after
/// a window of the wall clock ends, when its runs have all but finished. A window is then sent
/// once, about 5 s after its end; a run still going is sent with the next flush, under its own
/// window's timestamp.
fn until_flush(window: Duration, now: SystemTime) -> Duration {
    let w = window.as_secs().max(1) * 1000;
    let settle = (w / 10).min(5000);
    let ms = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64;
    let into = ms % w;
    Duration::from_millis(match into < settle {
        true => settle - into,
        false => w - into + settle,
    })
}

async fn sleep_until(t: Option<tokio::time::Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every sink started is in the list and reports at shutdown, in `SinkKind::ALL`'s order,
    /// whatever order the options named them in; what EMF was given reaches its file.
    #[tokio::test]
    async fn every_sink_asked_for_reports_at_shutdown() {
        let dir = tempfile::tempdir().unwrap();
        let emf_file = dir.path().join("emf.jsonl");
        let metrics = Metrics::start(Config {
            sinks: vec![SinkKind::Prometheus, SinkKind::Emf],
            namespace: "Canary".into(),
            series: SeriesOptions::default(),
            flush_interval: Duration::from_secs(60),
            endpoint_url: None,
            spool: None,
            listen: "127.0.0.1:0".parse().unwrap(),
            emf_file: Some(emf_file.clone()),
            high_resolution: false,
            heartbeat: None,
            shard: None,
        })
        .await
        .unwrap();
        metrics.skipped("shop", &[], SystemTime::UNIX_EPOCH);
        let report = metrics.shutdown(Duration::from_secs(5)).await;
        let names: Vec<&str> = report.sinks.iter().map(|r| r.sink).collect();
        assert_eq!(names, ["emf", "prometheus"]);
        let emf = std::fs::read_to_string(&emf_file).unwrap();
        assert!(emf.contains("\"SkippedRuns\":1.0"), "{emf}");
    }

    #[test]
    fn a_flush_comes_a_little_after_each_window_of_the_wall_clock() {
        let at = |ms| SystemTime::UNIX_EPOCH + Duration::from_millis(ms);
        let minute = Duration::from_secs(60);
        let wait = |ms| until_flush(minute, at(ms)).as_millis();
        assert_eq!(wait(120_000), 5_000);
        assert_eq!(wait(124_999), 1);
        assert_eq!(wait(125_000), 60_000);
        assert_eq!(wait(150_000), 35_000);
        assert_eq!(wait(179_999), 5_001);
        let ten = Duration::from_secs(10);
        assert_eq!(until_flush(ten, at(20_500)).as_millis(), 500);
        assert_eq!(until_flush(ten, at(21_000)).as_millis(), 10_000);
        let sub_second = Duration::from_millis(300);
        assert_eq!(until_flush(sub_second, at(2_050)).as_millis(), 50);
    }
}
