//! A local service for the example canaries: HTTP on 127.0.0.1:8080, HTTPS on 127.0.0.1:8443
//! (with a CA it makes and writes to `target/demo-ca.pem`), Redis-like TCP on 6380, DNS on 8053,
//! WebSocket on 8081 and gRPC health on 50051. Runs until interrupted.
//!
//!     cargo run --example demo_target [HTTP_PORT HTTPS_PORT]
#![allow(dead_code)]

#[path = "../tests/support/certs.rs"]
mod certs;
#[path = "../tests/support/demo.rs"]
mod demo;
#[path = "../tests/support/demo_kinds.rs"]
mod demo_kinds;
#[path = "../tests/support/dns.rs"]
mod dns;
#[path = "../tests/support/server.rs"]
mod server;

use certs::Ca;
use server::Server;

fn main() {
    let args: Vec<u16> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let (http_port, https_port) = (
        args.first().copied().unwrap_or(8080),
        args.get(1).copied().unwrap_or(8443),
    );
    let ca = Ca::new();
    let ca_file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/demo-ca.pem");
    std::fs::write(&ca_file, ca.pem()).expect("write the demo CA");
    let http = Server::http_on(http_port, demo::handle);
    let https = Server::https_on(https_port, ca.leaf(-1, 90), demo::handle);
    let kinds = demo_kinds::DemoKinds::start([6380, 8053, 8081, 50051]);
    println!(
        "demo target: {} and {} (CA: {}); {}",
        http.url("/"),
        https.url("/"),
        ca_file.display(),
        kinds.vars().join(" ")
    );
    loop {
        std::thread::park();
    }
}
