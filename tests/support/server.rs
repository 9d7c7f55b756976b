//! A real HTTP/1.1 server on 127.0.0.1:0, plain or TLS, in its own thread; it can delay,
//! trickle, reset, truncate or hang on purpose. One request per connection.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::certs::Leaf;

/// A request as the server read it.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Req {
    /// The first header with this name (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The path without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }
}

/// What the server does with a request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A complete response.
    Full {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Waits, then replies.
    Delayed(Duration, Box<Reply>),
    /// Headers at once, then the body in `count` chunks, one every `every`.
    Trickle {
        chunk: Vec<u8>,
        every: Duration,
        count: usize,
    },
    /// Resets the connection (RST) without answering.
    Reset,
    /// Promises `promised` body bytes, sends `body`, then closes.
    Truncated { promised: usize, body: Vec<u8> },
    /// Never answers.
    Hang,
    /// Sends these bytes as they are (not HTTP, say), then closes.
    Raw(Vec<u8>),
}

impl Reply {
    pub fn text(status: u16, body: &str) -> Reply {
        Reply::Full {
            status,
            headers: vec![("Content-Type".into(), "text/plain; charset=utf-8".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    pub fn json(status: u16, value: serde_json::Value) -> Reply {
        Reply::Full {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: value.to_string().into_bytes(),
        }
    }

    pub fn redirect(to: &str) -> Reply {
        Reply::Full {
            status: 302,
            headers: vec![("Location".into(), to.into())],
            body: Vec::new(),
        }
    }

    /// Adds a header to a full reply.
    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        if let Reply::Full { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }
}

pub type Handler = Arc<dyn Fn(&Req) -> Reply + Send + Sync>;

/// A running server; stops when dropped.
pub struct Server {
    pub addr: SocketAddr,
    pub scheme: &'static str,
    /// Every request received, in order.
    pub requests: Arc<Mutex<Vec<Req>>>,
    /// Connections accepted.
    pub connections: Arc<AtomicUsize>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Server {
    /// A plain HTTP server.
    pub fn http(handler: impl Fn(&Req) -> Reply + Send + Sync + 'static) -> Server {
        Server::http_on(0, handler)
    }

    /// A plain HTTP server on 127.0.0.1:`port` (0: any free port).
    pub fn http_on(port: u16, handler: impl Fn(&Req) -> Reply + Send + Sync + 'static) -> Server {
        Server::start(port, None, Arc::new(handler))
    }

    /// An HTTPS server presenting `leaf`.
    pub fn https(leaf: Leaf, handler: impl Fn(&Req) -> Reply + Send + Sync + 'static) -> Server {
        Server::https_on(0, leaf, handler)
    }

    /// An HTTPS server on 127.0.0.1:`port` (0: any free port) presenting `leaf`.
    pub fn https_on(
        port: u16,
        leaf: Leaf,
        handler: impl Fn(&Req) -> Reply + Send + Sync + 'static,
    ) -> Server {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(leaf.chain, leaf.key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        Server::start(port, Some(acceptor), Arc::new(handler))
    }

    /// An HTTPS server presenting `leaf` that requires a client certificate issued by `client_ca`.
    pub fn https_mtls(
        leaf: Leaf,
        client_ca: rustls::pki_types::CertificateDer<'static>,
        handler: impl Fn(&Req) -> Reply + Send + Sync + 'static,
    ) -> Server {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots.add(client_ca).unwrap();
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            roots.into(),
            provider.clone(),
        )
        .build()
        .unwrap();
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(leaf.chain, leaf.key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        Server::start(0, Some(acceptor), Arc::new(handler))
    }

    /// `scheme://127.0.0.1:port` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}://{}{}", self.scheme, self.addr, path)
    }

    /// Requests received so far.
    pub fn received(&self) -> Vec<Req> {
        self.requests.lock().unwrap().clone()
    }

    fn start(port: u16, tls: Option<tokio_rustls::TlsAcceptor>, handler: Handler) -> Server {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let scheme = if tls.is_some() { "https" } else { "http" };
        let (reqs, conns) = (requests.clone(), connections.clone());
        let (addr, stop) = listen_in_thread(port, move |listener| {
            accept_loop(listener, tls, handler, reqs, conns)
        });
        Server {
            addr,
            scheme,
            requests,
            connections,
            stop: Some(stop),
        }
    }
}

/// Listens on 127.0.0.1:`port` (0: any) and runs `serve` on that listener in a thread of its
/// own with its own runtime, until the returned sender is dropped or used.
pub fn listen_in_thread<F, Fut>(
    port: u16,
    serve: F,
) -> (SocketAddr, tokio::sync::oneshot::Sender<()>)
where
    F: FnOnce(TcpListener) -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    let std_listener = std::net::TcpListener::bind(("127.0.0.1", port))
        .unwrap_or_else(|e| panic!("cannot listen on 127.0.0.1:{port}: {e}"));
    std_listener.set_nonblocking(true).unwrap();
    let addr = std_listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = TcpListener::from_std(std_listener).unwrap();
            tokio::select! {
                _ = serve(listener) => {}
                _ = stopped => {}
            }
        });
        rt.shutdown_background();
    });
    (addr, stop)
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    handler: Handler,
    requests: Arc<Mutex<Vec<Req>>>,
    connections: Arc<AtomicUsize>,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        connections.fetch_add(1, Ordering::SeqCst);
        let (tls, handler, requests) = (tls.clone(), handler.clone(), requests.clone());
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            match tls {
                None => serve(stream, &handler, &requests).await,
                Some(acceptor) => {
                    if let Ok(tls_stream) = acceptor.accept(stream).await {
                        serve(tls_stream, &handler, &requests).await;
                    }
                }
            }
        });
    }
}

