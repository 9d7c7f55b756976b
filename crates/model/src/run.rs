//! The result types: a run, its attempts and steps, phase timings, and the fixed set of failure kinds.

use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::observed::TlsSeen;
pub use crate::observed::{Phase, Phases};

/// How a run, attempt or step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every assertion held.
    Passed,
    /// Every assertion held, but a `degraded:` assertion did not: working, but slower or weaker
    /// than it should be. A pass for exit codes (unless `--fail-on-degraded`) and `SuccessPercent`.
    Degraded,
    /// The check completed but an assertion (or a capture) did not hold.
    Failed,
    /// The check could not complete: timeout, refused, reset, DNS, TLS, body over the cap…
    Errored,
}

impl Outcome {
    /// The lower-case name used in reports and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Degraded => "degraded",
            Outcome::Failed => "failed",
            Outcome::Errored => "errored",
        }
    }

    /// True for passed and degraded: the check works.
    pub fn is_pass(self) -> bool {
        matches!(self, Outcome::Passed | Outcome::Degraded)
    }

    /// The worse of two outcomes: passed < degraded < failed < errored.
    pub fn worst(self, other: Outcome) -> Outcome {
        let rank = |o| match o {
            Outcome::Passed => 0,
            Outcome::Degraded => 1,
            Outcome::Failed => 2,
            Outcome::Errored => 3,
        };
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
}

/// Why a check could not complete. A small fixed set, stable for use as a metric dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The attempt, or the step, ran out of time.
    Timeout,
    /// The host name could not be resolved.
    Dns,
    /// The TCP connection could not be made (refused, unreachable).
    Connect,
    /// The TLS handshake failed (untrusted, expired or mismatched certificate, protocol error).
    Tls,
    /// The peer closed or reset the connection before the response was complete.
    Reset,
    /// The response body was larger than `max_body`.
    BodyTooLarge,
    /// More redirects than `max_redirects`, or a redirect loop.
    TooManyRedirects,
    /// The response was not valid HTTP, or the request could not be built or sent.
    Protocol,
    /// The browser or WebDriver failed (crashed, could not start, lost the session).
    Browser,
    /// The run was cut off because the runner was shutting down.
    Shutdown,
    /// A bug in canary itself; the message says what, please report it.
    Internal,
    /// Signing in failed: the OAuth2 token endpoint refused or could not be reached.
    Auth,
}

impl ErrorKind {
    /// The snake_case name used in reports, logs and metric dimensions.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Timeout => "timeout",
            ErrorKind::Dns => "dns",
            ErrorKind::Connect => "connect",
            ErrorKind::Tls => "tls",
            ErrorKind::Reset => "reset",
            ErrorKind::BodyTooLarge => "body_too_large",
            ErrorKind::TooManyRedirects => "too_many_redirects",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Browser => "browser",
            ErrorKind::Shutdown => "shutdown",
            ErrorKind::Internal => "internal",
            ErrorKind::Auth => "auth",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A check that could not complete: its kind and a human message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckError {
    /// The failure kind.
    pub kind: ErrorKind,
    /// What happened, for a person.
    pub message: String,
}

impl CheckError {
    /// An error of `kind` saying `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        CheckError {
            kind,
            message: message.into(),
        }
    }
}

/// The result of evaluating one assertion (or capture): what was expected and what was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssertionResult {
    /// What was checked, e.g. `status`, `header content-type`, `json $.id`.
    pub subject: String,
    /// Whether it held.
    pub passed: bool,
    /// What was expected, e.g. `200` or `< 800ms`.
    pub expected: String,
    /// What was seen.
    pub actual: String,
    /// A `degraded:` assertion: when it does not hold, the step is degraded, not failed.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub degraded: bool,
}

impl AssertionResult {
    /// The result of an (ordinary) assertion.
    pub fn new(subject: String, passed: bool, expected: String, actual: String) -> Self {
        AssertionResult {
            subject,
            passed,
            expected,
            actual,
            degraded: false,
        }
    }
}

