//! Compiling `http:` into a request: method, URL, headers, body, auth, TLS (roots, client
//! certificate), HTTP version and proxy.

use std::path::Path;
use std::sync::Arc;

use http::Method;
use http::header::{HeaderName, HeaderValue};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::Value;
use serde_saphyr::Location;

use super::compile::{Compiler, DEFAULT_MAX_BODY, DEFAULT_MAX_REDIRECTS, Parts};
use super::raw::{RawHttp, RawTls, S};
use super::values;
use crate::canary::http::{Auth, Body, HttpVersion, Request, parse_url};
use crate::canary::{Step, StepKind};
use crate::template::{JsonTemplate, Template};
use crate::tls::{ClientCert, ClientTls};

impl Compiler<'_> {
    /// An HTTP step named `name`, with `parts` written beside its `http:` section.
    pub(super) fn http_step(
        &mut self,
        name: String,
        http: &S<RawHttp>,
        parts: &Parts,
    ) -> Option<Step> {
        let request = request(self, http);
        let h = &http.value;
        let inner = Parts {
            assert: &h.assert,
            capture: Some(&h.capture),
            degraded: &h.degraded,
            canary_degraded: &[],
            secret: h.secret,
        };
        let kind = request.map(|r| StepKind::Http(Box::new(r)));
        self.step(name, kind, &inner, parts)
    }

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

fn request(c: &mut Compiler<'_>, raw: &S<RawHttp>) -> Option<Request> {
    let h = &raw.value;
    let errors_before = c.errors.len();
    let method = match &h.method {
        None => Some(Method::GET),
        Some(m) => {
            let r = Method::from_bytes(m.value.trim().to_ascii_uppercase().as_bytes())
                .map_err(|_| format!("`{}` is not an HTTP method", m.value));
            c.check(&m.referenced, r)
        }
    };
    let url = c.template(&h.url);
    if let Some(u) = url.as_ref().and_then(Template::as_static) {
        c.check(&h.url.referenced, parse_url(&u));
    }
    let headers = headers(c, h);
    let query: Vec<(String, Template)> = h
        .query
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), c.template(v)?)))
        .collect();
    let body = body(c, raw);
    let auth = h.auth.as_ref().and_then(|a| auth(c, a));
    let tls = tls(c, h);
    let version = version(c, h);
    let max_body = match &h.max_body {
        None => Some(DEFAULT_MAX_BODY),
        Some(m) => c.check(&m.referenced, values::size(&m.value)),
    };
    if c.errors.len() > errors_before {
        return None;
    }
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
        proxy: c.proxy.clone(),
    })
}