async fn serve<S>(mut stream: S, handler: &Handler, requests: &Mutex<Vec<Req>>)
where
    S: AsyncRead + AsyncWrite + Unpin + Resettable,
{
    let Some(req) = read_request(&mut stream).await else {
        return;
    };
    requests.lock().unwrap().push(req.clone());
    let mut reply = handler(&req);
    loop {
        match reply {
            Reply::Delayed(d, next) => {
                tokio::time::sleep(d).await;
                reply = *next;
            }
            Reply::Full {
                status,
                headers,
                body,
            } => {
                let head = head(status, &headers, Some(body.len()));
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(&body).await;
                let _ = stream.shutdown().await;
                return;
            }
            Reply::Trickle {
                chunk,
                every,
                count,
            } => {
                let head = head(200, &[], Some(chunk.len() * count));
                let _ = stream.write_all(head.as_bytes()).await;
                for _ in 0..count {
                    // A client that went away ends the trickle: its socket is not held for it.
                    if stream.write_all(&chunk).await.is_err() || stream.flush().await.is_err() {
                        return;
                    }
                    tokio::time::sleep(every).await;
                }
                let _ = stream.shutdown().await;
                return;
            }
            Reply::Truncated { promised, body } => {
                let head = head(200, &[], Some(promised));
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(&body).await;
                let _ = stream.flush().await;
                return;
            }
            Reply::Reset => {
                stream.reset();
                return;
            }
            Reply::Raw(bytes) => {
                let _ = stream.write_all(&bytes).await;
                let _ = stream.shutdown().await;
                return;
            }
            Reply::Hang => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                return;
            }
        }
    }
}

/// Streams over a TCP socket that can be closed with RST (SO_LINGER 0) when dropped.
trait Resettable {
    fn reset(&self);
}

impl Resettable for TcpStream {
    fn reset(&self) {
        let _ = self.set_zero_linger();
    }
}

impl Resettable for tokio_rustls::server::TlsStream<TcpStream> {
    fn reset(&self) {
        self.get_ref().0.reset();
    }
}

fn head(status: u16, headers: &[(String, String)], length: Option<usize>) -> String {
    let mut h = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (k, v) in headers {
        h.push_str(&format!("{k}: {v}\r\n"));
    }
    let has_length = headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-length"));
    if let (Some(n), false) = (length, has_length) {
        h.push_str(&format!("Content-Length: {n}\r\n"));
    }
    h.push_str("Connection: close\r\n\r\n");
    h
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        401 => "Unauthorized",
        404 => "Not Found",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

pub async fn read_request<S: AsyncRead + Unpin>(stream: &mut S) -> Option<Req> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, target) = (first.next()?.to_string(), first.next()?.to_string());
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Req {
        method,
        target,
        headers,
        body,
    })
}
