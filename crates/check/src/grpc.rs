//! The gRPC check: the standard health check, `grpc.health.v1.Health/Check`, over HTTP/2 (TLS
//! with ALPN `h2`, or cleartext). The two small protobuf messages are encoded here: one string
//! field out, one enum field back — not worth a code generator.

use std::time::Instant;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::{TokioExecutor, TokioIo};

use super::Scope;
use super::net::{self, Broken};
use crate::canary::Step;
use crate::canary::grpc::GrpcCheck;
use crate::canary::grpc::STATUSES;
use crate::observed::Observed;
use crate::run::{AssertionResult, ErrorKind, Phases, StepRun};

/// Runs a gRPC health check step.
pub async fn run(step: &Step, check: &GrpcCheck, scope: &mut Scope) -> StepRun {
    let started = Instant::now();
    let deadline = super::deadline(step, scope, started);
    let scheme = if check.tls.is_some() { "grpcs" } else { "grpc" };
    let target = format!("{scheme}://{}:{}/{}", check.host, check.port, check.service);
    let result = health(check, deadline, started).await;
    super::conclude(step, scope, started, target, result)
}

async fn health(
    check: &GrpcCheck,
    deadline: Instant,
    start: Instant,
) -> Result<(Observed, Vec<AssertionResult>), Broken> {
    let target = check.tls.as_ref();
    let (io, mut phases, tls) =
        net::open(&check.host, check.port, target, &[b"h2"], deadline, start).await?;
    let mut seen = Observed {
        tls,
        ..Observed::default()
    };
    let broken = |kind, m: String, p: Phases| Broken::new(kind, m, p);
    let sent = Instant::now();
    let call = async {
        let (mut sender, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(io))
                .await
                .map_err(|e| (ErrorKind::Protocol, format!("no HTTP/2 connection: {e}")))?;
        tokio::spawn(conn);
        let scheme = if check.tls.is_some() { "https" } else { "http" };
        let req = http::Request::post(format!(
            "{scheme}://{}:{}/grpc.health.v1.Health/Check",
            check.host, check.port
        ))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("user-agent", concat!("canary/", env!("CARGO_PKG_VERSION")))
        .body(Full::new(Bytes::from(request(&check.service))))
        .map_err(|e| (ErrorKind::Internal, e.to_string()))?;
        let resp = sender.send_request(req).await.map_err(call_failed)?;
        let headers_at = Instant::now();
        let status = resp.status().as_u16();
        let head_status = grpc_status(resp.headers());
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let collected = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| (ErrorKind::Reset, format!("the answer broke off: {e}")))?;
        let trailers = collected.trailers().cloned();
        let body = collected.to_bytes();
        Ok::<_, (ErrorKind, String)>((
            status,
            content_type,
            head_status,
            trailers,
            body,
            headers_at,
        ))
    };
    let (status, content_type, head_status, trailers, body, headers_at) =
        match tokio::time::timeout_at(deadline.into(), call).await {
            Err(_) => {
                return Err(net::timed_out(
                    start,
                    "waiting for the health answer",
                    phases,
                ));
            }
            Ok(Err((k, m))) => return Err(broken(k, m, phases)),
            Ok(Ok(x)) => x,
        };
    let _ = sent;
    phases.transfer = headers_at.elapsed();
    net::finish(&mut phases, start);
    seen.phases = phases;
    seen.status = Some(status);
    if status != 200 || !content_type.starts_with("application/grpc") {
        let ct = if content_type.is_empty() {
            "no content type".into()
        } else {
            content_type
        };
        return Err(broken(
            ErrorKind::Protocol,
            format!("not a gRPC server: HTTP {status} with {ct}"),
            phases,
        ));
    }
    let code = trailers
        .as_ref()
        .and_then(grpc_status)
        .or(head_status)
        .unwrap_or((2, String::new()));
    let got = match code {
        (0, _) => parse(&body).map_err(|e| broken(ErrorKind::Protocol, e, phases))?,
        (5, _) => "SERVICE_UNKNOWN".to_string(),
        (c, m) => format!(
            "grpc-status {c}{}",
            if m.is_empty() {
                String::new()
            } else {
                format!(": {m}")
            }
        ),
    };
    let ok = got == check.expect;
    seen.body = got.clone().into_bytes();
    let implicit = vec![AssertionResult::new(
        "grpc health".into(),
        ok,
        check.expect.clone(),
        got,
    )];
    Ok((seen, implicit))
}

