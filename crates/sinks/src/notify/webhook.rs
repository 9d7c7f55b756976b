//! The generic webhook: one JSON POST per group of changes, signed with HMAC-SHA256 over
//! `<timestamp>.<body>` when the channel has a secret.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::json;
use url::Url;

use super::event::Event;
use super::{BoxFuture, Sender, Undelivered, http_client};

/// A webhook channel.
pub struct Webhook {
    client: reqwest::Client,
    url: Url,
    secret: Option<String>,
    headers: Vec<(String, String)>,
    host: String,
}

impl Webhook {
    /// A webhook to `url`.
    pub fn new(
        url: Url,
        secret: Option<String>,
        headers: Vec<(String, String)>,
        host: String,
    ) -> Result<Webhook, String> {
        Ok(Webhook {
            client: http_client()?,
            url,
            secret,
            headers,
            host,
        })
    }
}

/// The body: `{ version, source, host, notifications: [...] }`.
pub fn body(events: &[Event], host: &str) -> serde_json::Value {
    let notices = super::event::notices(events);
    json!({ "version": 1, "source": "canary", "host": host, "notifications": notices })
}

/// `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`.
pub fn signature(secret: &str, timestamp: u64, body: &[u8]) -> String {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.as_bytes());
    let mut ctx = aws_lc_rs::hmac::Context::with_key(&key);
    ctx.update(timestamp.to_string().as_bytes());
    ctx.update(b".");
    ctx.update(body);
    let tag = ctx.sign();
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

impl Sender for Webhook {
    fn send<'a>(&'a self, events: &'a [Event]) -> BoxFuture<'a, Result<(), Undelivered>> {
        Box::pin(async move {
            let bytes = serde_json::to_vec(&body(events, &self.host)).unwrap_or_default();
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs();
            let mut req = self
                .client
                .post(self.url.clone())
                .header("content-type", "application/json")
                .header("x-canary-timestamp", now.to_string());
            if let Some(secret) = &self.secret {
                req = req.header("x-canary-signature", signature(secret, now, &bytes));
            }
            for (k, v) in &self.headers {
                req = req.header(k, v);
            }
            super::post(req.body(bytes), events).await
        })
    }
}
