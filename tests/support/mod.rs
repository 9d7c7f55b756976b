//! Test support: a real HTTP/1.1 server on 127.0.0.1:0 (plain or TLS) that can misbehave on
//! purpose, certificates made on the spot, and helpers to run the real `canary` binary.
#![allow(dead_code)]

pub mod aws;
pub mod book;
pub mod certs;
pub mod demo;
pub mod demo_kinds;
pub mod dns;
pub mod forward;
pub mod h2;
pub mod proxy;
pub mod server;

use std::path::{Path, PathBuf};
use std::process::Output;

/// Writes `files` (name, text) into a fresh temporary folder.
pub fn canary_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

/// [`canary_dir`] for files made on the spot.
pub fn canary_dir_owned(files: &[(String, String)]) -> tempfile::TempDir {
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    canary_dir(&refs)
}

/// The built `canary` binary.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_canary"))
}

/// Runs the real binary with `args`, in `cwd`, and waits for it.
pub fn canary(cwd: &Path, args: &[&str]) -> Output {
    std::process::Command::new(binary())
        .args(args)
        .current_dir(cwd)
        .env_remove("NO_COLOR")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("CANARY_ERROR_FORMAT")
        .output()
        .expect("run canary")
}

/// The committed schema `schema/<name>`.
pub fn schema(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schema")
        .join(name)
}

/// Validates `files` against the JSON Schema in `schema` with check-jsonschema from .venv-ci
/// (scripts/tools installs it).
pub fn schema_check(schema: &Path, files: &[PathBuf]) -> Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tool = root.join(".venv-ci/bin/check-jsonschema");
    assert!(
        tool.exists(),
        "check-jsonschema is missing: run scripts/tools (scripts/test does) to install it into .venv-ci"
    );
    std::process::Command::new(tool)
        .arg("--schemafile")
        .arg(schema)
        .args(files)
        .output()
        .expect("run check-jsonschema")
}

/// Stdout and stderr of a finished command, for assertion messages.
pub fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Whether Chromium can be driven here; under CI a missing one fails the test (it is never
/// skipped silently there).
pub fn browser_available() -> bool {
    let ok = std::process::Command::new("chromedriver")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "chromedriver is missing: apt-get install chromium chromium-driver (scripts/test does)"
        );
        eprintln!("skipped: no chromedriver (apt-get install chromium chromium-driver)");
    }
    ok
}
