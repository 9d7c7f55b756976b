//! A failed TLS handshake in words: what is wrong, and what to do about it — never rustls's or
//! webpki's internal names.

use rustls::pki_types::{ServerName, UnixTime};
use rustls::{AlertDescription, CertificateError, Error};

/// The server refused every protocol canary offered by ALPN.
const NO_ALPN: &str = "the server accepts none of the protocols offered (ALPN): for \
     http_version \"2\" it does not speak HTTP/2";

/// What went wrong in the handshake, as a sentence for the check's error.
pub fn explain(e: &Error) -> String {
    match e {
        Error::InvalidCertificate(c) => certificate(c),
        Error::AlertReceived(a) => alert(*a),
        Error::NoApplicationProtocol => NO_ALPN.into(),
        Error::InvalidMessage(_) | Error::InappropriateMessage { .. } => {
            "the server did not answer in TLS (is it plain HTTP or another protocol? try \
             http:// or tls: false)"
                .into()
        }
        Error::PeerIncompatible(_) => "the server and canary have no TLS version or cipher in \
             common: canary speaks TLS 1.2 and 1.3 with today's ciphers"
            .into(),
        Error::NoCertificatesPresented => "the server presented no certificate".into(),
        other => format!("TLS handshake failed: {other}"),
    }
}

fn certificate(c: &CertificateError) -> String {
    use CertificateError as C;
    match c {
        C::UnknownIssuer => "the server's certificate is not signed by a CA canary trusts: if \
             it comes from your own CA, or is self-signed, give that certificate with \
             `tls: { ca_file: … }`"
            .into(),
        C::NotValidForNameContext {
            expected,
            presented,
        } => format!(
            "the server's certificate is not valid for {}: it names {} (check the URL's host, \
             or use `tls: {{ verify_hostname: false }}` to check the chain only)",
            name(expected),
            match presented.is_empty() {
                true => "no DNS name or address".into(),
                false => presented
                    .iter()
                    .map(|p| bare(p))
                    .collect::<Vec<_>>()
                    .join(", "),
            }
        ),
        C::NotValidForName => "the server's certificate is not valid for the host name asked \
             for (check the URL's host, or use `tls: { verify_hostname: false }`)"
            .into(),
        C::ExpiredContext { not_after, .. } => format!(
            "the server's certificate expired on {}: it must be renewed",
            date(*not_after)
        ),
        C::Expired => "the server's certificate has expired: it must be renewed".into(),
        C::NotValidYetContext { not_before, .. } => format!(
            "the server's certificate is not valid before {} (is a clock wrong?)",
            date(*not_before)
        ),
        C::NotValidYet => "the server's certificate is not valid yet (is a clock wrong?)".into(),
        C::Revoked => "the server's certificate has been revoked".into(),
        C::BadSignature => "a signature in the server's certificate chain is wrong".into(),
        C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
            "the server's certificate is not for TLS servers (its extended key usage)".into()
        }
        C::Other(o) if o.to_string().contains("CaUsedAsEndEntity") => {
            "the server presents a CA certificate (CA:TRUE, as `openssl req -x509` makes) as \
             its own: give that same certificate as `tls: { ca_file: … }` to trust it, or \
             issue the server a certificate from a CA"
                .into()
        }
        other => format!("the server's certificate was refused: {other}"),
    }
}

fn alert(a: AlertDescription) -> String {
    use AlertDescription as A;
    match a {
        A::HandshakeFailure => "the server refused the handshake: no TLS version or cipher in \
             common, or it wants a client certificate (`tls: { cert_file, key_file }`)"
            .into(),
        A::CertificateRequired => "the server requires a client certificate: give \
             `tls: { cert_file: …, key_file: … }`"
            .into(),
        A::UnknownCA | A::BadCertificate | A::CertificateUnknown | A::AccessDenied => format!(
            "the server refused canary's client certificate ({a:?}): check that its CA trusts \
             it"
        ),
        A::NoApplicationProtocol => NO_ALPN.into(),
        A::ProtocolVersion => "the server speaks no TLS version canary does (1.2 or 1.3)".into(),
        A::UnrecognisedName => {
            "the server does not know the host name canary asked for (SNI)".into()
        }
        other => format!("the server ended the handshake with the alert {other:?}"),
    }
}

/// A presented name as webpki writes it (`DnsName("shop.test")`), bare: `shop.test`.
fn bare(presented: &str) -> &str {
    match (presented.find('('), presented.rfind(')')) {
        (Some(open), Some(close)) if open < close => presented[open + 1..close].trim_matches('"'),
        _ => presented,
    }
}

fn name(n: &ServerName<'_>) -> String {
    match n {
        ServerName::DnsName(d) => d.as_ref().to_string(),
        ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
        other => format!("{other:?}"),
    }
}

fn date(t: UnixTime) -> String {
    chrono::DateTime::from_timestamp(t.as_secs() as i64, 0).map_or_else(
        || t.as_secs().to_string(),
        |d| d.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}
