//! Phase timing for one request: hooks in DNS resolution, connection setup and the TLS handshake.
//!
//! reqwest exposes no per-phase timings, so three hooks record instants as close to the wire as
//! its public API allows: a DNS resolver (resolve), a connector layer (the whole connection),
//! and rustls's session store, which rustls consults while it builds the ClientHello — that is,
//! right after the TCP connection is up — splitting connect from TLS. The hooks belong to a
//! client shared by many requests, and record into the [`current`] request's timing.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use rustls::NamedGroup;
use rustls::client::{ClientSessionStore, Tls12ClientSessionValue, Tls13ClientSessionValue};
use rustls::pki_types::ServerName;

use super::current;
use crate::run::Phases;

/// Instants of one connection.
#[derive(Debug, Clone, Copy)]
struct Conn {
    start: Instant,
    resolved: Option<(Instant, Instant)>,
    tls_start: Option<Instant>,
    end: Option<Instant>,
}

/// What happened when, during one request.
#[derive(Debug, Default)]
struct Events {
    /// One entry per connection opened (several when a redirect changes host).
    conns: Vec<Conn>,
    /// When the final response's headers arrived, and its status.
    headers: Option<(Instant, u16)>,
}

/// The instants recorded during one request, shared with the hooks.
#[derive(Debug, Clone, Default)]
pub struct Timing(Arc<Mutex<Events>>);

impl Timing {
    fn with_last(&self, f: impl FnOnce(&mut Conn)) {
        if let Some(c) = self
            .0
            .lock()
            .ok()
            .as_mut()
            .and_then(|ev| ev.conns.last_mut())
        {
            f(c);
        }
    }

    fn conns(&self) -> Vec<Conn> {
        self.0.lock().map(|ev| ev.conns.clone()).unwrap_or_default()
    }

    /// Records that the response headers, with this status, arrived now.
    pub fn mark_headers(&self, status: u16) {
        if let Ok(mut ev) = self.0.lock() {
            ev.headers = Some((Instant::now(), status));
        }
    }

    /// When the headers arrived and with what status, if they did.
    pub fn headers(&self) -> Option<(Instant, u16)> {
        self.0.lock().ok().and_then(|ev| ev.headers)
    }

    /// The phases of a request that started at `start`, got its headers at `headers`
    /// (if it did) and ended at `end`. The first five phases add up to `total`.
    pub fn phases(&self, start: Instant, headers: Option<Instant>, end: Instant) -> Phases {
        let mut p = Phases::default();
        for c in self.conns() {
            let conn_end = c.end.unwrap_or(end);
            let after_resolve = match c.resolved {
                Some((a, b)) => {
                    p.resolve += b - a;
                    b
                }
                None => c.start,
            };
            let tls_start = c.tls_start.unwrap_or(conn_end);
            p.connect += tls_start.saturating_duration_since(after_resolve);
            p.tls += conn_end.saturating_duration_since(tls_start);
        }
        p.transfer = headers.map_or(Duration::ZERO, |h| end - h);
        p.total = end - start;
        p.processing = p
            .total
            .saturating_sub(p.resolve + p.connect + p.tls + p.transfer);
        p
    }

    /// Where a request that has not finished is, for a timeout message.
    pub fn stage(&self, headers: bool) -> &'static str {
        if headers {
            return "while reading the body";
        }
        match self.conns().last() {
            None => "before connecting",
            Some(c) if c.end.is_some() => "while waiting for the response",
            Some(c) if c.tls_start.is_some() => "during the TLS handshake",
            Some(_) => "while connecting",
        }
    }
}

/// A DNS resolver that records how long resolution took; failures are [`DnsError`].
#[derive(Debug, Clone)]
pub struct TimedResolver;

/// A name that did not resolve.
#[derive(Debug, thiserror::Error)]
#[error("could not resolve {host}: {reason}")]
pub struct DnsError {
    host: String,
    reason: String,
}

impl Resolve for TimedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let start = Instant::now();
            let host = name.as_str().to_string();
            let found = tokio::net::lookup_host((host.as_str(), 0)).await;
            let end = Instant::now();
            current::with(|now| now.timing.with_last(|c| c.resolved = Some((start, end))));
            let addrs: Vec<SocketAddr> = found
                .map_err(|e| DnsError {
                    host: host.clone(),
                    reason: e.to_string(),
                })?
                .collect();
            if addrs.is_empty() {
                let reason = "no addresses".into();
                return Err(Box::new(DnsError { host, reason }) as _);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// A connector layer that records when each connection starts and is ready.
#[derive(Debug, Clone)]
pub struct TimedConnectLayer;

impl<S> tower_layer::Layer<S> for TimedConnectLayer {
    type Service = TimedConnect<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TimedConnect { inner }
    }
}

/// The service [`TimedConnectLayer`] wraps around reqwest's connector.
#[derive(Debug, Clone)]
pub struct TimedConnect<S> {
    inner: S,
}

impl<S, R> tower_service::Service<R> for TimedConnect<S>
where
    S: tower_service::Service<R>,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future =
        std::pin::Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send + 'static>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: R) -> Self::Future {
        let timing = current::with(|now| now.timing.clone()).unwrap_or_default();
        if let Ok(mut ev) = timing.0.lock() {
            ev.conns.push(Conn {
                start: Instant::now(),
                resolved: None,
                tls_start: None,
                end: None,
            });
        }
        let fut = self.inner.call(req);
        Box::pin(async move {
            let out = fut.await;
            timing.with_last(|c| c.end = Some(Instant::now()));
            out
        })
    }
}

/// A rustls session store that never resumes (every handshake is a full, first-visit one)
/// and records when rustls starts a handshake.
#[derive(Debug)]
pub struct TlsStartHook;

impl TlsStartHook {
    fn mark(&self) {
        current::with(|now| {
            now.timing.with_last(|c| {
                c.tls_start.get_or_insert_with(Instant::now);
            });
        });
    }
}

impl ClientSessionStore for TlsStartHook {
    fn set_kx_hint(&self, _: ServerName<'static>, _: NamedGroup) {}

    fn kx_hint(&self, _: &ServerName<'_>) -> Option<NamedGroup> {
        self.mark();
        None
    }

    fn set_tls12_session(&self, _: ServerName<'static>, _: Tls12ClientSessionValue) {}

    fn tls12_session(&self, _: &ServerName<'_>) -> Option<Tls12ClientSessionValue> {
        self.mark();
        None
    }

    fn remove_tls12_session(&self, _: &ServerName<'static>) {}

    fn insert_tls13_ticket(&self, _: ServerName<'static>, _: Tls13ClientSessionValue) {}

    fn take_tls13_ticket(&self, _: &ServerName<'static>) -> Option<Tls13ClientSessionValue> {
        self.mark();
        None
    }
}
