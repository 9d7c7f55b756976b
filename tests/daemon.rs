//! `canary run` as a container runs it: the real binary, real signals, JSON logs.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::server::{Reply, Server};

/// A running `canary run` whose JSON log lines are collected as they come.
struct Daemon {
    child: Child,
    lines: Arc<Mutex<Vec<Value>>>,
}

impl Daemon {
    fn start(dir: &std::path::Path, args: &[&str]) -> Daemon {
        let mut child = Command::new(support::binary())
            .args(["run", ".", "--log-format", "json"])
            .args(args)
            .current_dir(dir)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (sink, stderr) = (lines.clone(), child.stderr.take().unwrap());
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let v = serde_json::from_str(&line).unwrap_or(Value::String(line));
                sink.lock().unwrap().push(v);
            }
        });
        Daemon { child, lines }
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    }

    /// Waits (up to 10 s) for a log line that satisfies `pred`, and returns it.
    fn wait_for(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(v) = self.lines.lock().unwrap().iter().find(|v| pred(v)) {
                return v.clone();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("no log line {what} in {:#?}", self.lines.lock().unwrap());
    }

    /// Waits (up to 10 s) until `canary` has run `n` times more than it had when this was called.
    fn wait_for_runs(&self, canary: &str, n: usize) {
        let count = || {
            let lines = self.lines.lock().unwrap();
            let runs = lines.iter().filter(|v| message(v) == "run");
            runs.filter(|v| v["canary"] == canary).count()
        };
        let (before, deadline) = (count(), Instant::now() + Duration::from_secs(10));
        while count() < before + n {
            assert!(
                Instant::now() < deadline,
                "{canary} ran fewer than {n} more times"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn exit(mut self) -> (Option<i32>, Vec<Value>) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(Instant::now() < deadline, "canary run did not exit");
            std::thread::sleep(Duration::from_millis(20));
        };
        std::thread::sleep(Duration::from_millis(100));
        let lines = self.lines.lock().unwrap().clone();
        (status.code(), lines)
    }
}

fn message(v: &Value) -> &str {
    v["message"].as_str().unwrap_or("")
}

fn run_of<'a>(lines: &'a [Value], canary: &str) -> Option<&'a Value> {
    lines
        .iter()
        .find(|v| message(v) == "run" && v["canary"] == canary)
}

fn slow_server(delay_ms: u64) -> Server {
    Server::http(move |_| {
        Reply::Delayed(
            Duration::from_millis(delay_ms),
            Box::new(Reply::text(200, "ok")),
        )
    })
}

fn one_canary(url: &str) -> tempfile::TempDir {
    support::canary_dir(&[(
        "slow.yaml",
        &format!(
            "name: slow\nschedule: rate(1 hour)\ntimeout: 20s\nhttp: {{ url: '{url}', assert: [ {{ status: 200 }} ] }}\n"
        ),
    )])
}

/// A folder with one canary, `a`, asking `srv` for `/a` on `schedule`, and `canary run` watching
/// it for changes every 100 ms.
fn watched_canary_a(srv: &Server, schedule: &str) -> (tempfile::TempDir, Daemon) {
    let dir = support::canary_dir(&[(
        "a.yaml",
        &format!(
            "name: a\nschedule: {schedule}\nhttp: {{ url: '{}' }}\n",
            srv.url("/a")
        ),
    )]);
    let d = Daemon::start(dir.path(), &["--watch-interval", "100ms"]);
    (dir, d)
}