fn headers(c: &mut Compiler<'_>, h: &RawHttp) -> Vec<(HeaderName, Template)> {
    let mut out = Vec::new();
    for (name, value) in &h.headers {
        let Some(hn) = c.check(
            &value.referenced,
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

fn body(c: &mut Compiler<'_>, raw: &S<RawHttp>) -> Option<Body> {
    let h = &raw.value;
    let given = [h.body.is_some(), h.json.is_some(), h.form.is_some()];
    if given.iter().filter(|g| **g).count() > 1 {
        c.fail(
            &raw.referenced,
            "give at most one of `body:`, `json:` and `form:`",
        );
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

fn auth(c: &mut Compiler<'_>, a: &S<super::raw::RawAuth>) -> Option<Auth> {
    match (&a.value.basic, &a.value.bearer) {
        (Some(b), None) => Some(Auth::Basic {
            username: c.template(&b.username)?,
            password: c.template(&b.password)?,
        }),
        (None, Some(t)) => Some(Auth::Bearer(c.template(t)?)),
        _ => {
            c.fail(
                &a.referenced,
                "`auth:` takes exactly one of `basic: { username, password }` or `bearer: TOKEN`",
            );
            None
        }
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

fn tls(c: &mut Compiler<'_>, h: &RawHttp) -> Option<Arc<ClientTls>> {
    let Some(t) = &h.tls else {
        return c.default_tls(&h.url.referenced);
    };
    let roots = match c.file_path(&t.value.ca_file) {
        Some(Some(path)) => c.check(
            &t.value.ca_file.as_ref()?.referenced,
            read_certs(&path, "CA file"),
        )?,
        Some(None) => Vec::new(),
        None => return None,
    };
    let client = client_cert(c, t)?;
    if !t.value.insecure && roots.is_empty() && client.is_none() {
        return c.default_tls(&t.referenced);
    }
    let r = ClientTls::new(t.value.insecure, roots, client);
    c.check(&t.referenced, r).map(Arc::new)
}

/// `cert_file` and `key_file` (both or neither), the key decrypted with `key_password`.
fn client_cert(c: &mut Compiler<'_>, t: &S<RawTls>) -> Option<Option<ClientCert>> {
    let r = &t.value;
    let cert = c.file_path(&r.cert_file)?;
    let key = c.file_path(&r.key_file)?;
    let (cert, key) = match (cert, key) {
        (None, None) => return Some(None),
        (Some(cert), Some(key)) => (cert, key),
        _ => {
            c.fail(
                &t.referenced,
                "mutual TLS needs both `cert_file` and `key_file` (PEM)",
            );
            return None;
        }
    };
    let password = match &r.key_password {
        Some(p) => c.template(p)?.as_static(),
        None => None,
    };
    let chain = c.check(
        &r.cert_file.as_ref()?.referenced,
        read_certs(&cert, "cert_file"),
    )?;
    let key = c.check(
        &r.key_file.as_ref()?.referenced,
        read_key(&key, password.as_deref()),
    )?;
    Some(Some(ClientCert { chain, key }))
}

impl Compiler<'_> {
    /// A file named by a TLS field, found next to the canary file first: Some(None) when the
    /// field is absent or empty, None after an error.
    fn file_path(&mut self, field: &Option<S<String>>) -> Option<Option<std::path::PathBuf>> {
        let Some(f) = field else { return Some(None) };
        let text = self.template(f)?.as_static().unwrap_or_default();
        if text.trim().is_empty() {
            return Some(None);
        }
        Some(Some(locate(self.file, Path::new(text.trim()))))
    }
}

/// A relative path is looked up next to the canary file first, then from the current folder.
fn locate(canary_file: &Path, path: &Path) -> std::path::PathBuf {
    let beside = canary_file.parent().unwrap_or(Path::new(".")).join(path);
    if path.is_relative() && !beside.exists() && path.exists() {
        return path.to_path_buf();
    }
    beside
}

/// The PEM certificates in a file (at least one).
fn read_certs(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Result<Vec<_>, _> = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("cannot read {what} {}: {e}", path.display()))?
        .collect();
    match certs {
        Ok(c) if !c.is_empty() => Ok(c),
        Ok(_) => Err(format!(
            "{what} {} holds no PEM certificate",
            path.display()
        )),
        Err(e) => Err(format!("{what} {}: {e}", path.display())),
    }
}

/// A PEM private key: PKCS#8 (encrypted with `password`, or not), PKCS#1 or SEC1.
fn read_key(path: &Path, password: Option<&str>) -> Result<PrivateKeyDer<'static>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if text.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(format!(
            "{} is encrypted the legacy OpenSSL way, which canary does not read: convert it with `openssl pkcs8 -topk8 -v2 aes-256-cbc`",
            path.display()
        ));
    }
    if !text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        return PrivateKeyDer::from_pem_slice(text.as_bytes())
            .map_err(|e| format!("{} holds no usable PEM private key: {e}", path.display()));
    }
    let Some(password) = password.filter(|p| !p.is_empty()) else {
        return Err(format!(
            "{} is encrypted: give `key_password: ${{secret:NAME}}`",
            path.display()
        ));
    };
    let (_, der) = pkcs8::der::pem::decode_vec(text.trim().as_bytes())
        .map_err(|e| format!("{}: not a PEM file: {e}", path.display()))?;
    let info = pkcs8::EncryptedPrivateKeyInfo::try_from(der.as_slice())
        .map_err(|e| format!("{}: not an encrypted PKCS#8 key: {e}", path.display()))?;
    let plain = info.decrypt(password).map_err(|_| {
        format!(
            "{}: cannot decrypt the key (wrong key_password, or an unsupported cipher)",
            path.display()
        )
    })?;
    Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        plain.as_bytes().to_vec(),
    )))
}
