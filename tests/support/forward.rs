//! A forward proxy on 127.0.0.1:0: plain HTTP requests in absolute form are passed on, `CONNECT`
//! opens a tunnel (for HTTPS); it can require `Proxy-Authorization`. Every request is recorded.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::server::{Req, listen_in_thread, read_request};

/// A running forward proxy; stops when dropped.
pub struct ForwardProxy {
    pub addr: SocketAddr,
    /// Requests received (CONNECT and absolute-form), in order.
    pub requests: Arc<Mutex<Vec<Req>>>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl ForwardProxy {
    /// A proxy that, when `auth` is given (`user:pass`), answers 407 without it.
    pub fn start(auth: Option<&str>) -> ForwardProxy {
        use base64::Engine;
        let want = auth.map(|a| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(a)
            )
        });
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let (addr, stop) = listen_in_thread(0, move |listener| accept(listener, want, seen));
        ForwardProxy {
            addr,
            requests,
            _stop: stop,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

async fn accept(listener: TcpListener, auth: Option<String>, seen: Arc<Mutex<Vec<Req>>>) {
    loop {
        let Ok((mut client, _)) = listener.accept().await else {
            continue;
        };
        let (auth, seen) = (auth.clone(), seen.clone());
        tokio::spawn(async move {
            let Some(req) = read_request(&mut client).await else {
                return;
            };
            seen.lock().unwrap().push(req.clone());
            if auth.is_some() && req.header("proxy-authorization") != auth.as_deref() {
                let _ = client
                    .write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"p\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .await;
                return;
            }
            if req.method == "CONNECT" {
                tunnel(client, &req.target).await;
            } else {
                forward(client, &req).await;
            }
        });
    }
}

async fn tunnel(mut client: TcpStream, target: &str) {
    let Ok(mut upstream) = TcpStream::connect(target).await else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
        return;
    };
    let _ = client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .await;
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}

async fn forward(mut client: TcpStream, req: &Req) {
    let Some(rest) = req.target.strip_prefix("http://") else {
        let _ = client.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
        return;
    };
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let Ok(mut upstream) = TcpStream::connect(host).await else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
        return;
    };
    let mut head = format!(
        "{} {} HTTP/1.1\r\n",
        req.method,
        if path.is_empty() { "/" } else { path }
    );
    for (k, v) in &req.headers {
        if !k.to_ascii_lowercase().starts_with("proxy-") && !k.eq_ignore_ascii_case("connection") {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    head.push_str("Connection: close\r\n\r\n");
    let _ = upstream.write_all(head.as_bytes()).await;
    let _ = upstream.write_all(&req.body).await;
    let mut answer = Vec::new();
    let _ = upstream.read_to_end(&mut answer).await;
    let _ = client.write_all(&answer).await;
}