#[test]
fn sigterm_lets_the_in_flight_run_finish_and_exits_zero() {
    let srv = slow_server(1500);
    let dir = one_canary(&srv.url("/"));
    let d = Daemon::start(dir.path(), &["--grace", "10s"]);
    d.wait_for("canary run started", |v| message(v) == "canary run started");
    while srv.received().is_empty() {
        std::thread::sleep(Duration::from_millis(10));
    }
    d.signal("-TERM");
    let (code, lines) = d.exit();
    assert_eq!(code, Some(0), "{lines:#?}");
    let stop = lines
        .iter()
        .position(|v| message(v).starts_with("shutting down"))
        .expect("shutdown logged");
    let run = lines
        .iter()
        .position(|v| message(v) == "run")
        .expect("run logged");
    assert!(
        stop < run,
        "the run finished during the grace period: {lines:#?}"
    );
    let run = &lines[run];
    assert_eq!(
        (
            run["canary"].as_str(),
            run["outcome"].as_str(),
            run["attempts"].as_u64()
        ),
        (Some("slow"), Some("passed"), Some(1))
    );
    assert!(run["duration_ms"].as_f64().unwrap() >= 1400.0, "{run}");
    assert!(run["lateness_ms"].as_f64().unwrap() < 1000.0, "{run}");
}

#[test]
fn a_run_still_going_after_the_grace_period_is_recorded_as_cut_off() {
    let srv = slow_server(8000);
    let dir = one_canary(&srv.url("/"));
    let started = Instant::now();
    let d = Daemon::start(dir.path(), &["--grace", "500ms"]);
    while srv.received().is_empty() {
        std::thread::sleep(Duration::from_millis(10));
    }
    d.signal("-TERM");
    let (code, lines) = d.exit();
    assert_eq!(code, Some(0));
    assert!(started.elapsed() < Duration::from_secs(5));
    let run = run_of(&lines, "slow").unwrap_or_else(|| panic!("{lines:#?}"));
    assert_eq!(run["outcome"], "errored");
    assert!(
        run["reason"]
            .as_str()
            .unwrap()
            .contains("shutdown: cut off at shutdown"),
        "{run}"
    );
}

