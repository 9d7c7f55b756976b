//! HTTP checks end to end in the library: real servers on 127.0.0.1, every assertion kind
//! both ways, every error kind, retries, redirects, request options.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use canary::config::{self, LoadOptions};
use canary::run::{ErrorKind, Outcome, Run};
use serde_json::json;
use support::certs::Ca;
use support::server::{Reply, Server};

/// Loads `yaml` (plus extra files) with `${U}` set to `base`, and runs it once.
async fn run_with(files: &[(&str, &str)], base: &str, env: &[(&str, &str)]) -> Run {
    let dir = support::canary_dir(files);
    let opts = LoadOptions {
        vars: HashMap::from([("U".to_string(), base.to_string())]),
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    };
    let canaries =
        config::load(&[dir.path().join(files[0].0)], &opts).unwrap_or_else(|e| panic!("{e}"));
    canary::runner::run_canary(&canaries[0], &Default::default()).await
}

async fn run(yaml: &str, base: &str) -> Run {
    run_with(&[("c.yaml", yaml)], base, &[]).await
}

/// The (subject, passed) of every assertion of the last attempt's steps.
fn verdicts(run: &Run) -> Vec<(String, bool)> {
    run.last()
        .steps
        .iter()
        .flat_map(|s| s.assertions.iter().map(|a| (a.subject.clone(), a.passed)))
        .collect()
}

fn error_kind(run: &Run) -> ErrorKind {
    let step = run.last().steps.last().unwrap();
    step.error
        .as_ref()
        .unwrap_or_else(|| panic!("no error in {step:?}"))
        .kind
}

fn single(assert: &str) -> String {
    format!("name: t\ntimeout: 5s\nhttp:\n  url: ${{U}}/x\n  assert:\n{assert}")
}

#[tokio::test]
async fn status_latency_header_body_assertions_hold_and_fail() {
    let srv = Server::http(|_| {
        Reply::text(200, "<title>Hello</title> world").with_header("X-Id", "abc-123")
    });
    let asserts = [
        "status: 200",
        "status: [201, 2xx]",
        "status: 404",
        "status: 5xx",
        "latency: { total: { lt: 5s }, connect: { gte: 0ms } }",
        "latency: { total: { lt: 0ms } }",
        "header: { name: X-ID, equals: abc-123 }",
        "header: { name: x-id, contains: zzz }",
        "header: { name: x-id, matches: '^abc-\\d+$' }",
        "header: { name: x-missing, exists: false }",
        "header: { name: x-missing, exists: true }",
        "header: { name: x-id, not_contains: abc }",
        "body: { contains: '<title>' }",
        "body: { not_contains: error }",
        "body: { matches: 'Hel+o' }",
        "body: { equals: nope }",
    ];
    let yaml = single(
        &asserts
            .iter()
            .map(|a| format!("    - {a}\n"))
            .collect::<String>(),
    );
    let r = run(&yaml, &srv.url("")).await;
    let got: Vec<bool> = verdicts(&r).into_iter().map(|v| v.1).collect();
    assert_eq!(
        got,
        [
            true, true, false, false, true, true, false, true, false, true, true, false, false,
            true, true, true, false
        ],
        "{:#?}",
        r.last().steps[0].assertions
    );
    assert_eq!(r.outcome(), Outcome::Failed);
    let failed = r.last().steps[0]
        .assertions
        .iter()
        .find(|a| a.subject == "status" && !a.passed)
        .unwrap();
    assert_eq!(
        (failed.expected.as_str(), failed.actual.as_str()),
        ("404", "200")
    );
}

