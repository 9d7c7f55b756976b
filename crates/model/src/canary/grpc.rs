//! A gRPC step as compiled: the standard health check, `grpc.health.v1.Health/Check`.

use super::net::TlsTarget;

/// A gRPC health check.
#[derive(Debug, Clone)]
pub struct GrpcCheck {
    /// The host to connect to.
    pub host: String,
    /// The port.
    pub port: u16,
    /// The service asked about (empty: the server as a whole).
    pub service: String,
    /// TLS (None: plain HTTP/2).
    pub tls: Option<TlsTarget>,
    /// The status that passes: SERVING (default), NOT_SERVING, UNKNOWN, SERVICE_UNKNOWN.
    pub expect: String,
}

/// The serving statuses of `grpc.health.v1.HealthCheckResponse`, by number.
pub const STATUSES: [&str; 4] = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"];

impl super::CheckKind for GrpcCheck {
    const ASSERTION_KEYS: &'static [&'static str] = &["latency", "tls"];

    fn uses_tls(&self) -> bool {
        self.tls.is_some()
    }
}
