//! Compiling `http:` into a request: method, URL, headers, body, auth, TLS (roots, client
//! certificate), HTTP version and proxy.

use http::Method;
use http::header::{HeaderName, HeaderValue};
use serde_json::Value;
use serde_saphyr::Location;

use super::compiler::{Compiler, DEFAULT_MAX_BODY, DEFAULT_MAX_REDIRECTS, Parts};
use super::section::RawKind;
use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use super::raw::{RawAssert, RawCapture, RawTls, S};
use super::values;
use crate::canary::StepKind;
use std::sync::Arc;

use crate::canary::http::{Auth, Body, ClientAuth, HttpVersion, OAuth2, Request, RequestUrl};
use crate::template::{JsonTemplate, Template};

/// An HTTP request.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawHttp {
    /// Absolute `http://` or `https://` URL.
    pub url: S<String>,
    /// GET (default), HEAD, POST, PUT, PATCH, DELETE, OPTIONS, or any other token.
    #[schemars(extend("default" = "GET", "examples" = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]))]
    pub method: Option<S<String>>,
    /// Request headers.
    #[serde(default)]
    pub headers: BTreeMap<S<String>, S<String>>,
    /// Query parameters, appended to the URL (URL-encoded).
    #[serde(default)]
    pub query: BTreeMap<String, S<String>>,
    /// A text body, sent as is (set `Content-Type` yourself).
    pub body: Option<S<String>>,
    /// A JSON body; sets `Content-Type: application/json`. Strings may use `${…}`.
    pub json: Option<S<Value>>,
    /// A form body (`application/x-www-form-urlencoded`).
    pub form: Option<S<BTreeMap<String, S<String>>>>,
    /// Authentication: `{ basic: { username, password } }` or `{ bearer: TOKEN }`.
    pub auth: Option<S<RawAuth>>,
    /// Follow redirects. Default true.
    #[schemars(extend("default" = true))]
    pub follow_redirects: Option<bool>,
    /// At most this many redirects are followed; more is an error. Default 10.
    #[schemars(extend("default" = 10))]
    pub max_redirects: Option<u32>,
    /// TLS settings.
    pub tls: Option<S<RawTls>>,
    /// The most body bytes read (after decompression), e.g. `5MiB`; more is an error. Default `5MiB`.
    #[schemars(extend("default" = "5MiB", "examples" = ["512KiB", "10MB"]))]
    pub max_body: Option<S<Value>>,
    /// Assertions on the response.
    #[serde(default)]
    pub assert: Vec<S<RawAssert>>,
    /// Values to keep for later steps, by name.
    #[serde(default)]
    pub capture: BTreeMap<String, S<RawCapture>>,
    /// Assertions that describe the healthy state more strictly; see the canary's `degraded:`.
    #[serde(default)]
    pub degraded: Vec<S<RawAssert>>,
    /// The HTTP version: `"1.1"` (default) or `"2"` (ALPN `h2` over TLS, prior knowledge over
    /// plain HTTP). The report says which version answered.
    #[schemars(extend("default" = "1.1", "examples" = ["1.1", "2"]))]
    pub http_version: Option<S<Value>>,
    /// The cookies this request receives are secrets: redacted from every output. Default false.
    #[serde(default)]
    pub secret: bool,
}

/// Request authentication.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAuth {
    /// HTTP Basic authentication.
    pub basic: Option<RawBasic>,
    /// A bearer token: `Authorization: Bearer <token>`.
    pub bearer: Option<S<String>>,
    /// OAuth2 client credentials (RFC 6749): a bearer token from the token endpoint, fetched
    /// once and kept across runs and canaries until shortly before it expires.
    pub oauth2: Option<S<RawOAuth2>>,
}

/// OAuth2 client credentials.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawOAuth2 {
    /// The token endpoint: HTTPS (plain HTTP only on loopback).
    pub token_url: S<String>,
    /// The client's id, e.g. `${env:CLIENT_ID}`.
    pub client_id: S<String>,
    /// The client's secret: `${secret:CLIENT_SECRET}`.
    pub client_secret: S<String>,
    /// The scopes asked for.
    #[serde(default)]
    pub scopes: Vec<S<String>>,
    /// The `audience` parameter some providers (Auth0, Okta) ask for.
    pub audience: Option<S<String>>,
    /// How the client authenticates: `basic` (HTTP Basic, the RFC's default) or `body`.
    #[schemars(extend("default" = "basic", "enum" = ["basic", "body"]))]
    pub client_auth: Option<S<String>>,
}

