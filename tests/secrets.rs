//! Secrets never show, in any form canary puts them in: a property test draws secrets of
//! awkward characters, uses each in every place a canary can (query, URL, header, Basic auth,
//! JSON and form bodies, a captured token used in a later request's Basic auth), runs `canary test` against a
//! server that echoes everything back, and reads every output — console, JSON, JUnit, HTML, the
//! archive — for the secret raw, percent-encoded (`+` and `%20` for spaces), form-encoded,
//! JSON-escaped, HTML-escaped, or as the base64 of `user:secret`. A `${totp:…}` code signs in
//! to a server that checks it with its own computation, and its seed never shows.

mod support;

use base64::Engine;
use proptest::prelude::*;
use serde_json::json;
use support::server::{Reply, Server};

const CANARY: &str = r#"name: s
steps:
  - name: token
    continue_on_failure: true
    http:
      url: "${U}/token"
      method: POST
      query: { api_key: "${secret:PW}" }
      headers: { X-Key: "${secret:PW}" }
      auth: { basic: { username: u, password: "${secret:PW}" } }
      json: { pw: "${secret:PW}" }
    capture:
      token: { json: $.token, secret: true }
    assert:
      - body: { equals: "nothing" }
  - name: use
    http:
      url: "${U}/echo/${token}?k=${secret:PW}&t=${token}"
      method: POST
      auth: { basic: { username: u, password: "${token}" } }
      form: { pw: "${secret:PW}", t: "${token}" }
    assert:
      - body: { equals: "nothing" }
      - json: { path: $.target, equals: "x" }
      - header: { name: x-echo, equals: "x" }
"#;

/// A server that answers with everything it was sent; `/token` also gives a token made from the
/// `X-Key` header (the secret reversed), which the canary captures as a secret.
fn echo() -> Server {
    Server::http(|req| {
        let headers: Vec<String> = req
            .headers
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        let token: String = req.header("x-key").unwrap_or("").chars().rev().collect();
        let body = json!({
            "target": req.target,
            "headers": headers,
            "body": String::from_utf8_lossy(&req.body),
            "token": format!("t{token}"),
        });
        Reply::json(200, body).with_header("X-Echo", &req.target)
    })
}

/// The forms of `secret` that must never appear, computed here independently of canary's
/// redactor.
fn forms(secret: &str) -> Vec<String> {
    let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let json = serde_json::to_string(secret).unwrap();
    let html = secret
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("u:{secret}"));
    vec![
        secret.to_string(),
        form.replace('+', "%20"),
        form,
        json[1..json.len() - 1].to_string(),
        html,
        basic,
    ]
}

/// Every file under `dir`, with its text.
fn outputs(dir: &std::path::Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(outputs(&p));
        } else if let Ok(text) = std::fs::read_to_string(&p) {
            out.push((p.display().to_string(), text));
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn no_output_holds_a_secret_in_any_form(secret in "[ -)+-~]{8,16}") {
        let distinct: std::collections::HashSet<char> = secret.chars().collect();
        prop_assume!(distinct.len() >= 5 && secret.trim() == secret);
        let server = echo();
        let dir = support::canary_dir(&[("c/s.yaml", CANARY)]);
        let d = dir.path();
        let out = std::process::Command::new(support::binary())
            .args(["test", "c", "--var"])
            .arg(format!("U={}", server.url("")))
            .args(["--json", "out/r.json", "--junit", "out/r.xml", "--html", "out/r.html"])
            .args(["--archive", "out/archive"])
            .env("PW", &secret)
            .current_dir(d)
            .output()
            .unwrap();
        let (stdout, stderr) = support::text(&out);
        prop_assert_eq!(out.status.code(), Some(1), "{}{}", stdout, stderr);
        let got = server.received();
        prop_assert_eq!(got.len(), 2, "both steps ran: {}", stdout);
        let token = format!("t{}", secret.chars().rev().collect::<String>());
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("u:{token}"));
        prop_assert!(
            got[1].header("authorization") == Some(&format!("Basic {basic}")),
            "the captured token was used: {:?}", got[1]
        );
        let mut files = outputs(&d.join("out"));
        prop_assert!(files.len() >= 4, "{files:?}");
        files.push(("stdout".into(), stdout));
        files.push(("stderr".into(), stderr));
        for value in [&secret, &token] {
            for form in forms(value) {
                for (name, text) in &files {
                    prop_assert!(
                        !text.contains(&form),
                        "{name} holds {form:?} (of {value:?}):\n{text}"
                    );
                }
            }
        }
    }
}