#[tokio::test]
async fn json_assertions_hold_and_fail() {
    let body = json!({"id": 42, "name": "canary-1", "items": [1, 2, 3], "price": 9.5, "tags": ["a", "b"], "ok": true});
    let srv = Server::http(move |_| Reply::json(200, body.clone()));
    let cases = [
        ("{ path: $.id, exists: true }", true),
        ("{ path: $.nope, exists: false }", true),
        ("{ path: $.nope, exists: true }", false),
        ("{ path: $.id, equals: 42 }", true),
        ("{ path: $.id, equals: 42.0 }", true),
        ("{ path: $.id, equals: '42' }", true),
        ("{ path: $.name, equals: canary-1 }", true),
        ("{ path: $.name, equals: canary-2 }", false),
        ("{ path: $.ok, equals: true }", true),
        ("{ path: $.name, contains: nary }", true),
        ("{ path: $.tags, contains: b }", true),
        ("{ path: $.tags, contains: c }", false),
        ("{ path: $.items, length: 3 }", true),
        ("{ path: $.items, length: { gte: 4 } }", false),
        ("{ path: $.name, matches: '^canary-\\d$' }", true),
        ("{ path: $.price, gt: 9, lt: 10 }", true),
        ("{ path: $.price, lte: 9 }", false),
        ("{ path: '$.items[*]', length: 3 }", true),
        ("{ path: $.name, gt: 1 }", false),
    ];
    let asserts: String = cases
        .iter()
        .map(|(c, _)| format!("    - json: {c}\n"))
        .collect();
    let r = run(&single(&asserts), &srv.url("")).await;
    let got: Vec<bool> = verdicts(&r).into_iter().map(|v| v.1).collect();
    let want: Vec<bool> = cases.iter().map(|c| c.1).collect();
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(
            g,
            w,
            "case {}: {:?}",
            cases[i].0,
            r.last().steps[0].assertions[i]
        );
    }
}

#[tokio::test]
async fn json_assertion_on_a_non_json_body_fails_with_the_reason() {
    let srv = Server::http(|_| Reply::text(200, "not json"));
    let r = run(
        &single("    - json: { path: $.id, exists: true }\n"),
        &srv.url(""),
    )
    .await;
    let a = &r.last().steps[0].assertions[0];
    assert!(!a.passed);
    assert!(a.actual.starts_with("body is not JSON"), "{a:?}");
}

#[tokio::test]
async fn tls_expiry_is_read_from_the_certificate() {
    let ca = Ca::new();
    let srv = Server::https(ca.leaf(-1, 30), |_| Reply::text(200, "ok"));
    let yaml = "name: t\nhttp:\n  url: ${U}/\n  tls: { ca_file: ca.pem }\n  assert:\n    - tls: { expires_in: { gt: 14d } }\n    - tls: { expires_in: { gt: 60d } }\n";
    let r = run_with(
        &[("c.yaml", yaml), ("ca.pem", &ca.pem())],
        &srv.url(""),
        &[],
    )
    .await;
    assert_eq!(
        verdicts(&r),
        [
            ("tls expires_in".into(), true),
            ("tls expires_in".into(), false)
        ]
    );
    let phases = r.last().steps[0].phases.unwrap();
    assert!(
        phases.tls > Duration::ZERO && phases.connect > Duration::ZERO,
        "{phases:?}"
    );
    let sum = phases.resolve + phases.connect + phases.tls + phases.processing + phases.transfer;
    assert_eq!(sum, phases.total);
}

#[tokio::test]
async fn plain_http_has_no_tls_phase_and_fails_a_tls_assertion() {
    let srv = Server::http(|_| Reply::text(200, "ok"));
    let r = run(
        &single("    - tls: { expires_in: { gt: 1d } }\n"),
        &srv.url(""),
    )
    .await;
    assert_eq!(r.last().steps[0].phases.unwrap().tls, Duration::ZERO);
    assert_eq!(r.last().steps[0].assertions[0].actual, "no TLS connection");
}

#[tokio::test]
async fn tls_errors_untrusted_expired_and_insecure() {
    let ca = Ca::new();
    let srv = Server::https(ca.leaf(-1, 30), |_| Reply::text(200, "ok"));
    let r = run("name: t\nhttp: { url: '${U}/' }\n", &srv.url("")).await;
    assert_eq!(error_kind(&r), ErrorKind::Tls);
    let msg = &r.last().steps[0].error.as_ref().unwrap().message;
    assert!(
        msg.contains("not signed by a CA canary trusts") && msg.contains("ca_file"),
        "{msg}"
    );

    let expired = Server::https(ca.leaf(-30, -1), |_| Reply::text(200, "ok"));
    let yaml = "name: t\nhttp: { url: '${U}/', tls: { ca_file: ca.pem } }\n";
    let r = run_with(
        &[("c.yaml", yaml), ("ca.pem", &ca.pem())],
        &expired.url(""),
        &[],
    )
    .await;
    assert_eq!(error_kind(&r), ErrorKind::Tls);
    assert!(
        r.last().steps[0]
            .error
            .as_ref()
            .unwrap()
            .message
            .contains("xpired"),
        "{:?}",
        r.last().steps[0].error
    );

    let yaml = "name: t\nhttp:\n  url: '${U}/'\n  tls: { insecure: true }\n  assert: [ { tls: { expires_in: { lte: 0d } } } ]\n";
    let r = run(yaml, &expired.url("")).await;
    assert_eq!(r.outcome(), Outcome::Passed, "{:?}", r.last());
    assert!(
        r.last().steps[0].assertions[0]
            .actual
            .starts_with("expired 1.0d ago")
    );
}

