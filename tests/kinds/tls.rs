//! `tls:` — the certificate inventory check: a chain that expires soon, the names, subject,
//! issuer, protocol and cipher, `server_name`, `insecure`, and endpoints that are not TLS.

use std::time::Duration;

use canary::run::ErrorKind;
use tokio::io::AsyncWriteExt;

use super::support::certs::Ca;
use super::support::server::{Reply, Server, listen_in_thread};
use super::{Canary, errored, failed_on, passed, step, timed_out_within};

fn canary(host: &str, port: u16, extra: &str, asserts: &str, ca: &Ca) -> Canary {
    let yaml = format!(
        "name: cert-inventory\ntimeout: 5s\ntls:\n  host: {host}\n  port: {port}\n  ca_file: ca.pem\n{extra}  assert:\n{asserts}"
    );
    Canary::new(&yaml, &[("ca.pem", &ca.pem())])
}

#[tokio::test]
async fn a_chain_that_expires_soon_fails_the_inventory() {
    let root = Ca::new();
    let soon = root.intermediate("canary intermediate", 10);
    let srv = Server::https(
        soon.leaf_for(&["shop.example.test", "localhost"], -1, 90),
        |_| Reply::text(200, ""),
    );
    let asserts = "    - tls: { chain_expires_in: { gt: 21d }, hostname_matches: true }\n";
    let c = canary("localhost", srv.addr.port(), "", asserts, &root);
    let (r, _) = c.run().await;
    failed_on(&r, "tls chain_expires_in", "CN=canary intermediate");
    let chain = &step(&r).tls.as_ref().unwrap().chain;
    assert_eq!(chain.len(), 2, "the leaf and the intermediate");
    assert_eq!(step(&r).status, None, "no HTTP");
    assert_eq!(srv.received().len(), 0, "not a single HTTP request");

    let fresh = root.intermediate("canary intermediate", 400);
    let srv = Server::https(
        fresh.leaf_for(&["shop.example.test", "localhost"], -1, 90),
        |_| Reply::text(200, ""),
    );
    let (r, _) = canary("localhost", srv.addr.port(), "", asserts, &root)
        .run()
        .await;
    passed(&r);
    let p = step(&r).phases.unwrap();
    assert!(
        p.connect > Duration::ZERO && p.tls > Duration::ZERO,
        "{p:?}"
    );
}

#[tokio::test]
async fn subject_issuer_names_protocol_and_cipher_are_asserted() {
    let root = Ca::new();
    let issuer = root.intermediate("Shop Issuing CA", 400);
    let srv = Server::https(
        issuer.leaf_for(&["shop.example.test", "www.shop.example.test"], -1, 90),
        |_| Reply::text(200, ""),
    );
    let asserts = r#"    - tls:
        subject: { field: CN, equals: shop.example.test }
        issuer: { contains: "Shop Issuing CA" }
        names: { contains: www.shop.example.test }
        protocol: "1.3"
        cipher: { matches: "^TLS13_" }
        expires_in: { gt: 60d, lt: 100d }
"#;
    // The certificate is for shop.example.test: connect to 127.0.0.1, send and check that name.
    let c = canary(
        "127.0.0.1",
        srv.addr.port(),
        "  server_name: shop.example.test\n",
        asserts,
        &root,
    );
    let (r, _) = c.run().await;
    passed(&r);

    let wrong = asserts.replace("equals: shop.example.test", "equals: other.example.test");
    let (r, _) = canary(
        "127.0.0.1",
        srv.addr.port(),
        "  server_name: shop.example.test\n",
        &wrong,
        &root,
    )
    .run()
    .await;
    failed_on(&r, "tls subject CN", "shop.example.test");

    // Without server_name the name checked is 127.0.0.1, which the certificate does not hold.
    let (r, _) = canary("127.0.0.1", srv.addr.port(), "", asserts, &root)
        .run()
        .await;
    errored(
        &r,
        ErrorKind::Tls,
        "is not valid for 127.0.0.1: it names shop.example.test",
    );
    // `verify_hostname: false` checks the chain only, and the assertion reports the mismatch.
    let names = "    - tls: { hostname_matches: true }\n";
    let (r, _) = canary(
        "127.0.0.1",
        srv.addr.port(),
        "  verify_hostname: false\n",
        names,
        &root,
    )
    .run()
    .await;
    failed_on(&r, "tls hostname_matches", "false");
}

#[tokio::test]
async fn an_expired_certificate_is_an_error_unless_insecure_then_a_failed_assertion() {
    let root = Ca::new();
    let srv = Server::https(root.leaf(-30, -2), |_| Reply::text(200, ""));
    let asserts = "    - tls: { expires_in: { gt: 0d } }\n";
    let (r, _) = canary("localhost", srv.addr.port(), "", asserts, &root)
        .run()
        .await;
    errored(&r, ErrorKind::Tls, "expired");
    let (r, _) = canary(
        "localhost",
        srv.addr.port(),
        "  insecure: true\n",
        asserts,
        &root,
    )
    .run()
    .await;
    failed_on(&r, "tls expires_in", "expired");
}

#[tokio::test]
async fn not_tls_silent_and_refused_endpoints_are_classified() {
    let root = Ca::new();
    // A plain HTTP server answers a ClientHello with 400 Bad Request, as nginx does.
    let (plain, _stop_plain) = listen_in_thread(0, |l: tokio::net::TcpListener| async move {
        while let Ok((mut s, _)) = l.accept().await {
            let _ = s
                .write_all(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
                .await;
        }
    });
    let (r, _) = canary(
        "127.0.0.1",
        plain.port(),
        "",
        "    - tls: { protocol: \"1.3\" }\n",
        &root,
    )
    .run()
    .await;
    errored(&r, ErrorKind::Tls, "did not answer in TLS");

    let (silent, _stop) = listen_in_thread(0, |l: tokio::net::TcpListener| async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = l.accept().await {
            held.push(s);
        }
    });
    let c = Canary::new(
        &format!(
            "name: s\ntimeout: 1s\ntls: {{ host: 127.0.0.1, port: {} }}\n",
            silent.port()
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
            .contains("during the TLS handshake")
    );

    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (r, _) = Canary::new(
        &format!("name: c\ntls: {{ host: 127.0.0.1, port: {closed} }}\n"),
        &[],
    )
    .run()
    .await;
    errored(&r, ErrorKind::Connect, "could not connect");
}

#[test]
fn bad_tls_sections_are_config_errors_at_their_place() {
    let e = super::errors("name: t\ntls: { host: x.test, ca_file: missing.pem }\n");
    assert!(e.contains("c.yaml:2:") && e.contains("missing.pem"), "{e}");
    let e = super::errors(
        "name: t\ntls: { host: x.test, assert: [ { tls: { subject: { field: XX, equals: a } } } ] }\n",
    );
    assert!(
        e.contains("`XX` is not a name field canary reads (known: CN, O, OU, C, ST, L)"),
        "{e}"
    );
    let e = super::errors("name: t\ntls: { host: x.test, ports: 443 }\n");
    assert!(e.contains("unknown field `ports`"), "{e}");
}
