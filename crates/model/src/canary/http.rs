//! An HTTP step as compiled: the request to send and how to send it.

use std::sync::Arc;

use http::{HeaderName, Method};
use url::Url;

use crate::template::{Captures, JsonTemplate, Template};
use crate::tls::ClientTls;

/// A compiled request.
#[derive(Debug, Clone)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The URL: parsed at load time unless it uses a capture.
    pub url: RequestUrl,
    /// Headers, in order.
    pub headers: Vec<(HeaderName, Template)>,
    /// Query parameters appended to the URL.
    pub query: Vec<(String, Template)>,
    /// The body.
    pub body: Body,
    /// Authentication.
    pub auth: Option<Auth>,
    /// Follow redirects.
    pub follow_redirects: bool,
    /// At most this many redirects.
    pub max_redirects: u32,
    /// At most this many body bytes (after decompression) are read; more is an error.
    pub max_body: u64,
    /// TLS settings: trusted roots (or none checked), a client certificate.
    pub tls: Arc<ClientTls>,
    /// The HTTP version to speak.
    pub version: HttpVersion,
    /// A forward proxy for this request (None: connect directly); boxed, as most have none.
    pub proxy: Option<Box<Url>>,
}

impl Request {
    /// How long to wait before sending, so that no one-time code (`${totp:…}`) in the request
    /// expires within [`crate::totp::FRESH`] of it.
    pub fn totp_wait(&self) -> std::time::Duration {
        let url = match &self.url {
            RequestUrl::Captured(t) => Some(t),
            RequestUrl::Fixed { .. } => None,
        };
        let (user, secret) = match &self.auth {
            Some(Auth::Basic { username, password }) => (Some(username), Some(password)),
            Some(Auth::Bearer(t)) => (None, Some(t)),
            None => (None, None),
        };
        let templates = (self.headers.iter().map(|(_, t)| t))
            .chain(self.query.iter().map(|(_, t)| t))
            .chain(url)
            .chain(user)
            .chain(secret);
        let body = match &self.body {
            Body::Empty => std::time::Duration::ZERO,
            Body::Text(t) => t.totp_wait(),
            Body::Json(j) => j.totp_wait(),
            Body::Form(pairs) => {
                (pairs.iter().map(|(_, t)| t.totp_wait()).max()).unwrap_or_default()
            }
        };
        templates
            .map(Template::totp_wait)
            .max()
            .unwrap_or_default()
            .max(body)
    }
}

/// A request's URL.
#[derive(Debug, Clone)]
pub enum RequestUrl {
    /// Known at load time: the text as written (what reports show) and the URL it parses to
    /// (each run sends a copy).
    Fixed {
        /// The URL as written, variables filled in.
        text: String,
        /// The same, parsed.
        parsed: Url,
    },
    /// Uses a capture: rendered and parsed on each run.
    Captured(Template),
}

impl RequestUrl {
    /// The URL: parsed now unless `url` uses a capture.
    pub fn new(url: Template) -> Result<RequestUrl, String> {
        match url.as_static() {
            Some(text) => Ok(RequestUrl::Fixed {
                parsed: parse_url(&text)?,
                text,
            }),
            None => Ok(RequestUrl::Captured(url)),
        }
    }

    /// The text, when the URL uses no capture.
    pub fn as_static(&self) -> Option<&str> {
        match self {
            RequestUrl::Fixed { text, .. } => Some(text),
            RequestUrl::Captured(_) => None,
        }
    }

    /// The URL's text with the captures so far.
    pub fn render(&self, captures: &Captures) -> String {
        match self {
            RequestUrl::Fixed { text, .. } => text.clone(),
            RequestUrl::Captured(t) => t.render(captures),
        }
    }

    /// The URL to send, given its text `rendered` by [`RequestUrl::render`].
    pub fn to_send(&self, rendered: &str) -> Result<Url, String> {
        match self {
            RequestUrl::Fixed { parsed, .. } => Ok(parsed.clone()),
            RequestUrl::Captured(_) => parse_url(rendered),
        }
    }
}

/// The HTTP version a request speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HttpVersion {
    /// HTTP/1.1 (ALPN `http/1.1` over TLS).
    #[default]
    Http1,
    /// HTTP/2: ALPN `h2` over TLS, prior knowledge over cleartext.
    Http2,
}

/// A request body.
#[derive(Debug, Clone)]
pub enum Body {
    /// No body.
    Empty,
    /// Text, sent as is.
    Text(Template),
    /// JSON, sent with `Content-Type: application/json`.
    Json(JsonTemplate),
    /// A URL-encoded form.
    Form(Vec<(String, Template)>),
}

/// Request authentication.
#[derive(Debug, Clone)]
pub enum Auth {
    /// HTTP Basic.
    Basic {
        /// User name.
        username: Template,
        /// Password.
        password: Template,
    },
    /// `Authorization: Bearer …`.
    Bearer(Template),
}

/// Parses an absolute http(s) URL.
pub fn parse_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("`{text}` is not a valid URL: {e}"))?;
    match url.scheme() {
        "http" | "https" if url.host().is_some() => Ok(url),
        "http" | "https" => Err(format!("`{text}` has no host")),
        other => Err(format!(
            "`{text}`: the scheme must be http or https, not {other}"
        )),
    }
}

impl super::CheckKind for Request {
    const ASSERTION_KEYS: &'static [&'static str] = &[
        "status", "latency", "header", "body", "json", "tls", "cookie",
    ];

    fn uses_tls(&self) -> bool {
        // A URL known only at run time may be either.
        self.url.as_static().is_none_or(|u| u.starts_with("https:"))
    }
}
