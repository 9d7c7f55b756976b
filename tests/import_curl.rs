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
        stderr.contains("--retry"),
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
    assert!(yaml.contains("# NOTE: `--retry 3`"), "{yaml}");

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
