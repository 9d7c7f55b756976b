//! The run history through the real binary: an archive written by `canary test` and `canary run`
//! (runs, reloads, shutdown), the book's DuckDB queries (docs/src/history.md) run over it with exact answers that
//! agree with `canary history`, and an S3 archive on LocalStack across an outage and restarts.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::server::{Reply, Req, Server};

/// A server whose `/flaky` fails every other request and whose `/outage` passes only the
/// 1st, 2nd, 6th and 8th request.
fn scripted() -> Server {
    let (flaky, outage) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    Server::http(move |req: &Req| match req.path() {
        "/flaky" if flaky.fetch_add(1, Ordering::SeqCst) % 2 == 0 => Reply::text(500, "no"),
        "/outage" => {
            let n = outage.fetch_add(1, Ordering::SeqCst) + 1;
            let up = [1, 2, 6, 8].contains(&n);
            Reply::text(if up { 200 } else { 503 }, "")
        }
        _ => Reply::text(200, "ok"),
    })
}

fn canaries(srv: &Server) -> tempfile::TempDir {
    let file = |name: &str, retries: u32| {
        let text = format!(
            "name: {name}\nschedule: rate(1 minute)\nretries: {retries}\nhttp:\n  url: http://{}/{name}\n  assert: [ {{ status: 200 }} ]\n",
            srv.addr
        );
        (format!("{name}.yaml"), text)
    };
    support::canary_dir_owned(&[file("steady", 0), file("flaky", 1), file("outage", 0)])
}

/// Every JSON line of every `*.jsonl` file under `dir`.
fn lines_under(dir: &Path) -> Vec<Value> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(lines_under(&path));
        } else if path.extension().is_some_and(|e| e == "jsonl") {
            let text = std::fs::read_to_string(&path).unwrap();
            out.extend(
                text.lines()
                    .map(|l| serde_json::from_str::<Value>(l).unwrap()),
            );
        }
    }
    out
}

/// The book's query named `name` (after `<!-- query: name -->`), reading `archive`.
fn readme_query(name: &str, archive: &Path) -> String {
    let readme = include_str!("../docs/src/history.md");
    let marker = format!("<!-- query: {name} -->\n```sql\n");
    let start = readme.find(&marker).expect("query in docs/src/history.md") + marker.len();
    let end = start + readme[start..].find("```").unwrap();
    let glob = format!("{}/canary=", archive.display());
    readme[start..end].replace("archive/canary=", &glob)
}

