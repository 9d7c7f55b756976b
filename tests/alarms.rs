//! Alarms as code against LocalStack's CloudWatch through the real binary: apply creates them,
//! a second apply changes nothing, an edit updates and a removal deletes, alarms canary does not
//! own are never touched; a failing canary drives its alarm to ALARM and its SNS action reaches
//! an HTTP subscriber; the anomaly detector request checked at the wire; the exports load in
//! cfn-lint, an HCL parser and promtool (rules and a unit test); alarms over several locations
//! (metric math, and a rule promtool proves); maintenance windows as an actions suppressor and
//! as Alertmanager inhibit rules the real Alertmanager applies.

mod support;

use std::path::Path;
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_cloudwatch::types::{ComparisonOperator, MetricAlarm, Statistic};
use serde_json::Value;
use support::aws::{aws_command, canary, localstack, unique};
use support::proxy::{Mode, Proxy};
use support::server::{Reply, Server};

fn text(out: &Output) -> String {
    let (o, e) = support::text(out);
    format!("{o}{e}")
}

fn alarms_cmd(dir: &Path, verb: &str, url: &str, ns: &str) -> Output {
    alarms_cmd_with(dir, verb, url, ns, &[])
}

/// `canary alarms VERB .` against `url` with these `extra` arguments.
fn alarms_cmd_with(dir: &Path, verb: &str, url: &str, ns: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "alarms",
        verb,
        ".",
        "--endpoint-url",
        url,
        "--namespace",
        ns,
    ];
    args.extend_from_slice(extra);
    canary(dir, &args)
}

fn project(prefix: &str) -> String {
    format!(
        "project: {prefix}\nalarm_prefix: \"{prefix}-\"\ndefaults:\n  alarms:\n    - {{ name: failing, metric: SuccessPercent, threshold: {{ lt: 100 }}, datapoints: 2 of 3 }}\n"
    )
}

fn canary_file(name: &str, extra: &str) -> String {
    format!("name: {name}\nhttp: {{ url: 'http://127.0.0.1:9/' }}\n{extra}")
}

/// `canary alarms export . --format F -o FILE` in `dir`, for each `(F, FILE)`.
fn export(dir: &Path, formats: &[(&str, &str)]) {
    for (format, file) in formats {
        let args = ["alarms", "export", ".", "--format", format, "-o", file];
        let out = support::canary(dir, &args);
        assert!(out.status.success(), "{format}: {}", text(&out));
    }
}

/// A validator from .venv-ci (cfn-lint, python with hcl2); None outside CI when it is missing.
fn validator(name: &str) -> Option<std::path::PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(".venv-ci/bin")
        .join(name);
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    assert!(
        p.exists() || !ci,
        "{name} is missing: run scripts/check-deploy first (it installs the validators)"
    );
    p.exists().then_some(p)
}

/// cfn-lint passes `template` (skipped, outside CI, without cfn-lint).
fn cfn_lint(template: &Path) {
    let Some(lint) = validator("cfn-lint") else {
        return;
    };
    let cfn = std::process::Command::new(lint)
        .arg(template)
        .output()
        .unwrap();
    assert!(cfn.status.success(), "cfn-lint: {}", support::text(&cfn).0);
}

