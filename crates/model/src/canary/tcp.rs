//! A TCP step as compiled: connect (optionally TLS), optionally send, optionally expect.

use std::time::Duration;

use regex::Regex;

use super::net::{Encoding, TlsTarget};
use crate::template::Template;

/// A TCP check.
#[derive(Debug, Clone)]
pub struct TcpCheck {
    /// The host to connect to.
    pub host: Template,
    /// The port.
    pub port: u16,
    /// TLS on top of the connection.
    pub tls: Option<TlsTarget>,
    /// What to send once connected.
    pub send: Option<Template>,
    /// A regex what comes back must match (read until it does, the peer closes, or time runs out).
    pub expect: Option<Regex>,
    /// How `send` is written and what is received is shown.
    pub encoding: Encoding,
    /// How long to wait for the expected answer after sending (within the step's time).
    pub read_timeout: Option<Duration>,
    /// The most bytes read.
    pub max_bytes: usize,
}

impl super::CheckKind for TcpCheck {
    const ASSERTION_KEYS: &'static [&'static str] = &["latency", "body", "json", "tls"];

    fn uses_tls(&self) -> bool {
        self.tls.is_some()
    }
}