#[tokio::test]
async fn a_certificate_in_ca_file_is_trusted_as_presented_and_a_wrong_name_is_told() {
    // As `openssl req -x509 … -subj /CN=localhost` makes it (CA:TRUE, no SAN): curl --cacert
    // accepts it, and so does canary with ca_file, for the name it was made for only.
    let cert = support::certs::self_signed_ca("localhost");
    let pem = cert.chain_pem();
    let srv = Server::https(cert, |_| Reply::text(200, "ok"));
    let port = srv.addr.port();
    let yaml = "name: t\nhttp: { url: '${U}/', tls: { ca_file: self.pem } }\n";
    let files = [("c.yaml", yaml), ("self.pem", pem.as_str())];
    let r = run_with(&files, &format!("https://localhost:{port}"), &[]).await;
    assert_eq!(r.outcome(), Outcome::Passed, "{:?}", r.last());
    let r = run_with(&files, &format!("https://127.0.0.1:{port}"), &[]).await;
    let msg = &r.last().steps[0].error.as_ref().unwrap().message;
    assert!(msg.contains("not valid for"), "{msg}");
    // Not pinned: the same certificate is named for what it is, with what to do.
    let r = run(
        "name: t\nhttp: { url: '${U}/' }\n",
        &format!("https://localhost:{port}"),
    )
    .await;
    let msg = &r.last().steps[0].error.as_ref().unwrap().message;
    assert!(msg.contains("ca_file") && !msg.contains("Other("), "{msg}");
    // A certificate for other names says which names it has.
    let ca = Ca::new();
    let other = Server::https(ca.leaf_for(&["shop.test", "www.shop.test"], -1, 30), |_| {
        Reply::text(200, "ok")
    });
    let yaml = "name: t\nhttp: { url: '${U}/', tls: { ca_file: ca.pem } }\n";
    let r = run_with(
        &[("c.yaml", yaml), ("ca.pem", &ca.pem())],
        &other.url(""),
        &[],
    )
    .await;
    let msg = &r.last().steps[0].error.as_ref().unwrap().message;
    assert!(
        msg.contains("not valid for 127.0.0.1") && msg.contains("shop.test, www.shop.test"),
        "{msg}"
    );
}

#[tokio::test]
async fn connection_errors_have_their_kinds() {
    let refused = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let r = run(
        "name: t\nhttp: { url: '${U}/' }\n",
        &format!("http://{refused}"),
    )
    .await;
    assert_eq!(error_kind(&r), ErrorKind::Connect);

    let r = run(
        "name: t\nhttp: { url: 'http://no-such-host.invalid/' }\n",
        "",
    )
    .await;
    assert_eq!(error_kind(&r), ErrorKind::Dns);

    let srv = Server::http(|_| Reply::Reset);
    let r = run("name: t\nhttp: { url: '${U}/' }\n", &srv.url("")).await;
    assert_eq!(error_kind(&r), ErrorKind::Reset);

    let srv = Server::http(|_| Reply::Truncated {
        promised: 1000,
        body: b"short".to_vec(),
    });
    let r = run("name: t\nhttp: { url: '${U}/' }\n", &srv.url("")).await;
    assert_eq!(error_kind(&r), ErrorKind::Reset);
    assert_eq!(r.last().steps[0].status, Some(200));
}

#[tokio::test]
async fn a_reply_that_is_not_http_is_a_protocol_error() {
    let srv = Server::http(|_| Reply::Raw(b"SSH-2.0-OpenSSH_9.6\r\n\r\n".to_vec()));
    let r = run("name: t\nhttp: { url: '${U}/' }\n", &srv.url("")).await;
    assert_eq!(
        error_kind(&r),
        ErrorKind::Protocol,
        "{:?}",
        r.last().steps[0].error
    );
}

