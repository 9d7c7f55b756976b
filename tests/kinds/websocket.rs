//! `websocket:` against a WebSocket server run by the test (ws and wss): messages sent and
//! expected in order, JSON and text expectations, captures, and servers that misbehave.
// tungstenite's upgrade callback returns its own (large) error type.
#![allow(clippy::result_large_err)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use canary::run::ErrorKind;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};

use super::support::certs::Ca;
use super::support::server::{Reply, Server, listen_in_thread};
use super::{Canary, errored, failed_on, passed, run, step, timed_out_within};

/// A WebSocket server: `{"op":"ping"}` gets `{"op":"pong","seq":N}`, `quiet` gets nothing,
/// `bye` closes the connection, anything else is echoed. Records each upgrade's Authorization.
struct WsServer {
    addr: std::net::SocketAddr,
    auth: Arc<Mutex<Vec<String>>>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl WsServer {
    fn start(tls: Option<super::support::certs::Leaf>) -> WsServer {
        let acceptor = tls.map(|leaf| {
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            let config = rustls::ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(leaf.chain, leaf.key)
                .unwrap();
            tokio_rustls::TlsAcceptor::from(Arc::new(config))
        });
        let auth = Arc::new(Mutex::new(Vec::new()));
        let seen = auth.clone();
        let (addr, stop) = listen_in_thread(0, move |l: TcpListener| async move {
            loop {
                let Ok((s, _)) = l.accept().await else {
                    continue;
                };
                let (acceptor, seen) = (acceptor.clone(), seen.clone());
                tokio::spawn(async move {
                    match acceptor {
                        Some(a) => {
                            if let Ok(t) = a.accept(s).await {
                                serve(t, seen).await;
                            }
                        }
                        None => serve(s, seen).await,
                    }
                });
            }
        });
        WsServer {
            addr,
            auth,
            _stop: stop,
        }
    }
}

async fn serve<S>(s: S, seen: Arc<Mutex<Vec<String>>>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let record = |req: &Request, resp: Response| {
        let a = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        seen.lock().unwrap().push(a.to_string());
        Ok(resp)
    };
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(s, record).await else {
        return;
    };
    let mut seq = 0;
    while let Some(Ok(m)) = ws.next().await {
        let Message::Text(t) = m else { continue };
        let reply = match t.as_str() {
            "{\"op\":\"ping\"}" => {
                seq += 1;
                format!("{{\"op\":\"pong\",\"seq\":{seq}}}")
            }
            "quiet" => continue,
            "bye" => {
                let _ = ws.close(None).await;
                return;
            }
            other => other.to_string(),
        };
        if ws.send(Message::text(reply)).await.is_err() {
            return;
        }
    }
}

#[tokio::test]
async fn live_updates_pass_and_fail_over_ws_and_wss() {
    let srv = WsServer::start(None);
    let yaml = |want: &str| {
        format!(
            r#"name: live-updates
timeout: 5s
websocket:
  url: ws://127.0.0.1:{}/ws
  headers: {{ Authorization: Bearer t0k }}
  send: [ '{{"op":"ping"}}', '{{"op":"ping"}}' ]
  expect: [ {{ json: {{ path: $.op, equals: pong }} }}, {{ json: {{ path: $.seq, equals: {want} }} }} ]   # one expectation per message awaited, in order
  capture: {{ seq: {{ json: $.seq }} }}
"#,
            srv.addr.port()
        )
    };
    let ok = run(&yaml("2")).await;
    passed(&ok);
    let s = step(&ok);
    assert_eq!(
        s.received,
        ["{\"op\":\"pong\",\"seq\":1}", "{\"op\":\"pong\",\"seq\":2}"]
    );
    assert_eq!(s.status, Some(101));
    assert_eq!(srv.auth.lock().unwrap().as_slice(), ["Bearer t0k"]);
    let p = s.phases.unwrap();
    assert!(
        p.connect > Duration::ZERO && p.processing > Duration::ZERO && p.transfer > Duration::ZERO,
        "{p:?}"
    );
    failed_on(&run(&yaml("3")).await, "message 2: json $.seq", "2");

    let ca = Ca::new();
    let secure = WsServer::start(Some(ca.leaf(-1, 30)));
    let wss = format!(
        "name: wss\ntimeout: 5s\nwebsocket:\n  url: wss://localhost:{}/\n  tls: {{ ca_file: ca.pem }}\n  send: hello\n  expect: [ {{ body: {{ equals: hello }} }} ]\n  assert: [ {{ tls: {{ protocol: \"1.3\" }} }} ]\n",
        secure.addr.port()
    );
    let (r, _) = Canary::new(&wss, &[("ca.pem", &ca.pem())]).run().await;
    passed(&r);
    assert!(step(&r).phases.unwrap().tls > Duration::ZERO);
    let untrusted = wss.replace("  tls: { ca_file: ca.pem }\n", "");
    errored(
        &run(&untrusted).await,
        ErrorKind::Tls,
        "not signed by a CA canary trusts",
    );
}

#[tokio::test]
async fn a_received_message_feeds_the_next_step() {
    let srv = WsServer::start(None);
    let yaml = format!(
        r#"name: chain
timeout: 5s
steps:
  - name: first
    websocket: {{ url: "ws://127.0.0.1:{p}/", send: '{{"op":"ping"}}', expect: [ {{ json: {{ path: $.op, equals: pong }} }} ], capture: {{ seq: {{ json: $.seq }} }} }}
  - name: second
    websocket: {{ url: "ws://127.0.0.1:{p}/", send: "seq was ${{seq}}", expect: [ {{ body: {{ equals: "seq was 1" }} }} ] }}
"#,
        p = srv.addr.port()
    );
    passed(&run(&yaml).await);
}

#[tokio::test]
async fn silence_a_close_a_refused_upgrade_and_no_server_are_classified() {
    let srv = WsServer::start(None);
    let url = format!("ws://127.0.0.1:{}/", srv.addr.port());
    let c = Canary::new(
        &format!(
            "name: q\ntimeout: 1s\nwebsocket: {{ url: \"{url}\", send: quiet, expect: [ {{ body: {{ contains: x }} }} ] }}\n"
        ),
        &[],
    );
    let (r, took) = c.run().await;
    timed_out_within(&r, took, Duration::from_secs(1));
    assert!(
        step(&r)
            .error
            .as_ref()
            .unwrap()
            .message
            .contains("waiting for message 1")
    );

    let r = run(&format!("name: b\ntimeout: 3s\nwebsocket: {{ url: \"{url}\", send: bye, expect: [ {{ body: {{ contains: x }} }} ] }}\n")).await;
    failed_on(&r, "message 1", "closed");

    let http = Server::http(|_| Reply::text(200, "not a websocket"));
    let r = run(&format!(
        "name: h\ntimeout: 3s\nwebsocket: {{ url: \"ws://127.0.0.1:{}/\" }}\n",
        http.addr.port()
    ))
    .await;
    errored(&r, ErrorKind::Protocol, "refused the upgrade with HTTP 200");

    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let r = run(&format!(
        "name: c\nwebsocket: {{ url: \"ws://127.0.0.1:{closed}/\" }}\n"
    ))
    .await;
    errored(&r, ErrorKind::Connect, "could not connect");
}

#[test]
fn bad_websocket_sections_are_config_errors_at_their_place() {
    let e = super::errors("name: w\nwebsocket: { url: \"https://x.test/\" }\n");
    assert!(
        e.contains("c.yaml:2:") && e.contains("a WebSocket URL is ws:// or wss://, not https://"),
        "{e}"
    );
    let e = super::errors(
        "name: w\nwebsocket: { url: \"ws://x.test/\", expect: [ { status: 101 } ] }\n",
    );
    assert!(
        e.contains("an `expect:` entry is `body: { … }` or `json: { … }`"),
        "{e}"
    );
}
