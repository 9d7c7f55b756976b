//! Multi-step canaries: captures passed along, secrets redacted everywhere, retries visible,
//! continue_on_failure, and interpolation sources.

mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use canary::canary::http::RequestUrl;
use canary::config::{self, LoadOptions};
use canary::report;
use canary::run::{Outcome, Run};
use serde_json::json;
use support::server::{Reply, Server};

async fn run(yaml: &str, vars: &[(&str, &str)], env: &[(&str, &str)]) -> Run {
    let dir = support::canary_dir(&[("c.yaml", yaml)]);
    let map = |kv: &[(&str, &str)]| {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let opts = LoadOptions {
        vars: map(vars),
        env: map(env),
        ..Default::default()
    };
    let canaries =
        config::load(&[dir.path().to_path_buf()], &opts).unwrap_or_else(|e| panic!("{e}"));
    canary::runner::run_canary(&canaries[0], &Default::default()).await
}

const ORDERS: &str = r#"
name: orders-api
variables:
  token: ${secret:API_TOKEN}
steps:
  - name: create
    http:
      method: POST
      url: ${BASE_URL}/orders
      json: { sku: canary-1, qty: 1 }
      headers: { Authorization: "Bearer ${token}" }
    assert:
      - status: 201
      - json: { path: $.id, exists: true }
    capture:
      order_id: { json: $.id }
      session: { header: x-session, secret: true }
  - name: fetch
    http: { url: "${BASE_URL}/orders/${order_id}", headers: { X-Session: "${session}" } }
    assert:
      - json: { path: $.qty, equals: 1 }
      - json: { path: $.id, equals: "${order_id}" }
      - body: { not_contains: "${session}" }
"#;

fn orders_server() -> Server {
    Server::http(|req| match (req.method.as_str(), req.path()) {
        ("POST", "/orders") => {
            Reply::json(201, json!({"id": 42, "echo": req.header("authorization")}))
                .with_header("X-Session", "sess-abcdef")
        }
        ("GET", "/orders/42") => Reply::json(
            200,
            json!({"id": 42, "qty": 1, "session": req.header("x-session")}),
        ),
        _ => Reply::text(404, "no"),
    })
}

#[tokio::test]
async fn captures_flow_between_steps_and_secrets_never_show() {
    let srv = orders_server();
    let r = run(
        ORDERS,
        &[("BASE_URL", &srv.url(""))],
        &[("API_TOKEN", "s3cr3t-token")],
    )
    .await;
    let got = srv.received();
    assert_eq!(got[0].header("authorization"), Some("Bearer s3cr3t-token"));
    assert_eq!(got[1].target, "/orders/42");
    assert_eq!(got[1].header("x-session"), Some("sess-abcdef"));
    // The fetch step's `not_contains` fails: the server echoes the session back.
    assert_eq!(r.outcome(), Outcome::Failed);
    let fetch = &r.last().steps[1];
    assert!(
        fetch.assertions[0].passed && fetch.assertions[1].passed,
        "{fetch:?}"
    );
    let everything = format!(
        "{:?}\n{}\n{}\n{}",
        r,
        report::json::render(std::slice::from_ref(&r)),
        report::junit::render(std::slice::from_ref(&r)),
        report::console::details(r.last())
    );
    for secret in ["s3cr3t-token", "sess-abcdef"] {
        assert!(
            !everything.contains(secret),
            "{secret} leaked:\n{everything}"
        );
    }
    assert!(
        everything.contains("capture session"),
        "the capture is reported"
    );
}

#[tokio::test]
async fn a_failed_step_stops_the_canary_unless_it_continues() {
    let srv = Server::http(|req| {
        if req.path() == "/bad" {
            Reply::text(500, "x")
        } else {
            Reply::text(200, "ok")
        }
    });
    let yaml = "name: t\nsteps:\n  - { name: a, http: { url: '${U}/bad' }, assert: [ { status: 200 } ] }\n  - { name: b, http: { url: '${U}/ok' } }\n";
    let r = run(yaml, &[("U", &srv.url(""))], &[]).await;
    assert_eq!(r.last().steps.len(), 1);
    let yaml = yaml.replace("{ name: a,", "{ name: a, continue_on_failure: true,");
    let r = run(&yaml, &[("U", &srv.url(""))], &[]).await;
    let outcomes: Vec<Outcome> = r.last().steps.iter().map(|s| s.outcome).collect();
    assert_eq!(outcomes, [Outcome::Failed, Outcome::Passed]);
    assert_eq!(r.outcome(), Outcome::Failed);
}

#[tokio::test]
async fn a_pass_after_a_retry_is_recorded_as_such() {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let srv = Server::http(move |_| {
        if h.fetch_add(1, Ordering::SeqCst) == 0 {
            Reply::text(503, "warming up")
        } else {
            Reply::text(200, "ok")
        }
    });
    let yaml = "name: t\nretries: 2\nhttp: { url: '${U}/', assert: [ { status: 200 } ] }\n";
    let r = run(yaml, &[("U", &srv.url(""))], &[]).await;
    assert_eq!(
        (r.outcome(), r.attempts.len(), r.flaky()),
        (Outcome::Passed, 2, true)
    );
    assert_eq!(r.attempts[0].outcome, Outcome::Failed);
    let junit = report::junit::render(std::slice::from_ref(&r));
    assert!(
        junit.contains("<flakyFailure") && !junit.contains("<failure"),
        "{junit}"
    );
    let json: serde_json::Value = serde_json::from_str(&report::json::render(&[r])).unwrap();
    let c = &json["canaries"][0];
    assert_eq!(
        (c["attempts"].as_u64(), c["flaky"].as_bool()),
        (Some(2), Some(true))
    );
    assert_eq!(c["retried"][0]["outcome"], "failed");
    assert!(
        c["retried"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("expected 200, got 503")
    );
    assert_eq!(json["summary"]["flaky"], 1);
}

#[tokio::test]
async fn retries_stop_at_the_limit() {
    let srv = Server::http(|_| Reply::text(500, "down"));
    let r = run(
        "name: t\nretries: 2\nhttp: { url: '${U}/', assert: [ { status: 200 } ] }\n",
        &[("U", &srv.url(""))],
        &[],
    )
    .await;
    assert_eq!((r.outcome(), r.attempts.len()), (Outcome::Failed, 3));
    assert_eq!(srv.received().len(), 3);
}

#[tokio::test]
async fn interpolation_sources_and_precedence() {
    let srv = Server::http(|_| Reply::text(200, "ok"));
    let yaml = r#"
name: t
variables:
  base: ${U}
  path: /from-variables
  both: ${path}-${env:HOME_X:-fallback}
http:
  url: ${base}${path}
  headers: { X-A: "${both}", X-B: "${MISSING:-dflt}", X-C: "$${literal}" }
"#;
    run(yaml, &[("U", &srv.url("")), ("path", "/from-cli")], &[]).await;
    let got = &srv.received()[0];
    assert_eq!(got.target, "/from-cli");
    assert_eq!(got.header("x-a"), Some("/from-cli-fallback"));
    assert_eq!(got.header("x-b"), Some("dflt"));
    assert_eq!(got.header("x-c"), Some("${literal}"));
}

#[tokio::test]
async fn captures_from_regex_and_status() {
    let srv = Server::http(|req| match req.path() {
        "/a" => Reply::text(200, "csrf=tok123; other"),
        _ => Reply::text(200, &format!("got {}", req.target)),
    });
    let yaml = r#"
name: t
steps:
  - http: { url: "${U}/a" }
    capture:
      csrf: { regex: "csrf=(\\w+)" }
      code: { status: true }
  - http: { url: "${U}/b", query: { t: "${csrf}", c: "${code}" } }
    assert: [ { body: { equals: "got /b?c=200&t=tok123" } } ]
"#;
    let r = run(yaml, &[("U", &srv.url(""))], &[]).await;
    assert_eq!(r.outcome(), Outcome::Passed, "{:?}", r.last());
    let names: Vec<&str> = r.last().steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["step 1", "step 2"]);
}

/// A URL without a capture is parsed once, at load time, and each run sends that; a URL with
/// one is parsed per run, from what was captured.
#[tokio::test]
async fn a_fixed_url_is_parsed_at_load_time_and_a_captured_one_per_run() {
    let srv = Server::http(|req| match req.path() {
        "/" => Reply::json(200, json!({"id": "a%20b"})),
        _ => Reply::text(200, &format!("got {}", req.target)),
    });
    let yaml = r#"
name: t
steps:
  - http: { url: "${U}/" }
    capture: { id: { json: $.id } }
  - http: { url: "${U}/items/${id}?q=1" }
    assert: [ { body: { equals: "got /items/a%20b?q=1" } } ]
"#;
    let dir = support::canary_dir(&[("c.yaml", yaml)]);
    let opts = LoadOptions {
        vars: HashMap::from([("U".to_string(), srv.url(""))]),
        ..Default::default()
    };
    let canaries = config::load(&[dir.path().to_path_buf()], &opts).unwrap();
    let parsed: Vec<Option<String>> = canaries[0]
        .steps
        .iter()
        .map(|s| match &s.kind {
            canary::canary::StepKind::Http(r) => match &r.url {
                RequestUrl::Fixed { parsed, .. } => Some(parsed.to_string()),
                RequestUrl::Captured(_) => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(parsed, [Some(srv.url("/")), None]);
    for _ in 0..2 {
        let r = canary::runner::run_canary(&canaries[0], &Default::default()).await;
        assert_eq!(r.outcome(), Outcome::Passed, "{:?}", r.last());
    }
    let targets: Vec<String> = srv.received().iter().map(|r| r.target.clone()).collect();
    assert_eq!(targets, ["/", "/items/a%20b?q=1", "/", "/items/a%20b?q=1"]);
}

#[tokio::test]
async fn a_missing_capture_fails_the_step_with_the_reason() {
    let srv = Server::http(|_| Reply::json(200, json!({"other": 1})));
    let yaml = "name: t\nsteps:\n  - http: { url: '${U}/' }\n    capture: { id: { json: $.id } }\n  - http: { url: '${U}/${id}' }\n";
    let r = run(yaml, &[("U", &srv.url(""))], &[]).await;
    assert_eq!(r.outcome(), Outcome::Failed);
    assert_eq!(r.last().steps.len(), 1);
    let a = &r.last().steps[0].assertions[0];
    assert_eq!(
        (a.subject.as_str(), a.passed, a.actual.as_str()),
        ("capture id", false, "(nothing selected)")
    );
}

#[tokio::test]
async fn parallel_runs_keep_to_the_limit_and_come_back_in_order() {
    let (canaries, _dir, arrivals) = slow_canaries();
    let mut seen = 0;
    let runs = canary::runner::run_all(&canaries, 4, &Default::default(), |_| seen += 1).await;
    assert_eq!(seen, 12);
    four_at_a_time_in_order(&runs, &arrivals);
}

#[test]
fn parallel_runs_on_threads_keep_to_the_limit_and_come_back_in_order() {
    // Two threads of two runs each: still 4 at once in all, every run seen once, in order.
    let (canaries, _dir, arrivals) = slow_canaries();
    let mut seen = Vec::new();
    let runs = canary::runner::run_all_on_threads(&canaries, 4, 2, &Default::default(), |r| {
        seen.push(r.canary.clone())
    })
    .unwrap();
    seen.sort();
    assert_eq!(
        seen,
        (0..12).map(|i| format!("c{i:02}")).collect::<Vec<_>>()
    );
    four_at_a_time_in_order(&runs, &arrivals);
}

/// What must live while the canaries run: their folder and the server.
type Keep = (tempfile::TempDir, Server);

/// When the slow server saw each request.
type Arrivals = Arc<Mutex<Vec<Instant>>>;

/// Twelve canaries against a server that answers each request after [`SLOW`].
fn slow_canaries() -> (Vec<Arc<canary::canary::Canary>>, Keep, Arrivals) {
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let seen = arrivals.clone();
    let srv = Server::http(move |_| {
        seen.lock().unwrap().push(Instant::now());
        Reply::Delayed(SLOW, Box::new(Reply::text(200, "ok")))
    });
    let files: Vec<(String, String)> = (0..12)
        .map(|i| {
            (
                format!("c{i:02}.yaml"),
                format!("name: c{i:02}\nhttp: {{ url: '${{U}}/{i}' }}\n"),
            )
        })
        .collect();
    let dir = support::canary_dir_owned(&files);
    let opts = LoadOptions {
        vars: HashMap::from([("U".into(), srv.url(""))]),
        env: HashMap::new(),
        ..Default::default()
    };
    let canaries: Vec<_> = config::load(&[dir.path().into()], &opts)
        .unwrap()
        .into_iter()
        .map(Arc::new)
        .collect();
    (canaries, (dir, srv), arrivals)
}

/// How long the slow server takes to answer.
const SLOW: Duration = Duration::from_millis(300);

/// With 4 at a time the first four arrive together, and each later one only once one of the
/// four before it has been answered; the runs come back in the canaries' order and all pass.
fn four_at_a_time_in_order(runs: &[canary::run::Run], arrivals: &Arrivals) {
    let names: Vec<&str> = runs.iter().map(|r| r.canary.as_str()).collect();
    assert_eq!(
        names,
        (0..12).map(|i| format!("c{i:02}")).collect::<Vec<_>>()
    );
    assert!(runs.iter().all(|r| r.outcome() == Outcome::Passed));
    let at = arrivals.lock().unwrap().clone();
    assert_eq!(at.len(), 12);
    assert!(at[3] - at[0] < SLOW, "not 4 at once: {at:?}");
    for k in 4..12 {
        assert!(at[k] - at[k - 4] >= SLOW, "more than 4 at once: {at:?}");
    }
}
