//! The demo service the example canaries in `canaries/` check: a home page, a login page, an
//! account behind a session cookie, and an orders API.

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

/// The account pages: a login form with a CSRF token (in a cookie and the form), a session
/// cookie after signing in with the password `demo`, and a page that needs it.
fn account(req: &Req) -> Option<Reply> {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let cookies = req.header("cookie").unwrap_or("");
    let reply = match (req.method.as_str(), req.path()) {
        ("GET", "/account/login") => {
            let token = format!("csrf-{}", NEXT.fetch_add(1, Ordering::Relaxed));
            let form = format!(
                r#"<form method="post"><input type="hidden" name="csrf" value="{token}"><input name="email"><input name="password" type="password"></form>"#
            );
            Reply::text(200, &form).with_header(
                "Set-Cookie",
                &format!("csrf={token}; Path=/account; HttpOnly"),
            )
        }
        ("POST", "/account/login") => {
            let body = String::from_utf8_lossy(&req.body).into_owned();
            let field = |name: &str| {
                body.split('&')
                    .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
                    .unwrap_or("")
                    .to_string()
            };
            let csrf_ok =
                !field("csrf").is_empty() && cookies.contains(&format!("csrf={}", field("csrf")));
            if csrf_ok && field("password") == "demo" {
                let session = format!("s{}", NEXT.fetch_add(1, Ordering::Relaxed) * 7919);
                Reply::Full {
                    status: 303,
                    headers: vec![
                        ("Location".into(), "/account".into()),
                        (
                            "Set-Cookie".into(),
                            format!("session={session}; Path=/; HttpOnly; Max-Age=3600"),
                        ),
                    ],
                    body: Vec::new(),
                }
            } else {
                Reply::text(403, "wrong password or CSRF token")
            }
        }
        ("GET", "/account") if cookies.contains("session=s") => {
            Reply::json(200, json!({"user": "canary@example.com", "orders": 3}))
        }
        ("GET", "/account") => Reply::json(401, json!({"error": "sign in first"})),
        _ => return None,
    };
    Some(reply)
}

/// Answers a request as the demo service.
pub fn handle(req: &Req) -> Reply {
    static NEXT_ID: AtomicU64 = AtomicU64::new(1000);
    if let Some(reply) = account(req) {
        return reply;
    }
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
