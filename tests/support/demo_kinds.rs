//! The demo service beyond HTTP, for the example canaries of the other kinds: a Redis-like
//! PING/PONG over TCP, a DNS zone, a WebSocket echo and a gRPC health service.

use std::net::SocketAddr;

use futures_util::{SinkExt, StreamExt, stream};
use http_body_util::StreamBody;
use hyper::body::{Bytes, Frame, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

use super::dns::{DnsServer, record};
use super::server::listen_in_thread;

/// The running servers; they stop when this is dropped.
pub struct DemoKinds {
    pub redis: SocketAddr,
    pub dns: DnsServer,
    pub websocket: SocketAddr,
    pub grpc: SocketAddr,
    _stops: Vec<tokio::sync::oneshot::Sender<()>>,
}

impl DemoKinds {
    /// On these ports of 127.0.0.1 (0: any free one): Redis, DNS, WebSocket, gRPC.
    pub fn start([redis, dns, websocket, grpc]: [u16; 4]) -> DemoKinds {
        let (redis, a) = listen_in_thread(redis, serve_redis);
        let (websocket, b) = listen_in_thread(websocket, serve_websocket);
        let (grpc, c) = listen_in_thread(grpc, serve_grpc);
        let dns = DnsServer::start_on(
            dns,
            vec![
                record("shop.demo.test.", 300, "A 127.0.0.1"),
                record("shop.demo.test.", 300, "MX 10 mail.shop.demo.test."),
            ],
        );
        DemoKinds {
            redis,
            dns,
            websocket,
            grpc,
            _stops: vec![a, b, c],
        }
    }

    /// The `--var` settings that point the example canaries at these servers.
    pub fn vars(&self) -> Vec<String> {
        vec![
            format!("REDIS_PORT={}", self.redis.port()),
            format!("DNS_SERVER={}", self.dns.addr),
            format!("WS_URL=ws://{}", self.websocket),
            format!("GRPC_ADDRESS={}", self.grpc),
        ]
    }
}

/// `PING` gets `+PONG`, anything else `-ERR unknown command`, line by line.
async fn serve_redis(listener: TcpListener) {
    while let Ok((s, _)) = listener.accept().await {
        tokio::spawn(async move {
            let (r, mut w) = s.into_split();
            let mut lines = BufReader::new(r).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let reply = match line.trim().eq_ignore_ascii_case("PING") {
                    true => "+PONG\r\n",
                    false => "-ERR unknown command\r\n",
                };
                if w.write_all(reply.as_bytes()).await.is_err() {
                    return;
                }
            }
        });
    }
}

/// `{"op":"ping"}` gets `{"op":"pong"}`; other text comes back as it was sent.
async fn serve_websocket(listener: TcpListener) {
    while let Ok((s, _)) = listener.accept().await {
        tokio::spawn(async move {
            let Ok(mut ws) = tokio_tungstenite::accept_async(s).await else {
                return;
            };
            while let Some(Ok(Message::Text(t))) = ws.next().await {
                let reply = match t.as_str().replace(' ', "").as_str() {
                    r#"{"op":"ping"}"# => r#"{"op":"pong"}"#.to_string(),
                    _ => t.to_string(),
                };
                if ws.send(Message::text(reply)).await.is_err() {
                    return;
                }
            }
        });
    }
}

/// `grpc.health.v1.Health/Check` answers SERVING for every service, over HTTP/2 cleartext.
async fn serve_grpc(listener: TcpListener) {
    while let Ok((s, _)) = listener.accept().await {
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(|req: Request<Incoming>| async move {
                let found = req.uri().path() == "/grpc.health.v1.Health/Check";
                // A length-prefixed HealthCheckResponse { status: SERVING (1) }.
                let message = Bytes::from_static(&[0, 0, 0, 0, 2, 0x08, 0x01]);
                let mut trailers = hyper::HeaderMap::new();
                let status = if found { "0" } else { "12" };
                trailers.insert("grpc-status", status.parse().unwrap());
                let mut frames = Vec::new();
                if found {
                    frames.push(Ok::<_, std::convert::Infallible>(Frame::data(message)));
                }
                frames.push(Ok(Frame::trailers(trailers)));
                let resp = Response::builder()
                    .header("content-type", "application/grpc")
                    .body(StreamBody::new(stream::iter(frames)))
                    .unwrap();
                Ok::<_, std::convert::Infallible>(resp)
            });
            let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(s), svc)
                .await;
        });
    }
}
