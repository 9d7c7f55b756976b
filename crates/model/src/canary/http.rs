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
            Some(Auth::OAuth2(_)) | None => (None, None),
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
    /// A bearer token from OAuth2 client credentials, fetched and kept by the runner.
    OAuth2(std::sync::Arc<OAuth2>),
}

/// OAuth2 client credentials (RFC 6749 §4.4): where to ask for a token, and as whom. The
/// secret never shows in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct OAuth2 {
    /// The token endpoint (HTTPS, or plain HTTP on loopback).
    pub token_url: Url,
    /// The client's id.
    pub client_id: String,
    /// The client's secret.
    pub client_secret: String,
    /// The scopes asked for (`scope`, space-separated).
    pub scopes: Vec<String>,
    /// Other parameters of the token request, e.g. `audience`.
    pub params: Vec<(String, String)>,
    /// How the client authenticates: HTTP Basic (the RFC's default) or in the body.
    pub client_auth: ClientAuth,
}

impl std::fmt::Debug for OAuth2 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "OAuth2({} as {}, scopes {:?})",
            self.token_url, self.client_id, self.scopes
        )
    }
}

/// How an OAuth2 client proves who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// `Authorization: Basic` with the id and secret (RFC 6749's default).
    Basic,
    /// `client_id` and `client_secret` in the form body.
    Body,
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
