//! The HTTP check: one request on a fresh connection, timed by phase; what came back is
//! judged by the step's assertions and captures.

mod client;
mod cookies;
mod current;
mod error;
mod oauth2;
mod timing;

use std::time::Instant;

use reqwest::Version;
use reqwest::header::HeaderValue;

pub use client::{Clients, warm_up};
pub use cookies::Jar;
pub use timing::Timing;

use super::Scope;
use crate::assert;
use crate::canary::Step;
use crate::canary::http::{Auth, Body, HttpVersion, OAuth2, Request};
use crate::observed::Observed;
use crate::run::{CheckError, ErrorKind, Outcome, Phases, StepRun};
use crate::template::Captures;
use current::Current;

/// A request that could not complete, with what was measured before it stopped.
struct Failure {
    error: CheckError,
    phases: Option<Phases>,
    status: Option<u16>,
    redirects: u32,
}

impl Failure {
    /// A failure before anything was sent.
    fn of(error: CheckError) -> Failure {
        Failure {
            error,
            phases: None,
            status: None,
            redirects: 0,
        }
    }
}

/// Runs an HTTP step: the request, then its judgement. Everything reported is redacted.
pub async fn run(step: &Step, req: &Request, scope: &mut Scope) -> StepRun {
    // A one-time code about to expire is not sent: the next one is (at most 3 s later).
    let fresh = req.totp_wait();
    if !fresh.is_zero() {
        tokio::time::sleep(fresh).await;
    }
    let started = Instant::now();
    let deadline = step
        .timeout
        .map_or(scope.deadline, |t| scope.deadline.min(started + t));
    let url = req.url.render(&scope.captures);
    // Credentials fixed at load time are in the canary's redactor already.
    if let Some(Auth::Basic { username, password }) = &req.auth
        && !(username.is_static() && password.is_static())
    {
        let (user, password) = (
            username.render(&scope.captures),
            password.render(&scope.captures),
        );
        scope.redactor.add_basic(&user, &password);
    }

    let mut out = StepRun::new(&step.name);
    let fetched = match &req.auth {
        Some(Auth::OAuth2(o)) => signed_in(req, o, &url, scope, deadline, &mut out).await,
        _ => fetch(req, &url, scope, deadline, None).await,
    };
    out.url = Some(url);
    match fetched {
        Ok(seen) => {
            out.url.clone_from(&seen.url);
            out.status = seen.status;
            out.redirects = seen.redirects;
            out.phases = Some(seen.phases);
            out.http_version = seen.version;
            out.tls.clone_from(&seen.tls);
            super::judge(step, &seen, scope, &mut out);
        }
        Err(f) => {
            out.outcome = Outcome::Errored;
            out.error = Some(f.error);
            out.phases = f.phases;
            out.status = f.status;
            out.redirects = f.redirects;
        }
    }
    // The token's fetching is the `auth` time, not the check's latency.
    out.duration = started
        .elapsed()
        .saturating_sub(out.auth.unwrap_or_default());
    super::redact(&mut out, &scope.redactor);
    out
}

/// [`fetch`] with an OAuth2 token (its fetching time in `out.auth`); on 401, once more with a
/// fresh token.
async fn signed_in(
    req: &Request,
    o: &OAuth2,
    url: &str,
    scope: &mut Scope,
    deadline: Instant,
    out: &mut StepRun,
) -> Result<Observed, Failure> {
    let mut retried = false;
    loop {
        let (token, took) = oauth2::token(o, &req.tls, deadline)
            .await
            .map_err(Failure::of)?;
        scope.redactor.add(&token);
        out.auth = match (out.auth, took) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
        let seen = fetch(req, url, scope, deadline, Some(&token)).await;
        let refused = seen.as_ref().is_ok_and(|s| s.status == Some(401));
        if !refused || retried {
            return seen;
        }
        oauth2::forget(o, &token).await;
        retried = true;
    }
}

