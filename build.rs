//! Stamps the binary with the commit and the build date for `canary --version` and the image
//! labels: from CANARY_COMMIT and CANARY_BUILD_DATE when the build sets them (the Dockerfile's
//! build arguments), else from git; the date is the commit's, so a rebuild of one commit prints
//! the same version. `unknown` where neither says.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=CANARY_COMMIT");
    println!("cargo:rerun-if-env-changed=CANARY_BUILD_DATE");
    watch_git_head();
    let commit = given("CANARY_COMMIT").or_else(|| git(&["rev-parse", "--short=12", "HEAD"]));
    let date = given("CANARY_BUILD_DATE")
        .or_else(|| git(&["log", "-1", "--format=%cs"]))
        .map(|d| d.chars().take(10).collect());
    let unknown = || "unknown".to_string();
    println!(
        "cargo:rustc-env=CANARY_COMMIT={}",
        commit.unwrap_or_else(unknown)
    );
    println!(
        "cargo:rustc-env=CANARY_BUILD_DATE={}",
        date.unwrap_or_else(unknown)
    );
}

fn given(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_string())
}

/// Builds again when HEAD moves: a new commit on the branch, or another branch checked out.
fn watch_git_head() {
    let head = Path::new(".git/HEAD");
    if !head.exists() {
        return;
    }
    println!("cargo:rerun-if-changed=.git/HEAD");
    let text = std::fs::read_to_string(head).unwrap_or_default();
    let branch = text
        .trim()
        .strip_prefix("ref: ")
        .map(|b| format!(".git/{b}"));
    // Only files that exist: cargo runs the script again every time for one that does not.
    for file in branch
        .iter()
        .map(String::as_str)
        .chain([".git/packed-refs"])
    {
        if Path::new(file).exists() {
            println!("cargo:rerun-if-changed={file}");
        }
    }
}
