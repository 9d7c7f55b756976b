//! `tcp:` against a real Redis (PING → +PONG), banner servers made in the test, TLS on top,
//! and the ways a connection goes wrong.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use canary::run::ErrorKind;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::support::certs::Ca;
use super::support::server::{Reply, Server, listen_in_thread};
use super::{Canary, errored, failed_on, passed, run, step, timed_out_within};

/// A redis-server on a free loopback port; killed when dropped.
pub struct Redis {
    child: Child,
    pub port: u16,
}

impl Redis {
    /// Starts one, or None (with a note) when redis-server is not installed outside CI.
    pub fn start() -> Option<Redis> {
        if Command::new("redis-server")
            .arg("--version")
            .output()
            .is_err()
        {
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "redis-server is missing: apt-get install redis-server (scripts/test does)"
            );
            eprintln!("skipped: no redis-server (apt-get install redis-server)");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .spawn()
            .expect("start redis-server");
        let redis = Redis { child, port };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(redis);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("redis-server did not listen on {port}");
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server that writes `banner` to each connection, then echoes what it reads (or, with
/// `banner` None, says nothing at all).
pub fn banner_server(
    banner: Option<&'static str>,
) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
    listen_in_thread(0, move |listener: TcpListener| async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let Some(b) = banner else {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    return;
                };
                let _ = s.write_all(b.as_bytes()).await;
                let mut buf = [0u8; 1024];
                while let Ok(n @ 1..) = s.read(&mut buf).await {
                    let _ = s.write_all(&buf[..n]).await;
                }
            });
        }
    })
}

#[tokio::test]
async fn redis_ping_pong_passes_and_a_wrong_expectation_fails() {
    let Some(redis) = Redis::start() else { return };
    let yaml = |expect: &str| {
        format!(
            r#"name: redis-up
tcp:
  host: 127.0.0.1
  port: {}
  send: "PING\r\n"
  expect: "{expect}"             # a regex on what comes back
  assert: [ {{ latency: {{ connect: {{ lt: 50ms }} }} }} ]
"#,
            redis.port
        )
    };
    let ok = run(&yaml("^\\\\+PONG")).await;
    passed(&ok);
    let s = step(&ok);
    assert_eq!(
        s.url.as_deref(),
        Some(format!("tcp://127.0.0.1:{}", redis.port).as_str())
    );
    let p = s.phases.unwrap();
    assert!(
        p.connect > Duration::ZERO && p.total >= p.connect + p.transfer,
        "{p:?}"
    );
    assert_eq!(
        p.resolve + p.connect + p.tls + p.processing + p.transfer,
        p.total
    );

    let bad = run(&yaml("^\\\\+PANG")).await;
    failed_on(&bad, "expect", "+PONG");
}

#[tokio::test]
async fn a_reply_is_captured_and_sent_on_in_the_next_step() {
    let Some(redis) = Redis::start() else { return };
    let yaml = format!(
        r#"name: redis-info
steps:
  - name: version
    tcp:
      host: localhost
      port: {p}
      send: "INFO server\r\n"
      expect: "redis_version:[0-9.]+"
      capture: {{ version: {{ regex: "redis_version:([0-9.]+)" }} }}
  - name: echo
    tcp:
      host: 127.0.0.1
      port: {p}
      send: "ECHO v${{version}}\r\n"
      expect: "\\$[0-9]+\r\nv[0-9]+\\."
      assert: [ {{ body: {{ contains: "v${{version}}" }} }} ]
"#,
        p = redis.port
    );
    let r = run(&yaml).await;
    passed(&r);
    let version = &r.last().steps[0]
        .assertions
        .iter()
        .find(|a| a.subject == "capture version")
        .unwrap()
        .actual;
    assert!(
        version.chars().next().unwrap().is_ascii_digit(),
        "{version}"
    );
}

#[tokio::test]
async fn a_banner_is_read_without_sending_and_hex_is_spoken() {
    let (addr, _stop) = banner_server(Some("SSH-2.0-OpenSSH_9.6\r\n"));
    let ssh = format!(
        "name: ssh\ntcp: {{ host: 127.0.0.1, port: {}, expect: \"^SSH-2\\\\.0-\" }}\n",
        addr.port()
    );
    passed(&run(&ssh).await);
    // `encoding: hex`: the banner comes back as hex, what is sent is decoded from it.
    let hex = format!(
        "name: hex\ntcp:\n  host: 127.0.0.1\n  port: {}\n  encoding: hex\n  send: \"de ad be ef\"\n  expect: \"deadbeef$\"\n  assert: [ {{ body: {{ contains: \"5353482d322e30\" }} }} ]\n",
        addr.port()
    );
    passed(&run(&hex).await);
}

