//! `tls:` — a certificate-only check of host:port: the handshake and the certificate chain.

use schemars::JsonSchema;
use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use serde_saphyr::Location;

use super::compiler::{Compiler, Parts};
use super::raw::{RawAssert, RawCapture, RawTls, S};
use super::section::RawKind;
use crate::canary::StepKind;
use crate::canary::tls::TlsCheck;

/// A certificate-only TLS check.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTlsCheck {
    /// The host name or IP address to connect to (and the name checked, unless `server_name`).
    pub host: S<String>,
    /// The port. Default 443.
    pub port: Option<S<Value>>,
    /// The name sent as SNI and checked on the certificate, when it differs from `host`.
    pub server_name: Option<S<String>>,
    /// Send SNI. Default true.
    pub sni: Option<bool>,
    /// Accept any certificate (the chain is still recorded and can be asserted on). Default false.
    #[serde(default)]
    pub insecure: bool,
    /// A PEM file of CA certificates trusted in addition to the built-in roots.
    pub ca_file: Option<S<String>>,
    /// A client certificate (PEM) for mutual TLS.
    pub cert_file: Option<S<String>>,
    /// The key of `cert_file`.
    pub key_file: Option<S<String>>,
    /// The password of an encrypted `key_file`; use `${secret:NAME}`.
    pub key_password: Option<S<String>>,
    /// Check that the certificate is valid for the name (the chain is checked regardless).
    /// Default true.
    pub verify_hostname: Option<bool>,
    /// Assertions: `tls` (expiry, subject, issuer, names, protocol, cipher) and `latency`.
    #[serde(default)]
    pub assert: Vec<S<RawAssert>>,
    /// Values to keep for later steps.
    #[serde(default)]
    pub capture: BTreeMap<String, S<RawCapture>>,
    /// Assertions that describe the healthy state more strictly, e.g. `tls: { expires_in: { gt: 30d } }`.
    #[serde(default)]
    pub degraded: Vec<S<RawAssert>>,
}

impl RawTlsCheck {
    /// The trust settings, as an HTTPS request writes them.
    fn trust(&self) -> RawTls {
        RawTls {
            insecure: self.insecure,
            ca_file: self.ca_file.clone(),
            cert_file: self.cert_file.clone(),
            key_file: self.key_file.clone(),
            key_password: self.key_password.clone(),
            server_name: self.server_name.clone(),
            sni: self.sni,
            verify_hostname: self.verify_hostname,
        }
    }
}

impl RawKind for RawTlsCheck {
    fn compile(&self, c: &mut Compiler<'_>, at: &Location) -> Option<StepKind> {
        let host = c.host(&self.host);
        let port = match &self.port {
            Some(p) => c.port(p),
            None => Some(443),
        };
        let trust = S {
            value: self.trust(),
            referenced: *at,
            defined: *at,
        };
        let target = c.tls_target(&Some(trust), at);
        Some(StepKind::Tls(Box::new(TlsCheck {
            host: host?,
            port: port?,
            target: target?,
        })))
    }

    fn inside(&self) -> Parts<'_> {
        Parts::inside(&self.assert, &self.capture, &self.degraded)
    }
}
