//! The JSON Schema of canary files: `canary schema` matches the committed file, every example
//! canary validates against it with an independent validator (check-jsonschema), and the golden
//! files with shape errors (unknown field, wrong type, missing field) are rejected by it too; so
//! are the complete canary files of the README and the book.

mod support;

use std::path::{Path, PathBuf};
fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_committed_schemas_are_what_canary_schema_prints() {
    for (args, file) in [
        (&["schema"][..], "canary.schema.json"),
        (&["schema", "--project"][..], "project.schema.json"),
    ] {
        let out = support::canary(root(), args);
        assert!(out.status.success(), "{:?}", support::text(&out));
        let committed = std::fs::read_to_string(root().join("schema").join(file)).unwrap();
        assert!(
            committed == String::from_utf8_lossy(&out.stdout),
            "schema/{file} is out of date: run `canary {} > schema/{file}`",
            args.join(" ")
        );
    }
}

#[test]
fn every_example_canary_names_the_schema_and_validates_against_it() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("canaries"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    for f in &files {
        let first = std::fs::read_to_string(f).unwrap();
        let first = first.lines().next().unwrap_or("");
        assert_eq!(
            first,
            "# yaml-language-server: $schema=../schema/canary.schema.json",
            "{}",
            f.display()
        );
    }
    let out = support::schema_check(&support::schema("canary.schema.json"), &files);
    assert!(out.status.success(), "{:?}", support::text(&out));
}

#[test]
fn the_golden_shape_errors_fail_the_schema_and_rule_errors_are_left_to_the_loader() {
    let golden = root().join("tests/golden");
    for name in [
        "assert_not_a_list",
        "missing_url",
        "unknown_assertion",
        "unknown_field",
        "wrong_type",
    ] {
        let out = support::schema_check(
            &support::schema("canary.schema.json"),
            &[golden.join(format!("{name}.yaml"))],
        );
        assert!(!out.status.success(), "{name} passed the schema");
    }
    // Rules only the loader knows (listed in the README): valid shapes, wrong meaning.
    for name in [
        "bad_cron",
        "bad_jsonpath",
        "bad_regex",
        "bad_url",
        "undefined_variable",
    ] {
        let out = support::schema_check(
            &support::schema("canary.schema.json"),
            &[golden.join(format!("{name}.yaml"))],
        );
        assert!(out.status.success(), "{name}: {:?}", support::text(&out));
        let loaded = support::canary(root(), &["validate", &format!("tests/golden/{name}.yaml")]);
        assert_eq!(loaded.status.code(), Some(2), "{name} must fail to load");
    }
}

#[test]
fn init_writes_starters_that_load_and_validate_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let out = support::canary(dir.path(), &["init", "starters"]);
    assert!(out.status.success(), "{:?}", support::text(&out));
    let starters = dir.path().join("starters");
    let mut yaml: Vec<PathBuf> = std::fs::read_dir(&starters)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    yaml.sort();
    let names: Vec<_> = yaml
        .iter()
        .map(|p| p.file_name().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        ["heartbeat.yaml", "login-flow.yaml", "orders-api.yaml"]
    );
    let loaded = support::canary(dir.path(), &["validate", "starters"]);
    assert!(loaded.status.success(), "{:?}", support::text(&loaded));
    let checked = support::schema_check(&starters.join("canary.schema.json"), &yaml);
    assert!(checked.status.success(), "{:?}", support::text(&checked));
    let first = std::fs::read_to_string(&yaml[0]).unwrap();
    assert!(first.starts_with("# yaml-language-server: $schema=canary.schema.json\n"));

    std::fs::remove_file(&yaml[1]).unwrap();
    std::fs::write(&yaml[0], "mine").unwrap();
    let again = support::canary(dir.path(), &["init", "starters"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        support::text(&again).1.contains("heartbeat.yaml"),
        "{:?}",
        support::text(&again)
    );
    assert_eq!(std::fs::read_to_string(&yaml[0]).unwrap(), "mine");
    assert!(!yaml[1].exists(), "nothing written when any file exists");
}

#[test]
fn every_complete_canary_file_in_the_readme_and_the_book_validates_against_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let files = support::book::canary_files(dir.path());
    assert!(files.len() >= 15, "found only {} canary files", files.len());
    let paths: Vec<PathBuf> = files.into_iter().map(|(_, path)| path).collect();
    let out = support::schema_check(&support::schema("canary.schema.json"), &paths);
    assert!(out.status.success(), "{:?}", support::text(&out));
}
