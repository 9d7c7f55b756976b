//! `canary import recorder`: a Chrome DevTools Recorder JSON export (written here step by step as
//! the published format — puppeteer/replay's `UserFlow` schema, with the selector lists Chrome
//! records: ARIA, CSS, XPath, pierce, text — gives it) becomes a browser canary that loads and
//! passes in real Chromium against the same pages; what has no equivalent is a comment and a
//! warning, the typed password a `${secret:…}` reference.

mod support;

use std::process::Command;

use serde_json::json;
use support::server::{Reply, Req, Server};

const LOGIN: &str = r#"<!doctype html><html><head><title>Shop login</title></head><body>
<form id="f"><label>Email <input id="email"></label><label>Password <input id="password" type="password"></label>
<select id="plan"><option value="a">Alpha</option><option value="b">Beta</option></select>
<label><input id="tos" type="checkbox">I agree</label><p id="hint">Double-click for help</p>
<button type="submit">Sign in</button></form>
<script>
document.getElementById('f').addEventListener('submit', e => { e.preventDefault();
  const ok = document.getElementById('email').value === 'demo@example.com'
    && document.getElementById('password').value === 'hunter2'
    && document.getElementById('plan').value === 'b' && document.getElementById('tos').checked;
  if (ok) setTimeout(() => location.href = '/dashboard', 200); });
</script></body></html>"#;

const DASHBOARD: &str = r#"<!doctype html><html><head><title>Dashboard</title></head><body>
<h1 data-user="demo">Welcome</h1><p id="spinner">loading…</p><ul id="orders"></ul>
<div style="height: 3000px"></div>
<script>
setTimeout(() => { document.getElementById('spinner').remove();
  for (const n of ['#1', '#2', '#3']) { const li = document.createElement('li'); li.className = 'order';
    li.textContent = n; document.getElementById('orders').append(li); }
  window.ready = true; }, 300);
</script></body></html>"#;

fn site() -> Server {
    Server::http(|r: &Req| {
        let html = |body: &str| Reply::Full {
            status: 200,
            headers: vec![("Content-Type".into(), "text/html".into())],
            body: body.as_bytes().to_vec(),
        };
        match r.path() {
            "/login" => html(LOGIN),
            "/dashboard" => html(DASHBOARD),
            _ => Reply::text(404, "no"),
        }
    })
}

/// A selector list as Chrome's Recorder writes it for an element with this id (and ARIA name).
fn by_id(id: &str, aria: &str) -> serde_json::Value {
    json!([
        [format!("aria/{aria}")],
        [format!("#{id}")],
        [format!("xpath///*[@id=\"{id}\"]")],
        [format!("pierce/#{id}")]
    ])
}

fn recording(base: &str) -> serde_json::Value {
    json!({
        "title": "Shop login",
        "steps": [
            { "type": "setViewport", "width": 1024, "height": 700, "deviceScaleFactor": 1, "isMobile": false, "hasTouch": false, "isLandscape": false },
            { "type": "navigate", "url": format!("{base}/login"), "assertedEvents": [{ "type": "navigation", "url": format!("{base}/login"), "title": "Shop login" }] },
            { "type": "click", "target": "main", "selectors": by_id("email", "Email"), "offsetY": 9, "offsetX": 63 },
            { "type": "change", "value": "demo@example.com", "selectors": by_id("email", "Email"), "target": "main" },
            { "type": "keyDown", "target": "main", "key": "Tab" },
            { "type": "keyUp", "target": "main", "key": "Tab" },
            { "type": "change", "value": "hunter2", "selectors": by_id("password", "Password"), "target": "main" },
            { "type": "change", "value": "b", "selectors": by_id("plan", "Plan"), "target": "main" },
            { "type": "click", "target": "main", "selectors": [["aria/I agree"], ["xpath///*[@id=\"tos\"]"]], "offsetY": 5, "offsetX": 5 },
            { "type": "doubleClick", "target": "main", "selectors": by_id("hint", "Double-click for help"), "offsetY": 5, "offsetX": 5 },
            { "type": "keyDown", "target": "main", "key": "Shift" },
            { "type": "keyUp", "target": "main", "key": "Shift" },
            { "type": "click", "target": "main", "selectors": [["aria/Sign in"], ["text/Sign in"]], "offsetY": 8, "offsetX": 30,
              "assertedEvents": [{ "type": "navigation", "url": format!("{base}/dashboard"), "title": "Dashboard" }] },
            { "type": "waitForElement", "selectors": [["#spinner"]], "count": 0 },
            { "type": "waitForElement", "selectors": [["li.order"]], "operator": ">=", "count": 3 },
            { "type": "waitForElement", "selectors": [["h1"]], "attributes": { "data-user": "demo" } },
            { "type": "waitForExpression", "expression": "window.ready === true", "timeout": 5000 },
            { "type": "scroll", "target": "main", "x": 0, "y": 400 },
            { "type": "customStep", "name": "lighthouse", "parameters": {}, "target": "main" },
            { "type": "click", "target": "main", "frame": [0], "selectors": [["#in-frame"]], "offsetY": 1, "offsetX": 1 }
        ]
    })
}

