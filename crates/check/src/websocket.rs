//! The WebSocket check: connect (ws or wss), upgrade, send messages, and await one message per
//! expectation, in order, each judged as it arrives; then close cleanly. The upgrade is timed as
//! `processing`, the exchange as `transfer`.

use std::time::Instant;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::Scope;
use super::net::{self, Broken};
use crate::assert;
use crate::canary::Step;
use crate::canary::websocket::WebSocketCheck;
use crate::observed::Observed;
use crate::run::{AssertionResult, ErrorKind, Phases, StepRun};

/// Runs a WebSocket step.
pub async fn run(step: &Step, check: &WebSocketCheck, scope: &mut Scope) -> StepRun {
    let started = Instant::now();
    let deadline = super::deadline(step, scope, started);
    let url = check.url.render(&scope.captures);
    let result = exchange(check, &url, scope, deadline, started).await;
    super::conclude(step, scope, started, url, result)
}

async fn exchange(
    check: &WebSocketCheck,
    url: &str,
    scope: &Scope,
    deadline: Instant,
    start: Instant,
) -> Result<(Observed, Vec<AssertionResult>), Broken> {
    let captures = &scope.captures;
    let bad = |m: String| Broken::new(ErrorKind::Protocol, m, Phases::default());
    let parsed = url::Url::parse(url).map_err(|e| bad(format!("`{url}` is not a URL: {e}")))?;
    let secure = match parsed.scheme() {
        "wss" => true,
        "ws" => false,
        other => {
            return Err(bad(format!(
                "`{url}`: a WebSocket URL is ws:// or wss://, not {other}://"
            )));
        }
    };
    let host = parsed.host_str().unwrap_or_default().to_string();
    let port = parsed
        .port_or_known_default()
        .unwrap_or(if secure { 443 } else { 80 });
    let target = secure.then_some(&check.tls);
    let (io, mut phases, tls) =
        net::open(&host, port, target, &[b"http/1.1"], deadline, start).await?;
    let mut seen = Observed {
        tls,
        ..Observed::default()
    };
    let mut request = url.into_client_request().map_err(|e| {
        Broken::new(
            ErrorKind::Protocol,
            format!("cannot make the upgrade request: {e}"),
            phases,
        )
    })?;
    for (k, v) in &check.headers {
        let value = v.render(captures);
        if let (Ok(k), Ok(v)) = (
            http::HeaderName::from_bytes(k.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            request.headers_mut().insert(k, v);
        }
    }
    let upgrade = tokio::time::timeout_at(
        deadline.into(),
        tokio_tungstenite::client_async(request, io),
    )
    .await;
    let (mut ws, response) = match upgrade {
        Err(_) => return Err(net::timed_out(start, "during the upgrade", phases)),
        Ok(Err(WsError::Http(resp))) => {
            let status = resp.status().as_u16();
            return Err(Broken::new(
                ErrorKind::Protocol,
                format!("the server refused the upgrade with HTTP {status}"),
                phases,
            ));
        }
        Ok(Err(e)) => {
            return Err(Broken::new(
                classify(&e),
                format!("the upgrade failed: {e}"),
                phases,
            ));
        }
        Ok(Ok(x)) => x,
    };
    seen.status = Some(response.status().as_u16());
    let exchanged = Instant::now();
    for m in &check.send {
        let text = m.render(captures);
        if let Err(e) = ws.send(Message::text(text)).await {
            return Err(Broken::new(
                classify(&e),
                format!("could not send: {e}"),
                phases,
            ));
        }
    }
    let mut implicit = Vec::new();
    for (i, expectation) in check.expect.iter().enumerate() {
        let got = next_message(&mut ws, deadline).await;
        let message = match got {
            Ok(Some(m)) => m,
            Ok(None) => {
                implicit.push(missing(i, "the server closed the connection"));
                break;
            }
            Err(Waited::Timeout) => {
                let what = format!("waiting for message {}", i + 1);
                return Err(net::timed_out(start, &what, phases));
            }
            Err(Waited::Broke(why)) => {
                implicit.push(missing(i, &why));
                break;
            }
        };
        let one = Observed {
            body: message.clone().into_bytes(),
            ..Observed::default()
        };
        let mut r = assert::evaluate(expectation, &one, captures, &scope.redactor);
        r.subject = format!("message {}: {}", i + 1, r.subject);
        implicit.push(r);
        seen.messages.push(message);
    }
    phases.transfer = exchanged.elapsed();
    let _ = tokio::time::timeout_at(deadline.into(), ws.close(None)).await;
    net::finish(&mut phases, start);
    seen.body = seen
        .messages
        .last()
        .cloned()
        .unwrap_or_default()
        .into_bytes();
    seen.phases = phases;
    Ok((seen, implicit))
}

/// Why no message came.
enum Waited {
    /// Time ran out.
    Timeout,
    /// The connection broke.
    Broke(String),
}

/// The next text (or binary, as lossy text) message; pings and pongs are skipped.
async fn next_message<S>(ws: &mut S, deadline: Instant) -> Result<Option<String>, Waited>
where
    S: futures_util::Stream<Item = Result<Message, WsError>> + Unpin,
{
    loop {
        match tokio::time::timeout_at(deadline.into(), ws.next()).await {
            Err(_) => return Err(Waited::Timeout),
            Ok(None) | Ok(Some(Ok(Message::Close(_)))) => return Ok(None),
            Ok(Some(Ok(Message::Text(t)))) => return Ok(Some(t.to_string())),
            Ok(Some(Ok(Message::Binary(b)))) => {
                return Ok(Some(String::from_utf8_lossy(&b).into_owned()));
            }
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(e))) => return Err(Waited::Broke(format!("the connection broke: {e}"))),
        }
    }
}

fn missing(i: usize, why: &str) -> AssertionResult {
    AssertionResult::new(
        format!("message {}", i + 1),
        false,
        "a message".into(),
        why.into(),
    )
}

fn classify(e: &WsError) -> ErrorKind {
    match e {
        WsError::Io(io) if io.kind() == std::io::ErrorKind::ConnectionReset => ErrorKind::Reset,
        WsError::Io(_) | WsError::ConnectionClosed | WsError::AlreadyClosed => ErrorKind::Reset,
        WsError::Tls(_) => ErrorKind::Tls,
        _ => ErrorKind::Protocol,
    }
}
