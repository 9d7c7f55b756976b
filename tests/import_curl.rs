//! `canary import curl`: a curl command line becomes a canary that loads and passes against the
//! same server, with its credentials as `${secret:…}` references instead of literals.

mod support;

use std::process::Command;

use support::server::{Reply, Req, Server};

#[test]
fn an_imported_curl_line_passes_against_the_server_it_was_written_for() {
    let srv = Server::http(|r: &Req| {
        let ok = r.method == "PUT"
            && r.path() == "/v1/orders"
            && r.header("x-api-key") == Some("k-123")
            && r.header("content-type") == Some("application/json")
            && r.header("authorization") == Some("Basic Ym9iOnB3") // bob:pw
            && r.body == br#"{"a":1}"#;
        Reply::text(if ok { 200 } else { 400 }, "")
    });
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://{}/v1/orders", srv.addr);
    let line = [
        "curl",
        "-sS",
        "-X",
        "PUT",
        "-H",
        "Content-Type: application/json",
        "-H",
        "X-Api-Key: k-123",
        "-d",
        r#"{"a":1}"#,
        "-u",
        "bob:pw",
        "--max-time",
        "5",
        "--retry",
        "3",
        "--connect-timeout",
        "2",
        &url,
    ];
    let mut args = vec![
        "import",
        "curl",
        "--name",
        "orders",
        "-o",
        "orders.yaml",
        "--",
    ];
    args.extend(line);
    let out = support::canary(dir.path(), &args);
    let (_, stderr) = support::text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("--connect-timeout"),
        "what has no equivalent is a warning: {stderr}"
    );
    let yaml = std::fs::read_to_string(dir.path().join("orders.yaml")).unwrap();
    let schema = support::schema_check(
        &support::schema("canary.schema.json"),
        &[dir.path().join("orders.yaml")],
    );
    assert!(schema.status.success(), "{:?}", support::text(&schema));
    assert!(
        !yaml.contains("k-123") && !yaml.contains("bob:pw"),
        "no credential literal:\n{yaml}"
    );
    assert!(yaml.contains("# NOTE: `--connect-timeout 2`"), "{yaml}");
    assert!(
        yaml.contains("\nretries: 3\n"),
        "--retry has an equivalent:\n{yaml}"
    );

    let run = |env: &[(&str, &str)]| {
        let mut cmd = Command::new(support::binary());
        cmd.args(["test", "orders.yaml"]).current_dir(dir.path());
        cmd.env_remove("X_API_KEY").env_remove("CURL_PASSWORD");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    let unset = run(&[]);
    assert_eq!(unset.status.code(), Some(2), "{:?}", support::text(&unset));
    let passed = run(&[("X_API_KEY", "k-123"), ("CURL_PASSWORD", "pw")]);
    assert!(
        passed.status.success(),
        "{yaml}\n{:?}",
        support::text(&passed)
    );
    assert_eq!(srv.requests.lock().unwrap().len(), 1);
}

/// `canary import curl` in `dir` with these curl arguments; the output and the YAML written.
fn import(dir: &std::path::Path, curl: &[&str]) -> (std::process::Output, String) {
    let _ = std::fs::remove_file(dir.join("c.yaml"));
    let mut args = vec![
        "import", "curl", "--name", "c", "-o", "c.yaml", "--", "curl",
    ];
    args.extend(curl);
    let out = support::canary(dir, &args);
    let yaml = std::fs::read_to_string(dir.join("c.yaml")).unwrap_or_default();
    (out, yaml)
}

#[test]
fn data_files_are_read_as_curl_reads_them() {
    let srv = Server::http(|r: &Req| Reply::text(200, &String::from_utf8_lossy(&r.body)));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("form.txt"), "a=1\r\n&b=2\n").unwrap();
    std::fs::write(d.join("raw.txt"), "line 1\nline 2\n").unwrap();
    std::fs::write(d.join("j.json"), "{\"x\": [1, 2]}\n").unwrap();
    let url = srv.url("/p");
    let cases: [(&[&str], &[u8]); 5] = [
        (&["-d", "@form.txt"], b"a=1&b=2"),
        (&["--data-binary", "@raw.txt"], b"line 1\nline 2\n"),
        (&["--data-raw", "@raw.txt"], b"@raw.txt"),
        (&["--json", "@j.json"], br#"{"x":[1,2]}"#),
        (
            &["--data-urlencode", "q=a b&c", "-d", "n=1"],
            b"q=a+b%26c&n=1",
        ),
    ];
    for (i, (args, body)) in cases.iter().enumerate() {
        let mut curl = args.to_vec();
        curl.push(&url);
        let (out, yaml) = import(d, &curl);
        assert!(out.status.success(), "{args:?}: {:?}", support::text(&out));
        let run = support::canary(d, &["test", "c.yaml"]);
        assert!(run.status.success(), "{yaml}\n{:?}", support::text(&run));
        let got = srv.received();
        assert_eq!(
            String::from_utf8_lossy(&got[i].body),
            String::from_utf8_lossy(body),
            "{args:?}:\n{yaml}"
        );
    }
    let (out, _) = import(d, &["-d", "@missing.txt", &url]);
    let (_, stderr) = support::text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot read missing.txt"), "{stderr}");
}

#[test]
fn urls_versions_retries_and_the_output_file_behave_as_curl_and_init_do() {
    let srv = Server::http(|_| Reply::text(200, "ok"));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bare = format!("{}/v1", srv.addr);
    let (out, yaml) = import(d, &["--retry", "2", &bare]);
    assert!(out.status.success(), "{:?}", support::text(&out));
    assert!(yaml.contains(&format!("url: \"http://{bare}\"")), "{yaml}");
    assert!(yaml.contains("\nretries: 2\n"), "{yaml}");
    let run = support::canary(d, &["test", "c.yaml"]);
    assert!(run.status.success(), "{yaml}\n{:?}", support::text(&run));

    let (out, yaml) = import(d, &["--http2", "https://x.test/"]);
    assert!(out.status.success(), "{:?}", support::text(&out));
    assert!(yaml.contains("http_version: \"2\""), "{yaml}");

    let (out, _) = import(d, &["https://a.test/", "https://b.test/"]);
    let (_, stderr) = support::text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("two URLs (https://a.test/ and https://b.test/)"),
        "{stderr}"
    );

    std::fs::write(d.join("mine.yaml"), "keep me").unwrap();
    let args = [
        "import",
        "curl",
        "-o",
        "mine.yaml",
        "--",
        "curl",
        "https://a.test/",
    ];
    let out = support::canary(d, &args);
    let (_, stderr) = support::text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("mine.yaml exists") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(d.join("mine.yaml")).unwrap(),
        "keep me"
    );
    let forced = [
        "import",
        "curl",
        "-o",
        "mine.yaml",
        "--force",
        "--",
        "curl",
        "https://a.test/",
    ];
    assert!(support::canary(d, &forced).status.success());
    assert!(
        std::fs::read_to_string(d.join("mine.yaml"))
            .unwrap()
            .contains("https://a.test/")
    );
}
