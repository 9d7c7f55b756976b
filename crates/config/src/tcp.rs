//! `tcp:` — connect to host:port, optionally TLS, optionally send text and expect a reply.

use schemars::JsonSchema;
use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use serde_saphyr::Location;

use super::compiler::{Compiler, Parts};
use super::net::RawTlsSwitch;
use super::raw::{RawAssert, RawCapture, S};
use super::section::RawKind;
use super::values;
use crate::canary::StepKind;
use crate::canary::net::Encoding;
use crate::canary::tcp::TcpCheck;

/// The most bytes a TCP check reads by default.
pub const DEFAULT_MAX_BYTES: usize = 64 << 10;

/// A TCP check.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTcp {
    /// The host name or IP address to connect to.
    pub host: S<String>,
    /// The port, 1–65535.
    pub port: S<Value>,
    /// TLS on top of the connection: `true`, or settings like `{ ca_file, insecure, server_name }`.
    pub tls: Option<S<RawTlsSwitch>>,
    /// What to send once connected, e.g. `"PING\r\n"` (in hex with `encoding: hex`).
    pub send: Option<S<String>>,
    /// A regex what comes back must match, e.g. `"^\\+PONG"`; canary reads until it matches,
    /// the peer closes or time runs out.
    pub expect: Option<S<String>>,
    /// `text` (default) or `hex`: how `send` is written and what is received is shown.
    pub encoding: Option<S<String>>,
    /// How long to wait for a reply after connecting and sending. Default: the step's time.
    pub read_timeout: Option<S<String>>,
    /// The most bytes read, e.g. `64KiB` (the default).
    pub max_bytes: Option<S<Value>>,
    /// Assertions: `latency`, `body` (what came back), `json` (the same, as JSON), `tls`.
    #[serde(default)]
    pub assert: Vec<S<RawAssert>>,
    /// Values to keep for later steps (`regex:` over what came back).
    #[serde(default)]
    pub capture: BTreeMap<String, S<RawCapture>>,
    /// Assertions that describe the healthy state more strictly; see the canary's `degraded:`.
    #[serde(default)]
    pub degraded: Vec<S<RawAssert>>,
}

impl RawKind for RawTcp {
    fn compile(&self, c: &mut Compiler<'_>, at: &Location) -> Option<StepKind> {
        let t = self;
        let host = c.host(&t.host);
        let port = c.port(&t.port);
        let tls = c.tls_switch(&t.tls, at);
        let encoding = match &t.encoding {
            Some(e) => c.encoding(e),
            None => Some(Encoding::Text),
        };
        let send = t.send.as_ref().map(|s| c.template(s));
        let hex_send = match (&send, encoding) {
            (Some(Some(s)), Some(Encoding::Hex)) => s.as_static(),
            _ => None,
        };
        if let (Some(text), Some(at)) = (hex_send, &t.send) {
            let r = crate::canary::net::encode(&text, Encoding::Hex).map(|_| ());
            c.check(&at.referenced, r);
        }
        let expect = t.expect.as_ref().map(|e| c.regex(e));
        let read_timeout = c.duration(&t.read_timeout);
        let max_bytes = match &t.max_bytes {
            None => Some(DEFAULT_MAX_BYTES),
            Some(m) => c
                .check(&m.referenced, values::size(&m.value))
                .map(|n| n as usize),
        };
        Some(StepKind::Tcp(Box::new(TcpCheck {
            host: host?,
            port: port?,
            tls: tls?,
            send: send.flatten(),
            expect: expect.flatten(),
            encoding: encoding?,
            read_timeout: read_timeout?,
            max_bytes: max_bytes?,
        })))
    }

    fn inside(&self) -> Parts<'_> {
        Parts::inside(&self.assert, &self.capture, &self.degraded)
    }
}

impl Compiler<'_> {
    fn encoding(&mut self, e: &S<String>) -> Option<Encoding> {
        let r = match e.value.trim() {
            "text" => Ok(Encoding::Text),
            "hex" => Ok(Encoding::Hex),
            other => Err(format!("`{other}` is not an encoding: write text or hex")),
        };
        self.check(&e.referenced, r)
    }
}
