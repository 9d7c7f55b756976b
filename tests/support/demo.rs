//! The demo service the example canaries in `canaries/` check: a home page and an orders API.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::json;

use super::server::{Reply, Req};

/// The token the demo API accepts.
pub const TOKEN: &str = "demo-token";

/// A login form; signing in with any e-mail and the password `demo` shows the dashboard.
const LOGIN_PAGE: &str = r##"<!doctype html><html><head><title>Demo shop — sign in</title></head><body>
<form id="login"><input id="email" type="email" placeholder="e-mail"><input id="password" type="password">
<button type="submit">Sign in</button></form><p id="error" hidden>Wrong password</p>
<main class="dashboard" hidden><h1>Welcome back</h1></main>
<script>
document.getElementById('login').addEventListener('submit', e => {
  e.preventDefault();
  const ok = document.getElementById('password').value === 'demo';
  setTimeout(() => {
    document.getElementById('error').hidden = ok;
    if (ok) { document.querySelector('.dashboard').hidden = false; document.getElementById('login').hidden = true; history.pushState({}, '', '/dashboard'); }
  }, 200);
});
</script></body></html>"##;

/// Answers a request as the demo service.
pub fn handle(req: &Req) -> Reply {
    static NEXT_ID: AtomicU64 = AtomicU64::new(1000);
    let authorized = req.header("authorization") == Some(&format!("Bearer {TOKEN}"));
    match (req.method.as_str(), req.path()) {
        ("GET", "/login") => Reply::Full {
            status: 200,
            headers: vec![("Content-Type".into(), "text/html; charset=utf-8".into())],
            body: LOGIN_PAGE.as_bytes().to_vec(),
        },
        ("GET" | "HEAD", "/") => Reply::Full {
            status: 200,
            headers: vec![("Content-Type".into(), "text/html; charset=utf-8".into())],
            body: b"<!doctype html><html><head><title>Demo shop</title></head><body>Hello</body></html>".to_vec(),
        },
        (_, p) if p.starts_with("/api/") && !authorized => Reply::json(401, json!({"error": "unauthorized"})),
        ("POST", "/api/orders") => {
            let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
            Reply::json(201, json!({"id": id, "status": "created"}))
        }
        ("GET", p) if p.starts_with("/api/orders/") => {
            let id: u64 = p.trim_start_matches("/api/orders/").parse().unwrap_or(0);
            Reply::json(200, json!({"id": id, "qty": 1, "items": [{"sku": "canary-1"}]}))
        }
        _ => Reply::text(404, "not found"),
    }
}