/// Runs the README's view and queries in DuckDB; each query's rows as JSON arrays.
fn duckdb(archive: &Path, queries: &[&str]) -> Value {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-ci/bin/python");
    assert!(
        python.exists() || std::env::var("CI").map_or(true, |v| v != "true"),
        "DuckDB is missing: run scripts/tools (scripts/test does) to install it into .venv-ci"
    );
    let script = "import duckdb, json, sys\n\
        con = duckdb.connect()\n\
        con.execute(sys.argv[1])\n\
        out = {}\n\
        for name, q in zip(sys.argv[2::2], sys.argv[3::2]):\n\
        \x20   out[name] = [[str(c) if c is not None and not isinstance(c, (int, float, bool)) else c for c in row] for row in con.execute(q).fetchall()]\n\
        print(json.dumps(out))\n";
    let mut cmd = Command::new(python);
    cmd.args(["-c", script, &readme_query("view", archive)]);
    for q in queries {
        cmd.args([q.to_string(), readme_query(q, archive)]);
    }
    let out = cmd.output().expect("python with duckdb in .venv-ci");
    assert!(out.status.success(), "duckdb: {:?}", support::text(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The scripted server, its canaries, and their archive after `times` runs of `canary test`.
fn tested(times: usize) -> (Server, tempfile::TempDir, std::path::PathBuf) {
    let srv = scripted();
    let dir = canaries(&srv);
    let archive = dir.path().join("archive");
    for _ in 0..times {
        let arg = archive.to_str().unwrap();
        support::canary(dir.path(), &["test", ".", "--archive", arg]);
    }
    (srv, dir, archive)
}

#[test]
fn an_archive_of_test_runs_answers_the_readme_queries_as_history_does() {
    let (_srv, dir, archive) = tested(8);
    let arg = archive.to_str().unwrap();
    let runs: Vec<Value> = lines_under(&archive)
        .into_iter()
        .filter(|r| r["record"] == "run")
        .collect();
    assert_eq!(runs.len(), 24);
    for r in &runs {
        assert_eq!(r["schema"], 1);
        assert_eq!(r["file_sha256"].as_str().unwrap().len(), 64, "{r}");
        assert!(r["runner"]["host"].is_string(), "{r}");
    }
    let audits = lines_under(&archive.join("_audit"));
    let events: Vec<&str> = audits
        .iter()
        .map(|a| a["event"].as_str().unwrap())
        .collect();
    assert_eq!(events.iter().filter(|e| **e == "load").count(), 8);
    assert_eq!(events.iter().filter(|e| **e == "shutdown").count(), 8);

    let out = support::canary(dir.path(), &["history", arg, "--json"]);
    assert!(out.status.success(), "{:?}", support::text(&out));
    let history: Value = serde_json::from_slice(&out.stdout).unwrap();
    let of = |name: &str| {
        history
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["canary"] == name)
            .cloned()
            .unwrap()
    };
    let (steady, flaky, outage) = (of("steady"), of("flaky"), of("outage"));
    assert_eq!(
        (steady["runs"].as_u64(), steady["availability"].as_f64()),
        (Some(8), Some(100.0))
    );
    assert_eq!(
        (flaky["flaky"].as_u64(), flaky["availability"].as_f64()),
        (Some(8), Some(100.0))
    );
    assert_eq!(
        (outage["passed"].as_u64(), outage["failed"].as_u64()),
        (Some(4), Some(4))
    );
    assert_eq!(outage["availability"].as_f64(), Some(50.0));
    let longest = &outage["longest_outage"];
    assert_eq!(longest["runs"], 3, "{outage:#}");
    let reason = outage["last_failure"]["reason"].as_str().unwrap();
    assert!(reason.contains("status expected 200, got 503"), "{reason}");

    let sql = duckdb(
        &archive,
        &["availability", "percentiles", "flaky", "outages"],
    );
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert_eq!(
        sql["availability"],
        serde_json::json!([
            ["flaky", today, 8, 100.0],
            ["outage", today, 8, 50.0],
            ["steady", today, 8, 100.0]
        ])
    );
    for row in sql["percentiles"].as_array().unwrap() {
        let h = of(row[0].as_str().unwrap());
        assert_eq!(row[2], h["duration_ms"]["p50"], "p50 of {row}");
        assert_eq!(row[3], h["duration_ms"]["p99"], "p99 of {row}");
    }
    assert_eq!(sql["flaky"], serde_json::json!([["flaky", 8, 8]]));
    let top = &sql["outages"][0];
    assert_eq!(
        (top[0].as_str(), top[3].as_u64()),
        (Some("outage"), Some(3))
    );
    let stamp = |s: &Value| s.as_str().unwrap().replace(' ', "T")[..23].to_string();
    assert_eq!(stamp(&top[1]), longest["start"].as_str().unwrap()[..23]);
    assert_eq!(stamp(&top[2]), longest["end"].as_str().unwrap()[..23]);
}

#[test]
fn history_filters_by_canary_and_age_and_prints_a_table() {
    let (_srv, dir, archive) = tested(2);
    let arg = archive.to_str().unwrap();
    let out = support::canary(dir.path(), &["history", arg, "--canary", "outage"]);
    let (stdout, stderr) = support::text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.starts_with("outage\n  runs 2  availability 100.000%  █\n"),
        "{stdout}"
    );
    assert!(!stdout.contains("steady"), "{stdout}");
    let out = support::canary(dir.path(), &["history", arg, "--since", "1h"]);
    assert!(support::text(&out).0.contains("steady\n  runs 2"));
    let unknown = support::canary(dir.path(), &["history", arg, "--canary", "outge"]);
    let (stdout, stderr) = support::text(&unknown);
    assert_eq!(unknown.status.code(), Some(2), "{stdout}");
    assert!(
        stderr.contains("no canary `outge` in the archive: did you mean `outage`?")
            && stderr.contains("(canaries there: flaky, outage, steady)"),
        "{stderr}"
    );
    let missing = support::canary(dir.path(), &["history", "no-such-archive"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        support::text(&missing)
            .1
            .contains("archive no-such-archive")
    );
}

/// Waits for `pred` on the audit events, up to 10 s.
fn wait_audit(archive: &Path, what: &str, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let events = lines_under(&archive.join("_audit"));
        if pred(&events) {
            return events;
        }
        assert!(Instant::now() < deadline, "no audit {what} in {events:#?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn names(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect()
}

#[test]
fn the_daemon_records_its_runs_reloads_and_shutdown() {
    let srv = Server::http(|_: &Req| Reply::text(200, "ok"));
    let file = |name: &str, path: &str| {
        let text = format!(
            "name: {name}\nschedule: rate(1 minute)\nhttp: {{ url: 'http://{}/{path}' }}\n",
            srv.addr
        );
        (format!("{name}.yaml"), text)
    };
    let dir =
        support::canary_dir_owned(&[file("kept", "a"), file("edited", "b"), file("gone", "c")]);
    let archive = dir.path().join("archive");
    let mut child = Command::new(support::binary())
        .args(["run", ".", "--watch-interval", "100ms", "--archive"])
        .arg(&archive)
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_audit(&archive, "start", |e| {
        e.iter().any(|a| a["trigger"] == "start")
    });
    let kept = archive.join("canary=kept");
    wait_audit(&archive, "first run", |_| !lines_under(&kept).is_empty());
    let (_, edited) = file("edited", "b2");
    std::fs::write(dir.path().join("edited.yaml"), edited).unwrap();
    std::fs::remove_file(dir.path().join("gone.yaml")).unwrap();
    let (_, new) = file("new", "d");
    std::fs::write(dir.path().join("new.yaml"), new).unwrap();
    let events = wait_audit(&archive, "reload", |e| {
        e.iter().any(|a| a["trigger"] == "reload")
    });
    let reload = events.iter().find(|a| a["trigger"] == "reload").unwrap();
    assert_eq!(names(&reload["added"]), ["new"], "{reload:#}");
    assert_eq!(names(&reload["removed"]), ["gone"], "{reload:#}");
    assert_eq!(names(&reload["changed"]), ["edited"], "{reload:#}");
    assert_eq!(reload["canaries"], 3);
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    assert!(child.wait().unwrap().success());
    let events = lines_under(&archive.join("_audit"));
    let last = events.last().unwrap();
    assert_eq!(
        (&last["event"], &last["reason"]),
        (&Value::from("shutdown"), &Value::from("signal"))
    );
    let kept = lines_under(&archive.join("canary=kept"));
    assert!(
        !kept.is_empty() && kept.iter().all(|r| r["outcome"] == "passed"),
        "{kept:?}"
    );
}

/// `canary run . --once` in `dir` with AWS at `endpoint`, records waiting in `spool`, and the
/// archive options `sink`.
fn once_with(dir: &Path, spool: &Path, endpoint: &str, sink: &[&str]) -> std::process::Output {
    let spool = spool.to_str().unwrap();
    let mut args = vec![
        "run",
        ".",
        "--once",
        "--spool",
        spool,
        "--endpoint-url",
        endpoint,
    ];
    args.extend(["--flush-timeout", "3s"]);
    args.extend(sink);
    support::aws::canary(dir, &args)
}

/// The entries waiting in a spool folder.
fn waiting_in(dir: &Path) -> usize {
    let entries = std::fs::read_dir(dir).unwrap().flatten();
    entries
        .filter(|e| e.path().extension().is_some_and(|x| x == "key"))
        .count()
}

/// (started_at, name) of every run record in the bucket.
async fn s3_records(client: &aws_sdk_s3::Client, bucket: &str) -> Vec<(String, String)> {
    let listed = client
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    let mut out = Vec::new();
    for o in listed.contents() {
        let key = o.key().unwrap();
        if key.starts_with("runs/_audit/") {
            continue;
        }
        assert!(key.starts_with("runs/canary="), "{key}");
        let body = client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap();
        let bytes = body.body.collect().await.unwrap().into_bytes();
        for line in String::from_utf8(bytes.to_vec()).unwrap().lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            if v["record"] == "run" {
                out.push((v["started_at"].to_string(), v["name"].to_string()));
            }
        }
    }
    out
}

#[test]
fn an_s3_archive_loses_and_doubles_nothing_across_an_outage_and_restarts() {
    let Some(url) = support::aws::localstack() else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let bucket = support::aws::unique("archive", "outage").to_lowercase();
    let client = rt.block_on(support::aws::s3_with_bucket(&url, &bucket));
    let srv = Server::http(|_: &Req| Reply::text(200, "ok"));
    let dir = support::canary_dir_owned(&[
        (
            "a.yaml".into(),
            format!(
                "name: a\nschedule: rate(1 minute)\nhttp: {{ url: 'http://{}/' }}\n",
                srv.addr
            ),
        ),
        (
            "b.yaml".into(),
            format!(
                "name: b\nschedule: rate(1 minute)\nhttp: {{ url: 'http://{}/' }}\n",
                srv.addr
            ),
        ),
    ]);
    let spool = dir.path().join("spool");
    let target = format!("s3://{bucket}/runs");
    let once = |endpoint: &str| {
        let out = once_with(dir.path(), &spool, endpoint, &["--archive", &target]);
        assert!(out.status.success(), "{:?}", support::text(&out));
    };
    let waiting = || waiting_in(&spool.join("archive"));
    once(&url);
    once(&url);
    assert_eq!(waiting(), 0);
    assert_eq!(rt.block_on(s3_records(&client, &bucket)).len(), 4);
    let dead = "http://127.0.0.1:1";
    for _ in 0..3 {
        once(dead);
    }
    assert!(waiting() >= 3, "records wait in the spool while S3 is down");
    assert_eq!(rt.block_on(s3_records(&client, &bucket)).len(), 4);
    once(&url);
    assert_eq!(waiting(), 0);
    let records = rt.block_on(s3_records(&client, &bucket));
    let unique: BTreeSet<&(String, String)> = records.iter().collect();
    assert_eq!(records.len(), 12, "6 runs of 2 canaries");
    assert_eq!(unique.len(), 12, "none doubled");
    let audit = rt
        .block_on(
            client
                .list_objects_v2()
                .bucket(&bucket)
                .prefix("runs/_audit/")
                .send(),
        )
        .unwrap();
    assert!(
        audit.key_count().unwrap_or(0) >= 6,
        "the audit events went too"
    );
}

/// The book's filter pattern named `name` (after `<!-- filter: name -->`).
fn readme_filter(name: &str) -> String {
    let readme = include_str!("../docs/src/history.md");
    let marker = format!("<!-- filter: {name} -->\n```text\n");
    let start = readme.find(&marker).expect("filter in docs/src/history.md") + marker.len();
    let end = start + readme[start..].find("```").unwrap();
    readme[start..end].trim().to_string()
}

/// Every event's message in the stream, in order.
async fn log_events(client: &aws_sdk_cloudwatchlogs::Client, group: &str) -> Vec<Value> {
    let got = client
        .get_log_events()
        .log_group_name(group)
        .log_stream_name("runner-1")
        .start_from_head(true)
        .send()
        .await
        .unwrap();
    got.events()
        .iter()
        .map(|e| serde_json::from_str(e.message().unwrap()).unwrap())
        .collect()
}

#[test]
fn cloudwatch_logs_get_every_record_once_in_order_across_an_outage_and_filters_find_them() {
    let Some(url) = support::aws::localstack() else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let group = format!("/canary/{}", support::aws::unique("runs", "logs"));
    let client = rt.block_on(async {
        aws_sdk_cloudwatchlogs::Client::new(&support::aws::sdk_config(&url).await)
    });
    let first = AtomicUsize::new(0);
    let srv = Server::http(move |_: &Req| match first.fetch_add(1, Ordering::SeqCst) {
        0 => Reply::text(503, "down"),
        _ => Reply::text(200, "ok"),
    });
    let canary = |name: &str, url: String| {
        let text = format!(
            "name: {name}\nschedule: rate(1 minute)\nhttp: {{ url: '{url}', assert: [ {{ status: 200 }} ] }}\n"
        );
        (format!("{name}.yaml"), text)
    };
    let dir = support::canary_dir_owned(&[
        canary("checkout", format!("http://{}/", srv.addr)),
        canary("refused", "http://127.0.0.1:1/".into()),
    ]);
    let spool = dir.path().join("spool");
    let logs = [
        "--logs",
        "cloudwatch",
        "--log-group",
        &group,
        "--log-stream",
        "runner-1",
        "--log-retention",
        "30d",
    ];
    let once = |endpoint: &str| once_with(dir.path(), &spool, endpoint, &logs);
    once(&url);
    for _ in 0..2 {
        once("http://127.0.0.1:1");
    }
    assert!(waiting_in(&spool.join("logs")) >= 2);
    once(&url);
    let events = rt.block_on(log_events(&client, &group));
    let runs: Vec<&Value> = events.iter().filter(|e| e["record"] == "run").collect();
    assert_eq!(
        runs.len(),
        8,
        "4 runs of 2 canaries, once each: {events:#?}"
    );
    let stamps: Vec<&str> = runs
        .iter()
        .map(|r| r["started_at"].as_str().unwrap())
        .collect();
    let unique: BTreeSet<(&str, &str)> = runs
        .iter()
        .map(|r| {
            (
                r["started_at"].as_str().unwrap(),
                r["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(unique.len(), 8, "none doubled");
    assert!(
        stamps.windows(2).all(|w| w[0] <= w[1]),
        "in order: {stamps:?}"
    );
    let warnings = events.iter().filter(|e| e["record"] == "log");
    let errored = warnings.filter(|e| e["level"] == "ERROR" && e["canary"] == "refused");
    assert_eq!(
        errored.count(),
        4,
        "the runner's own error lines, once each: {events:#?}"
    );
    let described = rt.block_on(
        client
            .describe_log_groups()
            .log_group_name_prefix(&group)
            .send(),
    );
    let retention = described.unwrap().log_groups()[0].retention_in_days();
    assert_eq!(retention, Some(30));

    // LocalStack 4.13.1 accepts filter patterns but answers every event whatever the pattern,
    // so the patterns' meaning is checked here, on the events it returned, by `matches`.
    let count = |filter: &str| {
        let found = rt.block_on(
            client
                .filter_log_events()
                .log_group_name(&group)
                .filter_pattern(filter)
                .send(),
        );
        let found = found.unwrap();
        let events = found.events().iter();
        let events = events.map(|e| serde_json::from_str::<Value>(e.message().unwrap()).unwrap());
        events.filter(|e| matches(filter, e)).count()
    };
    assert_eq!(count(&readme_filter("failures")), 5);
    assert_eq!(count(&readme_filter("one-canary")), 1);
    assert_eq!(count(&readme_filter("error-kind")), 4);
}

/// Whether a CloudWatch Logs JSON filter pattern (`{ $.a = "x" && ($.b != "y" || … ) }`, the
/// subset the book uses) selects `event`.
fn matches(pattern: &str, event: &Value) -> bool {
    let inner = pattern.trim().trim_start_matches('{').trim_end_matches('}');
    let spaced = inner.replace('(', " ( ").replace(')', " ) ");
    let tokens: Vec<&str> = spaced.split_whitespace().collect();
    let (value, rest) = or_expr(&tokens, event);
    assert!(rest.is_empty(), "unparsed {rest:?} in {pattern}");
    value
}

fn or_expr<'a>(t: &'a [&'a str], e: &Value) -> (bool, &'a [&'a str]) {
    let (mut v, mut rest) = and_expr(t, e);
    while rest.first() == Some(&"||") {
        let (w, r) = and_expr(&rest[1..], e);
        (v, rest) = (v || w, r);
    }
    (v, rest)
}

fn and_expr<'a>(t: &'a [&'a str], e: &Value) -> (bool, &'a [&'a str]) {
    let (mut v, mut rest) = term(t, e);
    while rest.first() == Some(&"&&") {
        let (w, r) = term(&rest[1..], e);
        (v, rest) = (v && w, r);
    }
    (v, rest)
}

fn term<'a>(t: &'a [&'a str], e: &Value) -> (bool, &'a [&'a str]) {
    if t[0] == "(" {
        let (v, rest) = or_expr(&t[1..], e);
        assert_eq!(rest[0], ")");
        return (v, &rest[1..]);
    }
    let field = t[0].strip_prefix("$.").expect("a $.field");
    let want = t[2].trim_matches('"');
    let has = e.get(field).and_then(Value::as_str) == Some(want);
    match t[1] {
        "=" => (has, &t[3..]),
        "!=" => (!has, &t[3..]),
        op => panic!("operator {op}"),
    }
}