async fn describe(url: &str, names: &[String]) -> Vec<MetricAlarm> {
    let c = support::aws::cloudwatch(url).await;
    let out = c
        .describe_alarms()
        .set_alarm_names(Some(names.to_vec()))
        .send()
        .await
        .unwrap();
    out.metric_alarms().to_vec()
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_is_idempotent_follows_edits_and_never_touches_what_it_does_not_own() {
    let Some(url) = localstack() else { return };
    let prefix = unique("ca", "own");
    let ns = format!("canary-test/{prefix}");
    let shop = canary_file(
        "shop",
        "alarms:\n  - { name: failing, threshold: { lt: 90 }, missing: notBreaching }\n  - { name: slow, metric: Duration, statistic: p99, threshold: { gt: 800 }, period: 5m }\ncomposite:\n  - { name: down, rule: failing AND slow }\n",
    );
    let dir = support::canary_dir(&[
        (".canary.yaml", &project(&prefix)),
        ("shop.yaml", &shop),
        ("blog.yaml", &canary_file("blog", "")),
        ("quiet.yaml", &canary_file("quiet", "alarms: []\n")),
    ]);
    let d = dir.path();
    let names = |n: &[&str]| {
        n.iter()
            .map(|x| format!("{prefix}-{x}"))
            .collect::<Vec<_>>()
    };

    let out = alarms_cmd(d, "plan", &url, &ns);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("Plan: 4 to create, 0 to update, 0 to delete"),
        "{}",
        text(&out)
    );
    let out = alarms_cmd(d, "apply", &url, &ns);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let made = describe(&url, &names(&["shop-failing", "shop-slow", "blog-failing"])).await;
    assert_eq!(made.len(), 3);
    let failing = made
        .iter()
        .find(|a| a.alarm_name() == Some(&format!("{prefix}-shop-failing")))
        .unwrap();
    assert_eq!(
        failing.threshold(),
        Some(90.0),
        "the canary's threshold wins"
    );
    assert_eq!(
        failing.evaluation_periods(),
        Some(3),
        "the default's datapoints stay"
    );
    assert_eq!(failing.datapoints_to_alarm(), Some(2));
    assert_eq!(failing.treat_missing_data(), Some("notBreaching"));
    assert_eq!(failing.statistic(), Some(&Statistic::Average));
    assert_eq!(failing.namespace(), Some(ns.as_str()));
    assert_eq!(failing.dimensions()[0].value(), Some("shop"));
    let slow = made
        .iter()
        .find(|a| a.metric_name() == Some("Duration"))
        .unwrap();
    assert_eq!(
        (slow.extended_statistic(), slow.period()),
        (Some("p99"), Some(300))
    );
    assert_eq!(
        slow.comparison_operator(),
        Some(&ComparisonOperator::GreaterThanThreshold)
    );
    let cw = support::aws::cloudwatch(&url).await;
    let tags = cw
        .list_tags_for_resource()
        .resource_arn(failing.alarm_arn().unwrap())
        .send()
        .await
        .unwrap();
    let tag = |k: &str| {
        tags.tags()
            .iter()
            .find(|t| t.key() == Some(k))
            .and_then(|t| t.value())
            .map(String::from)
    };
    assert_eq!(tag("canary:managed").as_deref(), Some("true"));
    assert_eq!(tag("canary:namespace"), Some(ns.clone()));
    assert_eq!(tag("canary:project"), Some(prefix.clone()));
    let composite = cw
        .describe_alarms()
        .alarm_names(format!("{prefix}-shop-down"))
        .alarm_types(aws_sdk_cloudwatch::types::AlarmType::CompositeAlarm)
        .send()
        .await
        .unwrap();
    assert_eq!(
        composite.composite_alarms()[0].alarm_rule(),
        Some(
            format!("ALARM(\"{prefix}-shop-failing\") AND ALARM(\"{prefix}-shop-slow\")").as_str()
        )
    );

    // A second apply is a no-op.
    let out = alarms_cmd(d, "plan", &url, &ns);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("CloudWatch matches the files"),
        "{}",
        text(&out)
    );
    let out = alarms_cmd(d, "apply", &url, &ns);
    assert!(
        text(&out).contains("Applied: 0 put, 0 deleted"),
        "{}",
        text(&out)
    );

    // Alarms canary does not own: one with the prefix it would delete if it were its own, one
    // with the name of an alarm the files now ask for.
    for (name, threshold) in [
        (format!("{prefix}-hand-made"), 1.0),
        (format!("{prefix}-blog-slow"), 2.0),
    ] {
        cw.put_metric_alarm()
            .alarm_name(name)
            .namespace(&ns)
            .metric_name("Duration")
            .statistic(Statistic::Maximum)
            .period(60)
            .evaluation_periods(1)
            .threshold(threshold)
            .comparison_operator(ComparisonOperator::GreaterThanThreshold)
            .send()
            .await
            .unwrap();
    }
    // Edit: a threshold changes, the composite and the slow alarm go, the blog gets `slow`.
    std::fs::write(
        d.join("shop.yaml"),
        canary_file(
            "shop",
            "alarms:\n  - { name: failing, threshold: { lt: 80 }, missing: notBreaching }\n",
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("blog.yaml"),
        canary_file(
            "blog",
            "alarms:\n  - { name: slow, metric: Duration, threshold: { gt: 500 } }\n",
        ),
    )
    .unwrap();
    let out = alarms_cmd(d, "plan", &url, &ns);
    let plan = text(&out);
    assert_eq!(out.status.code(), Some(3), "{plan}");
    assert!(
        plan.contains(&format!(
            "~ update {prefix}-shop-failing\n    Threshold: 90 → 80"
        )),
        "{plan}"
    );
    assert!(
        plan.contains(&format!("- delete {prefix}-shop-down"))
            && plan.contains(&format!("- delete {prefix}-shop-slow")),
        "{plan}"
    );
    assert!(
        plan.find("shop-down").unwrap()
            < plan
                .find("delete")
                .map(|i| i + plan[i..].find("shop-slow").unwrap())
                .unwrap(),
        "the composite goes first: {plan}"
    );
    assert!(
        plan.contains(&format!("! conflict {prefix}-blog-slow")),
        "{plan}"
    );
    assert!(!plan.contains("hand-made"), "{plan}");
    let out = alarms_cmd(d, "apply", &url, &ns);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a conflict is left: {}",
        text(&out)
    );
    let left = describe(
        &url,
        &names(&["shop-failing", "shop-slow", "hand-made", "blog-slow"]),
    )
    .await;
    let threshold = |n: &str| {
        left.iter()
            .find(|a| a.alarm_name() == Some(&format!("{prefix}-{n}")))
            .and_then(MetricAlarm::threshold)
    };
    assert_eq!(threshold("shop-failing"), Some(80.0));
    assert_eq!(threshold("shop-slow"), None, "deleted");
    assert_eq!(threshold("hand-made"), Some(1.0), "not canary's: untouched");
    assert_eq!(threshold("blog-slow"), Some(2.0), "not canary's: untouched");
}

/// An HTTP subscriber that confirms its SNS subscription and keeps every notification.
fn subscriber() -> (Server, Arc<Mutex<Vec<Value>>>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let keep = got.clone();
    let srv = Server::http(move |req| {
        let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
            return Reply::text(400, "not json");
        };
        if body["Type"] == "SubscriptionConfirmation" {
            let url = body["SubscribeURL"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            std::thread::spawn(move || minimal_get(&url));
        } else {
            keep.lock().unwrap().push(body);
        }
        Reply::text(200, "ok")
    });
    (srv, got)
}

