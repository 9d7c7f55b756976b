//! `canary init [DIR]`: a commented starter set — a heartbeat, a multi-step API canary and a
//! browser canary (the examples in `canaries/`) — with the JSON Schema their first lines name.
//! It never overwrites a file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::commands::emit;

/// The starters: (file name, text as in `canaries/`).
const STARTERS: [(&str, &str); 3] = [
    (
        "heartbeat.yaml",
        include_str!("../../../canaries/heartbeat.yaml"),
    ),
    (
        "orders-api.yaml",
        include_str!("../../../canaries/orders-api.yaml"),
    ),
    (
        "login-flow.yaml",
        include_str!("../../../canaries/login-flow.yaml"),
    ),
];

/// The schema file written beside them.
const SCHEMA: &str = "canary.schema.json";

pub fn run(dir: &Path) -> Result<ExitCode> {
    let mut files: Vec<(PathBuf, String)> = STARTERS
        .iter()
        .map(|(name, text)| {
            let text = text.replace(
                "$schema=../schema/canary.schema.json",
                "$schema=canary.schema.json",
            );
            (dir.join(name), text)
        })
        .collect();
    files.push((dir.join(SCHEMA), canary::config::json_schema(false)));
    let existing: Vec<String> = files
        .iter()
        .filter(|(p, _)| p.exists())
        .map(|(p, _)| p.display().to_string())
        .collect();
    if !existing.is_empty() {
        let _ = writeln!(
            std::io::stderr(),
            "error: not overwriting {}; nothing written",
            existing.join(", ")
        );
        return Ok(ExitCode::from(2));
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (path, text) in &files {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        f.write_all(text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let shown = dir.display();
    emit(&format!(
        "wrote {n} starter canaries and {SCHEMA} to {shown}\n\
         next:  canary validate {shown}\n       canary test {shown} --var BASE_URL=https://your.site\n",
        n = STARTERS.len()
    ));
    Ok(ExitCode::SUCCESS)
}