/// One step of one attempt.
#[derive(Debug, Clone)]
pub struct StepRun {
    /// How long fetching an OAuth2 token took, apart from the step's own phases (None: no
    /// token was fetched; a kept one costs nothing).
    pub auth: Option<Duration>,
    /// The step's name.
    pub name: String,
    /// How it ended.
    pub outcome: Outcome,
    /// The final URL requested (after redirects), secrets redacted.
    pub url: Option<String>,
    /// The HTTP status of the final response, if one arrived.
    pub status: Option<u16>,
    /// Redirects followed.
    pub redirects: u32,
    /// Phase timings, if the request got far enough to time anything.
    pub phases: Option<Phases>,
    /// Every assertion and capture, in order.
    pub assertions: Vec<AssertionResult>,
    /// Why the step could not complete, when it errored.
    pub error: Option<CheckError>,
    /// How long the step took.
    pub duration: Duration,
    /// The protocol version that answered, e.g. `HTTP/1.1` or `HTTP/2`.
    pub http_version: Option<&'static str>,
    /// The TLS connection: protocol, whether the host name matches, the certificate chain.
    pub tls: Option<TlsSeen>,
    /// Files the step left: screenshots, page sources.
    pub artifacts: Vec<PathBuf>,
    /// Browser console errors and failed requests seen during the step.
    pub console: Vec<String>,
    /// The page's Navigation Timing after a `goto`.
    pub page: Option<PageTiming>,
    /// A DNS step's response: code, answers, TTLs.
    pub dns: Option<crate::observed::DnsSeen>,
    /// The messages a WebSocket step received, in order.
    pub received: Vec<String>,
}

/// Navigation Timing of a page load, in milliseconds from the navigation's start.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PageTiming {
    /// The first byte of the response.
    pub ttfb: f64,
    /// `DOMContentLoaded` finished.
    pub dom_content_loaded: f64,
    /// `load` finished.
    pub load: f64,
}

impl StepRun {
    /// A step that passed and saw nothing yet: what a check starts from.
    pub fn new(name: &str) -> StepRun {
        StepRun {
            name: name.to_string(),
            outcome: Outcome::Passed,
            url: None,
            status: None,
            redirects: 0,
            phases: None,
            assertions: Vec::new(),
            error: None,
            duration: Duration::ZERO,
            http_version: None,
            tls: None,
            artifacts: Vec::new(),
            console: Vec::new(),
            page: None,
            dns: None,
            received: Vec::new(),
            auth: None,
        }
    }
}

/// One attempt at a canary: its steps in order (a failed step stops the rest unless told otherwise).
#[derive(Debug, Clone)]
pub struct Attempt {
    /// How the attempt ended: the worst of its steps.
    pub outcome: Outcome,
    /// The steps that ran.
    pub steps: Vec<StepRun>,
    /// How long the attempt took.
    pub duration: Duration,
}

impl Attempt {
    /// A one-line reason for an attempt that did not pass cleanly: the first step that did not.
    pub fn reason(&self) -> Option<String> {
        let step = self.steps.iter().find(|s| s.outcome != Outcome::Passed)?;
        if let Some(e) = &step.error {
            return Some(format!("step {}: {}: {}", step.name, e.kind, e.message));
        }
        let failing = |degraded: bool| {
            step.assertions
                .iter()
                .find(move |a| !a.passed && a.degraded == degraded)
        };
        let a = failing(false).or_else(|| failing(true))?;
        Some(format!(
            "step {}: {} expected {}, got {}",
            step.name, a.subject, a.expected, a.actual
        ))
    }
}

/// One run of a canary: all its attempts. The last attempt decides the outcome,
/// and the earlier ones stay visible so a pass after a retry is not mistaken for a clean pass.
#[derive(Debug, Clone)]
pub struct Run {
    /// The canary's name.
    pub canary: String,
    /// The file it came from.
    pub file: PathBuf,
    /// When the run started.
    pub started_at: SystemTime,
    /// Every attempt, in order; never empty.
    pub attempts: Vec<Attempt>,
    /// The whole run, all attempts.
    pub duration: Duration,
    /// The canary's metric dimensions (`dimensions:`), besides `CanaryName`.
    pub dimensions: Vec<(String, String)>,
    /// The maintenance window open when the run started: the run changes no alert state.
    pub maintenance: Option<String>,
}

impl Run {
    /// The run's outcome: that of its last attempt.
    pub fn outcome(&self) -> Outcome {
        self.last().outcome
    }

    /// The attempt that decided the outcome.
    pub fn last(&self) -> &Attempt {
        self.attempts
            .last()
            .expect("a run has at least one attempt")
    }

    /// True when the run passed (or was degraded) only after a retry.
    pub fn flaky(&self) -> bool {
        self.outcome().is_pass() && self.attempts.len() > 1
    }
}
