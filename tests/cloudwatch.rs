//! The CloudWatch sink against a real CloudWatch-compatible endpoint (LocalStack, started by
//! `scripts/test`), through the real binary: names, units, dimensions, timestamps, exact counts and
//! sums; the endpoint down and coming back, killed mid-flush, answering errors — nothing lost,
//! nothing sent twice.

mod support;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::types::{Datapoint, Dimension, Statistic};
use serde_json::Value;
use support::proxy::{Mode, Proxy};
use support::server::{Reply, Server};

use support::aws::{aws_command, canary, localstack};

fn namespace(test: &str) -> String {
    support::aws::unique("canary-test", test).replace('-', "/")
}

async fn client(url: &str) -> Client {
    support::aws::cloudwatch(url).await
}

/// Datapoints of one series over the last hour, a minute each.
async fn stats(c: &Client, ns: &str, metric: &str, dims: &[(&str, &str)]) -> Vec<Datapoint> {
    let now = SystemTime::now();
    let hour_ago = (now - Duration::from_secs(3600))
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(hour_ago / 60 * 60);
    let mut req = c
        .get_metric_statistics()
        .namespace(ns)
        .metric_name(metric)
        .start_time(start.into())
        .end_time((now + Duration::from_secs(600)).into())
        .period(60);
    for s in [
        Statistic::SampleCount,
        Statistic::Sum,
        Statistic::Minimum,
        Statistic::Maximum,
        Statistic::Average,
    ] {
        req = req.statistics(s);
    }
    for (k, v) in dims {
        req = req.dimensions(Dimension::builder().name(*k).value(*v).build());
    }
    let mut points = req.send().await.unwrap().datapoints().to_vec();
    points.sort_by_key(|p| p.timestamp().map(|t| t.secs()));
    points
}

fn total(points: &[Datapoint]) -> (f64, f64) {
    (
        points.iter().filter_map(Datapoint::sample_count).sum(),
        points.iter().filter_map(Datapoint::sum).sum(),
    )
}

fn server() -> Server {
    Server::http(|req| {
        if req.path() == "/ok" {
            Reply::text(200, "ok")
        } else {
            Reply::text(500, "broken")
        }
    })
}

fn canaries(srv: &Server) -> tempfile::TempDir {
    support::canary_dir(&[
        (
            "pass.yaml",
            &format!(
                "name: pass\ndimensions: {{ Environment: ci }}\nhttp: {{ url: '{}', assert: [ {{ status: 200 }} ] }}\n",
                srv.url("/ok")
            ),
        ),
        (
            "fail.yaml",
            &format!(
                "name: fail\nhttp: {{ url: '{}', assert: [ {{ status: 200 }} ] }}\n",
                srv.url("/bad")
            ),
        ),
        (
            "error.yaml",
            "name: error\nhttp: { url: 'http://127.0.0.1:1/' }\n",
        ),
    ])
}

