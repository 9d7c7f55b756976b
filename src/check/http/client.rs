//! Building the HTTP client of one request: TLS settings, timing hooks, redirect policy, no pooling.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

use reqwest::redirect::Policy;
use rustls::client::Resumption;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::timing::{TimedConnectLayer, TimedResolver, Timing, TlsStartHook};

/// The process's one crypto provider (aws-lc-rs), built on first use.
pub fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .clone()
}

/// A TLS configuration: Mozilla's roots plus `extra_roots`, or no verification at all when `insecure`.
pub fn tls_config(
    insecure: bool,
    extra_roots: Vec<CertificateDer<'static>>,
) -> Result<ClientConfig, String> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let mut config = if insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider())))
            .with_no_client_auth()
    } else {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for cert in extra_roots {
            roots
                .add(cert)
                .map_err(|e| format!("not a usable CA certificate: {e}"))?;
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Builds a client with no connection reuse, recording into `timing` and counting redirects.
pub fn build(
    tls: &ClientConfig,
    timing: &Timing,
    follow: bool,
    max_redirects: u32,
    redirects: Arc<AtomicU32>,
) -> reqwest::Result<reqwest::Client> {
    let mut tls = tls.clone();
    tls.resumption = Resumption::store(Arc::new(TlsStartHook(timing.clone())));
    let policy = if follow {
        redirect_policy(max_redirects, redirects)
    } else {
        Policy::none()
    };
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .tls_info(true)
        .dns_resolver(Arc::new(TimedResolver(timing.clone())))
        .connector_layer(TimedConnectLayer(timing.clone()))
        .redirect(policy)
        .no_proxy()
        .pool_max_idle_per_host(0)
        .user_agent(concat!("canary/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Follows up to `max` redirects, stopping at a loop; counts the ones followed.
fn redirect_policy(max: u32, count: Arc<AtomicU32>) -> Policy {
    Policy::custom(move |attempt| {
        let followed = attempt.previous().len() as u32;
        if attempt.previous().iter().any(|u| u == attempt.url()) {
            let msg = format!("redirect loop back to {}", attempt.url());
            return attempt.error(msg);
        }
        if followed > max {
            return attempt.error(format!("more than {max} redirects"));
        }
        count.store(followed, Ordering::Relaxed);
        attempt.follow()
    })
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

/// Pays the process's one-time costs (crypto initialisation, first connection through the
/// client stack) before any check is timed: a ClientHello is built, and one request is sent
/// to a throwaway server on 127.0.0.1.
pub async fn warm_up() {
    if let Ok(config) = tls_config(false, Vec::new()) {
        let name = ServerName::try_from("localhost").expect("a valid name");
        if let Ok(mut conn) = rustls::ClientConnection::new(Arc::new(config.clone()), name) {
            let _ = conn.write_tls(&mut Vec::new());
        }
        let _ = warm_request(&config).await;
    }
}

async fn warm_request(config: &ClientConfig) -> Option<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.ok()?;
    let addr = listener.local_addr().ok()?;
    let server = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.ok()?;
        let mut buf = [0u8; 1024];
        let _ = s.read(&mut buf).await;
        s.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
            .await
            .ok()
    });
    let client = build(config, &Timing::default(), false, 0, Arc::default()).ok()?;
    let request = client.get(format!("http://{addr}/")).send();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), request).await;
    server.abort();
    Some(())
}
