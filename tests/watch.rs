//! `canary test --watch` as a developer uses it: a run at start, a re-run of only the file that
//! changed, a bad edit shown without ending the loop, `r` for all, `q` to quit.

mod support;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::server::{Reply, Req, Server};

/// Waits (up to 15 s) until the output after `from` contains `what`; returns its length then.
fn wait_for(out: &Arc<Mutex<String>>, from: usize, what: &str) -> usize {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let text = out.lock().unwrap().clone();
        if text[from..].contains(what) {
            return text.len();
        }
        assert!(
            Instant::now() < deadline,
            "no `{what}` after {from} in:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn watch_reruns_what_changed_survives_bad_edits_and_quits_on_q() {
    let srv = Server::http(|r: &Req| match r.path() {
        "/down" => Reply::text(503, "down"),
        _ => Reply::text(200, "ok"),
    });
    let canary = |name: &str, path: &str| {
        format!(
            "name: {name}\nhttp: {{ url: 'http://{}/{path}', assert: [ {{ status: 200 }} ] }}\n",
            srv.addr
        )
    };
    let dir = support::canary_dir_owned(&[
        ("a.yaml".into(), canary("alpha", "a")),
        ("b.yaml".into(), canary("beta", "b")),
    ]);
    let mut child = Command::new(support::binary())
        .args(["test", ".", "--watch"])
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = Arc::new(Mutex::new(String::new()));
    for stream in [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ] {
        let (mut stream, out) = (stream.unwrap(), out.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 {
                    break;
                }
                out.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
    }
    let at = wait_for(&out, 0, "2 passed, 0 failed");
    let at = wait_for(&out, at.saturating_sub(200), "watching 2 files");

    std::thread::sleep(Duration::from_millis(1100)); // a new modification time
    std::fs::write(dir.path().join("b.yaml"), canary("beta", "down")).unwrap();
    let next = wait_for(&out, at, "0 passed, 1 failed");
    let round = out.lock().unwrap()[at..next].to_string();
    assert!(
        round.contains("changed: ./b.yaml") && round.contains("beta") && !round.contains("alpha"),
        "{round}"
    );

    std::fs::write(dir.path().join("a.yaml"), "name: alpha\nhttp: { url: [ }\n").unwrap();
    let at = wait_for(&out, next, "the files do not load");
    assert!(
        out.lock().unwrap()[next..].contains("a.yaml"),
        "the error names the file"
    );
    assert!(
        child.try_wait().unwrap().is_none(),
        "a bad edit does not end the loop"
    );
    std::fs::write(dir.path().join("a.yaml"), canary("alpha", "a")).unwrap();
    let at = wait_for(&out, at, "1 passed, 0 failed");

    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"r\n").unwrap();
    let at = wait_for(&out, at, "1 passed, 1 failed");
    assert!(out.lock().unwrap()[..at].contains("all canaries (r)"));
    stdin.write_all(b"q\n").unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "q did not quit");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success());
}