/// Sends the request on a fresh connection and reads the body, all before `deadline`; with
/// `bearer`, as `Authorization: Bearer …`.
async fn fetch(
    req: &Request,
    url: &str,
    scope: &Scope,
    deadline: Instant,
    bearer: Option<&str>,
) -> Result<Observed, Failure> {
    let fail = Failure::of;
    let client = client::for_request(req, url).map_err(|e| {
        fail(CheckError::new(
            ErrorKind::Protocol,
            format!("could not build the HTTP client: {e}"),
        ))
    })?;
    let request = build_request(&client, req, url, &scope.captures, bearer).map_err(fail)?;
    let current = Current {
        follow: req.follow_redirects.then_some(req.max_redirects),
        jar: scope.cookies.clone(),
        ..Current::default()
    };
    let timing = &current.timing;
    let start = Instant::now();
    let exchange = exchange(&client, request, req, timing);
    let result = tokio::time::timeout_at(deadline.into(), current.clone().scope(exchange)).await;
    let end = Instant::now();
    let headers = timing.headers();
    let phases = timing.phases(start, headers.map(|h| h.0), end);
    let failure = |error| Failure {
        error,
        phases: Some(phases),
        status: headers.map(|h| h.1),
        redirects: current.redirects(),
    };
    match result {
        Ok(Ok(mut seen)) => {
            seen.phases = phases;
            seen.redirects = current.redirects();
            seen.tls = current.tls.get();
            seen.cookies = match (&scope.cookies, seen.url.as_deref().map(url::Url::parse)) {
                (Some(jar), Some(Ok(u))) => jar.held_for(&u),
                _ => cookies::set_by(&seen.headers),
            };
            Ok(seen)
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

/// The request/response exchange: headers, then the body up to `max_body` bytes. An answer in
/// another HTTP version than the one asked for is an error, never a silent downgrade.
async fn exchange(
    client: &reqwest::Client,
    request: reqwest::Request,
    req: &Request,
    timing: &Timing,
) -> Result<Observed, CheckError> {
    let max_body = req.max_body;
    let h2 = req.version == HttpVersion::Http2;
    let mut resp = client.execute(request).await.map_err(|e| match h2 {
        true => error::classify_h2(&e),
        false => error::classify(&e),
    })?;
    timing.mark_headers(resp.status().as_u16());
    if h2 && resp.version() != Version::HTTP_2 {
        return Err(error::not_h2(version_name(resp.version())));
    }
    let too_large = || {
        CheckError::new(
            ErrorKind::BodyTooLarge,
            format!("the body is larger than max_body ({max_body} bytes)"),
        )
    };
    if resp.content_length().is_some_and(|n| n > max_body) {
        return Err(too_large());
    }
    let mut seen = Observed {
        status: Some(resp.status().as_u16()),
        headers: resp.headers().clone(),
        url: Some(resp.url().to_string()),
        version: Some(version_name(resp.version())),
        ..Observed::default()
    };
    while let Some(chunk) = resp.chunk().await.map_err(|e| error::classify(&e))? {
        if (seen.body.len() + chunk.len()) as u64 > max_body {
            return Err(too_large());
        }
        seen.body.extend_from_slice(&chunk);
    }
    Ok(seen)
}

fn version_name(v: Version) -> &'static str {
    match v {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_11 => "HTTP/1.1",
        Version::HTTP_2 => "HTTP/2",
        Version::HTTP_3 => "HTTP/3",
        _ => "HTTP/?",
    }
}

/// Renders the request's templates with the captures so far.
fn build_request(
    client: &reqwest::Client,
    req: &Request,
    url: &str,
    captures: &Captures,
    bearer: Option<&str>,
) -> Result<reqwest::Request, CheckError> {
    let bad = |msg: String| CheckError::new(ErrorKind::Protocol, msg);
    let url = req.url.to_send(url).map_err(bad)?;
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
        Some(Auth::OAuth2(_)) => b.bearer_auth(bearer.unwrap_or_default()),
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
