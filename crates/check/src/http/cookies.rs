//! The cookie jar of one attempt: cookie_store's RFC 6265 rules (domain, path, `Secure`,
//! expiry), shared by the attempt's requests and dropped with the attempt.

use std::sync::Mutex;

use cookie_store::{CookieStore, RawCookie};
use reqwest::header::HeaderValue;
use url::Url;

/// One attempt's cookies.
#[derive(Debug, Default)]
pub struct Jar(Mutex<CookieStore>);

impl Jar {
    /// The unexpired cookies the jar holds for `url`'s host (any path), in the order set.
    pub fn held_for(&self, url: &Url) -> Vec<(String, String)> {
        let Ok(store) = self.0.lock() else {
            return Vec::new();
        };
        store
            .iter_unexpired()
            .filter(|c| c.domain.matches(url))
            .map(|c| (c.name().to_string(), c.value().to_string()))
            .collect()
    }
}

impl reqwest::cookie::CookieStore for Jar {
    fn set_cookies(&self, headers: &mut dyn Iterator<Item = &HeaderValue>, url: &Url) {
        let cookies = headers.filter_map(|h| {
            let text = std::str::from_utf8(h.as_bytes()).ok()?;
            RawCookie::parse(text.to_string()).ok()
        });
        if let Ok(mut store) = self.0.lock() {
            store.store_response_cookies(cookies, url);
        }
    }

    fn cookies(&self, url: &Url) -> Option<HeaderValue> {
        let store = self.0.lock().ok()?;
        let pairs: Vec<String> = store
            .get_request_values(url)
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        if pairs.is_empty() {
            return None;
        }
        HeaderValue::from_str(&pairs.join("; ")).ok()
    }
}

/// The cookie provider of a shared client: the [`current`](super::current) request's jar, if
/// it keeps cookies.
#[derive(Debug)]
pub struct CurrentJar;

impl reqwest::cookie::CookieStore for CurrentJar {
    fn set_cookies(&self, headers: &mut dyn Iterator<Item = &HeaderValue>, url: &Url) {
        if let Some(jar) = super::current::with(|c| c.jar.clone()).flatten() {
            jar.set_cookies(headers, url);
        }
    }

    fn cookies(&self, url: &Url) -> Option<HeaderValue> {
        super::current::with(|c| c.jar.as_ref().and_then(|jar| jar.cookies(url))).flatten()
    }
}

/// The cookies a response's `Set-Cookie` headers set (for a canary without a jar).
pub fn set_by(headers: &reqwest::header::HeaderMap) -> Vec<(String, String)> {
    headers
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|h| RawCookie::parse(h.to_str().ok()?.to_string()).ok())
        .map(|c| (c.name().to_string(), c.value().to_string()))
        .collect()
}
