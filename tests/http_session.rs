//! Sessions: a login form with a CSRF token and a session cookie, cookie rules (path, Secure,
//! expiry), no cookie carried to another attempt or canary (run one after another or all at
//! once), `cookies: false`, secret cookies, and the `cookie` assertion and capture; OAuth2
//! client credentials: one token for canaries that start together, renewed on 401, a refused
//! client as an `auth` error, and the secret and token never shown.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use canary::config::{self, LoadOptions};
use canary::run::{Outcome, Run};
use support::certs::Ca;
use support::server::{Reply, Req, Server};

/// Loads every canary in `files` with `${U}` = `base` and runs them one after the other.
async fn run_all(files: &[(&str, &str)], base: &str) -> Vec<Run> {
    let dir = support::canary_dir(files);
    let opts = LoadOptions {
        vars: HashMap::from([("U".to_string(), base.to_string())]),
        ..Default::default()
    };
    let canaries = config::load(&[dir.path().into()], &opts).unwrap_or_else(|e| panic!("{e}"));
    let mut runs = Vec::new();
    for c in &canaries {
        runs.push(canary::runner::run_canary(c, &Default::default()).await);
    }
    runs
}

fn cookie_of(req: &Req) -> String {
    req.header("cookie").unwrap_or("").to_string()
}

/// A small application: a login form with a CSRF token, a session cookie, a protected page.
fn app(req: &Req) -> Reply {
    let cookies = cookie_of(req);
    match (req.method.as_str(), req.path()) {
        ("GET", "/login") => Reply::Full {
            status: 200,
            headers: vec![
                ("Content-Type".into(), "text/html".into()),
                ("Set-Cookie".into(), "pre=1; Path=/".into()),
            ],
            body: br#"<form method=post><input type=hidden name=csrf value="tok-4711"></form>"#
                .to_vec(),
        },
        ("POST", "/login") => {
            let body = String::from_utf8_lossy(&req.body);
            if body.contains("csrf=tok-4711")
                && body.contains("user=alice")
                && cookies.contains("pre=1")
            {
                Reply::redirect("/app")
                    .with_header("Set-Cookie", "session=S3CR3T-77; Path=/; HttpOnly")
                    .with_header("Set-Cookie", "admin=yes; Path=/admin")
                    .with_header("Set-Cookie", "tls-only=1; Path=/; Secure")
                    .with_header(
                        "Set-Cookie",
                        "old=1; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
                    )
            } else {
                Reply::text(403, "bad login")
            }
        }
        ("GET", "/app") if cookies.contains("session=S3CR3T-77") => {
            Reply::text(200, &format!("welcome alice; you sent: {cookies}"))
        }
        ("GET", "/app") => Reply::text(401, "log in first"),
        ("GET", "/logout") => {
            Reply::text(200, "bye").with_header("Set-Cookie", "session=; Path=/; Max-Age=0")
        }
        _ => Reply::text(404, "no"),
    }
}

const LOGIN: &str = r#"name: login
steps:
  - name: form
    http: { url: "${U}/login" }
    assert:
      - status: 200
      - cookie: { name: pre, equals: "1" }
    capture:
      csrf: { regex: 'name=csrf value="([^"]+)"' }
  - name: submit
    http:
      method: POST
      url: "${U}/login"
      form: { user: alice, csrf: "${csrf}" }
    assert:
      - status: 200
      - cookie: { name: session, exists: true }
      - cookie: { name: session, matches: "^S3CR3T" }
      - cookie: { name: old, exists: false }
    capture:
      sid: { cookie: session }
  - name: app
    http: { url: "${U}/app" }
    assert:
      - status: 200
      - body: { contains: "welcome alice" }
      - body: { not_contains: "admin=yes" }
  - name: logout
    http: { url: "${U}/logout" }
    assert:
      - cookie: { name: session, exists: false }
"#;

#[tokio::test]
async fn a_login_flow_keeps_its_session_across_steps() {
    let srv = Server::http(app);
    let runs = run_all(&[("login.yaml", LOGIN)], &srv.url("")).await;
    let r = &runs[0];
    assert_eq!(r.outcome(), Outcome::Passed, "{:#?}", r.last());
    let submit = &r.last().steps[1];
    assert_eq!(submit.redirects, 1, "the login answer redirects to /app");
    let sid = submit
        .assertions
        .iter()
        .find(|a| a.subject == "capture sid")
        .unwrap();
    assert_eq!(sid.actual, "S3CR3T-77");
    // Path, Secure (over plain HTTP) and expiry rules, as a browser applies them.
    let app_req = srv
        .received()
        .into_iter()
        .find(|r| r.path() == "/app")
        .unwrap();
    let sent = cookie_of(&app_req);
    assert!(
        sent.contains("session=S3CR3T-77") && sent.contains("pre=1"),
        "{sent}"
    );
    assert!(!sent.contains("admin") && !sent.contains("old"), "{sent}");
    // Loopback counts as a secure origin, as in browsers: the Secure cookie goes to 127.0.0.1.
    assert!(sent.contains("tls-only=1"), "{sent}");
}

