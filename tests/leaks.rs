//! Nothing is left behind: after many runs against servers that pass, fail, reset, hang,
//! trickle, refuse and speak garbage — over HTTP, TCP, TLS, DNS and WebSocket — the process holds
//! no more file descriptors and threads than it did after the first round.

mod support;

use std::sync::Arc;
use std::time::Duration;

use canary::config::{self, LoadOptions};
use support::certs::Ca;
use support::server::{Reply, Server};

/// Open file descriptors of this process, less the sockets of the test's own servers (a server
/// that never answers holds its side for good; that is the server's, not canary's).
fn fds(server_ports: &[u16]) -> usize {
    let mut server_inodes = std::collections::HashSet::new();
    for table in ["/proc/self/net/tcp", "/proc/self/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let port = cols[1]
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            if port.is_some_and(|p| server_ports.contains(&p)) {
                server_inodes.insert(cols[9].to_string());
            }
        }
    }
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|target| {
            let t = target.to_string_lossy();
            let inode = t.strip_prefix("socket:[").and_then(|r| r.strip_suffix(']'));
            !inode.is_some_and(|i| server_inodes.contains(i))
        })
        .count()
}

/// Threads of this process.
fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_runs_of_every_way_to_fail_leave_no_descriptor_or_thread() {
    let http = Server::http(|req| match req.path() {
        "/ok" => Reply::text(200, "ok"),
        "/fail" => Reply::text(500, "no"),
        "/reset" => Reply::Reset,
        "/hang" => Reply::Hang,
        "/garbage" => Reply::Raw(b"SSH-2.0-not-http\r\n".to_vec()),
        _ => Reply::Trickle {
            chunk: b"x".to_vec(),
            every: Duration::from_millis(100),
            count: 100,
        },
    });
    let ca = Ca::new();
    let https = Server::https(ca.leaf(-1, 90), |_| Reply::text(200, "ok"));
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let u = |p: &str| http.url(p);
    let files: Vec<(String, String)> = [
        format!("http: {{ url: '{}' }}", u("/ok")),
        format!("http: {{ url: '{}', assert: [ {{ status: 200 }} ] }}", u("/fail")),
        format!("http: {{ url: '{}' }}", u("/reset")),
        format!("timeout: 300ms\nhttp: {{ url: '{}' }}", u("/hang")),
        format!("timeout: 300ms\nhttp: {{ url: '{}' }}", u("/trickle")),
        format!("http: {{ url: '{}' }}", u("/garbage")),
        format!("http: {{ url: 'http://127.0.0.1:{closed_port}/' }}"),
        format!("http: {{ url: '{}' }}", https.url("/")),
        format!("tcp: {{ host: 127.0.0.1, port: {closed_port} }}"),
        format!(
            "timeout: 300ms\ntcp: {{ host: 127.0.0.1, port: {}, send: \"hi\\r\\n\", expect: never }}",
            http.addr.port()
        ),
        format!(
            "timeout: 300ms\ntls: {{ host: 127.0.0.1, port: {} }}",
            http.addr.port()
        ),
        format!(
            "timeout: 300ms\ndns: {{ name: x.test, server: '127.0.0.1:{}' }}",
            http.addr.port()
        ),
        format!("websocket: {{ url: 'ws://127.0.0.1:{}/ok' }}", http.addr.port()),
    ]
    .iter()
    .enumerate()
    .map(|(i, body)| (format!("c{i}.yaml"), format!("name: c{i}\n{body}\n")))
    .collect();
    let dir = support::canary_dir_owned(&files);
    let canaries: Vec<Arc<canary::canary::Canary>> =
        config::load(&[dir.path().into()], &LoadOptions::default())
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .map(Arc::new)
            .collect();
    let ctx = Arc::new(canary::check::Context::default());
    let round = || canary::runner::run_all(&canaries, 8, &ctx, |_| {});
    let ports = [http.addr.port(), https.addr.port()];
    let fds = || fds(&ports);

    // The first round pays for what lives as long as the process (runtime, resolver threads).
    round().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (fds_before, threads_before) = (fds(), threads());
    for _ in 0..10 {
        let runs = round().await;
        assert_eq!(runs.len(), canaries.len());
    }
    // Servers close their side in their own time; give them a moment.
    let mut settled = (fds(), threads());
    for _ in 0..30 {
        if settled.0 <= fds_before && settled.1 <= threads_before + 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        settled = (fds(), threads());
    }
    assert!(
        settled.0 <= fds_before,
        "{} file descriptors after 10 rounds, {fds_before} after the first",
        settled.0
    );
    // Idle blocking-pool threads (DNS lookups) may linger up to tokio's keep-alive; no more.
    assert!(
        settled.1 <= threads_before + 2,
        "{} threads after 10 rounds, {threads_before} after the first",
        settled.1
    );
}
