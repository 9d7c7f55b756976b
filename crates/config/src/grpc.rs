//! `grpc:` — the standard health check of a gRPC server, `grpc.health.v1.Health/Check`.

use schemars::JsonSchema;
use std::collections::BTreeMap;

use serde::Deserialize;

use super::compiler::{Compiler, Parts};
use super::net::RawTlsSwitch;
use super::raw::{RawAssert, RawCapture, S};
use crate::canary::grpc::GrpcCheck;
use crate::canary::grpc::STATUSES;
use crate::canary::{Step, StepKind};

/// A gRPC health check.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGrpc {
    /// `host:port` of the server.
    pub address: S<String>,
    /// The service asked about, e.g. `orders.v1.Orders`. Default: the server as a whole.
    pub service: Option<S<String>>,
    /// TLS: `true`, `false` (default: plain HTTP/2) or settings like `{ ca_file, server_name }`.
    pub tls: Option<S<RawTlsSwitch>>,
    /// The status that passes: SERVING (default), NOT_SERVING, UNKNOWN or SERVICE_UNKNOWN.
    pub expect: Option<S<String>>,
    /// Assertions: `latency`, `tls`.
    #[serde(default)]
    pub assert: Vec<S<RawAssert>>,
    /// Values to keep for later steps.
    #[serde(default)]
    pub capture: BTreeMap<String, S<RawCapture>>,
    /// Assertions that describe the healthy state more strictly; see the canary's `degraded:`.
    #[serde(default)]
    pub degraded: Vec<S<RawAssert>>,
}

impl Compiler<'_> {
    /// A gRPC step named `name`, with `parts` written beside its `grpc:` section.
    pub(super) fn grpc_step(
        &mut self,
        name: String,
        raw: &S<RawGrpc>,
        parts: &Parts,
    ) -> Option<Step> {
        let g = &raw.value;
        let errors_before = self.errors.len();
        let address = self
            .template(&g.address)
            .map(|t| t.as_static().unwrap_or_default());
        let host_port =
            address.and_then(|a| self.check(&g.address.referenced, super::net::host_port(&a)));
        let service = match &g.service {
            Some(s) => self.template(s).map(|t| t.as_static().unwrap_or_default()),
            None => Some(String::new()),
        };
        let tls = self.tls_switch(&g.tls, &raw.referenced);
        let expect = match &g.expect {
            None => Some("SERVING".to_string()),
            Some(e) => {
                let want = e.value.trim().to_ascii_uppercase();
                let r = match STATUSES.contains(&want.as_str()) {
                    true => Ok(want),
                    false => Err(format!(
                        "`{}` is not a health status (known: {})",
                        e.value,
                        STATUSES.join(", ")
                    )),
                };
                self.check(&e.referenced, r)
            }
        };
        let check = (self.errors.len() == errors_before).then(|| {
            let (host, port) = host_port?;
            Some(GrpcCheck {
                host,
                port,
                service: service?,
                tls: tls?,
                expect: expect?,
            })
        });
        let inner = Parts::inside(&g.assert, &g.capture, &g.degraded);
        let kind = check.flatten().map(|c| StepKind::Grpc(Box::new(c)));
        self.step(name, kind, &inner, parts)
    }
}
