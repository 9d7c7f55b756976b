//! The TCP check: connect (resolve and connect timed), optionally TLS on top, optionally send
//! text and read until what comes back matches `expect` — the banner checks of SSH, SMTP, Redis.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::Scope;
use super::net::{self, Broken, Io};
use crate::assert::preview;
use crate::canary::Step;
use crate::canary::net::{encode, show};
use crate::canary::tcp::TcpCheck;
use crate::observed::Observed;
use crate::run::{AssertionResult, ErrorKind, StepRun};

/// How long to wait for more bytes when nothing is expected.
const IDLE: Duration = Duration::from_millis(500);
/// How long to wait for a reply to `send` when nothing is expected and `read_timeout` is not set.
const WAIT_WITHOUT_EXPECT: Duration = Duration::from_secs(2);

/// Runs a TCP step.
pub async fn run(step: &Step, check: &TcpCheck, scope: &mut Scope) -> StepRun {
    let started = Instant::now();
    let deadline = super::deadline(step, scope, started);
    let host = check.host.render(&scope.captures);
    let scheme = if check.tls.is_some() { "tls" } else { "tcp" };
    let target = format!("{scheme}://{host}:{}", check.port);
    let result = probe(check, &host, scope, deadline, started).await;
    super::conclude(step, scope, started, target, result)
}

async fn probe(
    check: &TcpCheck,
    host: &str,
    scope: &Scope,
    deadline: Instant,
    start: Instant,
) -> Result<(Observed, Vec<AssertionResult>), Broken> {
    let (mut io, mut phases, tls) =
        net::open(host, check.port, check.tls.as_ref(), &[], deadline, start).await?;
    let mut seen = Observed {
        tls,
        ..Observed::default()
    };

    if let Some(send) = &check.send {
        let text = send.render(&scope.captures);
        let bytes = encode(&text, check.encoding)
            .map_err(|e| Broken::new(ErrorKind::Protocol, e, phases))?;
        match tokio::time::timeout_at(deadline.into(), io.write_all(&bytes)).await {
            Err(_) => return Err(net::timed_out(start, "while sending", phases)),
            Ok(Err(e)) => {
                return Err(Broken::new(
                    ErrorKind::Reset,
                    format!("could not send: {e}"),
                    phases,
                ));
            }
            Ok(Ok(())) => {}
        }
    }
    let wants_reply = check.send.is_some() || check.expect.is_some();
    let reply = match wants_reply {
        true => read(&mut io, check, deadline)
            .await
            .map_err(|e| Broken::new(ErrorKind::Reset, e, phases))?,
        false => Reply::default(),
    };
    if let (Some(re), true, true) = (&check.expect, reply.body.is_empty(), reply.timed_out) {
        let what = format!("waiting for a reply matching /{}/", re.as_str());
        return Err(net::timed_out(start, &what, phases));
    }
    let Reply { body, first, .. } = reply;
    let end = Instant::now();
    phases.transfer = end - first.unwrap_or(end);
    net::finish(&mut phases, start);

    let shown = show(&body, check.encoding);
    let mut implicit = Vec::new();
    if let Some(re) = &check.expect {
        implicit.push(AssertionResult::new(
            "expect".into(),
            re.is_match(&shown),
            format!("matching /{}/", re.as_str()),
            if body.is_empty() {
                "(nothing received)".into()
            } else {
                preview(&scope.redactor.redacted(&shown))
            },
        ));
    }
    let _ = io.shutdown().await;
    seen.body = shown.into_bytes();
    seen.phases = phases;
    Ok((seen, implicit))
}

/// What came back.
#[derive(Default)]
struct Reply {
    /// The bytes.
    body: Vec<u8>,
    /// When the first arrived.
    first: Option<Instant>,
    /// Reading stopped because time ran out (not a match, a close or `max_bytes`).
    timed_out: bool,
}

/// Reads until `expect` matches, the peer closes, `max_bytes` or the time runs out (then what
/// came is judged). Without `expect`, reading stops [`IDLE`] after the last bytes, and waits for
/// the first at most `read_timeout` (default [`WAIT_WITHOUT_EXPECT`]).
async fn read(io: &mut Box<dyn Io>, check: &TcpCheck, deadline: Instant) -> Result<Reply, String> {
    let mut reply = Reply::default();
    let mut chunk = [0u8; 4096];
    let read_for = match &check.expect {
        Some(_) => check.read_timeout,
        None => Some(check.read_timeout.unwrap_or(WAIT_WITHOUT_EXPECT)),
    };
    let until = read_for.map_or(deadline, |t| deadline.min(Instant::now() + t));
    loop {
        let wait = match (&check.expect, reply.first) {
            (None, Some(_)) => net::left(until, Some(IDLE)),
            _ => net::left(until, None),
        };
        let read = match wait.is_zero() {
            true => Err(()),
            false => tokio::time::timeout(wait, io.read(&mut chunk))
                .await
                .map_err(|_| ()),
        };
        match read {
            Err(()) => {
                reply.timed_out = reply.first.is_none() || check.expect.is_some();
                return Ok(reply);
            }
            Ok(Err(e)) if reply.body.is_empty() => {
                return Err(format!("the connection broke: {e}"));
            }
            Ok(Err(_)) | Ok(Ok(0)) => return Ok(reply),
            Ok(Ok(n)) => {
                reply.first.get_or_insert_with(Instant::now);
                reply.body.extend_from_slice(&chunk[..n]);
                let shown = show(&reply.body, check.encoding);
                let done = check.expect.as_ref().is_some_and(|re| re.is_match(&shown));
                if done || reply.body.len() >= check.max_bytes {
                    return Ok(reply);
                }
            }
        }
    }
}
