//! A WebSocket step as compiled: connect (ws/wss), send messages, expect messages in order.

use super::assertion::Assertion;
use super::net::TlsTarget;
use crate::template::Template;

/// A WebSocket check.
#[derive(Debug, Clone)]
pub struct WebSocketCheck {
    /// The `ws://` or `wss://` URL.
    pub url: Template,
    /// Headers of the upgrade request.
    pub headers: Vec<(String, Template)>,
    /// Messages to send once connected, in order.
    pub send: Vec<Template>,
    /// One assertion per message awaited, in order (each on that message as the body).
    pub expect: Vec<Assertion>,
    /// TLS for `wss://`.
    pub tls: TlsTarget,
}

impl super::CheckKind for WebSocketCheck {
    const ASSERTION_KEYS: &'static [&'static str] = &["latency", "body", "json", "tls"];

    fn uses_tls(&self) -> bool {
        // A URL known only at run time may be either.
        self.url.as_static().is_none_or(|u| u.starts_with("wss:"))
    }
}