#[tokio::test]
async fn tls_on_top_of_tcp_is_verified() {
    let ca = Ca::new();
    let srv = Server::https(ca.leaf(-1, 30), |_| Reply::text(200, "hello"));
    let yaml = |tls: &str| {
        format!(
            "name: tls-port\ntimeout: 5s\ntcp:\n  host: localhost\n  port: {}\n  tls: {tls}\n  send: \"GET / HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n\"\n  expect: \"^HTTP/1\\\\.[01] 200\"\n  assert: [ {{ tls: {{ expires_in: {{ gt: 20d }} }} }} ]\n",
            srv.addr.port()
        )
    };
    let c = Canary::new(&yaml("{ ca_file: ca.pem }"), &[("ca.pem", &ca.pem())]);
    let (ok, _) = c.run().await;
    passed(&ok);
    assert_eq!(
        step(&ok).url.as_deref(),
        Some(format!("tls://localhost:{}", srv.addr.port()).as_str())
    );
    assert!(step(&ok).phases.unwrap().tls > Duration::ZERO);
    // The test CA is not trusted by default.
    errored(
        &run(&yaml("true")).await,
        ErrorKind::Tls,
        "not signed by a CA canary trusts",
    );
    // TLS against a port that does not speak it.
    let (plain, _stop) = banner_server(Some("HTTP/1.1 400 Bad Request\r\n\r\n"));
    let yaml = format!(
        "name: t\ntimeout: 3s\ntcp: {{ host: 127.0.0.1, port: {}, tls: true }}\n",
        plain.port()
    );
    errored(&run(&yaml).await, ErrorKind::Tls, "did not answer in TLS");
}

#[tokio::test]
async fn refused_unresolvable_silent_and_closed_are_told_apart() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let refused = run(&format!(
        "name: r\ntcp: {{ host: 127.0.0.1, port: {closed} }}\n"
    ))
    .await;
    errored(&refused, ErrorKind::Connect, "could not connect");

    let dns = run("name: d\ntimeout: 5s\ntcp: { host: no-such-host.invalid, port: 80 }\n").await;
    assert!(
        matches!(
            step(&dns).error.as_ref().map(|e| e.kind),
            Some(ErrorKind::Dns | ErrorKind::Timeout)
        ),
        "{}",
        super::report(&dns)
    );

    let (silent, _stop) = banner_server(None);
    let c = Canary::new(
        &format!(
            "name: s\ntimeout: 1500ms\ntcp: {{ host: 127.0.0.1, port: {}, send: \"PING\\r\\n\", expect: PONG }}\n",
            silent.port()
        ),
        &[],
    );
    let (r, took) = c.run().await;
    timed_out_within(&r, took, Duration::from_millis(1500));
    assert!(
        step(&r)
            .error
            .as_ref()
            .unwrap()
            .message
            .contains("waiting for a reply matching /PONG/")
    );

    // `read_timeout` bounds the wait for the reply within a longer step timeout.
    let c = Canary::new(
        &format!(
            "name: s\ntimeout: 10s\ntcp: {{ host: 127.0.0.1, port: {}, expect: PONG, read_timeout: 500ms }}\n",
            silent.port()
        ),
        &[],
    );
    let (r, took) = c.run().await;
    super::errored(&r, ErrorKind::Timeout, "waiting for a reply");
    assert!(took < Duration::from_secs(2), "{took:?}");

    // A reply that does not match, then the peer closes: a failed expectation, not an error.
    let (addr, _stop2) = listen_in_thread(0, |l: TcpListener| async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else {
                continue;
            };
            let _ = s.write_all(b"-ERR unknown command\r\n").await;
        }
    });
    let r = run(&format!("name: c\ntimeout: 5s\ntcp: {{ host: 127.0.0.1, port: {}, send: \"PING\\r\\n\", expect: \"^\\\\+PONG\" }}\n", addr.port())).await;
    failed_on(&r, "expect", "-ERR unknown command");
}

#[test]
fn bad_tcp_sections_are_config_errors_at_their_place() {
    let e = super::errors("name: t\ntcp: { host: 127.0.0.1, port: 70000 }\n");
    assert!(
        e.contains("c.yaml:2:")
            && e.contains("`70000` is not a port: write a number from 1 to 65535"),
        "{e}"
    );
    let e = super::errors("name: t\ntcp: { host: \"tcp://x\", port: 1, expect: \"(\" }\n");
    assert!(
        e.contains("is not a host") && e.contains("bad regular expression"),
        "{e}"
    );
    let e = super::errors("name: t\ntcp: { host: x, port: 1, encoding: hex, send: \"abc\" }\n");
    assert!(e.contains("an odd number of digits"), "{e}");
    let e = super::errors("name: t\ntcp: { host: x, port: 1, encoding: base64 }\n");
    assert!(e.contains("write text or hex"), "{e}");
    let e = super::errors("name: t\ntcp: { host: x }\n");
    assert!(e.contains("port"), "{e}");
}