#[tokio::test]
async fn no_cookie_reaches_another_attempt_or_canary() {
    let srv = Server::http(|req| match req.path() {
        "/set" => Reply::text(200, "set").with_header("Set-Cookie", "visit=1; Path=/"),
        "/fail" => Reply::text(500, "no"),
        _ => Reply::text(200, "ok"),
    });
    let retried = r#"name: a-retried
retries: 1
steps:
  - { name: first, http: { url: "${U}/first" } }
  - { name: set, http: { url: "${U}/set" } }
  - { name: fail, http: { url: "${U}/fail", assert: [ { status: 200 } ] } }
"#;
    let other = r#"name: b-other
steps:
  - { name: first, http: { url: "${U}/first" } }
"#;
    let off = r#"name: c-off
cookies: false
steps:
  - { name: set, http: { url: "${U}/set" } }
  - { name: after, http: { url: "${U}/after", assert: [ { cookie: { name: visit, equals: "1" } } ] } }
"#;
    let runs = run_all(
        &[("a.yaml", retried), ("b.yaml", other), ("c.yaml", off)],
        &srv.url(""),
    )
    .await;
    assert_eq!(runs[0].attempts.len(), 2);
    let reqs = srv.received();
    let firsts: Vec<String> = reqs
        .iter()
        .filter(|r| r.path() == "/first")
        .map(cookie_of)
        .collect();
    assert_eq!(
        firsts,
        ["", "", ""],
        "attempt 1, attempt 2 and the other canary start empty"
    );
    let fails: Vec<String> = reqs
        .iter()
        .filter(|r| r.path() == "/fail")
        .map(cookie_of)
        .collect();
    assert_eq!(
        fails,
        ["visit=1", "visit=1"],
        "within an attempt the cookie is sent"
    );
    let after = reqs.iter().find(|r| r.path() == "/after").unwrap();
    assert_eq!(cookie_of(after), "", "cookies: false sends none");
    // Without a jar, the cookie assertion reads the step's own Set-Cookie: none here.
    assert_eq!(runs[2].outcome(), Outcome::Failed);
}

#[tokio::test]
async fn secret_cookies_never_show() {
    let srv = Server::http(|req| match req.path() {
        "/login" => Reply::text(200, "in").with_header("Set-Cookie", "session=TOPSECRET-1; Path=/"),
        _ => Reply::text(200, &format!("echo: {}", cookie_of(req))),
    });
    let yaml = r#"name: secret
steps:
  - name: login
    secret: true
    http: { url: "${U}/login" }
    assert: [ { cookie: { name: session, equals: nope } } ]
    continue_on_failure: true
  - name: echo
    http: { url: "${U}/echo", assert: [ { body: { equals: nope } }, { header: { name: x, exists: true } } ] }
"#;
    let runs = run_all(&[("s.yaml", yaml)], &srv.url("")).await;
    let text = format!("{:?}", runs[0]);
    assert!(!text.contains("TOPSECRET-1"), "{text}");
    assert!(text.contains("echo: session=***"), "{text}");
    let report = canary::report::json::render(&runs);
    assert!(!report.contains("TOPSECRET-1"));
}

/// Canaries run at once share HTTP clients; each run must still see only its own cookies,
/// redirects, phases and certificate.
#[tokio::test]
async fn runs_at_once_keep_their_own_cookies_redirects_timings_and_certificates() {
    let (canaries, _keep) = mixed_canaries();
    let runs = canary::runner::run_all(&canaries, 32, &Default::default(), |_| {}).await;
    each_kept_its_own(&runs);
}

/// The same, run on two threads with a runtime each (as `canary test` runs them).
#[test]
fn runs_at_once_on_threads_keep_their_own_cookies_redirects_timings_and_certificates() {
    let (canaries, _keep) = mixed_canaries();
    let runs = canary::runner::run_all_on_threads(&canaries, 32, 2, &Default::default(), |_| {});
    each_kept_its_own(&runs.unwrap());
}

/// What must live while the canaries run: their folder and the servers.
type Keep = (tempfile::TempDir, [Server; 3]);

/// How long each test server waits before it answers.
const WAIT: Duration = Duration::from_millis(20);

