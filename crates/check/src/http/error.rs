//! Classifying what went wrong in a request into the fixed set of error kinds.

use std::error::Error as StdError;
use std::io;

use super::timing::DnsError;
use crate::run::{CheckError, ErrorKind};

/// The kind and message of a failed request.
pub fn classify(err: &reqwest::Error) -> CheckError {
    let message = precise(err).unwrap_or_else(|| {
        let chain = chain(err);
        if chain.is_empty() {
            err.to_string()
        } else {
            chain.join(": ")
        }
    });
    CheckError::new(kind(err), message)
}

/// [`classify`] for a request that asked for HTTP/2: a plain-HTTP server that answers HTTP/2's
/// connection preface with something else (HTTP/1.1's 400), or hangs up on it, is named as such,
/// not by the frame it could not read or the pipe that broke (which of the two comes first is
/// a race).
pub fn classify_h2(err: &reqwest::Error) -> CheckError {
    let mut e = classify(err);
    let plain = err.url().is_some_and(|u| u.scheme() == "http");
    let refused = chain(err).iter().any(|m| {
        [
            "http2 error",
            "broken pipe",
            "connection reset",
            "connection closed",
        ]
        .iter()
        .any(|said| m.contains(said))
    });
    if plain
        && refused
        && matches!(
            e.kind,
            ErrorKind::Protocol | ErrorKind::Reset | ErrorKind::Connect
        )
    {
        e.message = format!(
            "http_version \"2\" over plain HTTP sends HTTP/2 directly (prior knowledge), and the \
             server did not answer in HTTP/2 ({}): it likely speaks only HTTP/1.1; \
             use http_version \"1.1\", or HTTPS where the server offers h2",
            e.message
        );
    }
    e
}

/// The error for a response in `got` to a request that asked for HTTP/2.
pub fn not_h2(got: &str) -> CheckError {
    CheckError::new(
        ErrorKind::Protocol,
        format!(
            "http_version \"2\" was asked for, but the server answered in {got}: it did not \
             accept HTTP/2 in the TLS handshake (ALPN h2); canary does not fall back silently"
        ),
    )
}

/// The message of a cause that says it all on its own: ours for DNS, rustls's for TLS.
fn precise(err: &reqwest::Error) -> Option<String> {
    let mut cur: Option<&(dyn StdError + 'static)> = err.source();
    while let Some(e) = cur {
        if let Some(d) = e.downcast_ref::<DnsError>() {
            return Some(d.to_string());
        }
        if let Some(t) = e
            .downcast_ref::<rustls::Error>()
            .or_else(|| inner_rustls(e))
        {
            return Some(canary_model::tls::explain(t));
        }
        cur = e.source();
    }
    None
}

/// A rustls error inside (nested) io::Errors.
fn inner_rustls<'a>(e: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    let inner = e.downcast_ref::<io::Error>()?.get_ref()?;
    inner
        .downcast_ref::<rustls::Error>()
        .or_else(|| inner_rustls(inner))
}

/// The messages of the error's causes, outermost first, without reqwest's own wrapper
/// (it repeats the URL) or repeats.
fn chain(err: &reqwest::Error) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = err.source();
    while let Some(e) = cur {
        let msg = e.to_string();
        if !msg.starts_with("client error (") && !out.iter().any(|m| m.contains(&msg)) {
            out.push(msg);
        }
        cur = e.source();
    }
    out
}

fn kind(err: &reqwest::Error) -> ErrorKind {
    if err.is_redirect() {
        return ErrorKind::TooManyRedirects;
    }
    if err.is_timeout() {
        return ErrorKind::Timeout;
    }
    let mut cur: Option<&(dyn StdError + 'static)> = err.source();
    while let Some(e) = cur {
        if e.is::<DnsError>() {
            return ErrorKind::Dns;
        }
        if e.is::<rustls::Error>() {
            return ErrorKind::Tls;
        }
        if let Some(k) = e.downcast_ref::<io::Error>().and_then(io_kind) {
            return k;
        }
        let text = e.to_string();
        if text.contains("connection closed before message completed")
            || text.contains("end of file before message length reached")
        {
            return ErrorKind::Reset;
        }
        cur = e.source();
    }
    if err.is_connect() {
        ErrorKind::Connect
    } else if err.is_body() || err.is_decode() {
        ErrorKind::Reset
    } else {
        ErrorKind::Protocol
    }
}

/// The kind of an I/O error, looking inside the io::Errors it wraps (TLS errors arrive as
/// an io::Error holding an io::Error holding the rustls::Error).
fn io_kind(e: &io::Error) -> Option<ErrorKind> {
    if let Some(inner) = e.get_ref() {
        if inner.is::<rustls::Error>() {
            return Some(ErrorKind::Tls);
        }
        if let Some(k) = inner.downcast_ref::<io::Error>().and_then(io_kind) {
            return Some(k);
        }
    }
    match e.kind() {
        io::ErrorKind::ConnectionRefused
        | io::ErrorKind::HostUnreachable
        | io::ErrorKind::NetworkUnreachable
        | io::ErrorKind::AddrNotAvailable => Some(ErrorKind::Connect),
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof => Some(ErrorKind::Reset),
        io::ErrorKind::TimedOut => Some(ErrorKind::Timeout),
        io::ErrorKind::InvalidData if e.to_string().contains("tls") => Some(ErrorKind::Tls),
        _ => None,
    }
}
