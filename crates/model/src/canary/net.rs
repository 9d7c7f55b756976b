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

/// What `send` is on the wire: the text, or the bytes its hex stands for.
pub fn encode(text: &str, e: Encoding) -> Result<Vec<u8>, String> {
    match e {
        Encoding::Text => Ok(text.as_bytes().to_vec()),
        Encoding::Hex => {
            let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            if !digits.len().is_multiple_of(2) {
                return Err(format!("`{text}` is not hex: an odd number of digits"));
            }
            (0..digits.len())
                .step_by(2)
                .map(|i| {
                    u8::from_str_radix(&digits[i..i + 2], 16)
                        .map_err(|_| format!("`{text}` is not hex"))
                })
                .collect()
        }
    }
}

/// Received bytes as assertions see them: text (lossy), or lower-case hex.
pub fn show(bytes: &[u8], e: Encoding) -> String {
    match e {
        Encoding::Text => String::from_utf8_lossy(bytes).into_owned(),
        Encoding::Hex => bytes.iter().map(|b| format!("{b:02x}")).collect(),
    }
}
