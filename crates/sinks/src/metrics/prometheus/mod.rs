//! Prometheus: `/metrics` in the OpenMetrics text format (prometheus-client) and `/healthz`.

mod canaries;

use crate::canary::maintenance::Window;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use tokio::time::Instant;

use super::Sample;
use super::sink::{Sink, SinkReport};
use crate::delivery::BoxFuture;
use crate::health::Heartbeat;
pub use crate::names::label_name;
use crate::run::{Phase, Run};
use crate::shard::Shard;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PhaseLabels {
    canary: String,
    phase: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NotifyLabels {
    channel: String,
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ShardLabels {
    index: String,
    count: String,
}

type PhaseHist = Family<PhaseLabels, Histogram, fn() -> Histogram>;

/// The Prometheus metrics of every run.
pub struct Prometheus {
    registry: Registry,
    /// Success, degraded, duration, runs, skips and certificate expiry, by canary.
    canaries: Arc<canaries::Canaries>,
    /// Only with `--phase-metrics`: 6 histograms per canary (96 series) is the bulk of the
    /// memory and of a Prometheus server's cardinality.
    phase: Option<PhaseHist>,
    /// The scheduler's, over every canary (one histogram, not one per canary).
    lateness: Histogram,
    notifications: Family<NotifyLabels, Counter>,
    heartbeat: Option<Arc<Heartbeat>>,
    /// This runner's shard (`--shard`), for the rules that find a missing or doubled shard.
    shard_info: Family<ShardLabels, Gauge>,
    shards: Gauge,
}

/// `/healthz` fails when the scheduler has not beaten for this long.
const STALE: Duration = Duration::from_secs(60);

fn duration_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 14))
}

fn lateness_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 14))
}

impl Prometheus {
    /// The metrics, with the runner's `--dimension`s as labels on every series, and the phase
    /// histograms when `phases`.
    pub fn new(
        labels: &[(String, String)],
        heartbeat: Option<Arc<Heartbeat>>,
        phases: bool,
    ) -> Prometheus {
        let labels = labels
            .iter()
            .map(|(k, v)| (label_name(k).into(), v.clone().into()));
        let mut registry = Registry::with_labels(labels);
        let canaries = Arc::new(canaries::Canaries::default());
        let phase = phases.then(|| PhaseHist::new_with_constructor(duration_buckets));
        let lateness = lateness_buckets();
        let notifications = Family::<NotifyLabels, Counter>::default();
        registry.register_collector(Box::new(canaries.clone()));
        if let Some(phase) = &phase {
            registry.register(
                "canary_phase_duration_seconds",
                "Request phase durations (resolve, connect, tls, processing, transfer, total)",
                phase.clone(),
            );
        }
        registry.register(
            "canary_schedule_lateness_seconds",
            "Actual start minus planned instant, over every canary",
            lateness.clone(),
        );
        registry.register(
            "canary_notifications",
            "Notifications by channel: sent, failed (attempts, each retried) and dropped",
            notifications.clone(),
        );
        let (shard_info, shards) = (Family::<ShardLabels, Gauge>::default(), Gauge::default());
        registry.register(
            "canary_shard_info",
            "This runner's shard of the canaries: index and count of --shard (0 of 1 unsharded)",
            shard_info.clone(),
        );
        registry.register(
            "canary_shards",
            "How many shards this runner's --shard says there are",
            shards.clone(),
        );
        let prom = Prometheus {
            registry,
            canaries,
            phase,
            lateness,
            notifications,
            heartbeat,
            shard_info,
            shards,
        };
        prom.set_shard(None);
        prom
    }

    /// Says which shard this runner is (None: unsharded, the one shard of one).
    pub fn set_shard(&self, shard: Option<Shard>) {
        let shard = shard.unwrap_or(Shard { index: 0, count: 1 });
        self.shard_info.clear();
        let labels = ShardLabels {
            index: shard.index.to_string(),
            count: shard.count.to_string(),
        };
        self.shard_info.get_or_create(&labels).set(1);
        self.shards.set(i64::from(shard.count));
    }

    /// Liveness (`/healthz`): the scheduler beat lately (or there is none to watch); readiness
    /// (`/readyz`): it has beaten once.
    fn health(&self, ready: bool) -> (StatusCode, String) {
        let Some(h) = &self.heartbeat else {
            return (StatusCode::OK, "ok\n".into());
        };
        match h.age() {
            Some(age) if !ready && age > STALE => (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("stale: the scheduler last beat {}s ago\n", age.as_secs()),
            ),
            None if ready => (StatusCode::SERVICE_UNAVAILABLE, "starting\n".into()),
            _ => (StatusCode::OK, "ok\n".into()),
        }
    }

