//! The real `canary` binary: exit codes, console, JSON and JUnit reports, variables, tags,
//! and the example canaries in `canaries/` against the demo service.

mod support;

use std::path::Path;

use serde_json::Value;
use support::certs::Ca;
use support::server::{Reply, Server};
use support::{canary, canary_dir, text};

fn mixed_server() -> Server {
    Server::http(|req| match req.path() {
        "/ok" => Reply::text(200, "fine"),
        "/bad" => Reply::text(500, "broken"),
        _ => Reply::text(404, "?"),
    })
}

fn mixed_dir(base: &str) -> tempfile::TempDir {
    canary_dir(&[
        (
            "a-pass.yaml",
            &format!(
                "name: pass\ntags: [smoke]\nhttp: {{ url: '{base}/ok', assert: [ {{ status: 200 }} ] }}\n"
            ),
        ),
        (
            "b-fail.yaml",
            &format!(
                "name: fail\nhttp: {{ url: '{base}/bad', assert: [ {{ status: 200 }}, {{ body: {{ contains: fine }} }} ] }}\n"
            ),
        ),
        (
            "sub/c-error.yaml",
            "name: error\ntimeout: 2s\nhttp: { url: 'http://127.0.0.1:1/' }\n",
        ),
    ])
}

#[test]
fn exit_codes_console_and_reports() {
    let srv = mixed_server();
    let dir = mixed_dir(&srv.url(""));
    let out = canary(
        dir.path(),
        &[
            "test",
            ".",
            "--json",
            "out/report.json",
            "--junit",
            "out/junit.xml",
        ],
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("✓ pass"), "{stdout}");
    assert!(stdout.contains("✗ fail"), "{stdout}");
    assert!(stdout.contains("! error"), "{stdout}");
    assert!(stdout.contains("status: expected 200, got 500"), "{stdout}");
    assert!(
        stdout.contains("body: expected containing \"fine\", got broken"),
        "{stdout}"
    );
    assert!(stdout.contains("error connect:"), "{stdout}");
    assert!(
        stdout.ends_with("1 passed, 1 failed, 1 errored\n"),
        "{stdout}"
    );
    assert!(!stdout.contains('\x1b'), "no colour when not a terminal");

    let report: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("out/report.json")).unwrap())
            .unwrap();
    assert_eq!(report["summary"]["passed"], 1);
    assert_eq!(report["summary"]["failed"], 1);
    assert_eq!(report["summary"]["errored"], 1);
    let names: Vec<&str> = report["canaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["pass", "fail", "error"]);
    let fail = &report["canaries"][1];
    assert_eq!(
        (fail["outcome"].as_str(), fail["attempts"].as_u64()),
        (Some("failed"), Some(1))
    );
    assert!(fail["file"].as_str().unwrap().ends_with("b-fail.yaml"));
    assert!(fail["duration_ms"].as_f64().unwrap() > 0.0);
    let step = &fail["steps"][0];
    assert_eq!(
        (
            step["name"].as_str(),
            step["outcome"].as_str(),
            step["status"].as_u64()
        ),
        (Some("fail"), Some("failed"), Some(500))
    );
    for phase in [
        "resolve",
        "connect",
        "tls",
        "processing",
        "transfer",
        "total",
    ] {
        assert!(step["phases_ms"][phase].is_number(), "{phase}: {step}");
    }
    let a = &step["assertions"][0];
    assert_eq!(
        (
            a["passed"].as_bool(),
            a["expected"].as_str(),
            a["actual"].as_str()
        ),
        (Some(false), Some("200"), Some("500"))
    );
    assert!(step["error"].is_null());
    let err = &report["canaries"][2]["steps"][0]["error"];
    assert_eq!(err["kind"], "connect");
    assert!(
        err["message"].as_str().unwrap().contains("refused"),
        "{err}"
    );

    let junit = std::fs::read_to_string(dir.path().join("out/junit.xml")).unwrap();
    assert!(
        junit.contains(r#"tests="3""#)
            && junit.contains(r#"failures="1""#)
            && junit.contains(r#"errors="1""#),
        "{junit}"
    );
    assert!(
        junit.contains(
            r#"<failure message="step fail: status expected 200, got 500" type="assertion">"#
        ),
        "{junit}"
    );
    assert!(
        junit.contains(r#"<error message="step error: connect:"#),
        "{junit}"
    );
}

#[test]
fn all_passing_is_exit_zero_and_tags_select() {
    let srv = mixed_server();
    let dir = mixed_dir(&srv.url(""));
    let out = canary(dir.path(), &["test", ".", "--tag", "smoke"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert!(text(&out).0.ends_with("1 passed, 0 failed, 0 errored\n"));
    let out = canary(dir.path(), &["test", ".", "--tag", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("no canary has any of the tags"));
}

#[test]
fn json_to_stdout_moves_the_console_to_stderr() {
    let srv = mixed_server();
    let dir = mixed_dir(&srv.url(""));
    let out = canary(dir.path(), &["test", "a-pass.yaml", "--json", "-"]);
    let (stdout, stderr) = text(&out);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(report["canaries"][0]["outcome"], "passed");
    assert!(stderr.contains("✓ pass"), "{stderr}");
}

#[test]
fn config_errors_and_bad_usage_exit_two_and_run_nothing() {
    let srv = mixed_server();
    let dir = canary_dir(&[
        (
            "good.yaml",
            &format!("name: good\nhttp: {{ url: '{}/ok' }}\n", srv.url("")),
        ),
        ("bad.yaml", "name: bad\nhttp: { url: '${NOPE}' }\n"),
    ]);
    let out = canary(dir.path(), &["test", "."]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out).1;
    assert!(
        stderr.starts_with("error: undefined variable `NOPE`")
            && stderr.contains(" --> ./bad.yaml:2:14\n"),
        "{stderr}"
    );
    assert!(srv.received().is_empty(), "nothing ran");
    assert_eq!(
        canary(dir.path(), &["test", "--bogus", "."]).status.code(),
        Some(2)
    );
    assert_eq!(canary(dir.path(), &["test"]).status.code(), Some(2));
    assert_eq!(
        canary(dir.path(), &["test", "missing/"]).status.code(),
        Some(2)
    );
    let out = canary(dir.path(), &["test", "good.yaml", "--var", "not-a-pair"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn vars_and_env_files_fill_references() {
    let srv = mixed_server();
    let dir = canary_dir(&[
        (
            "c.yaml",
            "name: c\nhttp: { url: '${BASE}/${PATH_PART}', headers: { X-T: '${secret:TOKEN}' }, assert: [ { status: 200 } ] }\n",
        ),
        (
            "vars.env",
            "# comment\nPATH_PART=bad\nTOKEN=tok-from-file\n",
        ),
    ]);
    let base = format!("BASE={}", srv.url(""));
    let out = canary(
        dir.path(),
        &[
            "test",
            "c.yaml",
            "--var",
            &base,
            "--env-file",
            "vars.env",
            "--var",
            "PATH_PART=ok",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert_eq!(srv.received()[0].header("x-t"), Some("tok-from-file"));
    let out = canary(
        dir.path(),
        &[
            "test",
            "c.yaml",
            "--var",
            &base,
            "--env-file",
            "missing.env",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("missing.env"));
}

#[test]
fn overlapping_paths_load_each_file_once() {
    let dir = canary_dir(&[("a/x.yaml", "name: x\nhttp: { url: 'http://127.0.0.1/' }\n")]);
    let out = canary(dir.path(), &["validate", "a", "./a/x.yaml", "a/"]);
    assert_eq!(
        (out.status.code(), text(&out).0.as_str()),
        (Some(0), "1 canary OK\n"),
        "{:?}",
        text(&out)
    );
}

#[test]
fn next_prints_fire_times_in_utc_and_the_canary_zone() {
    let dir = canary_dir(&[(
        "x.yaml",
        "name: x\nschedule: cron(30 9 ? * MON *)\ntimezone: Europe/Berlin\nhttp: { url: 'http://127.0.0.1/' }\n",
    )]);
    let out = canary(dir.path(), &["next", ".", "--count", "3"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "x  cron(30 9 ? * MON *) Europe/Berlin");
    assert_eq!(lines.len(), 4, "{stdout}");
    for line in &lines[1..] {
        // Monday 09:30 in Berlin is 08:30 or 07:30 UTC, with the local time beside it.
        assert!(
            line.contains(":30:00Z  (")
                && (line.ends_with(" 09:30 CET)") || line.ends_with(" 09:30 CEST)")),
            "{line}"
        );
    }
}

#[test]
fn validate_and_list() {
    let dir = canary_dir(&[(
        "x.yaml",
        "name: x\nschedule: cron(0 12 ? * MON-FRI *)\ntags: [a, b]\nhttp: { url: 'http://127.0.0.1/' }\n",
    )]);
    let out = canary(dir.path(), &["validate", "."]);
    assert_eq!(
        (out.status.code(), text(&out).0.as_str()),
        (Some(0), "1 canary OK\n")
    );
    let out = canary(dir.path(), &["list", "."]);
    let listing = text(&out).0;
    assert!(
        listing
            .lines()
            .nth(1)
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>()
            .starts_with(&["x", "http", "cron(0", "12"]),
        "{listing}"
    );
    assert!(listing.contains("a,b"), "{listing}");
}

#[test]
fn example_canaries_load_and_pass_against_the_demo_service() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let ca = Ca::new();
    let http = Server::http(support::demo::handle);
    let https = Server::https(ca.leaf(-1, 90), support::demo::handle);
    let dir = canary_dir(&[("ca.pem", &ca.pem())]);
    let ca_file = dir.path().join("ca.pem");
    let artifacts = dir.path().join("artifacts").display().to_string();
    let tls_url = https.url("").replace("127.0.0.1", "localhost");
    let tls_port = tls_url.rsplit(':').next().unwrap().trim_end_matches('/');
    let kinds = support::demo_kinds::DemoKinds::start([0; 4]);
    let mut vars = vec![
        format!("BASE_URL={}", http.url("")),
        format!("TLS_URL={tls_url}"),
        format!("TLS_PORT={tls_port}"),
        format!("CA_FILE={}", ca_file.display()),
    ];
    vars.extend(kinds.vars());
    let mut args = vec!["test", "canaries", "--artifacts", &artifacts];
    for v in &vars {
        args.extend(["--var", v.as_str()]);
    }
    let out = canary(root, &args);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    let files = std::fs::read_dir(root.join("canaries")).unwrap().count();
    assert!(
        stdout.ends_with(&format!("{files} passed, 0 failed, 0 errored\n")),
        "{stdout}"
    );
    let shots = Path::new(&artifacts).join("login-flow");
    assert!(
        shots.exists(),
        "the login flow's screenshot is saved under --artifacts"
    );
}

#[test]
fn config_errors_come_as_json_lines_and_as_github_annotations() {
    let dir = canary_dir(&[
        (
            "a.yaml",
            "name: a\ntimout: 10s\nhttp: { url: 'http://127.0.0.1:9/' }\n",
        ),
        ("b.yaml", "name: b\nhttp: { url: 'not a url' }\n"),
    ]);
    let out = canary(dir.path(), &["validate", ".", "--error-format", "json"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stdout, "");
    let errors: Vec<Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(errors.len(), 2, "{stderr}");
    assert_eq!(errors[0]["file"], "./a.yaml");
    assert_eq!(
        (errors[0]["line"].as_u64(), errors[0]["column"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(errors[0]["message"], "unknown field `timout`");
    assert!(
        errors[0]["help"]
            .as_str()
            .unwrap()
            .starts_with("did you mean `timeout`?"),
        "{stderr}"
    );
    assert_eq!(errors[1]["line"], 2);
    assert_eq!(errors[1]["help"], Value::Null);

    let gha = std::process::Command::new(support::binary())
        .args(["validate", "."])
        .current_dir(dir.path())
        .env("GITHUB_ACTIONS", "true")
        .output()
        .unwrap();
    let (stdout, stderr) = text(&gha);
    assert!(
        stderr.starts_with("error: unknown field `timout`\n --> ./a.yaml:2:1\n"),
        "the human form stays on stderr: {stderr}"
    );
    assert!(
        stderr.contains("  = help: did you mean `timeout`?"),
        "{stderr}"
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(
        lines[0].starts_with(
            "::error file=./a.yaml,line=2,col=1,title=canary config::unknown field `timout`: did you mean `timeout`?"
        ),
        "{stdout}"
    );
    assert!(
        lines[1].starts_with("::error file=./b.yaml,line=2,col="),
        "{stdout}"
    );
}

#[test]
fn other_yaml_in_a_folder_of_canaries_is_skipped_with_a_note_and_exclude_silences_it() {
    let canary = "name: c\nhttp: { url: 'http://127.0.0.1:9/' }\n";
    let rules = "groups:\n  - name: canary-alarms\n    rules: []\n";
    let pod =
        "apiVersion: v1\nkind: Pod\nmetadata: { name: x }\n---\napiVersion: v1\nkind: Service\n";
    let dir = support::canary_dir(&[
        ("canaries/c.yaml", canary),
        ("canaries/rules.yml", rules),
        ("canaries/k8s/pod.yaml", pod),
    ]);
    let d = dir.path();
    let out = support::canary(d, &["validate", "canaries"]);
    let (stdout, stderr) = support::text(&out);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stdout, "1 canary OK\n");
    for f in ["canaries/rules.yml", "canaries/k8s/pod.yaml"] {
        assert!(
            stderr.contains("skipped: not a canary file") && stderr.contains(f),
            "{f}: {stderr}"
        );
    }
    // A canary file with a typo is still an error, however few keys it has right.
    std::fs::write(d.join("canaries/typo.yaml"), "name: t\nhtp: { url: x }\n").unwrap();
    let out = support::canary(d, &["validate", "canaries"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(support::text(&out).1.contains("unknown field `htp`"));
    std::fs::remove_file(d.join("canaries/typo.yaml")).unwrap();
    // Named on its own, a file is a canary file.
    let out = support::canary(d, &["validate", "canaries/rules.yml"]);
    assert_eq!(out.status.code(), Some(2));
    // Left out by the project file: no note.
    std::fs::write(
        d.join(".canary.yaml"),
        "exclude: [ canaries/rules.yml, \"**/k8s/**\" ]\n",
    )
    .unwrap();
    let out = support::canary(d, &["validate", "canaries"]);
    let (stdout, stderr) = support::text(&out);
    assert!(out.status.success(), "{stderr}");
    assert_eq!((stdout.as_str(), stderr.as_str()), ("1 canary OK\n", ""));
    // A folder of nothing but other YAML holds no canaries: an error, not an empty run.
    std::fs::remove_file(d.join("canaries/c.yaml")).unwrap();
    std::fs::remove_file(d.join(".canary.yaml")).unwrap();
    let out = support::canary(d, &["validate", "canaries"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(support::text(&out).1.contains("no canaries here"));
}

#[test]
fn health_says_whether_there_is_a_heartbeat_and_how_old_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let beat = d.join("heartbeat");
    let health = || {
        let out = support::canary(d, &["health", "--heartbeat", beat.to_str().unwrap()]);
        (out.status.code(), support::text(&out))
    };
    let (code, (_, stderr)) = health();
    assert_eq!(code, Some(1));
    assert!(
        stderr.starts_with("no heartbeat file at ") && stderr.contains("--heartbeat"),
        "{stderr}"
    );
    std::fs::write(&beat, "").unwrap();
    let (code, (stdout, _)) = health();
    assert_eq!(code, Some(0));
    assert!(stdout.starts_with("healthy: last beat "), "{stdout}");
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(600);
    std::fs::File::options()
        .write(true)
        .open(&beat)
        .unwrap()
        .set_modified(old)
        .unwrap();
    let (code, (_, stderr)) = health();
    assert_eq!(code, Some(1));
    assert!(
        stderr.starts_with("unhealthy: the scheduler last beat 600s ago"),
        "{stderr}"
    );
}

#[test]
fn the_test_script_refuses_a_localstack_without_the_services_the_tests_need() {
    let partial = Server::http(|_| {
        Reply::json(
            200,
            serde_json::json!({ "services": { "cloudwatch": "running", "sns": "disabled" } }),
        )
    });
    let out = std::process::Command::new("scripts/localstack")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("LOCALSTACK_PORT", partial.addr.port().to_string())
        .output()
        .unwrap();
    let (stdout, stderr) = support::text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("does not serve: sns sqs events logs s3"),
        "{stderr}"
    );
}

#[test]
fn a_secret_in_a_metric_dimension_is_a_config_error_never_a_label() {
    let dir = canary_dir(&[(
        "c.yaml",
        "name: c\ndimensions: { Env: \"prod-${secret:PW}\" }\nhttp: { url: 'http://127.0.0.1:9/' }\n",
    )]);
    let out = std::process::Command::new(support::binary())
        .args(["validate", "c.yaml"])
        .env("PW", "hunter2")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("c.yaml:2:20") && stderr.contains("a dimension cannot hold a secret"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

#[test]
fn a_cause_is_said_once_and_missing_aws_credentials_are_a_sentence() {
    let dir = canary_dir(&[(
        "c.yaml",
        "name: c\nhttp: { url: 'http://127.0.0.1:9/' }\nalarms:\n  - { name: f, metric: SuccessPercent, threshold: { lt: 90 } }\n",
    )]);
    let d = dir.path();
    let out = canary(d, &["validate", "c.yaml", "--env-file", "nope.env"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr.matches("No such file or directory").count(),
        1,
        "{stderr}"
    );
    let out = std::process::Command::new(support::binary())
        .args(["alarms", "plan", "."])
        .current_dir(d)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", d)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    // Exit 1: CloudWatch could not be read (the plan's code for it).
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("error: no AWS credentials found"),
        "{stderr}"
    );
    assert!(stderr.lines().count() <= 2, "{stderr}");
}

/// Starts `canary args…` in `dir`, waits until `server` has the hanging request, sends SIGTERM
/// (`signals` times, 300 ms apart), and returns the exit code and how long canary took to exit
/// after the first signal.
fn terminate_mid_run(
    dir: &Path,
    server: &Server,
    args: &[&str],
    signals: usize,
) -> (Option<i32>, f64) {
    let mut child = std::process::Command::new(support::binary())
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !server.received().iter().any(|r| r.path() == "/hang") {
        assert!(
            std::time::Instant::now() < until,
            "the slow canary never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let signalled = std::time::Instant::now();
    for n in 0..signals {
        if n > 0 {
            std::thread::sleep(std::time::Duration::from_millis(300));
        }
        // SAFETY: kill(2) on the process this test started.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    }
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status.code(), signalled.elapsed().as_secs_f64());
        }
        if signalled.elapsed().as_secs() > 15 {
            let _ = child.kill();
            panic!("canary did not exit within 15 s of SIGTERM");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// `/hang` never answers; anything else is 200.
fn hang_server() -> Server {
    Server::http(|req| match req.path() {
        "/hang" => Reply::Hang,
        _ => Reply::text(200, "fine"),
    })
}

fn hang_dir(base: &str) -> tempfile::TempDir {
    canary_dir(&[
        (
            "a.yaml",
            &format!("name: hangs\ntimeout: 60s\nhttp: {{ url: '{base}/hang' }}\n"),
        ),
        (
            "b.yaml",
            &format!("name: waits\nhttp: {{ url: '{base}/ok' }}\n"),
        ),
    ])
}

#[test]
fn sigterm_mid_test_cuts_off_after_the_grace_and_reports_every_canary() {
    let srv = hang_server();
    let dir = hang_dir(&srv.url(""));
    let args = [
        "test",
        ".",
        "--parallel",
        "1",
        "--grace",
        "1s",
        "--json",
        "out.json",
    ];
    let (code, took) = terminate_mid_run(dir.path(), &srv, &args, 1);
    assert_eq!(code, Some(1));
    assert!((0.9..10.0).contains(&took), "exited {took}s after SIGTERM");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out.json")).unwrap())
            .unwrap();
    let by_name = |n: &str| {
        let all = report["canaries"].as_array().unwrap();
        all.iter().find(|c| c["name"] == n).unwrap().clone()
    };
    let hangs = by_name("hangs");
    let error = &hangs["steps"][0]["error"];
    assert_eq!(hangs["outcome"], "errored");
    assert_eq!(error["kind"], "shutdown", "{error}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("cut off: still running 1s after SIGTERM"),
        "{error}"
    );
    assert!(hangs["duration_ms"].as_f64().unwrap() >= 900.0, "{hangs}");
    let waits = by_name("waits");
    assert_eq!(waits["outcome"], "errored");
    let error = &waits["steps"][0]["error"];
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .starts_with("not started: SIGTERM"),
        "{error}"
    );
    assert_eq!(srv.received().len(), 1, "no canary starts after the signal");
}

#[test]
fn a_second_sigterm_exits_at_once() {
    let srv = hang_server();
    let dir = hang_dir(&srv.url(""));
    let args = ["test", ".", "--parallel", "1", "--grace", "30s"];
    let (code, took) = terminate_mid_run(dir.path(), &srv, &args, 2);
    assert_eq!(code, Some(130));
    assert!(took < 5.0, "exited {took}s after the first SIGTERM");
}

#[test]
fn sigterm_mid_run_once_archives_every_canary() {
    let srv = hang_server();
    let dir = hang_dir(&srv.url(""));
    let args = [
        "run",
        ".",
        "--once",
        "--max-concurrent",
        "1",
        "--grace",
        "1s",
        "--archive",
        "archive",
    ];
    let (code, _) = terminate_mid_run(dir.path(), &srv, &args, 1);
    assert_eq!(code, Some(1));
    let out = canary(dir.path(), &["history", "archive"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    for name in ["hangs", "waits"] {
        assert!(
            stdout.contains(name),
            "{name} missing from the archive:\n{stdout}"
        );
    }
}

#[test]
fn version_names_the_commit_and_the_build_date() {
    let out = canary(Path::new("."), &["--version"]);
    let (stdout, _) = text(&out);
    let line = stdout.trim();
    let re = regex::Regex::new(
        r"^canary \d+\.\d+\.\d+ \(([0-9a-f]{12}|unknown) (\d{4}-\d\d-\d\d|unknown)\)$",
    );
    assert!(re.unwrap().is_match(line), "{line}");
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output();
    if let Some(head) = head.ok().filter(|h| h.status.success()) {
        let head = String::from_utf8_lossy(&head.stdout);
        assert!(line.contains(head.trim()), "{line} is not of commit {head}");
    }
}