/// 24 plain canaries (a cookie, redirects, the cookie back) and 8 TLS ones whose certificates
/// expire soon or late; with the servers they talk to.
fn mixed_canaries() -> (Vec<std::sync::Arc<canary::canary::Canary>>, Keep) {
    let wait = WAIT;
    let srv = Server::http(move |req| {
        let parts: Vec<&str> = req.path().split('/').collect();
        let reply = match parts[..] {
            ["", "set", who] => {
                Reply::text(200, "set").with_header("Set-Cookie", &format!("who={who}; Path=/"))
            }
            ["", "hop", who, "0"] => Reply::text(200, who),
            ["", "hop", who, n] => {
                let left: u32 = n.parse().unwrap();
                Reply::redirect(&format!("/hop/{who}/{}", left - 1))
            }
            _ => Reply::text(200, &cookie_of(req)),
        };
        Reply::Delayed(wait, Box::new(reply))
    });
    let ca = Ca::new();
    let soon = Server::https(ca.leaf(-1, 20), move |_| {
        Reply::Delayed(wait, Box::new(Reply::text(200, "soon")))
    });
    let late = Server::https(ca.leaf(-1, 200), move |_| {
        Reply::Delayed(wait, Box::new(Reply::text(200, "late")))
    });
    let mut files = Vec::new();
    for i in 0..24 {
        let yaml = format!(
            r#"name: plain-{i:02}
steps:
  - {{ name: set, http: {{ url: "{u}/set/{i}" }} }}
  - {{ name: hop, http: {{ url: "{u}/hop/{i}/{hops}", assert: [ {{ body: {{ equals: "{i}" }} }} ] }} }}
  - {{ name: check, http: {{ url: "{u}/check", assert: [ {{ body: {{ equals: "who={i}" }} }} ] }} }}
"#,
            u = srv.url(""),
            hops = i % 5,
        );
        files.push((format!("plain-{i:02}.yaml"), yaml));
    }
    for i in 0..8 {
        let (srv, days) = if i % 2 == 0 {
            (&soon, "lt: 30d")
        } else {
            (&late, "gt: 100d")
        };
        let yaml = format!(
            "name: tls-{i}\nhttp:\n  url: {}/\n  tls: {{ insecure: true }}\n  assert:\n    - tls: {{ expires_in: {{ {days} }} }}\n",
            srv.url("")
        );
        files.push((format!("tls-{i}.yaml"), yaml));
    }
    let dir = support::canary_dir_owned(&files);
    let canaries = config::load(&[dir.path().into()], &LoadOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let canaries: Vec<_> = canaries.into_iter().map(std::sync::Arc::new).collect();
    (canaries, (dir, [srv, soon, late]))
}

/// Each run saw only its own cookie, redirects and certificate, and its phases add up.
fn each_kept_its_own(runs: &[Run]) {
    let wait = WAIT;
    for r in runs {
        assert_eq!(
            r.outcome(),
            Outcome::Passed,
            "{}: {:#?}",
            r.canary,
            r.last()
        );
        let steps = &r.last().steps;
        let phases: Vec<_> = steps.iter().map(|s| s.phases.unwrap()).collect();
        if r.canary.starts_with("plain-") {
            let i: u32 = r.canary[6..].parse().unwrap();
            assert_eq!(steps[1].redirects, i % 5, "{}", r.canary);
            assert!(steps.iter().all(|s| s.tls.is_none()), "{}", r.canary);
            assert!(
                phases.iter().all(|p| p.tls.is_zero()),
                "{}: {phases:?}",
                r.canary
            );
        } else {
            assert!(phases[0].tls > Duration::ZERO, "{}: {phases:?}", r.canary);
            assert_eq!(steps[0].redirects, 0);
        }
        for p in &phases {
            let sum = p.resolve + p.connect + p.tls + p.processing + p.transfer;
            assert_eq!(sum, p.total, "{}", r.canary);
            assert!(
                p.processing >= wait,
                "{}: the server's wait is processing: {p:?}",
                r.canary
            );
        }
    }
}

/// A token endpoint on loopback for client `app`/`s3cret`: issues `tok-1`, `tok-2`, … and says
/// `invalid_client` to anyone else; and an API that takes only the newest token, and after its
/// first answer (when `revoke` is set) no longer takes the token it answered.
struct SignIn {
    tokens: Server,
    api: Server,
    issued: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

fn sign_in(revoke: bool) -> SignIn {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let issued = Arc::new(AtomicUsize::new(0));
    let n = issued.clone();
    let tokens = Server::http(move |req: &Req| {
        use base64::Engine;
        let basic = base64::engine::general_purpose::STANDARD.encode("app:s3cret");
        let form = String::from_utf8_lossy(&req.body).to_string();
        let ok = req.header("authorization") == Some(&format!("Basic {basic}"))
            && form.contains("grant_type=client_credentials")
            && form.contains("scope=orders.read+orders.write")
            && form.contains("audience=https%3A%2F%2Fapi");
        if !ok {
            let e = serde_json::json!({ "error": "invalid_client", "error_description": "unknown client" });
            return Reply::json(401, e);
        }
        // Slow enough that canaries starting together all wait for this one answer.
        std::thread::sleep(Duration::from_millis(300));
        let t = n.fetch_add(1, Ordering::SeqCst) + 1;
        Reply::json(
            200,
            serde_json::json!({ "access_token": format!("tok-{t}"), "token_type": "Bearer", "expires_in": 3600 }),
        )
    });
    let newest = issued.clone();
    let revoked = Arc::new(AtomicBool::new(false));
    let api = Server::http(move |req: &Req| {
        let want = format!("Bearer tok-{}", newest.load(Ordering::SeqCst));
        if req.header("authorization") != Some(want.as_str())
            || revoked.load(Ordering::SeqCst) && want.ends_with("-1")
        {
            return Reply::text(401, "no");
        }
        if revoke {
            revoked.store(true, Ordering::SeqCst);
        }
        Reply::text(200, "orders")
    });
    SignIn {
        tokens,
        api,
        issued,
    }
}

fn oauth_canary(name: &str, s: &SignIn, secret: &str, steps: usize) -> String {
    let step = |i: usize| {
        format!(
            "  - name: s{i}\n    http:\n      url: '{}'\n      auth:\n        oauth2: {{ token_url: '{}', client_id: app, client_secret: '{secret}', scopes: [orders.read, orders.write], audience: 'https://api' }}\n      assert: [ {{ status: 200 }} ]\n",
            s.api.url("/orders"),
            s.tokens.url("/token")
        )
    };
    let steps: String = (1..=steps).map(step).collect();
    format!("name: {name}\nsteps:\n{steps}")
}

#[test]
fn oauth2_fetches_one_token_for_everyone_and_renews_it_on_401() {
    let s = sign_in(false);
    let dir = support::canary_dir(&[
        ("a.yaml", &oauth_canary("a", &s, "s3cret", 1)),
        ("b.yaml", &oauth_canary("b", &s, "s3cret", 1)),
        ("c.yaml", &oauth_canary("c", &s, "s3cret", 2)),
    ]);
    let out = support::canary(dir.path(), &["test", ".", "--json", "report.json"]);
    assert!(out.status.success(), "{:?}", support::text(&out));
    assert_eq!(
        s.issued.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one token for all"
    );
    let report = std::fs::read_to_string(dir.path().join("report.json")).unwrap();
    assert!(
        !report.contains("tok-1") && !report.contains("s3cret"),
        "{report}"
    );
    let json: serde_json::Value = serde_json::from_str(&report).unwrap();
    let fetched: Vec<f64> = json["canaries"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["steps"].as_array().unwrap().clone())
        .filter_map(|s| s["auth_ms"].as_f64())
        .collect();
    // The step that fetched it, and those that waited for it, say how long.
    assert!(fetched.iter().any(|ms| *ms >= 300.0), "{report}");
    let durations: Vec<f64> = json["canaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["steps"][0]["duration_ms"].as_f64().unwrap())
        .collect();
    assert!(
        durations.iter().all(|d| *d < 300.0),
        "the token's time is not the check's: {durations:?}"
    );

    // A token the API stops taking is renewed once, and the request sent again.
    let s = sign_in(true);
    let dir = support::canary_dir(&[("c.yaml", &oauth_canary("c", &s, "s3cret", 2))]);
    let out = support::canary(dir.path(), &["test", "."]);
    assert!(out.status.success(), "{:?}", support::text(&out));
    assert_eq!(s.issued.load(std::sync::atomic::Ordering::SeqCst), 2);

    // A refused client: errored, error_kind auth, the endpoint's own error.
    let dir = support::canary_dir(&[("c.yaml", &oauth_canary("c", &s, "wrong", 1))]);
    let out = support::canary(dir.path(), &["test", ".", "--json", "-"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let step = &json["canaries"][0]["steps"][0];
    assert_eq!(step["outcome"], "errored");
    assert_eq!(step["error"]["kind"], "auth", "{step}");
    let message = step["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("invalid_client: unknown client"),
        "{message}"
    );
    assert!(
        !out.stdout.windows(5).any(|w| w == b"wrong"),
        "the secret never shows"
    );

    // Plain HTTP to a token endpoint off loopback is refused before anything runs.
    let far = "name: far\nhttp:\n  url: 'http://127.0.0.1:9/'\n  auth: { oauth2: { token_url: 'http://auth.example.com/token', client_id: a, client_secret: b } }\n";
    let dir = support::canary_dir(&[("far.yaml", far)]);
    let out = support::canary(dir.path(), &["validate", "."]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        support::text(&out)
            .1
            .contains("a token endpoint is https://"),
        "{:?}",
        support::text(&out)
    );
}
