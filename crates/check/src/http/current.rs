//! The request a shared HTTP client is working for: its hooks (timing, redirects, cookies, TLS
//! record) find that request's records here, through a task-local set around the exchange.
//!
//! This works because, with pooling off, reqwest and hyper-util resolve, connect, shake hands,
//! follow redirects and handle cookies inside the future that the caller polls; only the
//! connection's own I/O runs in a spawned task, and no hook runs there.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use super::cookies::Jar;
use super::timing::Timing;
use canary_model::tls::Seen;

tokio::task_local! {
    static CURRENT: Current;
}

/// What one request's hooks record into and read from.
#[derive(Debug, Clone, Default)]
pub struct Current {
    /// When each phase happened.
    pub timing: Timing,
    /// The redirects followed so far.
    pub redirects: Arc<AtomicU32>,
    /// Redirects are followed, up to this many (None: not followed).
    pub follow: Option<u32>,
    /// The attempt's cookie jar (None: cookies are not kept).
    pub jar: Option<Arc<Jar>>,
    /// What the last TLS handshake showed.
    pub tls: Seen,
}

impl Current {
    /// Runs `f` with this request as the current one for the hooks.
    pub async fn scope<F: Future>(self, f: F) -> F::Output {
        CURRENT.scope(self, f).await
    }

    /// The redirects followed.
    pub fn redirects(&self) -> u32 {
        self.redirects.load(Ordering::Relaxed)
    }
}

/// Calls `f` with the current request, if the caller is working for one.
pub fn with<R>(f: impl FnOnce(&Current) -> R) -> Option<R> {
    CURRENT.try_with(f).ok()
}

/// The current request's TLS record (for the shared TLS configuration's verifier).
pub fn tls() -> Option<Seen> {
    with(|c| c.tls.clone())
}