#[tokio::test(flavor = "multi_thread")]
async fn runs_arrive_with_synthetics_names_units_dimensions_and_exact_sums() {
    let Some(url) = localstack() else { return };
    let ns = namespace("mapping");
    let srv = server();
    let dir = canaries(&srv);
    let args = [
        "test",
        ".",
        "--metrics",
        "cloudwatch",
        "--endpoint-url",
        &url,
        "--namespace",
        &ns,
        "--dimension",
        "Region=test",
        "--json",
        "report.json",
    ];
    let out = canary(dir.path(), &args);
    assert_eq!(out.status.code(), Some(1), "{:?}", support::text(&out));
    let report: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("report.json")).unwrap()).unwrap();
    let c = client(&url).await;

    let pass = [
        ("CanaryName", "pass"),
        ("Environment", "ci"),
        ("Region", "test"),
    ];
    let fail = [("CanaryName", "fail"), ("Region", "test")];
    let error = [("CanaryName", "error"), ("Region", "test")];
    let check = |points: Vec<Datapoint>, count: f64, sum: f64, what: &str| {
        assert_eq!(total(&points), (count, sum), "{what}: {points:?}");
    };
    check(
        stats(&c, &ns, "SuccessPercent", &pass).await,
        1.0,
        100.0,
        "pass SuccessPercent",
    );
    check(
        stats(&c, &ns, "SuccessPercent", &fail).await,
        1.0,
        0.0,
        "fail SuccessPercent",
    );
    check(
        stats(&c, &ns, "Failed", &fail).await,
        1.0,
        1.0,
        "fail Failed",
    );
    check(
        stats(&c, &ns, "Failed", &pass).await,
        1.0,
        0.0,
        "pass Failed",
    );
    check(
        stats(&c, &ns, "Error", &error).await,
        1.0,
        1.0,
        "error Error",
    );
    check(stats(&c, &ns, "Error", &fail).await, 1.0, 0.0, "fail Error");
    check(stats(&c, &ns, "2xx", &pass).await, 1.0, 1.0, "pass 2xx");
    check(stats(&c, &ns, "5xx", &fail).await, 1.0, 1.0, "fail 5xx");

    let duration = stats(&c, &ns, "Duration", &pass).await;
    let reported = report["canaries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "pass")
        .unwrap();
    let ms = reported["duration_ms"].as_f64().unwrap();
    assert_eq!(duration.len(), 1);
    assert_eq!(duration[0].unit().map(|u| u.as_str()), Some("Milliseconds"));
    assert!(
        (duration[0].sum().unwrap() - ms).abs() < 1e-6,
        "{duration:?} vs {ms}"
    );
    assert_eq!(duration[0].maximum(), duration[0].minimum());
    // The datum's timestamp is the minute the run started in, not the flush time.
    let started = humantime::parse_rfc3339(reported["started_at"].as_str().unwrap()).unwrap();
    let minute = started
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 60
        * 60;
    assert_eq!(duration[0].timestamp().unwrap().secs() as u64, minute);

    let listed = c.list_metrics().namespace(&ns).send().await.unwrap();
    let mut names: Vec<&str> = listed
        .metrics()
        .iter()
        .filter_map(|m| m.metric_name())
        .collect();
    names.sort();
    names.dedup();
    assert_eq!(
        names,
        [
            "2xx",
            "4xx",
            "5xx",
            "Degraded",
            "Duration",
            "Error",
            "Failed",
            "SuccessPercent"
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn down_at_start_then_back_after_a_restart_everything_arrives_once() {
    let Some(url) = localstack() else { return };
    let ns = namespace("down");
    let srv = server();
    let dir = canaries(&srv);
    let proxy = Proxy::start(&url, Mode::Fail(503));
    let spool = dir.path().join("spool");
    let args = [
        "test",
        "pass.yaml",
        "--metrics",
        "cloudwatch",
        "--endpoint-url",
        &proxy.url(),
        "--namespace",
        &ns,
        "--spool",
        "spool",
        "--flush-timeout",
        "2s",
    ];
    let out = canary(dir.path(), &args);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        support::text(&out).1.contains("stay in the spool"),
        "{:?}",
        support::text(&out)
    );
    assert!(proxy.received() >= 1);
    assert_eq!(
        std::fs::read_dir(&spool).unwrap().count(),
        1,
        "the batch waits on disk"
    );
    let c = client(&url).await;
    assert!(
        stats(&c, &ns, "SuccessPercent", &[("CanaryName", "pass")])
            .await
            .is_empty()
    );

    proxy.set(Mode::Forward);
    let out = canary(dir.path(), &args);
    assert_eq!(out.status.code(), Some(0), "{:?}", support::text(&out));
    assert_eq!(
        std::fs::read_dir(&spool).unwrap().count(),
        0,
        "the spool is empty once sent"
    );
    let points = stats(&c, &ns, "SuccessPercent", &[("CanaryName", "pass")]).await;
    assert_eq!(
        total(&points),
        (2.0, 200.0),
        "both runs, each once: {points:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_mid_flush_the_batch_is_replayed_once() {
    let Some(url) = localstack() else { return };
    let ns = namespace("killed");
    let srv = server();
    let dir = canaries(&srv);
    let proxy = Proxy::start(&url, Mode::Hold);
    let args = [
        "test",
        "pass.yaml",
        "--metrics",
        "cloudwatch",
        "--endpoint-url",
        &proxy.url(),
        "--namespace",
        &ns,
        "--spool",
        "spool",
        "--flush-timeout",
        "60s",
    ];
    let mut child = aws_command(dir.path(), &args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while proxy.received() == 0 {
        assert!(Instant::now() < deadline, "no request reached the proxy");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    proxy.set(Mode::Forward);
    let out = canary(dir.path(), &args);
    assert_eq!(out.status.code(), Some(0), "{:?}", support::text(&out));
    let c = client(&url).await;
    let points = stats(&c, &ns, "SuccessPercent", &[("CanaryName", "pass")]).await;
    assert_eq!(
        total(&points),
        (2.0, 200.0),
        "the killed run's datums and the new run's, once each: {points:?}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path().join("spool")).unwrap().count(),
        0
    );
}

/// `canary test TARGET` through `proxy` into namespace `ns`: it passes, and canary itself (not
/// only the SDK) had to retry. Returns canary's standard error.
fn expect_retried(dir: &Path, target: &str, proxy: &Proxy, ns: &str) -> String {
    let url = proxy.url();
    let args = [
        "test",
        target,
        "--metrics",
        "cloudwatch",
        "--endpoint-url",
        &url,
        "--namespace",
        ns,
        "--flush-timeout",
        "30s",
    ];
    let out = canary(dir, &args);
    let (_, stderr) = support::text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("will retry"), "{stderr}");
    stderr
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_are_retried_with_backoff_and_sent_once() {
    let Some(url) = localstack() else { return };
    let ns = namespace("retry");
    let srv = server();
    let dir = canaries(&srv);
    let proxy = Proxy::start(&url, Mode::FailFirst(4));
    let stderr = expect_retried(dir.path(), "pass.yaml", &proxy, &ns);
    assert!(proxy.received() >= 5, "{}", proxy.received());
    let c = client(&url).await;
    let points = stats(&c, &ns, "SuccessPercent", &[("CanaryName", "pass")]).await;
    assert_eq!(total(&points), (1.0, 100.0), "{points:?}\n{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn batches_sent_side_by_side_arrive_once_when_some_fail() {
    let Some(url) = localstack() else { return };
    let ns = namespace("side");
    let srv = server();
    // 200 canaries make two batches of at most 1,000 datums, sent at once. The first five
    // requests fail: the SDK tries each request three times, so one of the two gives up (and
    // canary retries it later) while the other may succeed beside it.
    let files: Vec<(String, String)> = (0..200)
        .map(|i| {
            let yaml = format!(
                "name: c{i:03}\nhttp: {{ url: '{}', assert: [ {{ status: 200 }} ] }}\n",
                srv.url("/ok")
            );
            (format!("c{i:03}.yaml"), yaml)
        })
        .collect();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(f, y)| (f.as_str(), y.as_str()))
        .collect();
    let dir = support::canary_dir(&refs);
    let proxy = Proxy::start(&url, Mode::FailFirst(5));
    let stderr = expect_retried(dir.path(), ".", &proxy, &ns);
    let c = client(&url).await;
    for i in 0..200 {
        // Names of one length: LocalStack matches a dimension value as a prefix.
        let name = format!("c{i:03}");
        let points = stats(&c, &ns, "SuccessPercent", &[("CanaryName", &name)]).await;
        assert_eq!(total(&points), (1.0, 100.0), "{name}: {points:?}\n{stderr}");
    }
}
