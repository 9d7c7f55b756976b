//! TLS client settings shared by every check that speaks TLS: the crypto provider, trusted roots
//! or none, a client certificate, and a verifier that records the chain it was shown.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, SystemTime};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::observed::{CertInfo, TlsSeen};

mod explain;
mod verify;

pub use explain::explain;

/// The process's one crypto provider (aws-lc-rs), built on first use.
pub fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .clone()
}

/// The settings of every check without TLS options of its own: Mozilla's roots, verified.
/// Built once, on first use, so a run that never needs TLS never pays for it.
pub fn shared_default() -> Result<Arc<ClientTls>, String> {
    static DEFAULT: OnceLock<Result<Arc<ClientTls>, String>> = OnceLock::new();
    DEFAULT
        .get_or_init(|| ClientTls::new(Trust::default()).map(Arc::new))
        .clone()
}

/// Every set of TLS settings in use, by what it trusts: checks that say the same share one.
type InUse = Mutex<HashMap<TrustKey, Weak<ClientTls>>>;

/// What makes two sets of TLS settings the same: the flags and the bytes of every certificate
/// and key.
#[derive(Debug, PartialEq, Eq, Hash)]
struct TrustKey {
    insecure: bool,
    verify_name: bool,
    roots: Vec<Vec<u8>>,
    client: Option<(Vec<Vec<u8>>, Vec<u8>)>,
}

impl TrustKey {
    fn of(trust: &Trust) -> TrustKey {
        let der = |certs: &[CertificateDer<'static>]| certs.iter().map(|c| c.to_vec()).collect();
        TrustKey {
            insecure: trust.insecure,
            verify_name: trust.verify_name,
            roots: der(&trust.extra_roots),
            client: trust
                .client
                .as_ref()
                .map(|c| (der(&c.chain), c.key.secret_der().to_vec())),
        }
    }
}

/// A client certificate chain and its private key, for mutual TLS.
#[derive(Debug)]
pub struct ClientCert {
    /// The certificate chain, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The private key.
    pub key: PrivateKeyDer<'static>,
}

/// What a check trusts.
#[derive(Debug)]
pub struct Trust {
    /// Accept any certificate (signatures are still checked).
    pub insecure: bool,
    /// CA certificates trusted besides Mozilla's roots.
    pub extra_roots: Vec<CertificateDer<'static>>,
    /// A client certificate for mutual TLS.
    pub client: Option<ClientCert>,
    /// Check that the certificate is valid for the host name (else only the chain).
    pub verify_name: bool,
}

impl Default for Trust {
    fn default() -> Trust {
        Trust {
            insecure: false,
            extra_roots: Vec::new(),
            client: None,
            verify_name: true,
        }
    }
}

/// The TLS settings of a check, compiled once: a base configuration and how to verify.
#[derive(Debug)]
pub struct ClientTls {
    base: ClientConfig,
    verifier: Arc<dyn ServerCertVerifier>,
    roots: Arc<RootCertStore>,
    insecure: bool,
    /// What the executor that uses these settings builds on them and keeps with them (the HTTP
    /// clients, shared by every request that uses these settings): built on first use, and of a
    /// type this crate does not know, since the model sits below the executors.
    kept: OnceLock<Box<dyn Any + Send + Sync>>,
}

impl ClientTls {
    /// Mozilla's roots plus the extra ones (or no verification when insecure), and a client
    /// certificate when given.
    pub fn new(trust: Trust) -> Result<ClientTls, String> {
        let Trust {
            insecure,
            extra_roots,
            client,
            verify_name,
        } = trust;
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for cert in &extra_roots {
            roots
                .add(cert.clone())
                .map_err(|e| format!("not a usable CA certificate: {e}"))?;
        }
        let roots = Arc::new(roots);
        let verifier: Arc<dyn ServerCertVerifier> = if insecure {
            Arc::new(NoVerify(provider()))
        } else {
            let webpki = WebPkiServerVerifier::builder_with_provider(roots.clone(), provider())
                .build()
                .map_err(|e| e.to_string())?;
            Arc::new(verify::Verifier {
                webpki,
                pinned: extra_roots,
                verify_name,
            })
        };
        let builder = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .dangerous()
            .with_custom_certificate_verifier(verifier.clone());
        let base = match client {
            None => builder.with_no_client_auth(),
            Some(c) => builder
                .with_client_auth_cert(c.chain, c.key)
                .map_err(|e| format!("the client certificate or key is not usable: {e}"))?,
        };
        Ok(ClientTls {
            base,
            verifier,
            roots,
            insecure,
            kept: OnceLock::new(),
        })
    }