#[test]
fn a_recording_becomes_a_browser_canary_that_passes_against_the_same_pages() {
    let srv = site();
    let base = format!("http://{}", srv.addr);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("shop.json"), recording(&base).to_string()).unwrap();
    let out = support::canary(
        dir.path(),
        &["import", "recorder", "shop.json", "-o", "shop.yaml"],
    );
    let (_, stderr) = support::text(&out);
    assert!(out.status.success(), "{stderr}");
    let yaml = std::fs::read_to_string(dir.path().join("shop.yaml")).unwrap();
    let schema = support::schema_check(
        &support::schema("canary.schema.json"),
        &[dir.path().join("shop.yaml")],
    );
    assert!(schema.status.success(), "{:?}", support::text(&schema));
    for line in [
        "name: shop-login",
        "viewport: 1024x700",
        "- fill: { selector: \"#password\", value: \"${secret:PASSWORD}\" }",
        "- fill: { selector: \"#plan\", value: b }",
        "- click: \"xpath=//*[@id=\\\"tos\\\"]\"",
        "- click: \"text=Sign in\"",
        "- wait_for: { selector: \"#spinner\", state: gone }",
        "- assert: { selector: li.order, count: { gte: 3 } }",
        "- assert: { selector: h1, attribute: data-user, equals: demo }",
        "- wait_for: { eval: \"window.ready === true\", timeout: 5s }",
        "- assert: { title_equals: Dashboard }",
    ] {
        assert!(yaml.contains(line), "missing {line:?} in:\n{yaml}");
    }
    assert!(!yaml.contains("hunter2"), "{yaml}");
    for left_out in [
        "step 10 (doubleClick)",
        "step 11 (keyDown): left out: the key `Shift`",
        "step 19 (customStep)",
        "step 20 (click): left out: it acts inside a frame",
        "step 7 (change): the typed value is read from the PASSWORD secret",
    ] {
        assert!(
            stderr.contains(left_out),
            "no warning {left_out:?}:\n{stderr}"
        );
    }
    assert_eq!(
        yaml.matches("# NOTE:").count(),
        stderr.lines().filter(|l| l.starts_with("warning:")).count(),
        "each warning is a comment in the file too:\n{yaml}\n{stderr}"
    );

    if !support::browser_available() {
        return;
    }
    let run = |password: Option<&str>| {
        let mut cmd = Command::new(support::binary());
        cmd.args(["test", "shop.yaml"])
            .current_dir(dir.path())
            .env_remove("PASSWORD");
        if let Some(p) = password {
            cmd.env("PASSWORD", p);
        }
        cmd.output().unwrap()
    };
    assert_eq!(run(None).status.code(), Some(2), "the secret must be given");
    let passed = run(Some("hunter2"));
    assert!(
        passed.status.success(),
        "{yaml}\n{:?}",
        support::text(&passed)
    );
    let wrong = run(Some("wrong"));
    assert_eq!(
        wrong.status.code(),
        Some(1),
        "a wrong password never reaches the dashboard: {:?}",
        support::text(&wrong)
    );
}
