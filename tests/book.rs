//! The book under `docs/` and the README, as a reader uses them: every canary file they show
//! loads with `canary validate` (so the documentation cannot drift from the code), every link
//! between chapters points at a heading that exists, and `mdbook build` renders the book.

mod support;

use std::collections::BTreeSet;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The `${NAME}` variables a file uses without a default, each given a value as `--var` would.
fn variables(yaml: &str) -> Vec<String> {
    let re = regex::Regex::new(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}").unwrap();
    let names: BTreeSet<&str> = re
        .captures_iter(yaml)
        .map(|c| c.get(1).unwrap().as_str())
        .collect();
    names
        .into_iter()
        .flat_map(|n| ["--var".to_string(), format!("{n}=http://127.0.0.1:8080")])
        .collect()
}

/// The `${env:NAME}` and `${secret:NAME}` a file reads, each set in the environment (an ARN
/// where the name says it is one).
fn environment(yaml: &str) -> Vec<(String, String)> {
    let re = regex::Regex::new(r"\$\{(?:env|secret):([A-Za-z_][A-Za-z0-9_]*)").unwrap();
    let value = |name: &str| match name.ends_with("_ARN") {
        true => "arn:aws:sns:eu-west-1:123456789012:oncall",
        false => "x",
    };
    re.captures_iter(yaml)
        .map(|c| (c[1].to_string(), value(&c[1]).to_string()))
        .collect()
}

#[test]
fn every_canary_file_in_the_readme_and_the_book_loads() {
    let dir = tempfile::tempdir().unwrap();
    let files = support::book::canary_files(dir.path());
    assert!(files.len() >= 15, "found only {} canary files", files.len());
    let mut failed = Vec::new();
    for (origin, file) in &files {
        let yaml = std::fs::read_to_string(file).unwrap();
        let mut args = vec!["validate".to_string(), file.display().to_string()];
        args.extend(variables(&yaml));
        let out = std::process::Command::new(support::binary())
            .args(&args)
            .envs(environment(&yaml))
            .current_dir(root())
            .output()
            .unwrap();
        if !out.status.success() {
            let (_, err) = support::text(&out);
            failed.push(format!("{origin}:\n{err}"));
        }
    }
    assert!(
        failed.is_empty(),
        "{} do not load:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

/// What mdBook and GitHub make of a heading: lower case, spaces to `-`, no punctuation.
fn anchor(heading: &str) -> String {
    let text: String = heading
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .collect();
    text.replace(' ', "-")
}

#[test]
fn every_link_between_chapters_points_at_a_heading_that_exists() {
    let mut targets = BTreeSet::new();
    for page in support::book::pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        let name = page.file_name().unwrap().to_string_lossy().to_string();
        let mut fenced = false;
        for line in text.lines() {
            fenced ^= line.starts_with("```");
            if let Some(h) = line.strip_prefix('#').filter(|_| !fenced) {
                targets.insert(format!(
                    "{name}#{}",
                    anchor(h.trim_start_matches('#').trim())
                ));
            }
        }
    }
    let link = regex::Regex::new(r"\]\(([a-z0-9-]*\.md)?#([^)]+)\)").unwrap();
    let mut broken = Vec::new();
    for page in support::book::pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        let name = page.file_name().unwrap().to_string_lossy().to_string();
        for c in link.captures_iter(&text) {
            let file = c.get(1).map_or(name.as_str(), |m| m.as_str());
            let file = file.rsplit('/').next().unwrap_or(file);
            let target = format!("{file}#{}", &c[2]);
            if !targets.contains(&target) {
                broken.push(format!("{name}: {}", &c[0]));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "links to no heading:\n{}",
        broken.join("\n")
    );
}

#[test]
fn mdbook_builds_the_book() {
    let found = std::process::Command::new("mdbook")
        .arg("--version")
        .output();
    if found.is_err() {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "mdbook is missing: cargo install mdbook --locked (scripts/test does)"
        );
        eprintln!("skipped: no mdbook (cargo install mdbook --locked)");
        return;
    }
    let out_dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("mdbook")
        .args(["build", "docs", "--dest-dir"])
        .arg(out_dir.path())
        .current_dir(root())
        .output()
        .unwrap();
    assert!(out.status.success(), "{:?}", support::text(&out));
    let index = std::fs::read_to_string(out_dir.path().join("index.html")).unwrap();
    assert!(
        index.contains("canary"),
        "the book's first page names canary"
    );
    for chapter in ["commands", "canary-file", "kinds", "architecture"] {
        let page = out_dir.path().join(format!("{chapter}.html"));
        assert!(page.exists(), "{chapter}.html was rendered");
    }
}
