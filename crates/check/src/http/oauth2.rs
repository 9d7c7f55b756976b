//! OAuth2 client credentials: one token per (token URL, client, scopes), fetched once for all the
//! canaries that need it at the same moment and kept, across runs, until shortly before it
//! expires — or until a request with it gets 401.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use crate::canary::http::{ClientAuth, OAuth2};
use crate::run::{CheckError, ErrorKind};
use canary_model::tls::ClientTls;

/// A token is renewed this long before it expires (or at 90 % of its life, if shorter).
const MARGIN: Duration = Duration::from_secs(30);
/// A token that says nothing of its life is kept this long.
const DEFAULT_LIFE: Duration = Duration::from_secs(300);

/// Tokens by (token URL, client, scopes and parameters).
type Key = (String, String, Vec<String>, Vec<(String, String)>);

/// A kept token and when to stop using it.
struct Kept {
    token: String,
    until: Instant,
}

/// One token endpoint's slot: an async lock, so that one request fetches and the others wait.
type Slot = Arc<tokio::sync::Mutex<Option<Kept>>>;

/// Every token endpoint's slot.
static TOKENS: LazyLock<Mutex<HashMap<Key, Slot>>> = LazyLock::new(Default::default);

fn slot(o: &OAuth2) -> Slot {
    let key = (
        o.token_url.to_string(),
        o.client_id.clone(),
        o.scopes.clone(),
        o.params.clone(),
    );
    let mut all = TOKENS.lock().unwrap_or_else(|e| e.into_inner());
    all.entry(key).or_default().clone()
}

/// A token for `o`, and how long getting it took — fetching it, or waiting for another canary
/// that was (None: it was kept from before, at once).
pub async fn token(
    o: &OAuth2,
    tls: &ClientTls,
    deadline: Instant,
) -> Result<(String, Option<Duration>), CheckError> {
    let asked = Instant::now();
    let slot = slot(o);
    let url = &o.token_url;
    let late = || auth_error(format!("the token endpoint {url} did not answer in time"));
    // Waiting for another canary's request counts against this step's own time too.
    let mut kept = tokio::time::timeout_at(deadline.into(), slot.lock())
        .await
        .map_err(|_| late())?;
    if let Some(k) = kept.as_ref().filter(|k| Instant::now() < k.until) {
        let waited = asked.elapsed();
        let waited = (waited > Duration::from_millis(1)).then_some(waited);
        return Ok((k.token.clone(), waited));
    }
    let started = Instant::now();
    let fetched = tokio::time::timeout_at(deadline.into(), fetch(o, tls)).await;
    let (token, life) = fetched.map_err(|_| late())??;
    let keep = life.saturating_sub(MARGIN.min(life / 10));
    *kept = Some(Kept {
        token: token.clone(),
        until: started + keep,
    });
    Ok((token, Some(started.elapsed())))
}

/// Forgets `token` (a request with it got 401), unless another was fetched meanwhile.
pub async fn forget(o: &OAuth2, token: &str) {
    let slot = slot(o);
    let mut kept = slot.lock().await;
    if kept.as_ref().is_some_and(|k| k.token == token) {
        *kept = None;
    }
}

fn auth_error(message: String) -> CheckError {
    CheckError::new(ErrorKind::Auth, message)
}

/// Asks the token endpoint; the token and how long it lives.
async fn fetch(o: &OAuth2, tls: &ClientTls) -> Result<(String, Duration), CheckError> {
    let (config, _) = tls.connection(&[b"http/1.1"]);
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .no_proxy()
        .user_agent(concat!("canary/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| auth_error(format!("could not build the token client: {e}")))?;
    let mut form: Vec<(&str, &str)> = vec![("grant_type", "client_credentials")];
    let scope = o.scopes.join(" ");
    if !scope.is_empty() {
        form.push(("scope", &scope));
    }
    form.extend(o.params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let mut req = client.post(o.token_url.clone());
    req = match o.client_auth {
        ClientAuth::Basic => req.basic_auth(&o.client_id, Some(&o.client_secret)),
        ClientAuth::Body => {
            form.push(("client_id", &o.client_id));
            form.push(("client_secret", &o.client_secret));
            req
        }
    };
    let url = &o.token_url;
    let resp = req
        .form(&form)
        .send()
        .await
        .map_err(|e| auth_error(format!("the token endpoint {url}: {e}")))?;
    let status = resp.status();
    let body = resp.bytes().await.unwrap_or_default();
    // RFC 6749 §5.1 (a token) and §5.2 (an error).
    let answer: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let text = |k: &str| answer[k].as_str().map(str::to_string);
    if let (true, Some(token)) = (status.is_success(), text("access_token")) {
        let life = answer["expires_in"].as_f64();
        let life = life.map_or(DEFAULT_LIFE, |s| Duration::from_secs_f64(s.max(0.0)));
        return Ok((token, life));
    }
    Err(auth_error(match text("error") {
        Some(error) => {
            let more = text("error_description")
                .map(|d| format!(": {d}"))
                .unwrap_or_default();
            format!("the token endpoint {url} refused: {error}{more} ({status})")
        }
        None => format!("the token endpoint {url} answered {status} without an access_token"),
    }))
}