/// True when pyotp (in .venv-ci, which scripts/tools fills) says `code` is valid now for the
/// base32 `seed`, or the one before (a step may turn during the request). Outside CI without
/// it, the code is checked against [`totp`].
fn pyotp_accepts(seed: &str, key: &[u8], code: &str) -> bool {
    let python = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-ci/bin/python");
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    if !python.exists() && !ci {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        return code == totp(key, now) || code == totp(key, now - 30);
    }
    let out = std::process::Command::new(python)
        .args([
            "-c",
            "import pyotp, sys; print(pyotp.TOTP(sys.argv[1]).verify(sys.argv[2], valid_window=1))",
            seed,
            code,
        ])
        .output()
        .expect("pyotp in .venv-ci (scripts/tools installs it)");
    assert!(out.status.success(), "pyotp: {:?}", support::text(&out));
    String::from_utf8_lossy(&out.stdout).trim() == "True"
}

/// The RFC 6238 TOTP code of `key` (raw bytes) at `unix`, 6 digits, HMAC-SHA1: written here
/// apart from canary's own, to check it.
fn totp(key: &[u8], unix: u64) -> String {
    use aws_lc_rs::hmac;
    let k = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, key);
    let mac = hmac::sign(&k, &(unix / 30).to_be_bytes());
    let m = mac.as_ref();
    let o = (m[19] & 0xf) as usize;
    let n = u32::from_be_bytes([m[o] & 0x7f, m[o + 1], m[o + 2], m[o + 3]]) % 1_000_000;
    format!("{n:06}")
}

#[test]
fn a_totp_code_signs_in_and_its_seed_never_shows() {
    let key = b"12345678901234567890";
    let seed = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    let srv = Server::http(move |req| {
        let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap_or_default();
        let given = [body["otp"].as_str(), req.header("x-otp")];
        let valid = |c: Option<&str>| c.is_some_and(|c| pyotp_accepts(seed, key, c));
        match given.into_iter().all(valid) {
            true => Reply::text(200, "welcome"),
            false => Reply::text(401, "wrong code"),
        }
    });
    let canary = format!(
        "name: login\nvariables:\n  code: ${{totp:MFA_SEED}}\nhttp:\n  url: '{}'\n  method: POST\n  headers: {{ X-Otp: '${{totp:MFA_SEED}}' }}\n  json: {{ otp: '${{code}}' }}\n  assert: [ {{ status: 200 }} ]\n",
        srv.url("/login")
    );
    let dir = support::canary_dir(&[("c.yaml", &canary)]);
    let out = std::process::Command::new(support::binary())
        .args(["test", "c.yaml", "--json", "report.json"])
        .current_dir(dir.path())
        .env("MFA_SEED", seed)
        .output()
        .unwrap();
    assert!(out.status.success(), "{:?}", support::text(&out));
    let report = std::fs::read_to_string(dir.path().join("report.json")).unwrap();
    assert!(!report.contains(seed), "{report}");
    // A seed that is not base32 is a config error that says what a seed is.
    let bad = std::process::Command::new(support::binary())
        .args(["validate", "c.yaml"])
        .current_dir(dir.path())
        .env("MFA_SEED", "not a seed!")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        support::text(&bad).1.contains("a TOTP seed is base32"),
        "{:?}",
        support::text(&bad)
    );
}
