//! EMF lines checked against AWS's specification, the series a run produces, Prometheus
//! scraped during a real `canary run` and checked with `promtool`, and a runner's `--location`
//! in every output.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::certs::Ca;
use support::server::{Reply, Server};

/// Checks one EMF object against AWS's specification; returns its metric names.
fn check_emf(v: &Value) -> Vec<String> {
    let aws = &v["_aws"];
    assert!(
        aws["Timestamp"].as_u64().is_some(),
        "Timestamp is epoch milliseconds: {v}"
    );
    let directives = aws["CloudWatchMetrics"]
        .as_array()
        .expect("CloudWatchMetrics array");
    let mut names = Vec::new();
    for d in directives {
        assert!(
            d["Namespace"]
                .as_str()
                .is_some_and(|n| !n.is_empty() && n.len() <= 1024)
        );
        for set in d["Dimensions"].as_array().expect("Dimensions") {
            let set = set.as_array().expect("a dimension set is an array");
            assert!(set.len() <= 30);
            for name in set {
                let name = name.as_str().expect("dimension names are strings");
                assert!(
                    v[name].is_string(),
                    "dimension {name} is a top-level string: {v}"
                );
            }
        }
        let metrics = d["Metrics"].as_array().expect("Metrics");
        assert!(!metrics.is_empty() && metrics.len() <= 100);
        for m in metrics {
            let name = m["Name"].as_str().expect("Name");
            assert!(["Percent", "Milliseconds", "Count"].contains(&m["Unit"].as_str().unwrap()));
            assert!(
                v[name].is_number(),
                "metric {name} is a top-level number: {v}"
            );
            names.push(name.to_string());
        }
    }
    names
}

#[test]
fn emf_lines_follow_the_specification_and_stdout_stays_clean() {
    let srv = Server::http(|req| {
        if req.path() == "/a" {
            Reply::text(201, "ok")
        } else {
            Reply::text(404, "no")
        }
    });
    let dir = support::canary_dir(&[(
        "c.yaml",
        &format!(
            "name: shop\ndimensions: {{ Environment: prod }}\nsteps:\n  - {{ name: a, http: {{ url: '{}' }} }}\n  - {{ name: b, http: {{ url: '{}' }}, assert: [ {{ status: 200 }} ] }}\n",
            srv.url("/a"),
            srv.url("/b")
        ),
    )]);
    let out = support::canary(
        dir.path(),
        &[
            "test",
            ".",
            "--metrics",
            "emf",
            "--namespace",
            "Shop",
            "--dimension",
            "Region=eu-west-1",
        ],
    );
    let (stdout, stderr) = support::text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("✗ shop"),
        "the console moved to stderr: {stderr}"
    );
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines.len(), 3, "one for the canary, one per step: {stdout}");
    let canary = &lines[0];
    let names = check_emf(canary);
    assert_eq!(
        names,
        [
            "SuccessPercent",
            "Duration",
            "Failed",
            "Error",
            "Degraded",
            "2xx",
            "4xx",
            "5xx"
        ]
    );
    assert_eq!(
        canary["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        serde_json::json!([["CanaryName", "Environment", "Region"]])
    );
    assert_eq!(
        (canary["SuccessPercent"].as_f64(), canary["Failed"].as_f64()),
        (Some(0.0), Some(1.0))
    );
    assert_eq!(
        (canary["2xx"].as_f64(), canary["4xx"].as_f64()),
        (Some(1.0), Some(1.0))
    );
    assert_eq!(canary["Outcome"], "failed");
    for (line, step, ok) in [(&lines[1], "a", 100.0), (&lines[2], "b", 0.0)] {
        assert_eq!(check_emf(line), ["SuccessPercent", "Duration"]);
        assert_eq!(
            (line["StepName"].as_str(), line["SuccessPercent"].as_f64()),
            (Some(step), Some(ok))
        );
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0][1],
            "StepName"
        );
    }
}

/// The body of an HTTP GET on 127.0.0.1.
fn get(addr: &str, path: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (
        status,
        text.split_once("\r\n\r\n")
            .map(|x| x.1.to_string())
            .unwrap_or_default(),
    )
}

/// `promtool`, or None (a failure under CI, a skip elsewhere).
fn promtool() -> Option<&'static str> {
    if Command::new("promtool").arg("--version").output().is_ok() {
        return Some("promtool");
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    assert!(
        !ci,
        "promtool is missing: apt-get install prometheus (scripts/test does)"
    );
    eprintln!("skipped the promtool check: apt-get install prometheus");
    None
}

