//! The HTTP clients: one per set of TLS settings and way of speaking HTTP, built on first use
//! and shared by every request that uses them; their hooks (timing, cookies, redirects, TLS
//! record) work for the [`current`] request. No pooling: every request opens its own connection.

use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

use reqwest::redirect::{Action, Attempt, Policy};
use rustls::client::Resumption;
use url::Url;

use super::cookies::CurrentJar;
use super::current;
use super::timing::{TimedConnectLayer, TimedResolver, TlsStartHook};
use crate::canary::http::{HttpVersion, Request, RequestUrl};
use crate::template::Template;
use canary_model::tls::ClientTls;

/// How a client speaks HTTP.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// HTTP/1.1 only (ALPN `http/1.1` over TLS).
    Http1 = 0,
    /// HTTP/2 through ALPN `h2` over TLS.
    Http2 = 1,
    /// HTTP/2 with prior knowledge, over cleartext.
    Http2Cleartext = 2,
}

impl Kind {
    fn of(version: HttpVersion, url: &str) -> Kind {
        match version {
            HttpVersion::Http1 => Kind::Http1,
            HttpVersion::Http2 if url.starts_with("https:") => Kind::Http2,
            HttpVersion::Http2 => Kind::Http2Cleartext,
        }
    }
}

/// The HTTP clients built on one set of TLS settings, one per [`Kind`], each built on first use
/// and kept with the settings ([`ClientTls::kept`]).
#[derive(Debug, Default)]
pub struct Clients([OnceLock<Result<reqwest::Client, String>>; 3]);

/// The client for `req` to `url`: the one its TLS settings share for its HTTP version or, for a
/// request through a proxy, one of its own.
pub fn for_request(req: &Request, url: &str) -> Result<reqwest::Client, String> {
    let kind = Kind::of(req.version, url);
    match &req.proxy {
        Some(proxy) => build(&req.tls, kind, Some(proxy)).map_err(|e| e.to_string()),
        None => match req.tls.kept::<Clients>() {
            Some(clients) => clients.0[kind as usize]
                .get_or_init(|| build(&req.tls, kind, None).map_err(|e| e.to_string()))
                .clone(),
            None => build(&req.tls, kind, None).map_err(|e| e.to_string()),
        },
    }
}

/// Builds a client on `tls` speaking `kind`, without connection reuse.
fn build(tls: &ClientTls, kind: Kind, proxy: Option<&Url>) -> reqwest::Result<reqwest::Client> {
    let alpn: &[&[u8]] = match kind {
        Kind::Http1 => &[b"http/1.1"],
        Kind::Http2 | Kind::Http2Cleartext => &[b"h2"],
    };
    let mut config = tls.shared_connection(alpn, current::tls);
    config.resumption = Resumption::store(Arc::new(TlsStartHook));
    let mut b = reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .dns_resolver(Arc::new(TimedResolver))
        .connector_layer(TimedConnectLayer)
        .redirect(Policy::custom(redirect))
        .cookie_provider(Arc::new(CurrentJar))
        .pool_max_idle_per_host(0)
        // One request per connection, within the check's own deadline: TCP keep-alive probes
        // and a user timeout (below) would only cost five system calls per check.
        .tcp_keepalive(None)
        .tcp_keepalive_interval(None)
        .tcp_keepalive_retries(None)
        .user_agent(concat!("canary/", env!("CARGO_PKG_VERSION")));
    #[cfg(target_os = "linux")]
    {
        b = b.tcp_user_timeout(None);
    }
    b = match proxy {
        Some(url) => b.proxy(reqwest::Proxy::all(url.as_str())?),
        None => b.no_proxy(),
    };
    b = match kind {
        Kind::Http1 => b.http1_only(),
        Kind::Http2 => b,
        Kind::Http2Cleartext => b.http2_prior_knowledge(),
    };
    b.build()
}

/// The current request's redirect policy: follow up to its maximum, stopping at a loop, and
/// count the ones followed.
fn redirect(attempt: Attempt) -> Action {
    let Some((Some(max), count)) = current::with(|c| (c.follow, c.redirects.clone())) else {
        return attempt.stop();
    };
    let followed = attempt.previous().len() as u32;
    if attempt.previous().iter().any(|u| u == attempt.url()) {
        let msg = format!("redirect loop back to {}", attempt.url());
        return attempt.error(msg);
    }
    if followed > max {
        return attempt.error(format!("more than {max} redirects"));
    }
    count.store(followed, Ordering::Relaxed);
    attempt.follow()
}

/// Pays the process's one-time costs before any check is timed: one request is sent through
/// the client stack to a throwaway server on 127.0.0.1, and with `tls` a ClientHello is built
/// (seeding the crypto library's random generator, tens of milliseconds that a run of only
/// plain-HTTP checks never needs).
pub async fn warm_up(tls: bool) {
    // The settings canaries without TLS options of their own share (built once, reused by them).
    let Ok(client_tls) = canary_model::tls::shared_default() else {
        return;
    };
    if tls {
        let (config, _) = client_tls.connection(&[b"http/1.1"]);
        let name = rustls::pki_types::ServerName::try_from("localhost").expect("a valid name");
        if let Ok(mut conn) = rustls::ClientConnection::new(Arc::new(config), name) {
            let _ = conn.write_tls(&mut Vec::new());
        }
    }
    let _ = warm_request(client_tls).await;
}

async fn warm_request(tls: Arc<ClientTls>) -> Option<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.ok()?;
    let addr = listener.local_addr().ok()?;
    let server = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.ok()?;
        let mut buf = [0u8; 1024];
        let _ = s.read(&mut buf).await;
        s.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
            .await
            .ok()
    });
    let req = Request {
        method: http::Method::GET,
        url: RequestUrl::new(Template::literal(format!("http://{addr}/"))).ok()?,
        headers: Vec::new(),
        query: Vec::new(),
        body: crate::canary::http::Body::Empty,
        auth: None,
        follow_redirects: false,
        max_redirects: 0,
        max_body: 1024,
        tls,
        version: HttpVersion::Http1,
        proxy: None,
    };
    let client = for_request(&req, "http:").ok()?;
    let request = client.get(format!("http://{addr}/")).send();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), request).await;
    server.abort();
    Some(())
}
