//! The HTTP check: one request on a fresh connection, timed by phase, then assertions and captures.

mod client;
mod error;
mod timing;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Instant, SystemTime};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};
use serde_json::Value;

pub use client::{provider, tls_config, warm_up};
pub use timing::Timing;

use super::Scope;
use crate::assert::{self, Assertion};
use crate::canary::Step;
use crate::capture::Capture;
use crate::run::{CheckError, ErrorKind, Outcome, Phases, StepRun};
use crate::template::{Captures, JsonTemplate, Template};

/// An HTTP step: the request, then what must hold and what to keep.
#[derive(Debug, Clone)]
pub struct HttpCheck {
    /// The request to send.
    pub request: Request,
    /// Assertions, all evaluated.
    pub assertions: Vec<Assertion>,
    /// Values to capture for later steps.
    pub captures: Vec<Capture>,
}

/// A compiled request.
#[derive(Debug, Clone)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The URL; checked at load time unless it uses a capture.
    pub url: Template,
    /// Headers, in order.
    pub headers: Vec<(HeaderName, Template)>,
    /// Query parameters appended to the URL.
    pub query: Vec<(String, Template)>,
    /// The body.
    pub body: Body,
    /// Authentication.
    pub auth: Option<Auth>,
    /// Follow redirects.
    pub follow_redirects: bool,
    /// At most this many redirects.
    pub max_redirects: u32,
    /// At most this many body bytes (after decompression) are read; more is an error.
    pub max_body: u64,
    /// TLS settings (roots, or no verification).
    pub tls: Arc<rustls::ClientConfig>,
}

/// A request body.
#[derive(Debug, Clone)]
pub enum Body {
    /// No body.
    Empty,
    /// Text, sent as is.
    Text(Template),
    /// JSON, sent with `Content-Type: application/json`.
    Json(JsonTemplate),
    /// A URL-encoded form.
    Form(Vec<(String, Template)>),
}

/// Request authentication.
#[derive(Debug, Clone)]
pub enum Auth {
    /// HTTP Basic.
    Basic {
        /// User name.
        username: Template,
        /// Password.
        password: Template,
    },
    /// `Authorization: Bearer …`.
    Bearer(Template),
}

/// What a request got back.
#[derive(Debug)]
pub struct Response {
    /// The final status (after redirects).
    pub status: u16,
    /// The final response's headers.
    pub headers: HeaderMap,
    /// The body, decompressed.
    pub body: Vec<u8>,
    /// Phase timings.
    pub phases: Phases,
    /// When the server's certificate expires (HTTPS only).
    pub cert_not_after: Option<SystemTime>,
    /// The final URL.
    pub url: String,
    /// Redirects followed.
    pub redirects: u32,
    json: OnceLock<Result<Value, String>>,
}

