//! The runner's own notifications through the real binary: a canary that fails then recovers
//! reaches a webhook as exactly one ALARM and one OK — also across a restart in between — with a
//! valid HMAC; SNS and EventBridge (as Synthetics' events) reach SQS queues on LocalStack; 200
//! canaries failing at once arrive grouped, on a webhook and on Slack; a maintenance window holds
//! the ALARM until it closes, reminders repeat it, and a bad window is a config error; runners in
//! three locations sharing S3 alert once when two agree.

mod support;

use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::proxy::{Mode, Proxy};
use support::server::{Reply, Req, Server};

/// What a webhook receiver got: each POST's body, and whether its signature held.
type Received = Arc<Mutex<Vec<(Value, bool)>>>;

fn receiver(key: &'static str) -> (Server, Received) {
    let got: Received = Arc::new(Mutex::new(Vec::new()));
    let keep = got.clone();
    let srv = Server::http(move |req: &Req| {
        let ts = req.header("x-canary-timestamp").unwrap_or("");
        let sig = req.header("x-canary-signature").unwrap_or("");
        let k = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key.as_bytes());
        let mut signed = format!("{ts}.").into_bytes();
        signed.extend_from_slice(&req.body);
        let want = aws_lc_rs::hmac::sign(&k, &signed);
        let hex: String = want.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        keep.lock()
            .unwrap()
            .push((body, sig == format!("sha256={hex}")));
        Reply::text(200, "ok")
    });
    (srv, got)
}