    /// Records a run.
    pub fn observe(&self, run: &Run, lateness: Option<Duration>) {
        let steps = &run.last().steps;
        let cert_expiry = steps
            .iter()
            .rev()
            .find_map(|s| s.tls.as_ref()?.leaf())
            .map(|t| {
                let since = t.not_after.duration_since(UNIX_EPOCH);
                since.unwrap_or_default().as_secs_f64()
            });
        let seconds = run.duration.as_secs_f64();
        self.canaries
            .run(&run.canary, run.outcome(), seconds, cert_expiry);
        if let Some(l) = lateness {
            self.lateness.observe(l.as_secs_f64());
        }
        let Some(family) = &self.phase else { return };
        for p in steps.iter().filter_map(|s| s.phases) {
            for phase in Phase::ALL {
                let labels = PhaseLabels {
                    canary: run.canary.clone(),
                    phase: phase.as_str().into(),
                };
                family
                    .get_or_create(&labels)
                    .observe(p.get(phase).as_secs_f64());
            }
        }
    }

    /// Counts notifications of a channel.
    pub fn notified(&self, channel: &str, result: &str, n: u64) {
        let labels = NotifyLabels {
            channel: channel.into(),
            result: result.into(),
        };
        self.notifications.get_or_create(&labels).inc_by(n);
    }

    /// Declares the loaded canaries: their counters show 0 before their first run, and their
    /// maintenance windows are shown open or closed.
    pub fn declare<'a>(&self, canaries: impl IntoIterator<Item = (&'a str, &'a [Arc<Window>])>) {
        for (name, windows) in canaries {
            self.canaries.declare(name, windows);
        }
    }

    /// Records a skipped instant.
    pub fn skipped(&self, canary: &str) {
        self.canaries.skipped(canary);
    }

    /// The exposition, in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// The registry behind `/metrics` as a sink: it counts as runs come, and holds nothing to send.
impl Sink for Arc<Prometheus> {
    fn name(&self) -> &'static str {
        "prometheus"
    }

    fn record(&mut self, run: &Run, _samples: &[Sample], lateness: Option<Duration>) {
        self.observe(run, lateness);
    }

    fn skipped(&mut self, canary: &str, _sample: &Sample) {
        Prometheus::skipped(self, canary);
    }

    fn notified(&mut self, channel: &str, result: &'static str, n: u64) {
        Prometheus::notified(self, channel, result, n);
    }

    fn finish(&mut self, _deadline: Instant) -> BoxFuture<'_, SinkReport> {
        Box::pin(async { SinkReport::nothing_held("prometheus") })
    }
}

/// OpenMetrics text → the classic format: a counter's HELP and TYPE name its `_total` sample,
/// and there is no `# EOF`.
pub fn classic(openmetrics: &str) -> String {
    let counters: Vec<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines().filter(|l| *l != "# EOF") {
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|p| {
            let rest = line.strip_prefix(p)?;
            let name = rest.split(' ').next()?;
            counters
                .contains(&name)
                .then(|| format!("{p}{name}_total{}", &rest[name.len()..]))
        });
        out.push_str(renamed.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

/// Serves `/metrics` and `/healthz` on `listener` until the task is dropped.
pub async fn serve(prom: Arc<Prometheus>, listener: tokio::net::TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let prom = prom.clone();
        tokio::spawn(async move {
            // Rendering grows with the canaries: on the blocking pool, not the daemon's thread.
            let svc = hyper::service::service_fn(move |req| {
                let prom = prom.clone();
                async move {
                    let answer = tokio::task::spawn_blocking(move || respond(&prom, &req)).await;
                    Ok::<_, Infallible>(answer.unwrap_or_else(|_| {
                        let why = "internal error\n".to_string();
                        response(StatusCode::INTERNAL_SERVER_ERROR, "text/plain", why)
                    }))
                }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, svc)
                .await;
        });
    }
}

/// `/metrics` in OpenMetrics for a scraper that asks for it (Prometheus does), else in the
/// classic text format (0.0.4) that older tools and `promtool check metrics` read.
fn respond(prom: &Prometheus, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let accept = req
        .headers()
        .get(hyper::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (status, kind, body) = match (req.method(), req.uri().path()) {
        (&Method::GET, "/metrics") if accept.contains("application/openmetrics-text") => (
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            prom.encode(),
        ),
        (&Method::GET, "/metrics") => (
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            classic(&prom.encode()),
        ),
        (&Method::GET, "/healthz") => {
            let (status, body) = prom.health(false);
            (status, "text/plain", body)
        }
        (&Method::GET, "/readyz") => {
            let (status, body) = prom.health(true);
            (status, "text/plain", body)
        }
        _ => (
            StatusCode::NOT_FOUND,
            "text/plain",
            "not found: try /metrics, /healthz or /readyz\n".to_string(),
        ),
    };
    response(status, kind, body)
}

/// A response with this status, content type and body.
fn response(status: StatusCode, kind: &str, body: String) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    if let Ok(v) = kind.parse() {
        resp.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    resp
}