#[test]
fn a_second_signal_exits_at_once() {
    let srv = slow_server(8000);
    let dir = one_canary(&srv.url("/"));
    let started = Instant::now();
    let d = Daemon::start(dir.path(), &["--grace", "25s"]);
    while srv.received().is_empty() {
        std::thread::sleep(Duration::from_millis(10));
    }
    d.signal("-TERM");
    d.wait_for("shutting down", |v| message(v).starts_with("shutting down"));
    d.signal("-INT");
    let (code, _) = d.exit();
    assert_eq!(code, Some(130));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn edits_are_reloaded_and_a_broken_edit_keeps_the_running_set() {
    let srv = Server::http(|_| Reply::text(200, "ok"));
    let (dir, d) = watched_canary_a(&srv, "rate(1 hour)");
    d.wait_for("the first run", |v| {
        run_of(std::slice::from_ref(v), "a").is_some()
    });
    std::fs::write(
        dir.path().join("b.yaml"),
        "name: b\nhttp: { url: '${NOPE}' }\n",
    )
    .unwrap();
    let err = d.wait_for("the reload error", |v| {
        v["level"] == "ERROR" && message(v).contains("undefined variable")
    });
    assert!(message(&err).contains("b.yaml:2:14"), "{err}");
    d.wait_for("the rejection", |v| {
        message(v).starts_with("reload rejected")
    });
    std::fs::write(
        dir.path().join("b.yaml"),
        format!(
            "name: b\nschedule: rate(1 hour)\nhttp: {{ url: '{}' }}\n",
            srv.url("/b")
        ),
    )
    .unwrap();
    d.wait_for("the reload", |v| {
        message(v) == "canaries reloaded" && v["added"] == 1
    });
    d.wait_for("b's first run", |v| {
        run_of(std::slice::from_ref(v), "b").is_some()
    });
    std::fs::remove_file(dir.path().join("a.yaml")).unwrap();
    d.wait_for("the removal", |v| {
        message(v) == "canaries reloaded" && v["removed"] == 1
    });
    d.signal("-HUP");
    d.wait_for("a SIGHUP reload", |v| message(v) == "SIGHUP: reloading");
    d.signal("-TERM");
    let (code, _) = d.exit();
    assert_eq!(code, Some(0));
}

/// A canary file that cannot be read (here a FIFO no one writes to; in a container, a file on a
/// hung network file system) holds up only the reload reading it: the runs go on, a SIGHUP is
/// taken in, and SIGTERM still stops the daemon.
#[test]
fn a_reload_stuck_on_a_file_stops_neither_the_runs_nor_sigterm() {
    let srv = Server::http(|_| Reply::text(200, "ok"));
    let (dir, d) = watched_canary_a(&srv, "rate(1 second)");
    d.wait_for_runs("a", 1);
    let fifo = dir.path().join("stuck.yaml");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    d.wait_for("the reload", |v| {
        message(v) == "canary files changed: reloading"
    });
    d.wait_for_runs("a", 2);
    d.signal("-HUP");
    d.wait_for("a SIGHUP reload", |v| message(v) == "SIGHUP: reloading");
    d.wait_for_runs("a", 1);
    d.signal("-TERM");
    let (code, lines) = d.exit();
    assert_eq!(code, Some(0), "{lines:#?}");
    assert!(lines.iter().any(|v| message(v) == "canary run stopped"));
    // The reload really was stuck: it neither applied nor rejected anything.
    let ended =
        |v: &Value| message(v) == "canaries reloaded" || message(v).starts_with("reload rejected");
    assert!(!lines.iter().any(ended), "{lines:#?}");
}

#[test]
fn once_runs_everything_and_exits_like_test() {
    let srv = Server::http(|req| {
        if req.path() == "/ok" {
            Reply::text(200, "ok")
        } else {
            Reply::text(500, "no")
        }
    });
    let dir = support::canary_dir(&[
        (
            "a.yaml",
            &format!(
                "name: a\nhttp: {{ url: '{}', assert: [ {{ status: 200 }} ] }}\n",
                srv.url("/ok")
            ),
        ),
        (
            "b.yaml",
            &format!(
                "name: b\nhttp: {{ url: '{}', assert: [ {{ status: 200 }} ] }}\n",
                srv.url("/bad")
            ),
        ),
    ]);
    let d = Daemon::start(dir.path(), &["--once", "--max-concurrent", "1"]);
    let (code, lines) = d.exit();
    assert_eq!(code, Some(1), "{lines:#?}");
    assert_eq!(run_of(&lines, "a").unwrap()["outcome"], "passed");
    let b = run_of(&lines, "b").unwrap();
    assert_eq!(b["outcome"], "failed");
    assert_eq!(b["reason"], "step b: status expected 200, got 500");
    assert!(
        lines
            .iter()
            .any(|v| message(v) == "all canaries ran once" && v["failed"] == 1)
    );
}

#[test]
fn an_edited_project_file_is_reloaded_and_its_window_applies_to_the_next_runs() {
    let srv = Server::http(|_| Reply::text(200, "ok"));
    let (dir, d) = watched_canary_a(&srv, "rate(1 second)");
    d.wait_for("a run outside any window", |v| {
        run_of(std::slice::from_ref(v), "a").is_some_and(|r| r.get("maintenance").is_none())
    });
    let now = chrono::Utc::now();
    let rfc = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let window = format!(
        "maintenance:\n  - {{ name: now, start: {}, end: {} }}\n",
        rfc(now - chrono::TimeDelta::hours(1)),
        rfc(now + chrono::TimeDelta::hours(1))
    );
    std::fs::write(dir.path().join(".canary.yaml"), window).unwrap();
    d.wait_for("a run in the new window", |v| {
        run_of(std::slice::from_ref(v), "a").is_some_and(|r| r["maintenance"] == "now")
    });
    std::fs::write(
        dir.path().join(".canary.yaml"),
        "maintenance:\n  - { name: bad }\n",
    )
    .unwrap();
    d.wait_for("the rejected project file", |v| {
        message(v).starts_with("reload rejected")
    });
    d.signal("-TERM");
    let (code, _) = d.exit();
    assert_eq!(code, Some(0));
}