/// The states received, in order: (canary, state).
fn states(got: &Received) -> Vec<(String, String)> {
    got.lock()
        .unwrap()
        .iter()
        .flat_map(|(b, _)| b["notifications"].as_array().cloned().unwrap_or_default())
        .map(|n| {
            (
                n["canary"].as_str().unwrap_or("").to_string(),
                n["state"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn start(dir: &std::path::Path, extra: &[&str]) -> Child {
    let mut args = vec![
        "run",
        ".",
        "--notify-window",
        "1s",
        "--watch-interval",
        "0s",
    ];
    args.extend(extra);
    support::aws::aws_command(dir, &args)
        .env("HOOK_KEY", "k3y-for-hmac")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn stop(mut child: Child) {
    // SAFETY: kill(2) on the process this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let until = Instant::now() + Duration::from_secs(40);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < until, "canary did not stop");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// LocalStack's URL and a new S3 bucket there for the alert state of `test` (None: no LocalStack,
/// outside CI).
fn state_bucket(test: &str) -> Option<(String, String)> {
    let url = support::aws::localstack()?;
    let bucket = support::aws::unique("state", test).to_lowercase();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(support::aws::s3_with_bucket(&url, &bucket));
    Some((url, bucket))
}

fn wait_for(what: &str, within: Duration, mut f: impl FnMut() -> bool) {
    let until = Instant::now() + within;
    while !f() {
        assert!(Instant::now() < until, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn one_alarm_and_one_ok_across_a_restart() {
    let (hook, got) = receiver("k3y-for-hmac");
    let failing = Arc::new(AtomicBool::new(true));
    let f = failing.clone();
    let site = Server::http(move |_| {
        if f.load(Ordering::SeqCst) {
            Reply::text(503, "down")
        } else {
            Reply::text(200, "up")
        }
    });
    let project = format!(
        "notify:\n  hook: {{ webhook: {{ url: \"{}\", secret: \"${{secret:HOOK_KEY}}\" }} }}\ndefaults:\n  alerting: {{ failures: 2 of 3, recover: 2, notify: [hook] }}\n",
        hook.url("/hook")
    );
    let canary = format!(
        "name: checkout\nschedule: rate(1 second)\nhttp: {{ url: '{}', assert: [ {{ status: 200 }} ] }}\n",
        site.url("/")
    );
    let dir = support::canary_dir(&[(".canary.yaml", &project), ("checkout.yaml", &canary)]);
    let state = dir.path().join("state");
    let state_arg = state.to_str().unwrap();
    let first = start(dir.path(), &["--state-dir", state_arg]);
    wait_for("the ALARM", Duration::from_secs(30), || {
        !states(&got).is_empty()
    });
    std::thread::sleep(Duration::from_secs(2));
    stop(first);
    // Restarted mid-incident: the state survives, so no second ALARM.
    let second = start(dir.path(), &["--state-dir", state_arg]);
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        states(&got).len(),
        1,
        "no ALARM again after the restart: {:?}",
        states(&got)
    );
    failing.store(false, Ordering::SeqCst);
    wait_for("the OK", Duration::from_secs(30), || {
        states(&got).len() >= 2
    });
    std::thread::sleep(Duration::from_secs(3));
    stop(second);
    assert_eq!(
        states(&got),
        [
            ("checkout".to_string(), "ALARM".to_string()),
            ("checkout".to_string(), "OK".to_string())
        ]
    );
    let all = got.lock().unwrap();
    assert!(
        all.iter().all(|(_, signed)| *signed),
        "every POST carries a valid signature"
    );
    let alarm = &all[0].0["notifications"][0];
    assert_eq!(alarm["failure"]["subject"], "status");
    assert_eq!(
        (
            alarm["failure"]["expected"].clone(),
            alarm["failure"]["actual"].clone()
        ),
        ("200".into(), "503".into())
    );
    assert_eq!(alarm["policy"]["failures"], 2);
}

#[test]
fn two_hundred_canaries_failing_at_once_arrive_grouped() {
    let (hook, got) = receiver("k");
    let slack_got: Arc<Mutex<Vec<Value>>> = Arc::new(Mutex::new(Vec::new()));
    let keep = slack_got.clone();
    let slack = Server::http(move |req| {
        keep.lock()
            .unwrap()
            .push(serde_json::from_slice(&req.body).unwrap_or(Value::Null));
        Reply::text(200, "ok")
    });
    let site = Server::http(|_| Reply::text(500, "down"));
    let project = format!(
        "notify:\n  hook: {{ webhook: {{ url: \"{}\", secret: k }} }}\n  chat: {{ slack: {{ url: \"{}\" }} }}\ndefaults:\n  alerting: {{ notify: [hook, chat] }}\n",
        hook.url("/hook"),
        slack.url("/slack")
    );
    let mut files = vec![(".canary.yaml".to_string(), project)];
    for i in 0..200 {
        files.push((
            format!("c{i:03}.yaml"),
            format!("name: c{i:03}\nschedule: rate(1 hour)\nhttp: {{ url: '{}', assert: [ {{ status: 200 }} ] }}\n", site.url("/")),
        ));
    }
    let dir = support::canary_dir_owned(&files);
    let out = support::aws::aws_command(
        dir.path(),
        &[
            "run",
            ".",
            "--once",
            "--notify-window",
            "3s",
            "--max-concurrent",
            "50",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1), "{:?}", support::text(&out));
    let posts = got.lock().unwrap().len();
    assert_eq!(states(&got).len(), 200, "each canary once");
    assert!(posts <= 3, "grouped: {posts} POSTs for 200 changes");
    let messages = slack_got.lock().unwrap();
    assert!(messages.len() <= 3, "{} Slack messages", messages.len());
    let first = &messages[0];
    let header = first["blocks"][0]["text"]["text"].as_str().unwrap();
    assert!(header.contains("canaries are failing"), "{header}");
    let blocks = first["blocks"].as_array().unwrap();
    assert!(blocks.len() <= 23, "readable: {} blocks", blocks.len());
    let section = blocks[1]["text"]["text"].as_str().unwrap();
    assert!(
        section.contains("expected `500`") || section.contains("expected `200`, got `500`"),
        "{section}"
    );
    assert!(
        blocks.iter().any(|b| b["text"]["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("…and "))),
        "the rest named in one line"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sns_and_eventbridge_reach_queues_as_synthetics_events() {
    let Some(url) = support::aws::localstack() else {
        return;
    };
    let name = support::aws::unique("cn", "sns");
    let conf = support::aws::sdk_config(&url).await;
    let sqs = aws_sdk_sqs::Client::new(&conf);
    let sns = aws_sdk_sns::Client::new(&conf);
    let events = aws_sdk_eventbridge::Client::new(&conf);
    let mut queues = Vec::new();
    for q in ["sns", "events"] {
        let created = sqs
            .create_queue()
            .queue_name(format!("{name}-{q}"))
            .send()
            .await
            .unwrap();
        let qurl = created.queue_url().unwrap().to_string();
        let attrs = sqs
            .get_queue_attributes()
            .queue_url(&qurl)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap();
        let arn =
            attrs.attributes().unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn].clone();
        queues.push((qurl, arn));
    }
    let topic = sns
        .create_topic()
        .name(&name)
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_string();
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(&queues[0].1)
        .send()
        .await
        .unwrap();
    events
        .put_rule()
        .name(&name)
        .event_pattern(serde_json::json!({ "source": [name] }).to_string())
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .rule(&name)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("q")
                .arn(&queues[1].1)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let site = Server::http(|_| Reply::text(502, "bad gateway"));
    let project = format!(
        "notify:\n  pager: {{ sns: {{ topic: \"{topic}\" }} }}\n  bus: {{ eventbridge: {{ bus: default, source: \"{name}\" }} }}\ndefaults:\n  alerting: {{ failures: 1 of 1, notify: [pager, bus] }}\n"
    );
    let canary = format!(
        "name: payments\nhttp: {{ url: '{}', assert: [ {{ status: 200 }} ] }}\n",
        site.url("/")
    );
    let dir = support::canary_dir(&[(".canary.yaml", &project), ("p.yaml", &canary)]);
    let out = support::aws::aws_command(
        dir.path(),
        &[
            "run",
            ".",
            "--once",
            "--endpoint-url",
            &url,
            "--notify-window",
            "1s",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1), "{:?}", support::text(&out));
    let read = |qurl: String| {
        let sqs = sqs.clone();
        async move {
            let mut bodies = Vec::new();
            let until = Instant::now() + Duration::from_secs(20);
            while bodies.len() < 2 && Instant::now() < until {
                let got = sqs
                    .receive_message()
                    .queue_url(&qurl)
                    .max_number_of_messages(10)
                    .wait_time_seconds(1)
                    .send()
                    .await
                    .unwrap();
                bodies.extend(
                    got.messages()
                        .iter()
                        .filter_map(|m| serde_json::from_str::<Value>(m.body()?).ok()),
                );
            }
            bodies
        }
    };
    let from_sns = read(queues[0].0.clone()).await;
    let envelope = from_sns.first().expect("a message from SNS");
    assert_eq!(envelope["Subject"], "canary: ALARM payments");
    let message: Value = serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
    assert_eq!(message["notifications"][0]["state"], "ALARM");
    let from_bus = read(queues[1].0.clone()).await;
    let kinds: Vec<&str> = from_bus
        .iter()
        .filter_map(|e| e["detail-type"].as_str())
        .collect();
    assert!(
        kinds.contains(&"Synthetics Canary TestRun Failure"),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&"Synthetics Canary Status Change"),
        "{kinds:?}"
    );
    let change = from_bus
        .iter()
        .find(|e| e["detail-type"] == "Synthetics Canary Status Change")
        .unwrap();
    assert_eq!(change["source"], name.as_str());
    assert_eq!(
        (
            change["detail"]["current-state"].clone(),
            change["detail"]["previous-state"].clone()
        ),
        ("ALARM".into(), "OK".into())
    );
    assert_eq!(change["detail"]["canary-name"], "payments");
    let run = from_bus
        .iter()
        .find(|e| e["detail-type"] == "Synthetics Canary TestRun Failure")
        .unwrap();
    assert_eq!(run["detail"]["test-run-status"], "FAILED");
    assert!(run["detail"]["canary-run-timeline"]["started"].is_number());
}

/// `run --once` runners that each start with an empty disk, as a CronJob's or a scheduled task's
/// do, sharing the alert state in S3 (LocalStack): the second failure raises one ALARM, the
/// recovery one OK; two runners failing at the same moment on an alarm's edge notify once.
#[test]
fn once_runners_with_fresh_disks_share_the_alert_state_in_s3() {
    let Some((url, bucket)) = state_bucket("once") else {
        return;
    };
    let (hook, got) = receiver("k3y-for-hmac");
    let failing = Arc::new(AtomicBool::new(true));
    let f = failing.clone();
    let site = Server::http(move |_| match f.load(Ordering::SeqCst) {
        true => Reply::text(503, "down"),
        false => Reply::text(200, "up"),
    });
    // S3 through a proxy that can make racing runners both read before either writes.
    let s3 = Proxy::start(&url, Mode::Forward);
    let endpoint = s3.url();
    let project = format!(
        "notify:\n  hook: {{ webhook: {{ url: \"{}\", secret: \"${{secret:HOOK_KEY}}\" }} }}\ndefaults:\n  alerting: {{ failures: 2 of 3, recover: 1, notify: [hook] }}\n",
        hook.url("/hook")
    );
    let files = |name: &str| {
        let canary = format!(
            "name: {name}\nhttp: {{ url: '{}', assert: [ {{ status: 200 }} ] }}\n",
            site.url("/")
        );
        support::canary_dir(&[(".canary.yaml", &project), ("c.yaml", &canary)])
    };
    let state = format!("s3://{bucket}/prod");
    // Each invocation in a folder of its own: nothing on a local disk carries over.
    let once = |name: &str| {
        let dir = files(name);
        let args = [
            "run",
            ".",
            "--once",
            "--state-dir",
            &state,
            "--endpoint-url",
            &endpoint,
        ];
        let child = support::aws::aws_command(dir.path(), &args)
            .env("HOOK_KEY", "k3y-for-hmac")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        (child, dir)
    };
    let finish = |(child, _dir): (Child, tempfile::TempDir)| {
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(
            !stderr.contains("cannot update the alert state"),
            "{stderr}"
        );
        assert_ne!(out.status.code(), Some(2), "{stderr}");
    };
    let sequence = |name: &str| {
        states(&got)
            .into_iter()
            .filter(|(c, _)| c == name)
            .map(|(_, s)| s)
            .collect::<Vec<_>>()
    };
    finish(once("checkout"));
    assert!(sequence("checkout").is_empty(), "one failure of 2 of 3");
    finish(once("checkout"));
    assert_eq!(sequence("checkout"), ["ALARM"], "the second failure");
    failing.store(false, Ordering::SeqCst);
    finish(once("checkout"));
    assert_eq!(sequence("checkout"), ["ALARM", "OK"], "the recovery");

    // Two runners at once, on the edge of the alarm (one failure recorded already): both read
    // the state before either writes it, both see the second failure, and the ALARM goes out
    // once — the second write fails its condition, reads the first's ALARM and adds to it.
    failing.store(true, Ordering::SeqCst);
    finish(once("payments"));
    s3.set(Mode::PutsAfterGets(s3.gets.load(Ordering::SeqCst) + 2));
    let (a, b) = (once("payments"), once("payments"));
    finish(a);
    finish(b);
    assert_eq!(sequence("payments"), ["ALARM"], "{:?}", states(&got));
}

/// canary in `dir`, with the webhook's key.
fn keyed(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    support::aws::aws_command(dir, args)
        .env("HOOK_KEY", "k3y-for-hmac")
        .output()
        .unwrap()
}

/// `canary run --once` in `dir`, with its alert state in `dir/state`.
fn once(dir: &std::path::Path) {
    let args = [
        "run",
        ".",
        "--once",
        "--state-dir",
        "state",
        "--location",
        "lab",
    ];
    let out = keyed(dir, &args);
    assert_eq!(out.status.code(), Some(1), "{}", support::text(&out).1);
}

#[test]
fn a_maintenance_window_holds_the_alarm_and_reminders_repeat_it() {
    let (hook, got) = receiver("k3y-for-hmac");
    let site = Server::http(|_| Reply::text(503, "down"));
    let hour = chrono::TimeDelta::hours(1);
    let now = chrono::Utc::now();
    let rfc = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let base = format!(
        "notify:\n  hook: {{ webhook: {{ url: \"{}\", secret: \"${{secret:HOOK_KEY}}\" }} }}\ndefaults:\n  alerting: {{ failures: 2 of 2, remind: 2s, notify: [hook] }}\n",
        hook.url("/hook")
    );
    let window = format!(
        "maintenance:\n  - name: migration\n    start: {}\n    end: {}\n    canaries: {{ names: [checkout] }}\n",
        rfc(now - hour),
        rfc(now + hour)
    );
    let canary = format!(
        "name: checkout\nhttp: {{ url: '{}', assert: [ {{ status: 200 }} ] }}\n",
        site.url("/")
    );
    let project = format!("{base}{window}");
    let dir = support::canary_dir(&[(".canary.yaml", &project), ("checkout.yaml", &canary)]);
    let d = dir.path();
    let report = keyed(d, &["test", ".", "--json", "-"]);
    let json: Value = serde_json::from_slice(&report.stdout)
        .unwrap_or_else(|_| panic!("{}", support::text(&report).1));
    assert_eq!(json["canaries"][0]["maintenance"], "migration");
    let listed = keyed(d, &["maintenance", "."]);
    let (out, _) = support::text(&listed);
    assert!(
        out.contains("migration  once\n  covers: all 1 canaries\n"),
        "{out}"
    );
    assert!(out.contains("(open now)"), "{out}");

    // Failing through the window: no ALARM, however often.
    once(d);
    once(d);
    assert_eq!(states(&got), [], "nothing told during maintenance");
    // The window closes (its end moved into the past): the window was the first failure, this
    // run is the second, so 2 of 2 alarm at once.
    let closed = window.replace(&rfc(now + hour), &rfc(now - chrono::TimeDelta::minutes(1)));
    std::fs::write(d.join(".canary.yaml"), format!("{base}{closed}")).unwrap();
    once(d);
    assert_eq!(states(&got), [("checkout".into(), "ALARM".into())]);
    // Not yet 2 s since the channels were told: no reminder; then one.
    once(d);
    assert_eq!(states(&got).len(), 1, "{:?}", states(&got));
    std::thread::sleep(Duration::from_millis(2100));
    once(d);
    let all = got.lock().unwrap();
    let reminder = &all.last().unwrap().0["notifications"][0];
    assert_eq!(reminder["state"], "ALARM");
    assert_eq!(
        reminder["location"], "lab",
        "where the runner that saw it runs"
    );
    assert_eq!(reminder["previous_state"], "ALARM");
    assert_eq!(reminder["reminder"]["failed_runs"], 4, "{reminder}");
    assert!(reminder["reminder"]["lasted_seconds"].as_u64().unwrap() >= 2);
    assert!(all.iter().all(|(_, signed)| *signed));
}

#[test]
fn a_bad_maintenance_window_is_a_config_error_at_its_line() {
    let canary = "name: web\ntags: [shop]\nhttp: { url: 'http://127.0.0.1:9/' }\n";
    let bad = "maintenance:\n  - name: a\n    schedule: rate(1 day)\n    duration: 2h\n  - name: b\n    start: 2026-12-10T22:00:00Z\n    end: 2026-12-10T21:00:00Z\n";
    let dir = support::canary_dir(&[(".canary.yaml", bad), ("web.yaml", canary)]);
    let (_, err) = support::text(&support::canary(dir.path(), &["validate", "."]));
    assert!(err.contains("a window's schedule is a cron"), "{err}");
    assert!(err.contains(".canary.yaml:3:15"), "{err}");
    assert!(
        err.contains("the window ends (2026-12-10T21:00:00Z) before it starts"),
        "{err}"
    );
    let unknown = "maintenance:\n  - name: c\n    schedule: cron(0 2 ? * SUN *)\n    duration: 1h\n    canaries: { tags: [db], names: [ghost] }\n";
    std::fs::write(dir.path().join(".canary.yaml"), unknown).unwrap();
    let (_, err) = support::text(&support::canary(dir.path(), &["validate", "."]));
    assert!(err.contains("no canary has the tag `db`"), "{err}");
    assert!(err.contains("no canary is named `ghost`"), "{err}");
    assert!(err.contains("the window `c` covers no canary"), "{err}");
    // One file of the project, given alone, is a part of it: not an error.
    let one = support::canary(dir.path(), &["validate", "web.yaml"]);
    assert!(one.status.success(), "{}", support::text(&one).1);
}

#[test]
fn runners_in_three_locations_alert_once_when_two_agree() {
    let Some((url, bucket)) = state_bucket("where") else {
        return;
    };
    let (hook, got) = receiver("k3y-for-hmac");
    // The service fails for the locations listed here (each runner's canary says where it runs).
    let down: Arc<Mutex<Vec<String>>> = Arc::default();
    let d = down.clone();
    let site = Server::http(move |req| {
        let at = req.target.rsplit('=').next().unwrap_or("").to_string();
        match d.lock().unwrap().contains(&at) {
            true => Reply::text(503, "down"),
            false => Reply::text(200, "up"),
        }
    });
    let project = format!(
        "locations: [eu, us, ap]\nnotify:\n  hook: {{ webhook: {{ url: \"{}\", secret: \"${{secret:HOOK_KEY}}\" }} }}\ndefaults:\n  alerting: {{ failures: 1 of 1, locations: 2 of 3, notify: [hook] }}\n",
        hook.url("/hook")
    );
    let canary = format!(
        "name: checkout\nhttp: {{ url: '{}?at=${{env:CANARY_LOCATION}}', assert: [ {{ status: 200 }} ] }}\n",
        site.url("/")
    );
    let dir = support::canary_dir(&[(".canary.yaml", &project), ("c.yaml", &canary)]);
    let state = format!("s3://{bucket}/prod");
    let once = |at: &str| {
        let args = [
            "run",
            ".",
            "--once",
            "--location",
            at,
            "--state-dir",
            &state,
            "--endpoint-url",
            &url,
        ];
        let out = keyed(dir.path(), &args);
        let (_, err) = support::text(&out);
        assert!(!err.contains("cannot update the alert state"), "{err}");
        assert_ne!(out.status.code(), Some(2), "{err}");
    };
    let set_down = |at: &[&str]| {
        *down.lock().unwrap() = at.iter().map(|s| s.to_string()).collect();
    };
    // One location sees it down: nobody is told.
    set_down(&["eu"]);
    for at in ["eu", "us", "ap"] {
        once(at);
    }
    assert_eq!(states(&got), [], "one location of three");
    // A second location agrees: one ALARM, from the runner whose view made two.
    set_down(&["eu", "us"]);
    for at in ["eu", "us", "ap"] {
        once(at);
    }
    assert_eq!(states(&got), [("checkout".into(), "ALARM".into())]);
    let notice = got.lock().unwrap()[0].0["notifications"][0].clone();
    assert_eq!(notice["location"], "us", "{notice}");
    // Back to one: one OK.
    set_down(&["eu"]);
    for at in ["eu", "us", "ap"] {
        once(at);
    }
    assert_eq!(
        states(&got),
        [
            ("checkout".into(), "ALARM".into()),
            ("checkout".into(), "OK".into())
        ]
    );
    // Without S3, or without its location, a runner says what it needs.
    let out = keyed(dir.path(), &["run", ".", "--once", "--location", "eu"]);
    assert_eq!(out.status.code(), Some(2), "{}", support::text(&out).1);
    assert!(support::text(&out).1.contains("--state-dir s3://"));
    // Without --location, a canary that reads it does not load, and a runner without it
    // cannot say which view is its own.
    std::fs::write(
        dir.path().join("c.yaml"),
        canary.replace("?at=${env:CANARY_LOCATION}", ""),
    )
    .unwrap();
    let args = [
        "run",
        ".",
        "--once",
        "--state-dir",
        &state,
        "--endpoint-url",
        &url,
    ];
    let out = keyed(dir.path(), &args);
    assert!(
        support::text(&out)
            .1
            .contains("needs --location (one of eu, us, ap)"),
        "{}",
        support::text(&out).1
    );
}
