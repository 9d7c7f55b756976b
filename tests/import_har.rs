//! `canary import har`: a HAR 1.2 file (written here field by field as the published format —
//! log.version, creator, entries with request, response, timings — gives it, as Chromium's
//! developer tools export it) becomes a multi-step canary that loads and passes against the same
//! server, with credential headers as `${secret:…}` references.

mod support;

use std::process::Command;

use serde_json::json;
use support::server::{Reply, Req, Server};

fn entry(
    method: &str,
    url: &str,
    headers: serde_json::Value,
    body: Option<&str>,
    status: u16,
) -> serde_json::Value {
    let mut request = json!({
        "method": method, "url": url, "httpVersion": "HTTP/1.1", "cookies": [],
        "headers": headers, "queryString": [], "headersSize": -1, "bodySize": body.map_or(0, str::len)
    });
    if let Some(text) = body {
        request["postData"] = json!({ "mimeType": "application/json", "text": text });
    }
    json!({
        "startedDateTime": "2026-11-25T10:00:00.000Z", "time": 12.5, "request": request,
        "response": {
            "status": status, "statusText": "", "httpVersion": "HTTP/1.1", "cookies": [], "headers": [],
            "content": { "size": 2, "mimeType": "application/json" }, "redirectURL": "",
            "headersSize": -1, "bodySize": 2
        },
        "cache": {}, "timings": { "send": 0.1, "wait": 12.0, "receive": 0.4 }
    })
}

#[test]
fn a_har_file_becomes_steps_that_pass_against_the_recorded_host() {
    let srv = Server::http(|r: &Req| {
        let authorised = r.header("authorization") == Some("Bearer t-1");
        match (r.method.as_str(), r.path()) {
            ("POST", "/api/login") if r.body == br#"{"user":"demo"}"# => {
                Reply::json(200, json!({"ok": true}))
            }
            ("GET", "/api/orders") if authorised => Reply::json(200, json!([])),
            _ => Reply::text(400, "unexpected"),
        }
    });
    let base = format!("http://{}", srv.addr);
    let auth = json!([{ "name": "Authorization", "value": "Bearer t-1" }, { "name": "Accept", "value": "application/json" }, { "name": ":authority", "value": "x" }, { "name": "Host", "value": "x" }]);
    let har = json!({ "log": {
        "version": "1.2",
        "creator": { "name": "WebInspector", "version": "537.36" },
        "pages": [],
        "entries": [
            entry("POST", &format!("{base}/api/login"), json!([{ "name": "Content-Type", "value": "application/json" }]), Some(r#"{"user":"demo"}"#), 200),
            entry("GET", "https://cdn.example.com/app.js", json!([]), None, 200),
            entry("GET", &format!("{base}/api/orders"), auth, None, 200),
        ]
    }});
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("shop.har"), har.to_string()).unwrap();
    let host = srv.addr.to_string();
    let out = support::canary(
        dir.path(),
        &[
            "import",
            "har",
            "shop.har",
            "--host",
            &host,
            "-o",
            "shop.yaml",
        ],
    );
    let (_, stderr) = support::text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("AUTHORIZATION"), "{stderr}");
    let yaml = std::fs::read_to_string(dir.path().join("shop.yaml")).unwrap();
    let schema = support::schema_check(
        &support::schema("canary.schema.json"),
        &[dir.path().join("shop.yaml")],
    );
    assert!(schema.status.success(), "{:?}", support::text(&schema));
    assert!(
        !yaml.contains("t-1") && !yaml.contains("cdn.example.com/app.js"),
        "{yaml}"
    );
    assert!(yaml.contains("1 request to other hosts left out"), "{yaml}");

    let run = |token: Option<&str>| {
        let mut cmd = Command::new(support::binary());
        cmd.args(["test", "shop.yaml"])
            .current_dir(dir.path())
            .env_remove("AUTHORIZATION");
        if let Some(t) = token {
            cmd.env("AUTHORIZATION", t);
        }
        cmd.output().unwrap()
    };
    assert_eq!(run(None).status.code(), Some(2), "the secret must be given");
    let passed = run(Some("Bearer t-1"));
    assert!(
        passed.status.success(),
        "{yaml}\n{:?}",
        support::text(&passed)
    );
    let paths: Vec<String> = srv
        .requests
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.path().to_string())
        .collect();
    assert_eq!(paths, ["/api/login", "/api/orders"]);
}

#[test]
fn a_form_recorded_as_params_keeps_its_body_and_a_multipart_one_is_noted() {
    let srv = Server::http(|r: &Req| {
        let body = String::from_utf8_lossy(&r.body).into_owned();
        let form = r.header("content-type") == Some("application/x-www-form-urlencoded");
        let ok = match r.path() {
            "/login" => form && body == "password=s%26cret&user=ann+b",
            "/tags" => form && body == "t=a&t=b",
            _ => false,
        };
        Reply::text(if ok { 200 } else { 400 }, &body)
    });
    let form = |url: String, params: serde_json::Value| {
        let mut e = entry(
            "POST",
            &url,
            json!([{ "name": "Content-Type", "value": "application/x-www-form-urlencoded" }]),
            None,
            200,
        );
        e["request"]["postData"] =
            json!({ "mimeType": "application/x-www-form-urlencoded", "params": params });
        e
    };
    let mut upload = form(
        srv.url("/upload"),
        json!([{ "name": "file", "fileName": "a.png", "contentType": "image/png" }]),
    );
    upload["request"]["postData"]["mimeType"] = json!("multipart/form-data; boundary=x");
    let har = json!({ "log": { "version": "1.2", "creator": { "name": "WebInspector", "version": "537.36" },
        "entries": [
            form(srv.url("/login"), json!([
                { "name": "user", "value": "ann b" }, { "name": "password", "value": "s&cret" }
            ])),
            form(srv.url("/tags"), json!([{ "name": "t", "value": "a" }, { "name": "t", "value": "b" }])),
            upload,
        ] } });
    let dir = support::canary_dir(&[("f.har", &har.to_string())]);
    let out = support::canary(dir.path(), &["import", "har", "f.har", "-o", "f.yaml"]);
    let (_, stderr) = support::text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("password") && stderr.contains("multipart body (file)"),
        "{stderr}"
    );
    let yaml = std::fs::read_to_string(dir.path().join("f.yaml")).unwrap();
    assert!(!yaml.contains("s&cret"), "{yaml}");
    let schema = support::schema_check(
        &support::schema("canary.schema.json"),
        &[dir.path().join("f.yaml")],
    );
    assert!(schema.status.success(), "{:?}", support::text(&schema));
    // Without the upload step (its body is left out, so the server answers 400).
    let yaml = yaml[..yaml.find("  - name: \"3 POST").expect(&yaml)].to_string();
    std::fs::write(dir.path().join("f.yaml"), &yaml).unwrap();
    let run = Command::new(support::binary())
        .args(["test", "f.yaml"])
        .env("PASSWORD", "s&cret")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(run.status.success(), "{yaml}\n{:?}", support::text(&run));
}
