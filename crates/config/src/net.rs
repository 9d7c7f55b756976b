//! Compiling what the kinds share about connections: TLS trust (roots, `insecure`, a client
//! certificate, the name checked) and TLS on a connection (`tls: true` or settings).

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde::Deserialize;
use serde_json::Value;
use serde_saphyr::Location;

use super::compiler::Compiler;
use super::raw::{RawTls, S};
use crate::canary::net::TlsTarget;
use canary_model::tls::{ClientCert, ClientTls, Trust};

/// `tls:` on a connection: `true`, or the settings.
#[derive(Debug, Clone)]
pub enum RawTlsSwitch {
    /// `tls: true` (or false).
    On(bool),
    /// `tls: { ca_file, insecure, server_name, … }`.
    With(Box<RawTls>),
}

// By hand rather than `#[serde(untagged)]`, which buffers the map and so loses the line and
// column of every field inside it.
impl<'de> Deserialize<'de> for RawTlsSwitch {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Switch;
        impl<'de> serde::de::Visitor<'de> for Switch {
            type Value = RawTlsSwitch;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("`true`, `false` or TLS settings like `{ ca_file: ca.pem }`")
            }
            fn visit_bool<E>(self, v: bool) -> Result<RawTlsSwitch, E> {
                Ok(RawTlsSwitch::On(v))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<RawTlsSwitch, A::Error> {
                let d = serde::de::value::MapAccessDeserializer::new(map);
                RawTls::deserialize(d).map(|t| RawTlsSwitch::With(Box::new(t)))
            }
        }
        d.deserialize_any(Switch)
    }
}

impl schemars::JsonSchema for RawTlsSwitch {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "TlsSwitch".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let settings = generator.subschema_for::<RawTls>();
        schemars::json_schema!({
            "description": "`true` for TLS with the system's roots, or TLS settings.",
            "anyOf": [{ "type": "boolean" }, settings]
        })
    }
}

impl Compiler<'_> {
    /// A host to connect to: a name or an IP address (`${…}` allowed).
    pub(super) fn host(&mut self, h: &S<String>) -> Option<crate::template::Template> {
        let t = self.template(h)?;
        if let Some(text) = t.as_static() {
            let r = match text.trim() {
                "" => Err("the host is empty".to_string()),
                t if t.contains(['/', ' ']) || t.contains("://") => Err(format!(
                    "`{t}` is not a host: write a name or an IP address, without a scheme or path"
                )),
                _ => Ok(()),
            };
            self.check(&h.referenced, r)?;
        }
        Some(t)
    }

    /// A port, 1–65535: a number, or text (`${PORT}`) that is one.
    pub(super) fn port(&mut self, p: &S<Value>) -> Option<u16> {
        let text = match &p.value {
            Value::String(s) => {
                let t = self.vars.expand(s);
                self.check(&p.referenced, t)?
                    .as_static()
                    .unwrap_or_default()
            }
            other => other.to_string(),
        };
        self.check(&p.referenced, port(&text))
    }

    /// The trust settings of `tls:` (the shared default when it says nothing special).
    pub(super) fn client_tls(
        &mut self,
        t: &Option<S<RawTls>>,
        at: &Location,
    ) -> Option<Arc<ClientTls>> {
        let Some(t) = t else {
            return self.default_tls(at);
        };
        let roots = match self.file_path(&t.value.ca_file) {
            Some(Some(path)) => self.check(
                &t.value.ca_file.as_ref()?.referenced,
                read_certs(&path, "CA file"),
            )?,
            Some(None) => Vec::new(),
            None => return None,
        };
        let client = self.client_cert(t)?;
        let verify_name = t.value.verify_hostname.unwrap_or(true);
        if !t.value.insecure && roots.is_empty() && client.is_none() && verify_name {
            return self.default_tls(&t.referenced);
        }
        let trust = Trust {
            insecure: t.value.insecure,
            extra_roots: roots,
            client,
            verify_name,
        };
        let r = ClientTls::shared(trust);
        self.check(&t.referenced, r)
    }

    /// TLS on a connection: its trust, the name sent and checked, and SNI.
    pub(super) fn tls_target(&mut self, t: &Option<S<RawTls>>, at: &Location) -> Option<TlsTarget> {
        let tls = self.client_tls(t, at)?;
        let r = t.as_ref().map(|t| &t.value);
        let server_name = match r.and_then(|r| r.server_name.as_ref()) {
            Some(n) => self.template(n)?.as_static().filter(|s| !s.is_empty()),
            None => None,
        };
        Some(TlsTarget {
            tls,
            server_name,
            sni: r.and_then(|r| r.sni).unwrap_or(true),
        })
    }

    /// `tls: true | { … }` on a connection; None when off.
    pub(super) fn tls_switch(
        &mut self,
        t: &Option<S<RawTlsSwitch>>,
        at: &Location,
    ) -> Option<Option<TlsTarget>> {
        match t {
            None => Some(None),
            Some(S {
                value: RawTlsSwitch::On(false),
                ..
            }) => Some(None),
            Some(S {
                value: RawTlsSwitch::On(true),
                referenced,
                ..
            }) => self.tls_target(&None, referenced).map(Some),
            Some(
                s @ S {
                    value: RawTlsSwitch::With(raw),
                    ..
                },
            ) => {
                let settings = Some(S {
                    value: (**raw).clone(),
                    referenced: s.referenced,
                    defined: s.defined,
                });
                self.tls_target(&settings, at).map(Some)
            }
        }
    }

    /// `cert_file` and `key_file` (both or neither), the key decrypted with `key_password`.
    fn client_cert(&mut self, t: &S<RawTls>) -> Option<Option<ClientCert>> {
        let c = self;
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

/// A port number, 1–65535.
pub fn port(text: &str) -> Result<u16, String> {
    match text.trim().parse::<u32>() {
        Ok(n @ 1..=65_535) => Ok(n as u16),
        _ => Err(format!(
            "`{}` is not a port: write a number from 1 to 65535",
            text.trim()
        )),
    }
}

/// `host:port` (`[v6]:port` for IPv6 addresses).
pub fn host_port(text: &str) -> Result<(String, u16), String> {
    let t = text.trim();
    let bad = || format!("`{t}` is not an address: write host:port, like 127.0.0.1:50051");
    let (host, port_text) = t.rsplit_once(':').ok_or_else(bad)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || host.contains(['/', ' ']) {
        return Err(bad());
    }
    Ok((host.to_string(), port(port_text)?))
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
