//! `grpc:` — the standard health check of a gRPC server, `grpc.health.v1.Health/Check`.

use schemars::JsonSchema;
use std::collections::BTreeMap;

use serde::Deserialize;

use serde_saphyr::Location;

use super::compiler::{Compiler, Parts};
use super::net::RawTlsSwitch;
use super::raw::{RawAssert, RawCapture, S};
use super::section::RawKind;
use crate::canary::StepKind;
use crate::canary::grpc::GrpcCheck;
use crate::canary::grpc::STATUSES;

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

impl RawKind for RawGrpc {
    fn compile(&self, c: &mut Compiler<'_>, at: &Location) -> Option<StepKind> {
        let g = self;
        let address = c
            .template(&g.address)
            .map(|t| t.as_static().unwrap_or_default());
        let host_port =
            address.and_then(|a| c.check(&g.address.referenced, super::net::host_port(&a)));
        let service = match &g.service {
            Some(s) => c.template(s).map(|t| t.as_static().unwrap_or_default()),
            None => Some(String::new()),
        };
        let tls = c.tls_switch(&g.tls, at);
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
                c.check(&e.referenced, r)
            }
        };
        let (host, port) = host_port?;
        Some(StepKind::Grpc(Box::new(GrpcCheck {
            host,
            port,
            service: service?,
            tls: tls?,
            expect: expect?,
        })))
    }

    fn inside(&self) -> Parts<'_> {
        Parts::inside(&self.assert, &self.capture, &self.degraded)
    }
}