/// HTTP Basic credentials.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBasic {
    /// User name.
    pub username: S<String>,
    /// Password; use `${secret:NAME}`.
    pub password: S<String>,
}

impl RawKind for RawHttp {
    fn compile(&self, c: &mut Compiler<'_>, at: &Location) -> Option<StepKind> {
        request(c, self, at).map(|r| StepKind::Http(Box::new(r)))
    }

    fn inside(&self) -> Parts<'_> {
        Parts {
            secret: self.secret,
            ..Parts::inside(&self.assert, &self.capture, &self.degraded)
        }
    }
}

impl Compiler<'_> {
    /// A proxy URL (`http://` or `https://`), or `none`/empty for no proxy.
    pub(super) fn proxy_url(&mut self, p: &S<String>) -> Option<url::Url> {
        let text = self.template(p)?.as_static().unwrap_or_default();
        let text = text.trim();
        if text.is_empty() || text == "none" {
            return None;
        }
        self.check(&p.referenced, proxy(text))
    }
}

/// Parses a proxy URL.
pub fn proxy(text: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(text)
        .map_err(|e| format!("`{text}` is not a proxy URL ({e}): write http://host:port"))?;
    match url.scheme() {
        "http" | "https" if url.host().is_some() => Ok(url),
        other => Err(format!(
            "`{text}`: a proxy is http:// or https://, not {other}://"
        )),
    }
}

fn request(c: &mut Compiler<'_>, h: &RawHttp, at: &Location) -> Option<Request> {
    let method = match &h.method {
        None => Some(Method::GET),
        Some(m) => {
            let r = Method::from_bytes(m.value.trim().to_ascii_uppercase().as_bytes())
                .map_err(|_| format!("`{}` is not an HTTP method", m.value));
            c.check(&m.referenced, r)
        }
    };
    let url = c
        .template(&h.url)
        .and_then(|u| c.check(&h.url.referenced, RequestUrl::new(u)));
    let headers = headers(c, h);
    let query: Vec<(String, Template)> = h
        .query
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), c.template(v)?)))
        .collect();
    let body = body(c, h, at);
    let auth = h.auth.as_ref().and_then(|a| auth(c, a));
    let tls = c.client_tls(&h.tls, &h.url.referenced);
    let version = version(c, h);
    let max_body = match &h.max_body {
        None => Some(DEFAULT_MAX_BODY),
        Some(m) => c.check(&m.referenced, values::size(&m.value)),
    };
    Some(Request {
        method: method?,
        url: url?,
        headers,
        query,
        body: body?,
        auth,
        follow_redirects: h.follow_redirects.unwrap_or(true),
        max_redirects: h.max_redirects.unwrap_or(DEFAULT_MAX_REDIRECTS),
        max_body: max_body?,
        tls: tls?,
        version: version?,
        proxy: c.proxy.clone().map(Box::new),
    })
}

fn headers(c: &mut Compiler<'_>, h: &RawHttp) -> Vec<(HeaderName, Template)> {
    let mut out = Vec::new();
    for (name, value) in &h.headers {
        let (at, name) = (&name.referenced, &name.value);
        let Some(hn) = c.check(
            at,
            HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("`{name}` is not a valid header name")),
        ) else {
            continue;
        };
        let Some(t) = c.template(value) else { continue };
        if let Some(s) = t.as_static() {
            let r = HeaderValue::from_str(&s).map(|_| ()).map_err(|_| {
                format!("header `{name}`: the value has characters a header cannot hold")
            });
            c.check(&value.referenced, r);
        }
        out.push((hn, t));
    }
    out
}

fn body(c: &mut Compiler<'_>, h: &RawHttp, at: &Location) -> Option<Body> {
    let given = [h.body.is_some(), h.json.is_some(), h.form.is_some()];
    if given.iter().filter(|g| **g).count() > 1 {
        c.fail(at, "give at most one of `body:`, `json:` and `form:`");
        return None;
    }
    if let Some(b) = &h.body {
        return c.template(b).map(Body::Text);
    }
    if let Some(j) = &h.json {
        return json_template(c, &j.value, &j.referenced).map(Body::Json);
    }
    if let Some(f) = &h.form {
        let pairs: Option<Vec<_>> = f
            .value
            .iter()
            .map(|(k, v)| Some((k.clone(), c.template(v)?)))
            .collect();
        return pairs.map(Body::Form);
    }
    Some(Body::Empty)
}

