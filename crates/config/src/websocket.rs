//! `websocket:` — connect (ws/wss), send messages, expect one message per expectation, in order.

use schemars::JsonSchema;
use std::collections::BTreeMap;

use serde::Deserialize;

use serde_saphyr::Location;

use super::compiler::{Compiler, Parts};
use super::raw::{RawAssert, RawCapture, RawTls, S};
use super::section::RawKind;
use crate::canary::StepKind;
use crate::canary::assertion::Assertion;
use crate::canary::websocket::WebSocketCheck;

/// A WebSocket check.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawWebSocket {
    /// A `ws://` or `wss://` URL.
    pub url: S<String>,
    /// Headers of the upgrade request (e.g. `Authorization`, `Origin`).
    #[serde(default)]
    pub headers: BTreeMap<S<String>, S<String>>,
    /// Text messages to send once connected, in order: a list, or one string.
    pub send: Option<S<OneOrMany>>,
    /// One assertion per message awaited, in order: `{ json: { path: $.op, equals: pong } }`
    /// or `{ body: { contains: pong } }` (the message is the body).
    #[serde(default)]
    pub expect: Vec<S<RawAssert>>,
    /// TLS settings for `wss://` (`ca_file`, `insecure`, `server_name`…).
    pub tls: Option<S<RawTls>>,
    /// Assertions on the exchange: `latency`, `tls`, and `body`/`json` on the last message.
    #[serde(default)]
    pub assert: Vec<S<RawAssert>>,
    /// Values to keep for later steps, from the last message received (`json:`, `regex:`).
    #[serde(default)]
    pub capture: BTreeMap<String, S<RawCapture>>,
    /// Assertions that describe the healthy state more strictly; see the canary's `degraded:`.
    #[serde(default)]
    pub degraded: Vec<S<RawAssert>>,
}

/// One string, or a list of them.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum OneOrMany {
    /// A single message.
    One(S<String>),
    /// Several, in order.
    Many(Vec<S<String>>),
}

impl RawKind for RawWebSocket {
    fn compile(&self, c: &mut Compiler<'_>, _at: &Location) -> Option<StepKind> {
        let w = self;
        let url = c.template(&w.url);
        if let Some(u) = url.as_ref().and_then(|t| t.as_static()) {
            c.check(&w.url.referenced, ws_url(&u));
        }
        let mut headers = Vec::new();
        for (k, v) in &w.headers {
            let valid = http::HeaderName::from_bytes(k.value.as_bytes()).is_ok();
            if !valid {
                let name = &k.value;
                c.fail(
                    &k.referenced,
                    format!("`{name}` is not a valid header name"),
                );
            }
            headers.extend(c.template(v).map(|t| (k.value.clone(), t)));
        }
        let send: Vec<_> = match w.send.as_ref().map(|s| &s.value) {
            None => Vec::new(),
            Some(OneOrMany::One(s)) => c.template(s).into_iter().collect(),
            Some(OneOrMany::Many(list)) => list.iter().filter_map(|s| c.template(s)).collect(),
        };
        let expect = c.expectations(&w.expect);
        let tls = c.tls_target(&w.tls, &w.url.referenced);
        Some(StepKind::WebSocket(Box::new(WebSocketCheck {
            url: url?,
            headers,
            send,
            expect,
            tls: tls?,
        })))
    }

    fn inside(&self) -> Parts<'_> {
        Parts::inside(&self.assert, &self.capture, &self.degraded)
    }
}

impl Compiler<'_> {
    /// `expect:` — one assertion on the message body per entry (`body` or `json`).
    fn expectations(&mut self, raw: &[S<RawAssert>]) -> Vec<Assertion> {
        let mut out = Vec::new();
        for e in raw {
            if !matches!(e.value, RawAssert::Body(_) | RawAssert::Json(_)) {
                self.fail(
                    &e.referenced,
                    "an `expect:` entry is `body: { … }` or `json: { … }`, tested on one message",
                );
                continue;
            }
            out.extend(self.assertion(e));
        }
        out
    }
}

/// A WebSocket URL: `ws://` or `wss://` with a host.
fn ws_url(text: &str) -> Result<(), String> {
    let u = url::Url::parse(text.trim())
        .map_err(|e| format!("`{text}` is not a URL ({e}): write ws://host:port/path"))?;
    match u.scheme() {
        "ws" | "wss" if u.host().is_some() => Ok(()),
        "http" | "https" => Err(format!(
            "`{text}`: a WebSocket URL is ws:// or wss://, not {}://",
            u.scheme()
        )),
        other => Err(format!(
            "`{text}`: a WebSocket URL is ws:// or wss://, not {other}://"
        )),
    }
}
