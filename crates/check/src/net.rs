//! Connections the kinds open themselves (tcp, tls, websocket, grpc): resolve and connect, then
//! TLS, each timed; failures classified like HTTP's (dns, connect, tls, timeout).

use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::canary::net::TlsTarget;
use crate::observed::TlsSeen;
use crate::run::{CheckError, ErrorKind, Phases};

/// A byte stream of either kind.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A check that could not complete, with the phases timed before it stopped.
#[derive(Debug)]
pub struct Broken {
    /// Why.
    pub error: CheckError,
    /// What was timed.
    pub phases: Phases,
}

impl Broken {
    /// An error with the phases so far.
    pub fn new(kind: ErrorKind, message: impl Into<String>, phases: Phases) -> Broken {
        Broken {
            error: CheckError::new(kind, message),
            phases,
        }
    }
}

/// A timeout at `stage` after `start`.
pub fn timed_out(start: Instant, stage: &str, phases: Phases) -> Broken {
    Broken::new(
        ErrorKind::Timeout,
        format!(
            "timed out after {} {stage}",
            crate::assert::format_duration(start.elapsed())
        ),
        phases,
    )
}

/// Resolves `host` and connects to `port` before `deadline`; the phases get resolve and connect.
pub async fn connect(
    host: &str,
    port: u16,
    deadline: Instant,
    start: Instant,
) -> Result<(TcpStream, Phases), Broken> {
    let mut phases = Phases::default();
    let t0 = Instant::now();
    let lookup =
        tokio::time::timeout_at(deadline.into(), tokio::net::lookup_host((host, port))).await;
    phases.resolve = t0.elapsed();
    let addrs: Vec<_> = match lookup {
        Err(_) => return Err(timed_out(start, "resolving", phases)),
        Ok(Err(e)) => {
            return Err(Broken::new(
                ErrorKind::Dns,
                format!("could not resolve {host}: {e}"),
                phases,
            ));
        }
        Ok(Ok(a)) => a.collect(),
    };
    if addrs.is_empty() {
        return Err(Broken::new(
            ErrorKind::Dns,
            format!("could not resolve {host}: no addresses"),
            phases,
        ));
    }
    let t1 = Instant::now();
    let mut last = None;
    for addr in addrs {
        match tokio::time::timeout_at(deadline.into(), TcpStream::connect(addr)).await {
            Err(_) => {
                phases.connect = t1.elapsed();
                return Err(timed_out(start, "while connecting", phases));
            }
            Ok(Ok(s)) => {
                let _ = s.set_nodelay(true);
                phases.connect = t1.elapsed();
                return Ok((s, phases));
            }
            Ok(Err(e)) => last = Some((addr, e)),
        }
    }
    phases.connect = t1.elapsed();
    let (addr, e) = last.expect("at least one address was tried");
    let kind = match e.kind() {
        std::io::ErrorKind::ConnectionReset => ErrorKind::Reset,
        _ => ErrorKind::Connect,
    };
    Err(Broken::new(
        kind,
        format!("could not connect to {addr}: {e}"),
        phases,
    ))
}

/// Connects to `host:port` and, with `tls`, shakes hands on top offering `alpn`: the
/// connection, the phases timed so far, and what the handshake showed.
pub async fn open(
    host: &str,
    port: u16,
    tls: Option<&TlsTarget>,
    alpn: &[&[u8]],
    deadline: Instant,
    start: Instant,
) -> Result<(Box<dyn Io>, Phases, Option<TlsSeen>), Broken> {
    let (stream, mut phases) = connect(host, port, deadline, start).await?;
    let Some(target) = tls else {
        return Ok((Box::new(stream), phases, None));
    };
    let (s, seen) = self::tls(stream, target, host, alpn, deadline, start, &mut phases).await?;
    Ok((Box::new(s), phases, Some(seen)))
}

/// A TLS handshake on `stream` as `target` says, offering `alpn`; `phases.tls` gets its time.
pub async fn tls(
    stream: TcpStream,
    target: &TlsTarget,
    host: &str,
    alpn: &[&[u8]],
    deadline: Instant,
    start: Instant,
    phases: &mut Phases,
) -> Result<(tokio_rustls::client::TlsStream<TcpStream>, TlsSeen), Broken> {
    let (mut config, seen) = target.tls.connection(alpn);
    config.enable_sni = target.sni;
    let name = target.server_name.as_deref().unwrap_or(host).to_string();
    let server_name = rustls::pki_types::ServerName::try_from(name.clone()).map_err(|_| {
        Broken::new(
            ErrorKind::Tls,
            format!("`{name}` is not a name TLS can check"),
            *phases,
        )
    })?;
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let t = Instant::now();
    let shaken =
        tokio::time::timeout_at(deadline.into(), connector.connect(server_name, stream)).await;
    phases.tls = t.elapsed();
    let s = match shaken {
        Err(_) => return Err(timed_out(start, "during the TLS handshake", *phases)),
        Ok(Err(e)) => {
            return Err(Broken::new(ErrorKind::Tls, tls_reason(&e), *phases));
        }
        Ok(Ok(s)) => s,
    };
    let conn = s.get_ref().1;
    if let Some(cs) = conn.negotiated_cipher_suite() {
        seen.set_cipher(format!("{:?}", cs.suite()));
    }
    let mut record = seen.get().unwrap_or_else(|| TlsSeen {
        protocol: None,
        cipher: None,
        hostname_matches: false,
        chain: Vec::new(),
        verified: false,
    });
    if let Some(v) = conn.protocol_version() {
        record.protocol = Some(match v {
            rustls::ProtocolVersion::TLSv1_3 => "1.3".into(),
            rustls::ProtocolVersion::TLSv1_2 => "1.2".into(),
            other => format!("{other:?}"),
        });
    }
    Ok((s, record))
}

/// A failed handshake in words, without the io::Error wrapping.
fn tls_reason(e: &std::io::Error) -> String {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .map_or_else(
            || format!("TLS handshake failed: {e}"),
            canary_model::tls::explain,
        )
}

/// Sets `total` to the time since `start` and `processing` to what the other phases leave of it,
/// so the five add up to the total exactly (as HTTP's do).
pub fn finish(phases: &mut Phases, start: Instant) {
    phases.total = start.elapsed();
    let rest = phases.resolve + phases.connect + phases.tls + phases.transfer;
    phases.processing = phases.total.saturating_sub(rest);
}

/// The time left before `deadline`, at most `cap`.
pub fn left(deadline: Instant, cap: Option<Duration>) -> Duration {
    let d = deadline.saturating_duration_since(Instant::now());
    cap.map_or(d, |c| c.min(d))
}
