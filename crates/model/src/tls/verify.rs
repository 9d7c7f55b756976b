//! Verifying the server's certificate: webpki's chain and name checks, with two things users
//! ask for on top — `verify_hostname: false` (the chain only), and pinning: a certificate the
//! server presents that is itself in `ca_file` is trusted as it is, as curl's `--cacert` does
//! (a self-signed certificate made with `openssl req -x509`, marked CA:TRUE, included).

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, Error, SignatureScheme};

/// The verifier of a check's TLS settings (not the insecure one).
#[derive(Debug)]
pub struct Verifier {
    /// webpki's, over Mozilla's roots and `ca_file`'s.
    pub webpki: Arc<WebPkiServerVerifier>,
    /// The certificates of `ca_file`, trusted as they are when a server presents one of them.
    pub pinned: Vec<CertificateDer<'static>>,
    /// Check the host name (`verify_hostname`).
    pub verify_name: bool,
}

impl Verifier {
    /// `end_entity` checked as a pinned certificate: within its validity, and valid for the
    /// name unless told otherwise.
    fn pinned(
        &self,
        end_entity: &CertificateDer<'_>,
        server_name: &ServerName<'_>,
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let info = super::cert_info(end_entity)
            .ok_or(Error::InvalidCertificate(CertificateError::BadEncoding))?;
        let now_time = UNIX_EPOCH + Duration::from_secs(now.as_secs());
        if now_time > info.not_after {
            return Err(Error::InvalidCertificate(CertificateError::Expired));
        }
        if now_time < info.not_before {
            return Err(Error::InvalidCertificate(CertificateError::NotValidYet));
        }
        if self.verify_name && !valid_for(end_entity, server_name, info.names.is_empty()) {
            return Err(Error::InvalidCertificate(CertificateError::NotValidForName));
        }
        Ok(ServerCertVerified::assertion())
    }
}

/// True when `cert` is valid for `name`: by its subject alternative names or, when it has none
/// (`openssl req -x509 -subj /CN=…` makes such), by its common name, as curl accepts it.
fn valid_for(cert: &CertificateDer<'_>, name: &ServerName<'_>, no_alt_names: bool) -> bool {
    let by_alt = webpki::EndEntityCert::try_from(cert)
        .is_ok_and(|c| c.verify_is_valid_for_subject_name(name).is_ok());
    if by_alt || !no_alt_names {
        return by_alt;
    }
    let wanted = match name {
        ServerName::DnsName(d) => d.as_ref().to_ascii_lowercase(),
        ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
        _ => return false,
    };
    let Ok((_, parsed)) = x509_parser::parse_x509_certificate(cert.as_ref()) else {
        return false;
    };
    parsed
        .subject()
        .iter_common_name()
        .filter_map(|cn| cn.as_str().ok())
        .any(|cn| cn.eq_ignore_ascii_case(&wanted))
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let verdict =
            self.webpki
                .verify_server_cert(end_entity, intermediates, server_name, ocsp, now);
        match verdict {
            Err(Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.verify_name => Ok(ServerCertVerified::assertion()),
            Err(_)
                if self
                    .pinned
                    .iter()
                    .any(|p| p.as_ref() == end_entity.as_ref()) =>
            {
                self.pinned(end_entity, server_name, now)
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}
