//! Golden tests for config errors: each `tests/golden/NAME.yaml` (or folder `NAME/`) must make
//! `canary validate` exit 2 and print exactly `tests/golden/NAME.expected`.
//! `UPDATE_GOLDEN=1 cargo test --test config_errors` rewrites the expectations.

mod support;

use std::path::{Path, PathBuf};

fn cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() || p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    cases.sort();
    cases
}

fn validate(path: &Path) -> (Option<i32>, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rel = path.strip_prefix(root).unwrap();
    let out = support::canary(root, &["validate", rel.to_str().unwrap()]);
    (out.status.code(), support::text(&out).1)
}

#[test]
fn every_error_kind_has_its_message() {
    let cases = cases();
    assert!(cases.len() >= 20, "golden cases missing: {cases:?}");
    let mut mismatches = Vec::new();
    for case in cases {
        let (code, stderr) = validate(&case);
        assert_eq!(code, Some(2), "{}: {stderr}", case.display());
        let expected_path = case.with_extension("expected");
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&expected_path, &stderr).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_else(|_| {
            panic!(
                "{} is missing; run with UPDATE_GOLDEN=1",
                expected_path.display()
            )
        });
        if expected != stderr {
            mismatches.push(format!(
                "{}:\n--- expected\n{expected}--- got\n{stderr}",
                case.display()
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn all_errors_of_all_files_come_in_one_pass() {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let (code, stderr) = validate(&golden);
    assert_eq!(code, Some(2));
    let errors = |text: &str| text.lines().filter(|l| l.starts_with("error: ")).count();
    let expected: usize = cases()
        .iter()
        .map(|c| errors(&std::fs::read_to_string(c.with_extension("expected")).unwrap()))
        .sum();
    let reported = errors(&stderr);
    assert_eq!(reported, expected, "{stderr}");
    assert!(
        stderr.ends_with(&format!("{expected} errors\n")),
        "{stderr}"
    );
}

#[test]
fn a_set_loaded_on_every_core_keeps_the_files_order_and_every_error() {
    // File f-000 holds canary c-299, f-299 holds c-000: listed in file order, names descend.
    let canary = |name: &str| {
        format!(
            "name: {name}\nhttp:\n  url: http://127.0.0.1:9/\n  assert: [ {{ status: 200 }} ]\n"
        )
    };
    let mut files: Vec<(String, String)> = (0..300)
        .map(|i| {
            (
                format!("f-{i:03}.yaml"),
                canary(&format!("c-{:03}", 299 - i)),
            )
        })
        .collect();
    let dir = support::canary_dir_owned(&files);
    let out = support::canary(dir.path(), &["list", "."]);
    let listed: Vec<String> = support::text(&out)
        .0
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().next().unwrap_or_default().to_string())
        .collect();
    let names: Vec<String> = (0..300).rev().map(|i| format!("c-{i:03}")).collect();
    assert_eq!(listed, names, "{out:?}");

    files[150].1 = canary("c-279");
    files[280].1 = "name: [\n".into();
    let dir = support::canary_dir_owned(&files);
    let out = support::canary(dir.path(), &["validate", "."]);
    let stderr = support::text(&out).1;
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let dup = stderr.find("`c-279` is already used by ./f-020.yaml");
    let bad = stderr.find("f-280.yaml:1:7");
    assert!(dup.is_some() && bad.is_some() && dup < bad, "{stderr}");
    assert!(stderr.ends_with("2 errors\n"), "{stderr}");
}
