//! A fault-injecting HTTP proxy on 127.0.0.1:0 in front of a real service (LocalStack): it
//! forwards, answers errors, fails the first N requests, or holds requests unanswered.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::server::{Req, listen_in_thread, read_request};

/// Every request's target and body, in order.
pub type Recorded = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// What the proxy does with the next request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Pass it on.
    Forward,
    /// Answer with this status and no body.
    Fail(u16),
    /// Answer the next `n` with 503, then forward.
    FailFirst(usize),
    /// Read it and never answer.
    Hold,
    /// Forward, holding each PUT (for at most 10 s) until this many GETs have come in all:
    /// clients that each read an object and write it back all read before any writes.
    PutsAfterGets(usize),
}

/// A running proxy; stops when dropped.
pub struct Proxy {
    pub addr: SocketAddr,
    mode: Arc<Mutex<Mode>>,
    /// Requests received.
    pub requests: Arc<AtomicUsize>,
    /// GET requests received.
    pub gets: Arc<AtomicUsize>,
    /// Every request's target and body, in order.
    pub recorded: Recorded,
    /// Operations (the last part of the target) answered here with an empty success instead of
    /// forwarded: what the emulator does not implement.
    pub answer_here: Arc<Mutex<Vec<String>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Proxy {
    /// A proxy to `upstream` (`http://host:port`).
    pub fn start(upstream: &str, mode: Mode) -> Proxy {
        let upstream: SocketAddr = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .expect("upstream host:port");
        let mode = Arc::new(Mutex::new(mode));
        let requests = Arc::new(AtomicUsize::new(0));
        let gets = Arc::new(AtomicUsize::new(0));
        let recorded = Arc::new(Mutex::new(Vec::new()));
        let answer_here = Arc::new(Mutex::new(Vec::new()));
        let shared = Shared {
            mode: mode.clone(),
            requests: requests.clone(),
            gets: gets.clone(),
            recorded: recorded.clone(),
            answer_here: answer_here.clone(),
        };
        let (addr, stop) = listen_in_thread(0, move |listener| accept(listener, upstream, shared));
        Proxy {
            addr,
            mode,
            requests,
            gets,
            recorded,
            answer_here,
            stop: Some(stop),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    pub fn received(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

#[derive(Clone)]
struct Shared {
    mode: Arc<Mutex<Mode>>,
    requests: Arc<AtomicUsize>,
    gets: Arc<AtomicUsize>,
    recorded: Recorded,
    answer_here: Arc<Mutex<Vec<String>>>,
}

async fn accept(listener: TcpListener, upstream: SocketAddr, shared: Shared) {
    loop {
        let Ok((mut client, _)) = listener.accept().await else {
            continue;
        };
        let Shared {
            mode,
            requests,
            gets,
            recorded,
            answer_here,
        } = shared.clone();
        tokio::spawn(async move {
            let Some(req) = read_request(&mut client).await else {
                return;
            };
            requests.fetch_add(1, Ordering::SeqCst);
            if req.method == "GET" {
                gets.fetch_add(1, Ordering::SeqCst);
            }
            recorded
                .lock()
                .unwrap()
                .push((req.target.clone(), req.body.clone()));
            let operation = req.target.rsplit('/').next().unwrap_or("").to_string();
            if answer_here.lock().unwrap().contains(&operation) {
                return empty_cbor_success(&mut client).await;
            }
            let now = {
                let mut m = mode.lock().unwrap();
                let now = *m;
                if let Mode::FailFirst(n) = now {
                    *m = if n <= 1 {
                        Mode::Forward
                    } else {
                        Mode::FailFirst(n - 1)
                    };
                }
                now
            };
            match now {
                Mode::Forward => forward(&mut client, upstream, &req).await,
                Mode::Fail(status) => answer(&mut client, status).await,
                Mode::FailFirst(_) => answer(&mut client, 503).await,
                Mode::Hold => tokio::time::sleep(Duration::from_secs(3600)).await,
                Mode::PutsAfterGets(n) => {
                    let until = tokio::time::Instant::now() + Duration::from_secs(10);
                    while req.method == "PUT"
                        && gets.load(Ordering::SeqCst) < n
                        && tokio::time::Instant::now() < until
                    {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    forward(&mut client, upstream, &req).await
                }
            }
        });
    }
}

/// An rpcv2Cbor success with an empty body (`{}`).
async fn empty_cbor_success(client: &mut TcpStream) {
    let head = "HTTP/1.1 200 OK\r\nContent-Type: application/cbor\r\nsmithy-protocol: rpc-v2-cbor\r\nContent-Length: 1\r\nConnection: close\r\n\r\n";
    let _ = client.write_all(head.as_bytes()).await;
    let _ = client.write_all(&[0xa0]).await;
    let _ = client.shutdown().await;
}

async fn answer(client: &mut TcpStream, status: u16) {
    let head =
        format!("HTTP/1.1 {status} Injected\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    let _ = client.write_all(head.as_bytes()).await;
    let _ = client.shutdown().await;
}

async fn forward(client: &mut TcpStream, upstream: SocketAddr, req: &Req) {
    let Ok(mut up) = TcpStream::connect(upstream).await else {
        return answer(client, 502).await;
    };
    let mut raw = format!("{} {} HTTP/1.1\r\n", req.method, req.target).into_bytes();
    for (k, v) in req
        .headers
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("connection"))
    {
        raw.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    raw.extend_from_slice(b"Connection: close\r\n\r\n");
    raw.extend_from_slice(&req.body);
    let mut response = Vec::new();
    if up.write_all(&raw).await.is_err() || up.read_to_end(&mut response).await.is_err() {
        return answer(client, 502).await;
    }
    let _ = client.write_all(&response).await;
    let _ = client.shutdown().await;
}