    /// The settings for `trust`: the ones already in use for the same trust if there are (so
    /// checks that say the same share one set, and its HTTP clients), else new ones.
    pub fn shared(trust: Trust) -> Result<Arc<ClientTls>, String> {
        static IN_USE: OnceLock<InUse> = OnceLock::new();
        let key = TrustKey::of(&trust);
        let mut in_use = IN_USE
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(tls) = in_use.get(&key).and_then(Weak::upgrade) {
            return Ok(tls);
        }
        let tls = Arc::new(ClientTls::new(trust)?);
        in_use.retain(|_, t| t.strong_count() > 0);
        in_use.insert(key, Arc::downgrade(&tls));
        Ok(tls)
    }

    /// The configuration of one connection, offering `alpn`; what the handshake shows is
    /// recorded into the returned [`Seen`].
    pub fn connection(&self, alpn: &[&[u8]]) -> (ClientConfig, Seen) {
        let seen = Seen::default();
        (self.config(alpn, Record::Into(seen.clone())), seen)
    }

    /// The configuration of connections made for many checks, offering `alpn`: each
    /// handshake is recorded into the [`Seen`] that `current` gives at the time (if any).
    pub fn shared_connection(&self, alpn: &[&[u8]], current: fn() -> Option<Seen>) -> ClientConfig {
        self.config(alpn, Record::Current(current))
    }

    fn config(&self, alpn: &[&[u8]], record: Record) -> ClientConfig {
        let mut config = self.base.clone();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        let inner = self.verifier.clone();
        config
            .dangerous()
            .set_certificate_verifier(Arc::new(Recorder {
                inner,
                roots: self.roots.clone(),
                record,
            }));
        config
    }

    /// What an executor keeps with these settings: a `T` built on first use. One type per set of
    /// settings; `None` if another type was kept first.
    pub fn kept<T: Any + Default + Send + Sync>(&self) -> Option<&T> {
        self.kept
            .get_or_init(|| Box::new(T::default()))
            .downcast_ref()
    }

    /// True when certificates are not verified.
    pub fn insecure(&self) -> bool {
        self.insecure
    }
}

/// What the handshakes of one check showed (the last handshake wins: the final response's).
#[derive(Debug, Clone, Default)]
pub struct Seen(Arc<Mutex<Option<TlsSeen>>>);

impl Seen {
    /// The last handshake's record, if any handshake got as far as a certificate.
    pub fn get(&self) -> Option<TlsSeen> {
        self.0.lock().ok().and_then(|s| s.clone())
    }

    fn update(&self, f: impl FnOnce(&mut Option<TlsSeen>)) {
        if let Ok(mut s) = self.0.lock() {
            f(&mut s);
        }
    }

    /// Records the negotiated cipher suite (for checks that see the connection).
    pub fn set_cipher(&self, cipher: String) {
        self.update(|s| {
            if let Some(s) = s {
                s.cipher = Some(cipher);
            }
        });
    }
}

/// Where a verifier records what a handshake showed.
#[derive(Debug)]
enum Record {
    /// Into this one record (a connection of one check).
    Into(Seen),
    /// Into the record this gives at the time of the handshake (a client shared by checks).
    Current(fn() -> Option<Seen>),
}

/// Records the chain, path and protocol, then lets the real verifier decide.
#[derive(Debug)]
struct Recorder {
    inner: Arc<dyn ServerCertVerifier>,
    roots: Arc<RootCertStore>,
    record: Record,
}

impl Recorder {
    fn update(&self, f: impl FnOnce(&mut Option<TlsSeen>)) {
        match &self.record {
            Record::Into(seen) => seen.update(f),
            Record::Current(current) => {
                if let Some(seen) = current() {
                    seen.update(f);
                }
            }
        }
    }

    fn set_protocol(&self, version: &str) {
        self.update(|s| {
            if let Some(s) = s {
                s.protocol = Some(version.into());
            }
        });
    }
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let record = examine(&self.roots, end_entity, intermediates, server_name, now);
        self.update(|s| *s = Some(record));
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.set_protocol("1.2");
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.set_protocol("1.3");
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }

    fn requires_raw_public_keys(&self) -> bool {
        self.inner.requires_raw_public_keys()
    }

    fn root_hint_subjects(&self) -> Option<&[rustls::DistinguishedName]> {
        self.inner.root_hint_subjects()
    }
}

