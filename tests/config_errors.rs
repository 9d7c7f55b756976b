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