impl Response {
    /// The body parsed as JSON (once), or why it is not JSON.
    pub fn json(&self) -> Result<&Value, String> {
        self.json
            .get_or_init(|| {
                serde_json::from_slice(&self.body).map_err(|e| format!("body is not JSON: {e}"))
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// A request that could not complete, with what was measured before it stopped.
struct Failure {
    error: CheckError,
    phases: Option<Phases>,
    status: Option<u16>,
    redirects: u32,
}

/// Runs an HTTP step: request, assertions, captures. Everything reported is redacted.
pub async fn run(step: &Step, check: &HttpCheck, scope: &mut Scope) -> StepRun {
    let started = Instant::now();
    let deadline = step
        .timeout
        .map_or(scope.deadline, |t| scope.deadline.min(started + t));
    let url = check.request.url.render(&scope.captures);

    let mut out = StepRun::new(&step.name);
    let fetched = fetch(&check.request, &url, &scope.captures, deadline).await;
    out.url = Some(url);
    match fetched {
        Ok(resp) => judge(check, &resp, scope, &mut out),
        Err(f) => {
            out.outcome = Outcome::Errored;
            out.error = Some(f.error);
            out.phases = f.phases;
            out.status = f.status;
            out.redirects = f.redirects;
        }
    }
    out.duration = started.elapsed();
    super::redact(&mut out, &scope.redactor);
    out
}

/// Evaluates assertions and captures against a response.
fn judge(check: &HttpCheck, resp: &Response, scope: &mut Scope, out: &mut StepRun) {
    out.url = Some(resp.url.clone());
    out.status = Some(resp.status);
    out.redirects = resp.redirects;
    out.phases = Some(resp.phases);
    out.cert_not_after = resp.cert_not_after;
    for a in &check.assertions {
        out.assertions
            .push(assert::evaluate(a, resp, &scope.captures));
    }
    for c in &check.captures {
        let got = c.extract(resp);
        out.assertions.push(c.to_result(&got));
        if let Ok(value) = got {
            if c.secret {
                scope.redactor.add(value.clone());
            }
            scope.captures.insert(c.name.clone(), value);
        }
    }
    if out.assertions.iter().any(|a| !a.passed) {
        out.outcome = Outcome::Failed;
    }
}

/// Sends the request on a fresh client and reads the body, all before `deadline`.
async fn fetch(
    req: &Request,
    url: &str,
    captures: &Captures,
    deadline: Instant,
) -> Result<Response, Failure> {
    let timing = Timing::default();
    let redirects = Arc::new(AtomicU32::new(0));
    let fail = |error: CheckError| Failure {
        error,
        phases: None,
        status: None,
        redirects: 0,
    };
    let client = client::build(
        &req.tls,
        &timing,
        req.follow_redirects,
        req.max_redirects,
        redirects.clone(),
    )
    .map_err(|e| {
        fail(CheckError::new(
            ErrorKind::Protocol,
            format!("could not build the HTTP client: {e}"),
        ))
    })?;
    let request = build_request(&client, req, url, captures).map_err(fail)?;
    let start = Instant::now();
    let exchange = exchange(&client, request, req.max_body, &timing);
    let result = tokio::time::timeout_at(deadline.into(), exchange).await;
    let end = Instant::now();
    let headers = timing.headers();
    let phases = timing.phases(start, headers.map(|h| h.0), end);
    let failure = |error| Failure {
        error,
        phases: Some(phases),
        status: headers.map(|h| h.1),
        redirects: redirects.load(Ordering::Relaxed),
    };
    match result {
        Ok(Ok(mut resp)) => {
            resp.phases = phases;
            resp.redirects = redirects.load(Ordering::Relaxed);
            Ok(resp)
        }
        Ok(Err(e)) => Err(failure(e)),
        Err(_) => Err(failure(CheckError::new(
            ErrorKind::Timeout,
            format!(
                "timed out after {} {}",
                assert::format_duration(end - start),
                timing.stage(headers.is_some())
            ),
        ))),
    }
}

/// The request/response exchange: headers, then the body up to `max_body` bytes.
async fn exchange(
    client: &reqwest::Client,
    request: reqwest::Request,
    max_body: u64,
    timing: &Timing,
) -> Result<Response, CheckError> {
    let mut resp = client
        .execute(request)
        .await
        .map_err(|e| error::classify(&e))?;
    timing.mark_headers(resp.status().as_u16());
    let too_large = || {
        CheckError::new(
            ErrorKind::BodyTooLarge,
            format!("the body is larger than max_body ({max_body} bytes)"),
        )
    };
    if resp.content_length().is_some_and(|n| n > max_body) {
        return Err(too_large());
    }
    let cert_not_after = resp
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|i| i.peer_certificate())
        .and_then(not_after);
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let url = resp.url().to_string();
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| error::classify(&e))? {
        if (body.len() + chunk.len()) as u64 > max_body {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Response {
        status,
        headers,
        body,
        phases: Phases::default(),
        cert_not_after,
        url,
        redirects: 0,
        json: OnceLock::new(),
    })
}

/// The certificate's notAfter, from its DER.
fn not_after(der: &[u8]) -> Option<SystemTime> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let secs = cert.validity().not_after.timestamp();
    let secs = u64::try_from(secs).ok()?;
    Some(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs))
}

/// Renders the request's templates with the captures so far.
fn build_request(
    client: &reqwest::Client,
    req: &Request,
    url: &str,
    captures: &Captures,
) -> Result<reqwest::Request, CheckError> {
    let bad = |msg: String| CheckError::new(ErrorKind::Protocol, msg);
    let url = parse_url(url).map_err(bad)?;
    let mut b = client.request(req.method.clone(), url);
    if !req.query.is_empty() {
        let pairs: Vec<(&str, String)> = req
            .query
            .iter()
            .map(|(k, v)| (k.as_str(), v.render(captures)))
            .collect();
        b = b.query(&pairs);
    }
    for (name, value) in &req.headers {
        let v = HeaderValue::from_str(&value.render(captures))
            .map_err(|_| bad(format!("header {name}: the value is not valid in a header")))?;
        b = b.header(name, v);
    }
    b = match &req.auth {
        None => b,
        Some(Auth::Basic { username, password }) => {
            b.basic_auth(username.render(captures), Some(password.render(captures)))
        }
        Some(Auth::Bearer(token)) => b.bearer_auth(token.render(captures)),
    };
    b = match &req.body {
        Body::Empty => b,
        Body::Text(t) => b.body(t.render(captures)),
        Body::Json(j) => b.json(&j.render(captures)),
        Body::Form(pairs) => {
            let pairs: Vec<(&str, String)> = pairs
                .iter()
                .map(|(k, v)| (k.as_str(), v.render(captures)))
                .collect();
            b.form(&pairs)
        }
    };
    b.build()
        .map_err(|e| bad(format!("could not build the request: {e}")))
}

/// Parses an absolute http(s) URL.
pub fn parse_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("`{text}` is not a valid URL: {e}"))?;
    match url.scheme() {
        "http" | "https" if url.host().is_some() => Ok(url),
        "http" | "https" => Err(format!("`{text}` has no host")),
        other => Err(format!(
            "`{text}`: the scheme must be http or https, not {other}"
        )),
    }
}
