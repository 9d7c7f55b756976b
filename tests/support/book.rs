//! The canary files written in the README and the book (`docs/src/*.md`): each fenced `yaml`
//! block with a top-level `name:` is a complete canary file a user may copy.

use std::path::{Path, PathBuf};

/// The README and the book's chapters, in order.
pub fn pages() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut chapters: Vec<PathBuf> = std::fs::read_dir(root.join("docs/src"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    chapters.sort();
    let mut pages = vec![root.join("README.md")];
    pages.extend(chapters);
    pages
}

/// Every complete canary file of the README and the book, written into `dir`: where it was
/// written (`docs/src/kinds.md:24`) and the file.
pub fn canary_files(dir: &Path) -> Vec<(String, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        let name = page.strip_prefix(root).unwrap().display().to_string();
        for (line, yaml) in yaml_blocks(&text) {
            if !yaml.lines().any(|l| l.starts_with("name:")) {
                continue;
            }
            let file = dir.join(format!("{}.yaml", out.len() + 1));
            std::fs::write(&file, yaml).unwrap();
            out.push((format!("{name}:{line}"), file));
        }
    }
    out
}

/// The fenced `yaml` blocks of a Markdown page, with the line each starts on.
fn yaml_blocks(text: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut open: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        match &mut open {
            None if line.trim_start() == "```yaml" => open = Some((i + 2, String::new())),
            Some(_) if line.trim_start().starts_with("```") => blocks.extend(open.take()),
            Some((_, yaml)) => {
                yaml.push_str(line);
                yaml.push('\n');
            }
            None => {}
        }
    }
    blocks
}
