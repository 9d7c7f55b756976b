//! Certificates made in the test: a CA (and intermediates) issuing leaf certificates for
//! 127.0.0.1/localhost, valid or expired, and client certificates for mutual TLS.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use time::{Duration, OffsetDateTime};

/// A test CA that can issue server and client certificates, and intermediate CAs.
pub struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
    /// The certificates above this CA up to the root, nearest first (empty for a root).
    above: Vec<CertificateDer<'static>>,
}

/// A certificate chain and its key.
pub struct Leaf {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

impl Leaf {
    /// The chain as PEM.
    pub fn chain_pem(&self) -> String {
        self.chain.iter().map(|c| pem("CERTIFICATE", c)).collect()
    }

    /// The key as PKCS#8 PEM.
    pub fn key_pem(&self) -> String {
        pem("PRIVATE KEY", self.key.secret_der())
    }
}

/// DER as a PEM block.
pub fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

fn ca_params(name: &str, days: i64) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(days);
    params
}

/// A self-signed certificate as `openssl req -x509 -subj /CN=NAME` makes it: marked CA:TRUE,
/// with the name only as its common name (no subject alternative names), valid for 30 days.
pub fn self_signed_ca(name: &str) -> Leaf {
    let params = ca_params(name, 30);
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    Leaf {
        chain: vec![cert.der().clone()],
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    }
}

impl Ca {
    pub fn new() -> Ca {
        let params = ca_params("canary test CA", 3650);
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Ca {
            issuer,
            above: Vec::new(),
        }
    }

    /// An intermediate CA named `name`, signed by this one, valid for `days` more days.
    pub fn intermediate(&self, name: &str, days: i64) -> Ca {
        let params = ca_params(name, days);
        let issuer =
            CertifiedIssuer::signed_by(params, KeyPair::generate().unwrap(), &self.issuer).unwrap();
        let mut above = vec![self.issuer.der().clone()];
        above.extend(self.above.iter().cloned());
        Ca { issuer, above }
    }

    /// The CA certificate, PEM.
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A certificate for 127.0.0.1 and localhost valid from `from` to `to` days from now.
    pub fn leaf(&self, from_days: i64, to_days: i64) -> Leaf {
        self.leaf_for(&["localhost", "127.0.0.1"], from_days, to_days)
    }

    /// A server certificate for `names`, valid from `from` to `to` days from now; its chain
    /// holds the intermediates and this CA's certificate.
    pub fn leaf_for(&self, names: &[&str], from_days: i64, to_days: i64) -> Leaf {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names.clone()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, &names[0]);
        let now = OffsetDateTime::now_utc();
        params.not_before = now + Duration::days(from_days);
        params.not_after = now + Duration::days(to_days);
        self.sign(params)
    }

    /// A client certificate (for mutual TLS) with this common name.
    pub fn client(&self, name: &str) -> Leaf {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.sign(params)
    }

    fn sign(&self, params: CertificateParams) -> Leaf {
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let mut chain = vec![cert.der().clone(), self.issuer.der().clone()];
        chain.extend(self.above.iter().cloned());
        Leaf {
            chain,
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        }
    }

    /// The CA certificate, DER.
    pub fn der(&self) -> CertificateDer<'static> {
        self.issuer.der().clone()
    }
}