/// GET `url` (http://host:port/path) with a plain socket: confirms the subscription.
fn minimal_get(url: &str) -> std::io::Result<()> {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap_or(url);
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut s = std::net::TcpStream::connect(host)?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )?;
    let mut out = Vec::new();
    s.read_to_end(&mut out)?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_canary_drives_its_alarm_and_sns_reaches_a_person() {
    let Some(url) = localstack() else { return };
    let prefix = unique("ca", "e2e");
    let ns = format!("canary-test/{prefix}");
    let sns = aws_sdk_sns::Client::new(&support::aws::sdk_config(&url).await);
    let topic = sns.create_topic().name(&prefix).send().await.unwrap();
    let topic_arn = topic.topic_arn().unwrap().to_string();
    let (receiver, got) = subscriber();
    sns.subscribe()
        .topic_arn(&topic_arn)
        .protocol("http")
        .endpoint(receiver.url("/sns"))
        .send()
        .await
        .unwrap();
    let site = Server::http(|_| Reply::text(503, "down"));
    let file = format!(
        "name: checkout\nschedule: rate(2 seconds)\nhttp: {{ url: '{}', assert: [ {{ status: 200 }} ] }}\nalarms:\n  - {{ name: failing, metric: SuccessPercent, threshold: {{ lt: 90 }}, period: 10s, datapoints: 1 of 3, missing: notBreaching, actions: [ '{topic_arn}' ] }}\n",
        site.url("/checkout")
    );
    let dir = support::canary_dir(&[
        (
            ".canary.yaml",
            &format!("project: {prefix}\nalarm_prefix: \"{prefix}-\"\n"),
        ),
        ("c.yaml", &file),
    ]);
    let out = alarms_cmd(dir.path(), "apply", &url, &ns);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let mut run = aws_command(
        dir.path(),
        &[
            "run",
            ".",
            "--metrics",
            "cloudwatch",
            "--high-resolution",
            "--flush-interval",
            "10s",
            "--endpoint-url",
            &url,
            "--namespace",
            &ns,
        ],
    )
    .stderr(std::process::Stdio::null())
    .spawn()
    .unwrap();
    let alarm = format!("{prefix}-checkout-failing");
    let until = Instant::now() + Duration::from_secs(180);
    let notified = loop {
        let hit = got.lock().unwrap().iter().find_map(|n| {
            let msg: Value = serde_json::from_str(n["Message"].as_str()?).ok()?;
            (msg["AlarmName"] == alarm.as_str() && msg["NewStateValue"] == "ALARM").then_some(msg)
        });
        if hit.is_some() || Instant::now() > until {
            break hit;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    let _ = run.kill();
    let _ = run.wait();
    let state = describe(&url, std::slice::from_ref(&alarm)).await;
    let msg = notified.unwrap_or_else(|| {
        panic!(
            "no ALARM notification for {alarm} within 180 s; the alarm is {:?}",
            state
                .first()
                .map(|a| (a.state_value().cloned(), a.state_reason().map(String::from)))
        )
    });
    assert_eq!(msg["Trigger"]["MetricName"], "SuccessPercent");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_anomaly_detector_request_is_exact_at_the_wire() {
    let Some(url) = localstack() else { return };
    let prefix = unique("ca", "band");
    let ns = format!("canary-test/{prefix}");
    // LocalStack has no anomaly detectors: a proxy in front of it answers that call itself and
    // keeps what was sent.
    let proxy = Proxy::start(&url, Mode::Forward);
    proxy.answer_here.lock().unwrap().extend([
        "PutAnomalyDetector".to_string(),
        "DeleteAnomalyDetector".to_string(),
    ]);
    let file = canary_file(
        "api",
        "dimensions: { Environment: prod }\nalarms:\n  - { name: slow, metric: Duration, statistic: p90, anomaly: { band: 2.5, side: above }, datapoints: 2 of 4 }\n",
    );
    let dir = support::canary_dir(&[
        (
            ".canary.yaml",
            &format!("project: {prefix}\nalarm_prefix: \"{prefix}-\"\n"),
        ),
        ("api.yaml", &file),
    ]);
    let apply = || {
        alarms_cmd_with(
            dir.path(),
            "apply",
            &proxy.url(),
            &ns,
            &["--dimension", "Region=eu-west-1"],
        )
    };
    let out = apply();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let bodies: Vec<(String, Vec<u8>)> = proxy.recorded.lock().unwrap().clone();
    let (_, body) = bodies
        .iter()
        .find(|(t, _)| t.ends_with("/PutAnomalyDetector"))
        .expect("a PutAnomalyDetector request");
    let sent: ciborium::Value = ciborium::from_reader(body.as_slice()).unwrap();
    let json: Value = serde_json::to_value(&sent).unwrap();
    assert_eq!(
        json["SingleMetricAnomalyDetector"],
        serde_json::json!({
            "Namespace": ns,
            "MetricName": "Duration",
            "Dimensions": [
                { "Name": "CanaryName", "Value": "api" },
                { "Name": "Environment", "Value": "prod" },
                { "Name": "Region", "Value": "eu-west-1" }
            ],
            "Stat": "p90"
        })
    );
    let put = bodies
        .iter()
        .position(|(t, _)| t.ends_with("/PutMetricAlarm"))
        .unwrap();
    let detector = bodies
        .iter()
        .position(|(t, _)| t.ends_with("/PutAnomalyDetector"))
        .unwrap();
    assert!(detector < put, "the detector comes before its alarm");
    let (_, alarm) = &bodies[put];
    let alarm: Value = serde_json::to_value(
        ciborium::from_reader::<ciborium::Value, _>(alarm.as_slice()).unwrap(),
    )
    .unwrap();
    assert_eq!(alarm["ComparisonOperator"], "GreaterThanUpperThreshold");
    assert_eq!(alarm["ThresholdMetricId"], "ad1");
    assert_eq!(
        alarm["Metrics"][1]["Expression"],
        "ANOMALY_DETECTION_BAND(m1, 2.5)"
    );
    assert_eq!(alarm["Metrics"][0]["MetricStat"]["Stat"], "p90");
    // What CloudWatch stores reads back as the same alarm: nothing to change.
    let out = canary(
        dir.path(),
        &[
            "alarms",
            "plan",
            ".",
            "--endpoint-url",
            &proxy.url(),
            "--namespace",
            &ns,
            "--dimension",
            "Region=eu-west-1",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // Removing the alarm deletes its detector too.
    std::fs::write(
        dir.path().join("api.yaml"),
        canary_file("api", "dimensions: { Environment: prod }\n"),
    )
    .unwrap();
    let out = apply();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        proxy
            .recorded
            .lock()
            .unwrap()
            .iter()
            .any(|(t, _)| t.ends_with("/DeleteAnomalyDetector"))
    );
}

#[test]
fn exports_load_in_their_own_validators() {
    let file = canary_file(
        "checkout",
        "alarms:\n  - { name: failing, metric: SuccessPercent, threshold: { lt: 90 }, datapoints: 2 of 3, actions: [ 'arn:aws:sns:us-east-1:123456789012:oncall' ] }\n  - { name: slow, metric: Duration, statistic: p99, anomaly: { band: 2 } }\n  - { name: p95, metric: Duration, statistic: p95, threshold: { gt: 800 } }\ncomposite:\n  - { name: down, rule: failing AND slow, description: 'Checkout \"down\" $${x}' }\n",
    );
    let dir = support::canary_dir(&[("c.yaml", &file)]);
    let d = dir.path();
    for (format, out) in [
        ("cloudformation", "cfn.json"),
        ("terraform", "main.tf"),
        ("prometheus", "rules.yml"),
    ] {
        let r = support::canary(
            d,
            &["alarms", "export", "c.yaml", "--format", format, "-o", out],
        );
        assert_eq!(
            r.status.code(),
            Some(0),
            "{format}: {:?}",
            support::text(&r)
        );
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-ci/bin");
    let tool = |name: &str| {
        let p = venv.join(name);
        assert!(
            p.exists() || std::env::var("CI").map_or(true, |v| v != "true"),
            "{name} is missing: run scripts/check-deploy first (it installs the validators)"
        );
        p
    };
    let cfn = std::process::Command::new(tool("cfn-lint"))
        .arg(d.join("cfn.json"))
        .output();
    let cfn = cfn.expect("cfn-lint (scripts/check-deploy installs it into .venv-ci)");
    assert!(cfn.status.success(), "cfn-lint: {}", support::text(&cfn).0);
    let hcl = std::process::Command::new(tool("python"))
        .args(["-c", "import hcl2, json, sys; r = hcl2.load(open(sys.argv[1]))['resource']; print(json.dumps(r))"])
        .arg(d.join("main.tf"))
        .output()
        .expect("python-hcl2 in .venv-ci");
    assert!(hcl.status.success(), "HCL: {}", support::text(&hcl).1);
    let resources: Value = serde_json::from_slice(&hcl.stdout).unwrap();
    let kinds: Vec<String> = resources
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_object().unwrap().keys().cloned())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| k.contains("metric_alarm")).count(),
        3,
        "{kinds:?}"
    );
    assert_eq!(
        kinds
            .iter()
            .filter(|k| k.contains("composite_alarm"))
            .count(),
        1,
        "{kinds:?}"
    );
    let tf = std::fs::read_to_string(d.join("main.tf")).unwrap();
    assert!(
        tf.contains(r#"alarm_description         = "Checkout \"down\" $${x}""#),
        "{tf}"
    );
    let check = std::process::Command::new("promtool")
        .args(["check", "rules"])
        .arg(d.join("rules.yml"))
        .output()
        .expect("promtool (scripts/test installs prometheus)");
    assert!(check.status.success(), "{:?}", support::text(&check));
    let rules = std::fs::read_to_string(d.join("rules.yml")).unwrap();
    let summary =
        "Average SuccessPercent of canary checkout < 90 in 2 of the last 3 periods of 60s";
    let unit = format!(
        r#"rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'canary_runs_total{{canary="checkout",outcome="failed"}}'
        values: '0+1x10'
      - series: 'canary_runs_total{{canary="checkout",outcome="passed"}}'
        values: '0x10'
    alert_rule_test:
      - eval_time: 4m
        alertname: canary-checkout-failing
        exp_alerts:
          - exp_labels: {{ canary: checkout, source: canary }}
            exp_annotations: {{ summary: "{summary}" }}
  - interval: 1m
    input_series:
      - series: 'canary_runs_total{{canary="checkout",outcome="passed"}}'
        values: '0+1x10'
    alert_rule_test:
      - eval_time: 4m
        alertname: canary-checkout-failing
        exp_alerts: []
"#
    );
    std::fs::write(d.join("unit.yml"), unit).unwrap();
    let test = std::process::Command::new("promtool")
        .args(["test", "rules", "unit.yml"])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(test.status.success(), "{}\n{rules}", text(&test));
}

/// A canary's behaviour in the promtool scenarios: what each minute's run gives.
struct Scenario {
    canary: &'static str,
    /// The outcome and duration (s) of the run in minute `m` (from 1); None: no run.
    run: fn(u32) -> Option<(canary::run::Outcome, f64)>,
    /// Whether minute `m`'s instant is also skipped (an overrun).
    skips: bool,
    /// Whether a maintenance window covers it all along.
    maintained: bool,
}

/// Runs the scenarios for `minutes` minutes through canary's own Prometheus collector, scraped
/// every 15 s, and returns promtool's `input_series` (series and values as `/metrics` shows them).
/// Unless `declared`, the canaries are not declared at load and each counter series starts with
/// its first increment (as exporters commonly do): the rules must hold either way.
fn scraped(scenarios: &[Scenario], minutes: u32, declared: bool) -> String {
    use canary::run::{Attempt, Run};
    use std::collections::BTreeMap;
    let prom = canary::metrics::prometheus::Prometheus::new(&[], None, false);
    let always = [std::sync::Arc::new(canary::canary::maintenance::Window {
        name: "all-along".into(),
        when: canary::canary::maintenance::When::Once {
            start: "2000-01-01T00:00:00Z".parse().unwrap(),
            end: "2100-01-01T00:00:00Z".parse().unwrap(),
        },
    })];
    // Canary declares every canary at load; the windows come with that.
    let windows = |s: &Scenario| match s.maintained {
        true => &always[..],
        false => &[][..],
    };
    let declare = scenarios.iter().filter(|s| declared || s.maintained);
    prom.declare(declare.map(|s| (s.canary, windows(s))));
    let mut series: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let scrapes = minutes * 4;
    for i in 0..=scrapes {
        if i % 4 == 0 && i > 0 {
            for s in scenarios {
                let Some((outcome, secs)) = (s.run)(i / 4) else {
                    continue;
                };
                let duration = Duration::from_secs_f64(secs);
                prom.observe(
                    &Run {
                        canary: s.canary.into(),
                        file: "x.yaml".into(),
                        started_at: std::time::SystemTime::now(),
                        attempts: vec![Attempt {
                            outcome,
                            steps: vec![],
                            duration,
                        }],
                        duration,
                        dimensions: vec![],
                        maintenance: None,
                    },
                    None,
                );
                if s.skips {
                    prom.skipped(s.canary);
                }
            }
        }
        for line in prom.encode().lines().filter(|l| !l.starts_with('#')) {
            let (name, value) = line.rsplit_once(' ').unwrap();
            let counter = name.starts_with("canary_runs_total")
                || name.starts_with("canary_skipped_runs_total");
            if !declared && counter && value == "0" && !series.contains_key(name) {
                continue; // a counter made by its first increment
            }
            let values = series.entry(name.to_string()).or_default();
            values.resize(i as usize, "_".into());
            values.push(value.to_string());
        }
    }
    let mut out = String::from("    input_series:\n");
    for (name, mut values) in series {
        values.resize(scrapes as usize + 1, "_".into());
        out.push_str(&format!(
            "      - series: '{name}'\n        values: '{}'\n",
            values.join(" ")
        ));
    }
    out
}

#[test]
fn exported_prometheus_rules_fire_exactly_when_they_should_under_promtool() {
    use canary::run::Outcome::{Degraded, Errored, Failed, Passed};
    let alarms = [
        ("sp", "metric: SuccessPercent, threshold: { lt: 90 }"),
        (
            "sp2of3",
            "metric: SuccessPercent, threshold: { lt: 90 }, datapoints: 2 of 3",
        ),
        (
            "count",
            "metric: SuccessPercent, statistic: SampleCount, threshold: { lt: 1 }",
        ),
        (
            "err",
            "metric: Error, statistic: Sum, threshold: { gte: 1 }",
        ),
        (
            "fail",
            "metric: Failed, statistic: Sum, threshold: { gte: 1 }",
        ),
        ("failavg", "metric: Failed, threshold: { gt: 0.5 }"),
        (
            "deg",
            "metric: Degraded, statistic: Sum, threshold: { gte: 1 }",
        ),
        (
            "skip",
            "metric: SkippedRuns, statistic: Sum, threshold: { gte: 1 }",
        ),
        ("dur", "metric: Duration, threshold: { gt: 500 }"),
        (
            "p90",
            "metric: Duration, statistic: p90, threshold: { gt: 500 }",
        ),
    ];
    let mut project = String::from("project: t\nalarm_prefix: \"\"\ndefaults:\n  alarms:\n");
    for (name, spec) in alarms {
        for (mode, missing) in [("b", "breaching"), ("n", "notBreaching")] {
            project.push_str(&format!(
                "    - {{ name: {name}-{mode}, {spec}, missing: {missing} }}\n"
            ));
        }
    }
    let scenarios = [
        Scenario {
            canary: "healthy",
            run: |_| Some((Passed, 0.1)),
            skips: false,
            maintained: false,
        },
        Scenario {
            canary: "failing",
            run: |_| Some((Failed, 1.0)),
            skips: false,
            maintained: false,
        },
        Scenario {
            canary: "erroring",
            run: |_| Some((Errored, 2.0)),
            skips: false,
            maintained: false,
        },
        Scenario {
            canary: "degraded",
            run: |_| Some((Degraded, 0.1)),
            skips: false,
            maintained: false,
        },
        Scenario {
            canary: "overrunning",
            run: |_| Some((Passed, 0.1)),
            skips: true,
            maintained: false,
        },
        Scenario {
            canary: "recovering",
            run: |m| Some(if m <= 5 { (Failed, 1.0) } else { (Passed, 0.1) }),
            skips: false,
            maintained: false,
        },
        Scenario {
            canary: "idle",
            run: |_| None,
            skips: false,
            maintained: false,
        },
        Scenario {
            canary: "maintained",
            run: |_| Some((Failed, 1.0)),
            skips: true,
            maintained: true,
        },
    ];
    let mut files = vec![(".canary.yaml".to_string(), project)];
    for s in &scenarios {
        files.push((format!("{}.yaml", s.canary), canary_file(s.canary, "")));
    }
    let dir = support::canary_dir_owned(&files);
    let d = dir.path();
    let out = support::canary(
        d,
        &[
            "alarms",
            "export",
            ".",
            "--format",
            "prometheus",
            "-o",
            "rules.yml",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let rules: serde_json::Value =
        serde_saphyr::from_str(&std::fs::read_to_string(d.join("rules.yml")).unwrap()).unwrap();
    let summaries: std::collections::HashMap<String, String> = rules["groups"][0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let alert = r["alert"].as_str().unwrap().to_string();
            (alert, r["annotations"]["summary"].as_str().unwrap().into())
        })
        .collect();
    assert_eq!(summaries.len(), scenarios.len() * alarms.len() * 2);

    // What fires, by canary: (alarm, fires when data is missing only).
    let fires: &[(&str, &[&str])] = &[
        ("healthy", &[]),
        (
            "failing",
            &["sp", "sp2of3", "fail", "failavg", "dur", "p90"],
        ),
        (
            "erroring",
            &["sp", "sp2of3", "err", "fail", "failavg", "dur", "p90"],
        ),
        ("degraded", &["deg"]),
        ("overrunning", &["skip"]),
        ("idle", &[]),
        ("maintained", &[]),
    ];
    // With no run at all, every alarm over runs has missing data; the skip counter is 0.
    let missing_only = [
        "sp", "sp2of3", "count", "err", "fail", "failavg", "deg", "dur", "p90",
    ];
    for declared in [true, false] {
        let mut tests = String::new();
        let expect = |tests: &mut String, at: &str, canary: &str, alarm: &str, fire: bool| {
            let name = format!("{canary}-{alarm}");
            tests.push_str(&format!(
                "      - eval_time: {at}\n        alertname: {name}\n        exp_alerts:"
            ));
            match fire {
            true => tests.push_str(&format!(
                "\n          - exp_labels: {{ canary: {canary}, source: canary }}\n            exp_annotations: {{ summary: {} }}\n",
                serde_json::to_string(&summaries[&name]).unwrap()
            )),
            false => tests.push_str(" []\n"),
        }
        };
        for (canary, firing) in fires {
            for (alarm, _) in alarms {
                for mode in ["b", "n"] {
                    // Undeclared, the idle canary has no skip counter either: missing data too.
                    let missing = missing_only.contains(&alarm) || (!declared && alarm == "skip");
                    let fire =
                        firing.contains(&alarm) || (*canary == "idle" && mode == "b" && missing);
                    expect(&mut tests, "10m", canary, &format!("{alarm}-{mode}"), fire);
                }
            }
        }
        // The recovering canary: failing in minute 4, clear from minute 8.
        for (alarm, _) in alarms {
            for mode in ["b", "n"] {
                let was = ["sp", "sp2of3", "fail", "failavg", "dur", "p90"].contains(&alarm);
                let name = format!("{alarm}-{mode}");
                expect(&mut tests, "4m", "recovering", &name, was);
                expect(&mut tests, "9m", "recovering", &name, false);
            }
        }
        let unit = format!(
            "rule_files: [rules.yml]\nevaluation_interval: 15s\ntests:\n  - interval: 15s\n{}    alert_rule_test:\n{tests}",
            scraped(&scenarios, 12, declared)
        );
        std::fs::write(d.join("unit.yml"), &unit).unwrap();
        let test = std::process::Command::new("promtool")
            .args(["test", "rules", "unit.yml"])
            .current_dir(d)
            .output()
            .expect("promtool (scripts/test installs prometheus)");
        assert!(
            test.status.success(),
            "declared: {declared}\n{}\n{unit}",
            text(&test)
        );
    }
}

/// A project of three locations whose `checkout` alarms when 2 of them see it down.
fn quorum_project(prefix: &str) -> Vec<(String, String)> {
    let project = format!(
        "project: {prefix}\nalarm_prefix: \"{prefix}-\"\nlocations: [eu-west-1, us-east-1, ap-southeast-2]\n"
    );
    let checkout = canary_file(
        "checkout",
        "alarms:\n  - { name: down, metric: SuccessPercent, threshold: { lt: 90 }, locations: 2 of 3, missing: notBreaching }\n  - { name: slow, metric: Duration, statistic: p90, threshold: { gt: 800 } }\n",
    );
    vec![
        (".canary.yaml".into(), project),
        ("checkout.yaml".into(), checkout),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn a_quorum_alarm_is_metric_math_over_each_location_and_applies_once() {
    let Some(url) = localstack() else { return };
    let prefix = unique("ca", "quorum");
    let ns = format!("canary-test/{prefix}");
    let dir = support::canary_dir_owned(&quorum_project(&prefix));
    let d = dir.path();
    let out = alarms_cmd(d, "apply", &url, &ns);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let made = describe(&url, &[format!("{prefix}-checkout-down")]).await;
    let down = &made[0];
    assert_eq!(
        (down.threshold(), down.comparison_operator()),
        (
            Some(2.0),
            Some(&ComparisonOperator::GreaterThanOrEqualToThreshold)
        )
    );
    let queries = down.metrics();
    let ids: Vec<&str> = queries.iter().filter_map(|q| q.id()).collect();
    assert_eq!(ids, ["m0", "m1", "m2", "b0", "b1", "b2", "q"]);
    let location = |i: usize| {
        let m = queries[i].metric_stat().unwrap().metric().unwrap();
        let d = m.dimensions().iter();
        d.map(|d| format!("{}={}", d.name().unwrap(), d.value().unwrap()))
            .collect::<Vec<_>>()
    };
    assert_eq!(location(1), ["CanaryName=checkout", "Location=us-east-1"]);
    assert_eq!(
        queries[3].expression(),
        Some("FILL(IF(m0 < 90, 1, 0), 0)"),
        "a silent location does not breach (missing: notBreaching)"
    );
    assert_eq!(queries[6].expression(), Some("b0 + b1 + b2"));
    assert_eq!(
        queries
            .iter()
            .filter(|q| q.return_data() == Some(true))
            .count(),
        1
    );
    // Every location for the alarm without `locations:` too: 1 of 3.
    let slow = &describe(&url, &[format!("{prefix}-checkout-slow")]).await[0];
    assert_eq!(slow.threshold(), Some(1.0));
    // Read back, the alarms are what the files say: nothing to change.
    let out = alarms_cmd(d, "plan", &url, &ns);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("CloudWatch matches the files"),
        "{}",
        text(&out)
    );
    // A runner's --location does not go with the project's locations.
    let out = alarms_cmd_with(d, "plan", &url, &ns, &["--location", "eu-west-1"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("leave --location off"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_quorum_rule_fires_when_enough_locations_agree_under_promtool() {
    let dir = support::canary_dir_owned(&quorum_project("q"));
    let d = dir.path();
    export(
        d,
        &[
            ("prometheus", "rules.yml"),
            ("cloudformation", "cfn.json"),
            ("terraform", "main.tf"),
        ],
    );
    cfn_lint(&d.join("cfn.json"));
    if let Some(python) = validator("python") {
        let hcl = std::process::Command::new(python)
            .args(["-c", "import hcl2, sys; r = hcl2.load(open(sys.argv[1]))['resource']; a = list(list(r[0].values())[0].values())[0]; print(len(a['metric_query']))"])
            .arg(d.join("main.tf"))
            .output()
            .unwrap();
        assert_eq!(
            support::text(&hcl).0.trim(),
            "7",
            "{}",
            support::text(&hcl).1
        );
    }
    let series = |failing: &[&str]| {
        let mut out = String::from("    input_series:\n");
        for l in ["eu-west-1", "us-east-1", "ap-southeast-2"] {
            let (failed, passed) = match failing.contains(&l) {
                true => ("0+1x10", "0x10"),
                false => ("0x10", "0+1x10"),
            };
            for (outcome, values) in [("failed", failed), ("passed", passed)] {
                out += &format!(
                    "      - series: 'canary_runs_total{{canary=\"checkout\",location=\"{l}\",outcome=\"{outcome}\"}}'\n        values: '{values}'\n"
                );
            }
        }
        out
    };
    let case = |failing: &[&str], fires: bool| {
        let alerts = match fires {
            true => {
                "\n          - exp_labels: { canary: checkout, source: canary }\n            exp_annotations: { summary: \"Average SuccessPercent of canary checkout < 90 in 2 of 3 locations in 1 of the last 1 periods of 60s\" }\n"
            }
            false => " []\n",
        };
        format!(
            "  - interval: 1m\n{}    alert_rule_test:\n      - eval_time: 5m\n        alertname: q-checkout-down\n        exp_alerts:{alerts}",
            series(failing)
        )
    };
    let unit = format!(
        "rule_files: [rules.yml]\nevaluation_interval: 1m\ntests:\n{}{}{}",
        case(&["us-east-1"], false),
        case(&["us-east-1", "ap-southeast-2"], true),
        case(&[], false)
    );
    std::fs::write(d.join("unit.yml"), &unit).unwrap();
    let test = std::process::Command::new("promtool")
        .args(["test", "rules", "unit.yml"])
        .current_dir(d)
        .output()
        .expect("promtool (scripts/test installs prometheus)");
    let rules = std::fs::read_to_string(d.join("rules.yml")).unwrap();
    assert!(test.status.success(), "{}\n{unit}\n{rules}", text(&test));
}

#[test]
fn a_quorum_that_does_not_fit_the_projects_locations_is_a_config_error() {
    let alarm = |spec: &str| {
        canary_file(
            "checkout",
            &format!("alarms:\n  - {{ name: down, metric: SuccessPercent, {spec} }}\n"),
        )
    };
    let three = "locations: [a, b, c]\n";
    for (project, spec, says) in [
        (
            three,
            "threshold: { lt: 90 }, locations: 2 of 4",
            "`2 of 4` locations, but the project names 3: a, b, c",
        ),
        (
            three,
            "threshold: { lt: 90 }, locations: 4",
            "4 locations cannot agree when the project names 3",
        ),
        (
            three,
            "anomaly: { band: 2 }, locations: 2",
            "with `locations:` give a `threshold:`",
        ),
        (
            "project: p\n",
            "threshold: { lt: 90 }, locations: 2 of 3",
            "the project file's `locations: [...]`, and it names none",
        ),
        (
            "locations: [a, a]\n",
            "threshold: { lt: 90 }",
            "the location `a` is named twice",
        ),
    ] {
        let dir = support::canary_dir(&[(".canary.yaml", project), ("c.yaml", &alarm(spec))]);
        let out = support::canary(dir.path(), &["validate", "."]);
        assert_eq!(out.status.code(), Some(2), "{spec}");
        assert!(text(&out).contains(says), "{spec}: {}", text(&out));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_maintenance_window_silences_cloudwatch_actions_through_a_suppressor() {
    let prefix = unique("ca", "quiet");
    let project = format!(
        "project: {prefix}\nalarm_prefix: \"{prefix}-\"\nmaintenance:\n  - {{ name: weekly, schedule: cron(0 2 ? * SUN *), duration: 2h, canaries: {{ names: [shop] }} }}\n"
    );
    let topic = "arn:aws:sns:us-east-1:000000000000:oncall";
    let shop = canary_file(
        "shop",
        &format!(
            "alarms:\n  - {{ name: down, metric: SuccessPercent, threshold: {{ lt: 90 }}, actions: [ '{topic}' ] }}\n  - {{ name: quiet, metric: Duration, threshold: {{ gt: 900 }} }}\ncomposite:\n  - {{ name: both, rule: down AND quiet, actions: [ '{topic}' ] }}\n"
        ),
    );
    let dir = support::canary_dir(&[
        (".canary.yaml", &project),
        ("shop.yaml", &shop),
        (
            "blog.yaml",
            &canary_file(
                "blog",
                "alarms:\n  - { name: down, metric: SuccessPercent, threshold: { lt: 90 } }\n",
            ),
        ),
    ]);
    let d = dir.path();
    export(
        d,
        &[("cloudformation", "cfn.json"), ("terraform", "main.tf")],
    );
    let tf = std::fs::read_to_string(d.join("main.tf")).unwrap();
    assert!(
        tf.contains(&format!("alarm            = \"{prefix}-shop-maintenance\"")),
        "{tf}"
    );
    cfn_lint(&d.join("cfn.json"));
    let Some(url) = localstack() else { return };
    let ns = format!("canary-test/{prefix}");
    let out = alarms_cmd(d, "apply", &url, &ns);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let c = support::aws::cloudwatch(&url).await;
    let all = c
        .describe_alarms()
        .alarm_name_prefix(format!("{prefix}-"))
        .alarm_types(aws_sdk_cloudwatch::types::AlarmType::MetricAlarm)
        .alarm_types(aws_sdk_cloudwatch::types::AlarmType::CompositeAlarm)
        .send()
        .await
        .unwrap();
    let mut metric: Vec<&str> = all
        .metric_alarms()
        .iter()
        .filter_map(|a| a.alarm_name())
        .collect();
    let mut composite: Vec<&str> = all
        .composite_alarms()
        .iter()
        .filter_map(|a| a.alarm_name())
        .collect();
    let full = |n: &str| format!("{prefix}-{n}");
    metric.sort();
    composite.sort();
    assert_eq!(
        metric,
        [
            full("blog-down"),
            full("shop-down"),
            full("shop-maintenance"),
            full("shop-quiet")
        ],
        "the covered canary gets a maintenance alarm; the other does not"
    );
    assert_eq!(composite, [full("shop-both"), full("shop-down-notify")]);
    let down = all
        .metric_alarms()
        .iter()
        .find(|a| a.alarm_name() == Some(&full("shop-down")))
        .unwrap();
    assert!(
        down.alarm_actions().is_empty(),
        "its actions moved to its -notify composite"
    );
    let quiet = all
        .metric_alarms()
        .iter()
        .find(|a| a.alarm_name() == Some(&full("shop-maintenance")))
        .unwrap();
    assert_eq!(
        (
            quiet.metric_name(),
            quiet.threshold(),
            quiet.treat_missing_data()
        ),
        (Some("Maintenance"), Some(1.0), Some("notBreaching"))
    );
    for name in ["shop-down-notify", "shop-both"] {
        let comp = all
            .composite_alarms()
            .iter()
            .find(|a| a.alarm_name() == Some(&full(name)))
            .unwrap();
        assert_eq!(
            comp.actions_suppressor(),
            Some(full("shop-maintenance").as_str()),
            "{name}"
        );
        assert_eq!(comp.alarm_actions(), [topic], "{name}");
        assert_eq!(
            (
                comp.actions_suppressor_wait_period(),
                comp.actions_suppressor_extension_period()
            ),
            (Some(300), Some(60))
        );
    }
    let out = alarms_cmd(d, "plan", &url, &ns);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("CloudWatch matches the files"),
        "{}",
        text(&out)
    );
}

/// An HTTP/1.0 request (so the answer is never chunked): the status and the body.
fn http10(addr: &str, method: &str, path: &str, body: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    let head = format!(
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).ok()?;
    s.write_all(body.as_bytes()).ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let status = text.split(' ').nth(1)?.parse().ok()?;
    Some((status, text.split_once("\r\n\r\n")?.1.to_string()))
}

#[test]
fn alertmanager_holds_back_a_covered_canarys_alerts_during_its_window() {
    let project = "project: q\nalarm_prefix: \"q-\"\nmaintenance:\n  - { name: weekly, schedule: cron(0 2 ? * SUN *), duration: 2h, canaries: { names: [checkout] } }\n";
    let alarm = "alarms:\n  - { name: down, metric: SuccessPercent, threshold: { lt: 90 } }\n";
    let dir = support::canary_dir(&[
        (".canary.yaml", project),
        ("checkout.yaml", &canary_file("checkout", alarm)),
        ("blog.yaml", &canary_file("blog", alarm)),
    ]);
    let d = dir.path();
    export(
        d,
        &[("alertmanager", "am.yml"), ("prometheus", "rules.yml")],
    );
    let tool = |name: &str, args: &[&str]| {
        let out = std::process::Command::new(name)
            .args(args)
            .current_dir(d)
            .output()
            .unwrap_or_else(|_| {
                panic!("{name} (scripts/test installs prometheus and prometheus-alertmanager)")
            });
        assert!(out.status.success(), "{name}: {}", text(&out));
    };
    tool("amtool", &["check-config", "am.yml"]);
    tool("promtool", &["check", "rules", "rules.yml"]);
    let unit = "rule_files: [rules.yml]\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n      - series: 'canary_maintenance{canary=\"checkout\",window=\"weekly\"}'\n        values: '0 0 1 1 1 0'\n    alert_rule_test:\n      - eval_time: 1m\n        alertname: canary-maintenance\n        exp_alerts: []\n      - eval_time: 3m\n        alertname: canary-maintenance\n        exp_alerts:\n          - exp_labels: { canary: checkout, source: canary-maintenance }\n            exp_annotations: { summary: \"A maintenance window covers canary checkout\" }\n";
    std::fs::write(d.join("unit.yml"), unit).unwrap();
    tool("promtool", &["test", "rules", "unit.yml"]);

    // The real Alertmanager, on loopback, with the exported config.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let storage = d.join("am-data");
    let mut am = std::process::Command::new("prometheus-alertmanager")
        .args([
            "--config.file=am.yml",
            "--cluster.listen-address=",
            "--log.level=warn",
        ])
        .arg(format!("--web.listen-address={listen}"))
        .arg(format!("--storage.path={}", storage.display()))
        .current_dir(d)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("prometheus-alertmanager (scripts/test installs prometheus-alertmanager)");
    let alert = |name: &str, canary: &str, source: &str| serde_json::json!({ "labels": { "alertname": name, "canary": canary, "source": source } });
    let alerts = serde_json::json!([
        alert("canary-maintenance", "checkout", "canary-maintenance"),
        alert("q-checkout-down", "checkout", "canary"),
        alert("q-blog-down", "blog", "canary"),
    ])
    .to_string();
    let until = Instant::now() + Duration::from_secs(30);
    let states = loop {
        let posted = http10(&listen, "POST", "/api/v2/alerts", &alerts);
        if posted.is_some_and(|(status, _)| status == 200) {
            let (_, body) = http10(&listen, "GET", "/api/v2/alerts", "").unwrap();
            let got: Value = serde_json::from_str(&body).unwrap();
            let states: std::collections::BTreeMap<String, String> = got
                .as_array()
                .unwrap()
                .iter()
                .map(|a| {
                    let name = a["labels"]["alertname"].as_str().unwrap().to_string();
                    (name, a["status"]["state"].as_str().unwrap().to_string())
                })
                .collect();
            if states.len() == 3 {
                break states;
            }
        }
        assert!(
            Instant::now() < until,
            "Alertmanager did not take the alerts"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let _ = am.kill();
    let _ = am.wait();
    assert_eq!(states["q-checkout-down"], "suppressed", "{states:?}");
    assert_eq!(states["q-blog-down"], "active", "{states:?}");
    assert_eq!(states["canary-maintenance"], "active", "{states:?}");
}