#[test]
fn prometheus_is_scraped_during_a_run_and_passes_promtool() {
    let ca = Ca::new();
    let srv = Server::https(ca.leaf(-1, 30), |_| Reply::text(200, "ok"));
    let dir = support::canary_dir(&[
        ("ca.pem", &ca.pem()),
        (
            "web.yaml",
            &format!(
                "name: web\nschedule: rate(1 second)\nhttp: {{ url: '{}', tls: {{ ca_file: ca.pem }} }}\n",
                srv.url("/")
            ),
        ),
    ]);
    let mut child = Command::new(support::binary())
        .args([
            "run",
            ".",
            "--metrics",
            "prometheus",
            "--phase-metrics",
            "--listen",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--dimension",
            "Region=test",
        ])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut addr = None;
    let deadline = Instant::now() + Duration::from_secs(10);
    while let Some(Ok(line)) = lines.next() {
        let v: Value = serde_json::from_str(&line).unwrap_or_default();
        if v["message"] == "Prometheus metrics on /metrics" {
            addr = v["address"].as_str().map(str::to_string);
        }
        if v["message"] == "run" && addr.is_some() {
            break;
        }
        assert!(Instant::now() < deadline, "no run logged");
    }
    let addr = addr.expect("the address is logged");
    let wanted = [
        "canary_success{Region=\"test\",canary=\"web\"} 1",
        "canary_runs_total{Region=\"test\",canary=\"web\",outcome=\"passed\"}",
        "canary_duration_seconds_count{Region=\"test\",canary=\"web\"}",
        "canary_phase_duration_seconds_count{Region=\"test\",canary=\"web\",phase=\"tls\"}",
        "canary_schedule_lateness_seconds_bucket",
        "canary_tls_cert_expiry_timestamp_seconds{",
        "# TYPE canary_runs_total counter",
    ];
    // The run's log line comes before the metrics task has recorded all of it: poll briefly.
    let deadline = Instant::now() + Duration::from_secs(5);
    let (status, body) = loop {
        let (status, body) = get(&addr, "/metrics");
        if wanted.iter().all(|w| body.contains(w)) || Instant::now() > deadline {
            break (status, body);
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (health, ok) = get(&addr, "/healthz");
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    assert_eq!((status, health, ok.as_str()), (200, 200, "ok\n"));
    for want in wanted {
        assert!(body.contains(want), "{want} missing from:\n{body}");
    }
    let expiry = body
        .lines()
        .find(|l| l.starts_with("canary_tls_cert_expiry_timestamp_seconds{"))
        .expect("cert expiry");
    let secs: f64 = expiry.rsplit(' ').next().unwrap().parse().unwrap();
    let in_days = (secs
        - std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64())
        / 86_400.0;
    assert!((29.0..31.0).contains(&in_days), "{expiry}");
    if let Some(tool) = promtool() {
        let mut check = Command::new(tool)
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        check
            .stdin
            .take()
            .unwrap()
            .write_all(body.as_bytes())
            .unwrap();
        let out = check.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "promtool: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn a_runners_location_is_a_dimension_a_label_a_record_field_and_a_variable() {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = seen.clone();
    let srv = Server::http(move |req| {
        let at = req.header("x-location").unwrap_or("").to_string();
        keep.lock().unwrap().push(at);
        Reply::text(200, "ok")
    });
    let canary = format!(
        "name: shop\nhttp: {{ url: '{}', headers: {{ X-Location: '${{env:CANARY_LOCATION}}' }} }}\n",
        srv.url("/")
    );
    let dir = support::canary_dir(&[("c.yaml", &canary)]);
    let d = dir.path();
    let out = support::canary(
        d,
        &[
            "test",
            "c.yaml",
            "--location",
            "eu-west-1",
            "--metrics",
            "emf",
            "--emf-file",
            "emf.jsonl",
            "--archive",
            "archive",
        ],
    );
    assert!(out.status.success(), "{}", support::text(&out).1);
    assert_eq!(
        *seen.lock().unwrap(),
        ["eu-west-1"],
        "${{env:CANARY_LOCATION}}"
    );
    let emf: Value = serde_json::from_str(
        std::fs::read_to_string(d.join("emf.jsonl"))
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        emf["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        serde_json::json!([["CanaryName", "Location"]])
    );
    assert_eq!(emf["Location"], "eu-west-1");
    let record = walkdir(&d.join("archive"))
        .into_iter()
        .find(|p| p.to_string_lossy().contains("canary=shop"))
        .expect("the canary's archive file");
    let line = std::fs::read_to_string(record).unwrap();
    let run: Value = serde_json::from_str(
        line.lines()
            .find(|l| l.contains("\"record\":\"run\""))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(run["runner"]["location"], "eu-west-1");
    // The same name twice is refused rather than guessed.
    let both = support::canary(
        d,
        &[
            "test",
            "c.yaml",
            "--location",
            "a",
            "--metrics",
            "emf",
            "--dimension",
            "Location=b",
        ],
    );
    assert_eq!(both.status.code(), Some(2), "{}", support::text(&both).1);
    assert!(support::text(&both).1.contains("say the same"));
    let prom = canary::metrics::prometheus::Prometheus::new(
        &[("Location".into(), "eu-west-1".into())],
        None,
        false,
    );
    prom.declare([("shop", &[][..])]);
    assert!(
        prom.encode().contains(
            "canary_runs_total{location=\"eu-west-1\",canary=\"shop\",outcome=\"passed\"} 0"
        ),
        "{}",
        prom.encode()
    );
}

/// Every file under `dir`.
fn walkdir(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walkdir(&p));
        } else {
            out.push(p);
        }
    }
    out
}
