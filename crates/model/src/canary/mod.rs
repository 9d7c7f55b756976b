//! The compiled canary: what a canary *is* once loaded — plain data that imports no executor.

pub mod alarm;
pub mod alerting;
pub mod assertion;
pub mod browser;
pub mod capture;
pub mod dns;
pub mod grpc;
pub mod http;
pub mod net;
pub mod tcp;
pub mod tls;
pub mod websocket;

use std::path::PathBuf;
use std::time::Duration;

use crate::schedule::Schedule;
use assertion::Assertion;
use browser::BrowserCheck;
use capture::Capture;
use http::Request;

/// A canary, validated and compiled: nothing in it is parsed again at run time.
#[derive(Debug, Clone)]
pub struct Canary {
    /// Unique name.
    pub name: String,
    /// The file it was loaded from.
    pub file: PathBuf,
    /// When the scheduler runs it.
    pub schedule: Schedule,
    /// The time one attempt (all its steps) may take.
    pub timeout: Duration,
    /// Extra attempts after a failed or errored one.
    pub retries: u32,
    /// Free-form labels.
    pub tags: Vec<String>,
    /// The steps, run in order.
    pub steps: Vec<Step>,
    /// Secret values (from `${secret:…}`) and their encoded forms, redacted from every output.
    pub secrets: crate::redact::Redactor,
    /// Extra metric dimensions, besides `CanaryName`.
    pub dimensions: Vec<(String, String)>,
    /// Keep cookies from step to step within an attempt.
    pub cookies: bool,
    /// Its CloudWatch metric alarms (the project's defaults merged with its own).
    pub alarms: Vec<alarm::Alarm>,
    /// Its composite alarms.
    pub composites: Vec<alarm::Composite>,
    /// The runner's own alert policy for it (None: no alert state, no notifications).
    pub alerting: Option<alerting::Alerting>,
}

impl Canary {
    /// The kinds of check the canary runs, for listings: `http`, `browser`, or `dns+http`.
    pub fn kind(&self) -> String {
        let mut kinds: Vec<&str> = Vec::new();
        for s in &self.steps {
            if !kinds.contains(&s.kind.name()) {
                kinds.push(s.kind.name());
            }
        }
        kinds.join("+")
    }

    /// True when a step may speak TLS itself (HTTPS, a URL known only at run time, `tls:` on a
    /// connection, a certificate check); a browser's TLS is Chromium's.
    pub fn uses_tls(&self) -> bool {
        // A URL known only at run time may be either.
        let secure = |url: Option<&str>, scheme: &str| url.is_none_or(|u| u.starts_with(scheme));
        self.steps.iter().any(|s| match &s.kind {
            StepKind::Http(r) => secure(r.url.as_static(), "https:"),
            StepKind::WebSocket(w) => secure(w.url.as_static().as_deref(), "wss:"),
            StepKind::Tcp(t) => t.tls.is_some(),
            StepKind::Grpc(g) => g.tls.is_some(),
            StepKind::Tls(_) => true,
            StepKind::Browser(_) | StepKind::Dns(_) => false,
        })
    }

    /// True when a step drives a browser.
    pub fn uses_browser(&self) -> bool {
        self.steps
            .iter()
            .any(|s| matches!(s.kind, StepKind::Browser(_)))
    }
}

/// One step of a canary.
#[derive(Debug, Clone)]
pub struct Step {
    /// The step's name (the canary's name for a single-check canary).
    pub name: String,
    /// The step's own time limit, within the attempt's.
    pub timeout: Option<Duration>,
    /// Run the next steps even when this one fails.
    pub continue_on_failure: bool,
    /// What the step does.
    pub kind: StepKind,
    /// What must hold of what the step observed (browser steps assert through their actions).
    pub assertions: Vec<Assertion>,
    /// What describes the healthy state more strictly: when one of these does not hold but
    /// every assertion does, the step is degraded.
    pub degraded: Vec<Assertion>,
    /// Values to keep for later steps.
    pub captures: Vec<Capture>,
    /// The cookies this step receives are secrets: redacted from every output.
    pub secret_cookies: bool,
}

impl Step {
    /// A step of `kind` with no limit of its own, no assertions and no captures.
    pub fn new(name: String, kind: StepKind) -> Step {
        Step {
            name,
            timeout: None,
            continue_on_failure: false,
            kind,
            assertions: Vec::new(),
            degraded: Vec::new(),
            captures: Vec::new(),
            secret_cookies: false,
        }
    }
}

/// The kinds of step.
#[derive(Debug, Clone)]
pub enum StepKind {
    /// An HTTP request.
    Http(Box<Request>),
    /// Browser actions in the attempt's browser session.
    Browser(BrowserCheck),
    /// A TCP connection (optionally TLS), optionally a banner exchange.
    Tcp(Box<tcp::TcpCheck>),
    /// A DNS query.
    Dns(Box<dns::DnsCheck>),
    /// A certificate-only TLS handshake.
    Tls(Box<tls::TlsCheck>),
    /// A WebSocket exchange.
    WebSocket(Box<websocket::WebSocketCheck>),
    /// The gRPC health check.
    Grpc(Box<grpc::GrpcCheck>),
}

impl StepKind {
    /// The assertion keys that mean something for this kind.
    pub fn assertion_keys(&self) -> &'static [&'static str] {
        match self {
            StepKind::Http(_) => &[
                "status", "latency", "header", "body", "json", "tls", "cookie",
            ],
            StepKind::Browser(_) => &["latency"],
            StepKind::Tcp(_) | StepKind::WebSocket(_) => &["latency", "body", "json", "tls"],
            StepKind::Dns(_) => &["rcode", "answers", "ttl", "authoritative", "latency"],
            StepKind::Tls(_) | StepKind::Grpc(_) => &["latency", "tls"],
        }
    }

    /// The kind's name, as the canary file spells its section.
    pub fn name(&self) -> &'static str {
        match self {
            StepKind::Http(_) => "http",
            StepKind::Browser(_) => "browser",
            StepKind::Tcp(_) => "tcp",
            StepKind::Dns(_) => "dns",
            StepKind::Tls(_) => "tls",
            StepKind::WebSocket(_) => "websocket",
            StepKind::Grpc(_) => "grpc",
        }
    }
}
