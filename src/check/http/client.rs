//! Building the HTTP client of one request: TLS settings, timing hooks, cookies, proxy,
//! HTTP version, redirect policy, no pooling.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use reqwest::redirect::Policy;
use rustls::client::Resumption;

use super::cookies::Jar;
use super::timing::{TimedConnectLayer, TimedResolver, Timing, TlsStartHook};
use crate::canary::http::{HttpVersion, Request};
use crate::tls::{ClientTls, Seen};

/// Builds a client for `req` with no connection reuse, recording into `timing`, counting
/// redirects, and keeping cookies in `jar`; the TLS handshake is recorded into the returned Seen.
pub fn build(
    req: &Request,
    url: &str,
    timing: &Timing,
    redirects: Arc<AtomicU32>,
    jar: Option<Arc<Jar>>,
) -> reqwest::Result<(reqwest::Client, Seen)> {
    let alpn: &[&[u8]] = match req.version {
        HttpVersion::Http1 => &[b"http/1.1"],
        HttpVersion::Http2 => &[b"h2"],
    };
    let (mut tls, seen) = req.tls.connection(alpn);
    tls.resumption = Resumption::store(Arc::new(TlsStartHook(timing.clone())));
    let policy = if req.follow_redirects {
        redirect_policy(req.max_redirects, redirects)
    } else {
        Policy::none()
    };
    let mut b = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .tls_info(true)
        .dns_resolver(Arc::new(TimedResolver(timing.clone())))
        .connector_layer(TimedConnectLayer(timing.clone()))
        .redirect(policy)
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
    b = match &req.proxy {
        Some(url) => b.proxy(reqwest::Proxy::all(url.as_str())?),
        None => b.no_proxy(),
    };
    if req.version == HttpVersion::Http2 && !url.starts_with("https:") {
        b = b.http2_prior_knowledge();
    } else if req.version == HttpVersion::Http1 {
        b = b.http1_only();
    }
    if let Some(jar) = jar {
        b = b.cookie_provider(jar);
    }
    Ok((b.build()?, seen))
}

/// Follows up to `max` redirects, stopping at a loop; counts the ones followed.
fn redirect_policy(max: u32, count: Arc<AtomicU32>) -> Policy {
    Policy::custom(move |attempt| {
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
    })
}

/// Pays the process's one-time costs before any check is timed: one request is sent through
/// the client stack to a throwaway server on 127.0.0.1, and with `tls` a ClientHello is built
/// (seeding the crypto library's random generator, tens of milliseconds that a run of only
/// plain-HTTP checks never needs).
pub async fn warm_up(tls: bool) {
    // The settings canaries without TLS options of their own share (built once, reused by them).
    let Ok(client_tls) = crate::tls::shared_default() else {
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
        url: crate::template::Template::literal(format!("http://{addr}/")),
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
    let (client, _) = build(&req, "http:", &Timing::default(), Arc::default(), None).ok()?;
    let request = client.get(format!("http://{addr}/")).send();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), request).await;
    server.abort();
    Some(())
}
