//! The degraded state through the real binary: the outcome in the console, JSON, JUnit and
//! EMF metrics, the exit code with and without `--fail-on-degraded`, and the canary-level,
//! step-level and `http:`-level places `degraded:` may be written.

mod support;

use serde_json::Value;
use support::server::{Reply, Server};

fn files(base: &str) -> Vec<(String, String)> {
    let cache = |name: &str, path: &str| {
        format!(
            "name: {name}\nhttp:\n  url: {base}{path}\n  assert: [ {{ status: 200 }} ]\n  degraded: [ {{ header: {{ name: x-cache, equals: HIT }} }} ]\n"
        )
    };
    vec![
        ("hit.yaml".into(), cache("hit", "/hit")),
        ("miss.yaml".into(), cache("miss", "/miss")),
        (
            "broken.yaml".into(),
            format!(
                "name: broken\nhttp:\n  url: {base}/broken\n  assert: [ {{ status: 200 }} ]\n  degraded: [ {{ header: {{ name: x-cache, equals: HIT }} }} ]\n"
            ),
        ),
        (
            "steps.yaml".into(),
            format!(
                "name: steps\ndegraded: [ {{ latency: {{ total: {{ lt: 100ms }} }} }} ]\nsteps:\n  - {{ name: quick, http: {{ url: \"{base}/hit\" }} }}\n  - name: slow\n    http: {{ url: \"{base}/slow\" }}\n    degraded: [ {{ body: {{ contains: fast }} }} ]\n"
            ),
        ),
    ]
}

fn server() -> Server {
    Server::http(|req| match req.path() {
        "/hit" => Reply::text(200, "fast").with_header("X-Cache", "HIT"),
        "/miss" => Reply::text(200, "ok").with_header("X-Cache", "MISS"),
        "/slow" => Reply::Delayed(
            std::time::Duration::from_millis(250),
            Box::new(Reply::text(200, "slow")),
        ),
        _ => Reply::text(500, "down"),
    })
}

#[test]
fn degraded_is_a_pass_shown_apart_in_every_report() {
    let srv = server();
    let owned = files(&srv.url(""));
    let dir = support::canary_dir_owned(&owned);
    let d = dir.path();
    let out = support::canary(
        d,
        &[
            "test",
            ".",
            "--json",
            "report.json",
            "--junit",
            "junit.xml",
            "--metrics",
            "emf",
            "--emf-file",
            "emf.jsonl",
        ],
    );
    let (stdout, stderr) = support::text(&out);
    assert_eq!(out.status.code(), Some(1), "broken fails: {stdout}{stderr}");
    assert!(
        stdout.contains("~ miss") && stdout.contains("degraded"),
        "{stdout}"
    );
    assert!(
        stdout.contains("✓ hit") && stdout.contains("✗ broken"),
        "{stdout}"
    );
    assert!(
        stdout.contains("x-cache: expected \"HIT\", got MISS (degraded)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("3 passed (2 degraded), 1 failed, 0 errored"),
        "{stdout}"
    );

    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("report.json")).unwrap()).unwrap();
    let outcome = |name: &str| {
        report["canaries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(report["summary"]["degraded"], 2);
    assert_eq!(outcome("hit")["outcome"], "passed");
    assert_eq!(
        outcome("broken")["outcome"],
        "failed",
        "a failed assertion wins"
    );
    let miss = outcome("miss");
    assert_eq!(miss["outcome"], "degraded");
    let a = &miss["steps"][0]["assertions"][1];
    assert_eq!(
        (a["degraded"].clone(), a["passed"].clone()),
        (Value::Bool(true), Value::Bool(false))
    );
    let steps = outcome("steps");
    assert_eq!(steps["outcome"], "degraded");
    assert_eq!(steps["steps"][0]["outcome"], "passed");
    assert_eq!(steps["steps"][1]["outcome"], "degraded");
    let slow: Vec<String> = steps["steps"][1]["assertions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["subject"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        slow,
        ["body", "latency total"],
        "the step's own, then the canary's"
    );

    let junit = std::fs::read_to_string(d.join("junit.xml")).unwrap();
    let case = junit
        .split("<testcase")
        .find(|c| c.contains("name=\"miss\""))
        .unwrap();
    assert!(
        !case.contains("<failure") && case.contains("degraded: step miss"),
        "{case}"
    );

    let emf = std::fs::read_to_string(d.join("emf.jsonl")).unwrap();
    let miss_line: Value = emf
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|l| l["CanaryName"] == "miss" && l.get("StepName").is_none())
        .unwrap();
    assert_eq!(miss_line["Degraded"], 1.0);
    assert_eq!(miss_line["SuccessPercent"], 100.0);
    assert_eq!(miss_line["Outcome"], "degraded");
}

#[test]
fn fail_on_degraded_turns_it_into_exit_1() {
    let srv = server();
    let owned = files(&srv.url(""));
    let dir = support::canary_dir(&[("miss.yaml", owned[1].1.as_str())]);
    let plain = support::canary(dir.path(), &["test", "."]);
    assert_eq!(plain.status.code(), Some(0), "{:?}", support::text(&plain));
    let strict = support::canary(dir.path(), &["test", ".", "--fail-on-degraded"]);
    assert_eq!(strict.status.code(), Some(1));
    let once = support::canary(dir.path(), &["run", ".", "--once", "--fail-on-degraded"]);
    assert_eq!(once.status.code(), Some(1), "{:?}", support::text(&once));
}