fn json_template(c: &mut Compiler<'_>, v: &Value, loc: &Location) -> Option<JsonTemplate> {
    Some(match v {
        Value::String(s) => {
            let r = c.vars.expand(s);
            JsonTemplate::String(c.check(loc, r)?)
        }
        Value::Array(items) => JsonTemplate::Array(
            items
                .iter()
                .map(|i| json_template(c, i, loc))
                .collect::<Option<_>>()?,
        ),
        Value::Object(map) => JsonTemplate::Object(
            map.iter()
                .map(|(k, v)| Some((k.clone(), json_template(c, v, loc)?)))
                .collect::<Option<_>>()?,
        ),
        plain => JsonTemplate::Plain(plain.clone()),
    })
}

fn auth(c: &mut Compiler<'_>, a: &S<RawAuth>) -> Option<Auth> {
    match (&a.value.basic, &a.value.bearer, &a.value.oauth2) {
        (Some(b), None, None) => Some(Auth::Basic {
            username: c.template(&b.username)?,
            password: c.template(&b.password)?,
        }),
        (None, Some(t), None) => Some(Auth::Bearer(c.template(t)?)),
        (None, None, Some(o)) => oauth2(c, &o.value).map(|o| Auth::OAuth2(Arc::new(o))),
        _ => {
            c.fail(
                &a.referenced,
                "`auth:` takes exactly one of `basic: { username, password }`, `bearer: TOKEN` or `oauth2: { token_url, client_id, client_secret }`",
            );
            None
        }
    }
}

/// `oauth2:` — every value known at load.
fn oauth2(c: &mut Compiler<'_>, o: &RawOAuth2) -> Option<OAuth2> {
    let mut fixed = |s: &S<String>| {
        let t = c.template(s)?;
        let why = "known when the canary loads: it cannot use a capture";
        c.check(&s.referenced, t.as_static().ok_or(why.to_string()))
    };
    let url = fixed(&o.token_url);
    let client_id = fixed(&o.client_id);
    let client_secret = fixed(&o.client_secret);
    let scopes: Vec<Option<String>> = o.scopes.iter().map(&mut fixed).collect();
    let audience = o.audience.as_ref().map(&mut fixed);
    let token_url = url.and_then(|u| c.check(&o.token_url.referenced, token_url(&u)));
    let client_auth = match o.client_auth.as_ref().map(|a| (a, a.value.trim())) {
        None | Some((_, "basic")) => Some(ClientAuth::Basic),
        Some((_, "body")) => Some(ClientAuth::Body),
        Some((a, other)) => {
            let why = format!("`{other}`: a client authenticates by `basic` or `body`");
            c.fail(&a.referenced, why);
            None
        }
    };
    Some(OAuth2 {
        token_url: token_url?,
        client_id: client_id?,
        client_secret: client_secret?,
        scopes: scopes.into_iter().collect::<Option<_>>()?,
        params: match audience {
            Some(a) => vec![("audience".into(), a?)],
            None => Vec::new(),
        },
        client_auth: client_auth?,
    })
}

/// A token endpoint: HTTPS, or plain HTTP on loopback only (a client secret in clear text
/// crosses no network there).
fn token_url(text: &str) -> Result<url::Url, String> {
    let url = crate::canary::http::parse_url(text)?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match (url.scheme(), loopback) {
        ("https", _) | ("http", true) => Ok(url),
        _ => Err(format!(
            "`{text}`: a token endpoint is https:// — the client secret would cross the network in clear text (plain http:// only on loopback)"
        )),
    }
}

/// `http_version:` — `"1.1"` or `"2"` (a YAML number is fine too).
fn version(c: &mut Compiler<'_>, h: &RawHttp) -> Option<HttpVersion> {
    let Some(v) = &h.http_version else {
        return Some(HttpVersion::Http1);
    };
    let r = match values::text(&v.value).trim() {
        "1.1" | "1" | "HTTP/1.1" => Ok(HttpVersion::Http1),
        "2" | "2.0" | "HTTP/2" => Ok(HttpVersion::Http2),
        other => Err(format!(
            "`{other}` is not an HTTP version canary speaks: write \"1.1\" or \"2\""
        )),
    };
    c.check(&v.referenced, r)
}
