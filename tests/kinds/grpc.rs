//! `grpc:` against a real gRPC server with the standard health service (Python's grpcio, from
//! .venv-ci made by scripts/tools), in plain HTTP/2 and over TLS; and servers that are not gRPC.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use canary::run::ErrorKind;

use super::support::certs::Ca;
use super::support::server::{Reply, Server};
use super::{Canary, errored, failed_on, passed, run, step};

/// A grpcio health server; killed when dropped.
struct Grpc {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Grpc {
    /// A server with these `service=STATUS` settings (TLS with `leaf`), or None outside CI when
    /// grpcio is not installed.
    fn start(leaf: Option<&super::support::certs::Leaf>, statuses: &[&str]) -> Option<Grpc> {
        let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv-ci/bin/python");
        let ready = python.exists()
            && Command::new(&python)
                .args(["-c", "import grpc_health.v1.health"])
                .output()
                .is_ok_and(|o| o.status.success());
        if !ready {
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "grpcio is missing: run scripts/tools (scripts/test does), which installs it into .venv-ci"
            );
            eprintln!("skipped: no grpcio in .venv-ci (run scripts/tools)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let port_file = dir.path().join("port");
        let mut cmd = Command::new(&python);
        cmd.arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/support/grpc_server.py"
        ))
        .arg(&port_file);
        if let Some(leaf) = leaf {
            let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
            std::fs::write(&cert, leaf.chain_pem()).unwrap();
            std::fs::write(&key, leaf.key_pem()).unwrap();
            cmd.arg(cert).arg(key);
        }
        let child = cmd
            .arg("--")
            .args(statuses)
            .stdout(Stdio::null())
            .spawn()
            .expect("start the gRPC server");
        let mut server = Grpc {
            child,
            port: 0,
            _dir: dir,
        };
        for _ in 0..200 {
            if let Ok(p) = std::fs::read_to_string(&port_file) {
                server.port = p.trim().parse().unwrap();
                return Some(server);
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("the gRPC server exited: {status}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the gRPC server did not start");
    }
}

impl Drop for Grpc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const STATUSES: [&str; 3] = [
    "=SERVING",
    "orders.v1.Orders=SERVING",
    "billing.v1.Billing=NOT_SERVING",
];

#[tokio::test]
async fn the_health_check_passes_when_serving_and_fails_otherwise() {
    let Some(srv) = Grpc::start(None, &STATUSES) else {
        return;
    };
    let yaml = |service: &str| {
        format!(
            "name: orders-grpc\ntimeout: 5s\ngrpc: {{ address: 127.0.0.1:{}, service: {service}, tls: false }}   # passes when the service is SERVING\n",
            srv.port
        )
    };
    let ok = run(&yaml("orders.v1.Orders")).await;
    passed(&ok);
    let s = step(&ok);
    assert_eq!(
        s.url.as_deref(),
        Some(format!("grpc://127.0.0.1:{}/orders.v1.Orders", srv.port).as_str())
    );
    assert!(s.phases.unwrap().transfer > Duration::ZERO);
    failed_on(
        &run(&yaml("billing.v1.Billing")).await,
        "grpc health",
        "NOT_SERVING",
    );
    failed_on(
        &run(&yaml("nobody.v1.Nobody")).await,
        "grpc health",
        "SERVICE_UNKNOWN",
    );
    // The server as a whole; and a NOT_SERVING service can be what is expected (a drained node).
    passed(
        &run(&format!(
            "name: g\ngrpc: {{ address: \"localhost:{}\" }}\n",
            srv.port
        ))
        .await,
    );
    let drained = format!(
        "name: g\ngrpc: {{ address: \"127.0.0.1:{}\", service: billing.v1.Billing, expect: NOT_SERVING }}\n",
        srv.port
    );
    passed(&run(&drained).await);
}

#[tokio::test]
async fn the_health_check_speaks_tls() {
    let ca = Ca::new();
    let leaf = ca.leaf(-1, 30);
    let Some(srv) = Grpc::start(Some(&leaf), &STATUSES) else {
        return;
    };
    let yaml = format!(
        "name: g\ntimeout: 5s\ngrpc:\n  address: localhost:{}\n  service: orders.v1.Orders\n  tls: {{ ca_file: ca.pem }}\n  assert: [ {{ tls: {{ expires_in: {{ gt: 20d }} }} }} ]\n",
        srv.port
    );
    let (r, _) = Canary::new(&yaml, &[("ca.pem", &ca.pem())]).run().await;
    passed(&r);
    assert!(step(&r).url.as_deref().unwrap().starts_with("grpcs://"));
    // The test CA is not among the built-in roots.
    let untrusted = yaml.replace("tls: { ca_file: ca.pem }", "tls: true");
    errored(
        &run(&untrusted).await,
        ErrorKind::Tls,
        "not signed by a CA canary trusts",
    );
}

#[tokio::test]
async fn servers_that_are_not_grpc_are_protocol_errors() {
    let http1 = Server::http(|_| Reply::text(200, "hello"));
    let r = run(&format!(
        "name: g\ntimeout: 3s\ngrpc: {{ address: \"127.0.0.1:{}\" }}\n",
        http1.addr.port()
    ))
    .await;
    errored(&r, ErrorKind::Protocol, "");
    let h2 = super::support::h2::H2Server::plain();
    let r = run(&format!(
        "name: g\ntimeout: 3s\ngrpc: {{ address: \"{}\" }}\n",
        h2.addr
    ))
    .await;
    errored(&r, ErrorKind::Protocol, "not a gRPC server");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    errored(
        &run(&format!(
            "name: g\ngrpc: {{ address: \"127.0.0.1:{closed}\" }}\n"
        ))
        .await,
        ErrorKind::Connect,
        "could not connect",
    );
}

#[test]
fn bad_grpc_sections_are_config_errors_at_their_place() {
    let e = super::errors("name: g\ngrpc: { address: localhost }\n");
    assert!(
        e.contains("c.yaml:2:") && e.contains("write host:port"),
        "{e}"
    );
    let e = super::errors("name: g\ngrpc: { address: \"localhost:1\", expect: UP }\n");
    assert!(
        e.contains(
            "`UP` is not a health status (known: UNKNOWN, SERVING, NOT_SERVING, SERVICE_UNKNOWN)"
        ),
        "{e}"
    );
}