/// A call that got no answer: the connection closed (reset), or the server does not speak
/// HTTP/2 (protocol).
fn call_failed(e: hyper::Error) -> (ErrorKind, String) {
    let source = std::error::Error::source(&e).map_or_else(String::new, |s| format!(": {s}"));
    match e.is_closed() || e.is_incomplete_message() || e.is_canceled() {
        true => (ErrorKind::Reset, format!("the call failed: {e}{source}")),
        false => (
            ErrorKind::Protocol,
            format!("no HTTP/2 answer, so not a gRPC server ({e}{source})"),
        ),
    }
}

/// `grpc-status` (and `grpc-message`) from headers or trailers.
fn grpc_status(h: &http::HeaderMap) -> Option<(u32, String)> {
    let code = h.get("grpc-status")?.to_str().ok()?.parse().ok()?;
    let msg = h
        .get("grpc-message")
        .and_then(|m| m.to_str().ok())
        .unwrap_or_default()
        .to_string();
    Some((code, msg))
}

/// A length-prefixed `HealthCheckRequest { string service = 1; }`.
pub fn request(service: &str) -> Vec<u8> {
    let mut msg = Vec::new();
    if !service.is_empty() {
        msg.push(0x0a);
        varint(service.len() as u64, &mut msg);
        msg.extend_from_slice(service.as_bytes());
    }
    let mut out = vec![0u8];
    out.extend_from_slice(&(msg.len() as u32).to_be_bytes());
    out.extend_from_slice(&msg);
    out
}

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// The status of a length-prefixed `HealthCheckResponse { ServingStatus status = 1; }`.
pub fn parse(body: &[u8]) -> Result<String, String> {
    if body.len() < 5 {
        return Err("the health answer is empty".into());
    }
    if body[0] != 0 {
        return Err("the health answer is compressed, which canary did not ask for".into());
    }
    let mut msg = &body[5..];
    let mut status = 0u64;
    while let Some((&tag, rest)) = msg.split_first() {
        let (value, rest) = read_varint(rest).ok_or("a malformed health answer")?;
        match tag {
            0x08 => status = value,
            t if t & 7 == 0 => {}
            _ => return Err("a malformed health answer".into()),
        }
        msg = rest;
    }
    Ok(STATUSES
        .get(status as usize)
        .map_or_else(|| format!("status {status}"), |s| s.to_string()))
}

fn read_varint(mut b: &[u8]) -> Option<(u64, &[u8])> {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let (&byte, rest) = b.split_first()?;
        v |= u64::from(byte & 0x7f) << shift;
        b = rest;
        if byte < 0x80 {
            return Some((v, b));
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_and_decodes_the_health_messages() {
        assert_eq!(request(""), [0, 0, 0, 0, 0]);
        assert_eq!(request("a.B"), [0, 0, 0, 0, 5, 0x0a, 3, b'a', b'.', b'B']);
        assert_eq!(parse(&[0, 0, 0, 0, 2, 0x08, 1]).unwrap(), "SERVING");
        assert_eq!(parse(&[0, 0, 0, 0, 0]).unwrap(), "UNKNOWN");
        assert_eq!(parse(&[0, 0, 0, 0, 2, 0x08, 2]).unwrap(), "NOT_SERVING");
        assert!(parse(&[1, 0, 0, 0, 0]).is_err());
    }
}
