//! What the kinds that open a connection themselves (tcp, tls, websocket, grpc) share: where
//! to connect, and the TLS to speak on top.

use std::sync::Arc;

use crate::tls::ClientTls;

/// TLS on a connection.
#[derive(Debug, Clone)]
pub struct TlsTarget {
    /// The trust settings (and client certificate).
    pub tls: Arc<ClientTls>,
    /// The name sent as SNI and checked on the certificate (default: the host).
    pub server_name: Option<String>,
    /// Send SNI (default true).
    pub sni: bool,
}

/// How bytes are written in a check file: text, or hexadecimal for binary protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// UTF-8 text.
    #[default]
    Text,
    /// Hexadecimal: what is sent is decoded from it, what is received is shown in it.
    Hex,
}
