//! The TLS check: a certificate-only handshake with host:port (no HTTP) — chain, expiry,
//! issuer, names, protocol and cipher, for certificate inventories of hundreds of hosts.

use std::time::Instant;

use super::Scope;
use super::net::{self, Broken};
use crate::canary::Step;
use crate::canary::tls::TlsCheck;
use crate::observed::Observed;
use crate::run::{AssertionResult, StepRun};

/// Runs a TLS step.
pub async fn run(step: &Step, check: &TlsCheck, scope: &mut Scope) -> StepRun {
    let started = Instant::now();
    let deadline = super::deadline(step, scope, started);
    let host = check.host.render(&scope.captures);
    let target = format!("tls://{host}:{}", check.port);
    let result = probe(check, &host, deadline, started).await;
    super::conclude(step, scope, started, target, result)
}

async fn probe(
    check: &TlsCheck,
    host: &str,
    deadline: Instant,
    start: Instant,
) -> Result<(Observed, Vec<AssertionResult>), Broken> {
    let (stream, mut phases) = net::connect(host, check.port, deadline, start).await?;
    let (s, tls) = net::tls(
        stream,
        &check.target,
        host,
        &[],
        deadline,
        start,
        &mut phases,
    )
    .await?;
    drop(s);
    net::finish(&mut phases, start);
    let seen = Observed {
        tls: Some(tls),
        phases,
        ..Observed::default()
    };
    Ok((seen, Vec::new()))
}
