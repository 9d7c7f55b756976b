//! An HTTP/2 (and HTTP/1.1) server on 127.0.0.1:0 with hyper: over TLS with ALPN `h2` and
//! `http/1.1`, or cleartext (HTTP/1.1, or HTTP/2 with prior knowledge). It answers
//! `200 <version>` and records the version of every request.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;

use super::certs::Leaf;
use super::server::listen_in_thread;

/// A running server; stops when dropped.
pub struct H2Server {
    pub addr: SocketAddr,
    /// The version of each request, e.g. `HTTP/2.0`.
    pub versions: Arc<Mutex<Vec<String>>>,
    scheme: &'static str,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl H2Server {
    /// Over TLS presenting `leaf`, offering `alpn` (e.g. `["h2", "http/1.1"]`).
    pub fn tls(leaf: Leaf, alpn: &[&str]) -> H2Server {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(leaf.chain, leaf.key)
            .unwrap();
        config.alpn_protocols = alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
        H2Server::start(Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))))
    }

    /// Cleartext: HTTP/1.1, or HTTP/2 with prior knowledge.
    pub fn plain() -> H2Server {
        H2Server::start(None)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}://{}{}", self.scheme, self.addr, path)
    }

    fn start(tls: Option<tokio_rustls::TlsAcceptor>) -> H2Server {
        let versions = Arc::new(Mutex::new(Vec::new()));
        let scheme = if tls.is_some() { "https" } else { "http" };
        let seen = versions.clone();
        let (addr, stop) = listen_in_thread(0, move |listener| async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (tls, seen) = (tls.clone(), seen.clone());
                tokio::spawn(async move {
                    match tls {
                        Some(acceptor) => {
                            if let Ok(s) = acceptor.accept(stream).await {
                                serve(TokioIo::new(s), seen).await;
                            }
                        }
                        None => serve(TokioIo::new(stream), seen).await,
                    }
                });
            }
        });
        H2Server {
            addr,
            versions,
            scheme,
            _stop: stop,
        }
    }
}

async fn serve<I>(io: I, seen: Arc<Mutex<Vec<String>>>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
        let version = format!("{:?}", req.version());
        seen.lock().unwrap().push(version.clone());
        async move { Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from(version)))) }
    });
    let _ = auto::Builder::new(TokioExecutor::new())
        .serve_connection(io, svc)
        .await;
}