/// The chain the server sent, as a verified path when one exists, and whether the leaf is valid
/// for `server_name` — whatever the verifier then decides.
pub fn examine(
    roots: &RootCertStore,
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    server_name: &ServerName<'_>,
    now: UnixTime,
) -> TlsSeen {
    let presented = || {
        std::iter::once(end_entity)
            .chain(intermediates)
            .filter_map(|c| cert_info(c))
            .collect::<Vec<_>>()
    };
    let Ok(ee) = webpki::EndEntityCert::try_from(end_entity) else {
        return TlsSeen {
            protocol: None,
            cipher: None,
            hostname_matches: false,
            chain: presented(),
            verified: false,
        };
    };
    let hostname_matches = ee.verify_is_valid_for_subject_name(server_name).is_ok();
    let algs = provider().signature_verification_algorithms.all;
    let path = ee.verify_for_usage(
        algs,
        &roots.roots,
        intermediates,
        now,
        webpki::KeyUsage::server_auth(),
        None,
        None,
    );
    let (chain, verified) = match path {
        Ok(path) => {
            let mut chain: Vec<CertInfo> = cert_info(end_entity).into_iter().collect();
            chain.extend(
                path.intermediate_certificates()
                    .filter_map(|c| cert_info(&c.der())),
            );
            (chain, true)
        }
        Err(_) => (presented(), false),
    };
    TlsSeen {
        protocol: None,
        cipher: None,
        hostname_matches,
        chain,
        verified,
    }
}

/// Subject, issuer, validity and names of a DER certificate.
pub fn cert_info(der: &CertificateDer<'_>) -> Option<CertInfo> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let time = |t: x509_parser::time::ASN1Time| {
        let secs = t.timestamp();
        match u64::try_from(secs) {
            Ok(s) => SystemTime::UNIX_EPOCH + Duration::from_secs(s),
            Err(_) => SystemTime::UNIX_EPOCH,
        }
    };
    let mut names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for n in &san.value.general_names {
            match n {
                x509_parser::extensions::GeneralName::DNSName(d) => names.push(d.to_string()),
                x509_parser::extensions::GeneralName::IPAddress(ip) => {
                    names.extend(ip_text(ip));
                }
                _ => {}
            }
        }
    }
    Some(CertInfo {
        subject_fields: fields(cert.subject()),
        issuer_fields: fields(cert.issuer()),
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        not_before: time(cert.validity().not_before),
        not_after: time(cert.validity().not_after),
        names,
    })
}

/// A distinguished name's attributes by their short names (CN, O, OU, C, ST, L).
fn fields(name: &x509_parser::x509::X509Name<'_>) -> Vec<(String, String)> {
    use x509_parser::oid_registry as oids;
    let short = [
        (oids::OID_X509_COMMON_NAME, "CN"),
        (oids::OID_X509_ORGANIZATION_NAME, "O"),
        (oids::OID_X509_ORGANIZATIONAL_UNIT, "OU"),
        (oids::OID_X509_COUNTRY_NAME, "C"),
        (oids::OID_X509_STATE_OR_PROVINCE_NAME, "ST"),
        (oids::OID_X509_LOCALITY_NAME, "L"),
    ];
    let mut out = Vec::new();
    for attr in name.iter_attributes() {
        let Some((_, key)) = short.iter().find(|(oid, _)| oid == attr.attr_type()) else {
            continue;
        };
        if let Ok(v) = attr.as_str() {
            out.push((key.to_string(), v.to_string()));
        }
    }
    out
}

fn ip_text(bytes: &[u8]) -> Option<String> {
    match bytes.len() {
        4 => Some(std::net::Ipv4Addr::from(<[u8; 4]>::try_from(bytes).ok()?).to_string()),
        16 => Some(std::net::Ipv6Addr::from(<[u8; 16]>::try_from(bytes).ok()?).to_string()),
        _ => None,
    }
}

/// Accepts any certificate (`tls: { insecure: true }`); signatures are still checked.
#[derive(Debug)]
struct NoVerify(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_that_trust_the_same_share_one_set_of_settings_while_it_is_in_use() {
        let trust = |insecure| Trust {
            insecure,
            verify_name: false,
            ..Trust::default()
        };
        let a = ClientTls::shared(trust(true)).unwrap();
        let b = ClientTls::shared(trust(true)).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let other = ClientTls::shared(trust(false)).unwrap();
        assert!(!Arc::ptr_eq(&a, &other));
        let gone = Arc::downgrade(&a);
        drop((a, b));
        assert!(gone.upgrade().is_none(), "the table keeps none alive");
        let again = ClientTls::shared(trust(true)).unwrap();
        assert!(again.insecure());
    }
}