#[tokio::test]
async fn timeouts_say_where_they_happened() {
    let srv = Server::http(|_| {
        Reply::Delayed(Duration::from_secs(5), Box::new(Reply::text(200, "late")))
    });
    let r = run(
        "name: t\ntimeout: 300ms\nhttp: { url: '${U}/' }\n",
        &srv.url(""),
    )
    .await;
    assert_eq!(error_kind(&r), ErrorKind::Timeout);
    let e = r.last().steps[0].error.clone().unwrap();
    assert!(e.message.contains("waiting for the response"), "{e:?}");
    assert!(r.duration < Duration::from_secs(2));

    let srv = Server::http(|_| Reply::Trickle {
        chunk: b"x".to_vec(),
        every: Duration::from_millis(100),
        count: 50,
    });
    let r = run(
        "name: t\ntimeout: 500ms\nhttp: { url: '${U}/' }\n",
        &srv.url(""),
    )
    .await;
    let e = r.last().steps[0].error.clone().unwrap();
    assert_eq!(e.kind, ErrorKind::Timeout);
    assert!(e.message.contains("reading the body"), "{e:?}");
    let phases = r.last().steps[0].phases.unwrap();
    assert!(phases.transfer > Duration::from_millis(300), "{phases:?}");
}

#[tokio::test]
async fn a_slow_body_within_the_timeout_is_timed_as_transfer() {
    let srv = Server::http(|_| Reply::Trickle {
        chunk: b"abc".to_vec(),
        every: Duration::from_millis(40),
        count: 5,
    });
    let r = run(
        &single(
            "    - body: { equals: abcabcabcabcabc }\n    - latency: { transfer: { gt: 120ms } }\n",
        ),
        &srv.url(""),
    )
    .await;
    assert_eq!(r.outcome(), Outcome::Passed, "{:?}", r.last());
}

#[tokio::test]
async fn a_step_timeout_holds_within_the_canary_timeout() {
    let srv = Server::http(|_| Reply::Hang);
    let yaml = "name: t\ntimeout: 10s\nsteps:\n  - name: slow\n    timeout: 200ms\n    http: { url: '${U}/' }\n";
    let r = run(yaml, &srv.url("")).await;
    assert_eq!(error_kind(&r), ErrorKind::Timeout);
    assert!(r.duration < Duration::from_secs(2), "{:?}", r.duration);
}

#[tokio::test]
async fn oversized_bodies_are_errors_not_memory() {
    let big = "x".repeat(300_000);
    let srv = Server::http(move |_| Reply::text(200, &big));
    let r = run(
        "name: t\nhttp: { url: '${U}/', max_body: 100KiB }\n",
        &srv.url(""),
    )
    .await;
    assert_eq!(error_kind(&r), ErrorKind::BodyTooLarge);

    let srv = Server::http(|_| Reply::Trickle {
        chunk: vec![b'y'; 64 * 1024],
        every: Duration::ZERO,
        count: 10,
    });
    let r = run(
        "name: t\nhttp: { url: '${U}/', max_body: 100KiB }\n",
        &srv.url(""),
    )
    .await;
    assert_eq!(error_kind(&r), ErrorKind::BodyTooLarge);
}

#[tokio::test]
async fn redirects_are_followed_counted_bounded_and_loops_caught() {
    let srv = Server::http(|req| match req.path() {
        "/a" => Reply::redirect("/b"),
        "/b" => Reply::redirect("/c"),
        "/c" => Reply::text(200, "end"),
        "/loop" => Reply::redirect("/loop2"),
        "/loop2" => Reply::redirect("/loop"),
        p => Reply::redirect(&format!("{}x", p)),
    });
    let r = run(
        &single("    - body: { equals: end }\n").replace("/x", "/a"),
        &srv.url(""),
    )
    .await;
    assert_eq!(r.outcome(), Outcome::Passed);
    let s = &r.last().steps[0];
    assert_eq!((s.redirects, s.url.clone().unwrap()), (2, srv.url("/c")));

    let r = run("name: t\nhttp: { url: '${U}/a', follow_redirects: false, assert: [ { status: 302 }, { header: { name: location, equals: /b } } ] }\n", &srv.url("")).await;
    assert_eq!(r.outcome(), Outcome::Passed, "{:?}", r.last());

    let r = run("name: t\nhttp: { url: '${U}/loop' }\n", &srv.url("")).await;
    assert_eq!(error_kind(&r), ErrorKind::TooManyRedirects);

    let r = run(
        "name: t\nhttp: { url: '${U}/z', max_redirects: 3 }\n",
        &srv.url(""),
    )
    .await;
    assert_eq!(error_kind(&r), ErrorKind::TooManyRedirects);
    assert!(
        r.last().steps[0]
            .error
            .as_ref()
            .unwrap()
            .message
            .contains("more than 3")
    );
}

