//! A TLS step as compiled: a certificate-only check of host:port, no HTTP.

use super::net::TlsTarget;
use crate::template::Template;

/// A TLS check.
#[derive(Debug, Clone)]
pub struct TlsCheck {
    /// The host to connect to.
    pub host: Template,
    /// The port.
    pub port: u16,
    /// Trust, SNI and the name checked.
    pub target: TlsTarget,
}

impl super::CheckKind for TlsCheck {
    const ASSERTION_KEYS: &'static [&'static str] = &["latency", "tls"];

    fn uses_tls(&self) -> bool {
        true
    }
}