#[tokio::test]
async fn gzip_bodies_are_decompressed_for_assertions() {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(br#"{"compressed": true}"#).unwrap();
    let gz = enc.finish().unwrap();
    let srv = Server::http(move |req| {
        assert!(req.header("accept-encoding").unwrap_or("").contains("gzip"));
        Reply::Full {
            status: 200,
            headers: vec![
                ("Content-Encoding".into(), "gzip".into()),
                ("Content-Type".into(), "application/json".into()),
            ],
            body: gz.clone(),
        }
    });
    let r = run(
        &single("    - json: { path: $.compressed, equals: true }\n"),
        &srv.url(""),
    )
    .await;
    assert_eq!(r.outcome(), Outcome::Passed, "{:?}", r.last());
}

#[tokio::test]
async fn request_options_reach_the_server() {
    let srv = Server::http(|_| Reply::text(200, "ok"));
    let yaml = "name: t\nsteps:\n\
      - http: { method: post, url: '${U}/j', json: { sku: a, qty: 2, nested: [ '${env:E}' ] }, query: { q: 'a b' }, headers: { X-Test: yes } }\n\
      - http: { method: PUT, url: '${U}/f', form: { a: '1', b: 'x y' }, auth: { basic: { username: u, password: p } } }\n\
      - http: { method: DELETE, url: '${U}/b', body: raw text, auth: { bearer: tok } }\n";
    let r = run_with(&[("c.yaml", yaml)], &srv.url(""), &[("E", "from-env")]).await;
    assert_eq!(r.outcome(), Outcome::Passed, "{:?}", r.last());
    let got = srv.received();
    assert_eq!(
        (got[0].method.as_str(), got[0].target.as_str()),
        ("POST", "/j?q=a+b")
    );
    let body: serde_json::Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(body, json!({"sku": "a", "qty": 2, "nested": ["from-env"]}));
    assert_eq!(got[0].header("content-type"), Some("application/json"));
    assert_eq!(got[0].header("x-test"), Some("yes"));
    assert_eq!(got[1].method, "PUT");
    assert_eq!(String::from_utf8_lossy(&got[1].body), "a=1&b=x+y");
    assert_eq!(got[1].header("authorization"), Some("Basic dTpw"));
    assert_eq!(
        (got[2].method.as_str(), &got[2].body[..]),
        ("DELETE", &b"raw text"[..])
    );
    assert_eq!(got[2].header("authorization"), Some("Bearer tok"));
    assert!(
        got.iter()
            .all(|r| r.header("user-agent").unwrap().starts_with("canary/"))
    );
}

#[tokio::test]
async fn every_run_opens_a_fresh_connection() {
    let srv = Server::http(|_| Reply::text(200, "ok"));
    let yaml = "name: t\nsteps:\n  - http: { url: '${U}/1' }\n  - http: { url: '${U}/2' }\n";
    run(yaml, &srv.url("")).await;
    run(yaml, &srv.url("")).await;
    assert_eq!(srv.connections.load(std::sync::atomic::Ordering::SeqCst), 4);
}

#[tokio::test]
async fn jsonpaths_as_users_write_them() {
    let srv = Server::http(|_| {
        Reply::json(
            200,
            json!({
                "headers": { "X-Request-Id": "r-1", "Content-Type": "json" },
                "data": { "user-id": 7, "first name": "Ada" },
                "items": [ { "in-stock": true, "id": 1 }, { "in-stock": false, "id": 2 } ]
            }),
        )
    });
    let yaml = single(
        r#"    - json: { path: $.headers.X-Request-Id, equals: r-1 }
    - json: { path: $.data.user-id, equals: 7 }
    - json: { path: "$['data']['first name']", equals: Ada }
    - json: { path: "$.items[?@.in-stock == true].id", equals: 1 }
    - json: { path: $..user-id, equals: 7 }
"#,
    );
    let r = run(&yaml, &srv.url("")).await;
    assert_eq!(r.outcome(), Outcome::Passed, "{:?}", r.last());
    assert_eq!(
        r.last().steps[0].assertions[0].subject,
        "json $.headers.X-Request-Id",
        "reports show the path as written"
    );
}
