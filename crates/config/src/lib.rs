//! Loading canary files: discover → parse (YAML with locations) → compile; every error at once.

// The crates below this one, reached as `crate::…` like this crate's own modules.
use canary_model::{canary, names, redact, run, schedule, shard, template};

mod alarms;
mod alerting;
mod assertions;
mod browser;
mod compile;
mod compiler;
mod dns;
mod error;
mod file;
mod grpc;
mod http;
pub mod jsonpath;
mod maintenance;
mod net;
mod one_key;
pub mod project;
mod raw;
mod rule;
mod section;
mod shape;
mod snippet;
mod tcp;
mod tls;
mod values;
mod vars;
mod websocket;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use compiler::{DEFAULT_MAX_BODY, DEFAULT_MAX_REDIRECTS, DEFAULT_SCHEDULE, DEFAULT_TIMEOUT};
pub use error::{ConfigError, ConfigErrors};
pub use snippet::{render, render_with_source};

use crate::canary::Canary;

/// What canary files can refer to besides themselves.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Values for `${NAME}`: `--var` and `--env-file` entries (`--var` wins).
    pub vars: HashMap<String, String>,
    /// Values for `${env:NAME}` and `${secret:NAME}`: the environment, then `--env-file`.
    pub env: HashMap<String, String>,
    /// The proxy of canaries that name none (`--proxy`).
    pub proxy: Option<url::Url>,
    /// Only the canaries of this shard are kept (`--shard`); names are unique across all shards.
    pub shard: Option<crate::shard::Shard>,
    /// The project file's settings and defaults (none: the built-in ones).
    pub project: Arc<project::Project>,
}

impl LoadOptions {
    /// The same options for every shard.
    pub fn without_shard(&self) -> LoadOptions {
        LoadOptions {
            shard: None,
            ..self.clone()
        }
    }
}

/// Parses a `--proxy` URL as the `proxy:` field does.
pub fn parse_proxy(text: &str) -> Result<Option<url::Url>, String> {
    match text.trim() {
        "" | "none" => Ok(None),
        t => http::proxy(t).map(Some),
    }
}

/// Loads every canary under `paths` (files, or folders searched for `*.yaml`/`*.yml` at any depth)
/// and keeps those of `opts.shard`. Either all load, or every error found is returned.
pub fn load(paths: &[PathBuf], opts: &LoadOptions) -> Result<Vec<Canary>, ConfigErrors> {
    let mut errors = Vec::new();
    let mut files = discover(paths, &mut errors);
    files.retain(|f| !(f.in_folder && opts.project.excludes(&f.path)));
    let mut canaries: Vec<Canary> = Vec::new();
    // Which canary has each name, to find a second use without a search through all of them.
    let mut named: HashMap<String, usize> = HashMap::new();
    for (Found { path: file, .. }, loaded) in files.iter().zip(load_files(&files, opts)) {
        match loaded {
            Ok(None) => {
                // Other YAML in a folder of canaries (a rules file, a compose or Kubernetes
                // file): said once, not an error.
                tracing::warn!(
                    file = %file.display(),
                    "skipped: not a canary file (none of a canary's keys at the top level; \
                     `exclude:` in .canary.yaml leaves it out without this note)"
                );
            }
            Ok(Some((canary, at))) => {
                if let Some(&other) = named.get(&canary.name) {
                    errors.push(ConfigError::at(
                        file,
                        &at,
                        format!(
                            "the name `{}` is already used by {}; names must be unique",
                            canary.name,
                            canaries[other].file.display()
                        ),
                    ));
                    continue;
                }
                named.insert(canary.name.clone(), canaries.len());
                canaries.push(canary);
            }
            Err(mut e) => errors.append(&mut e),
        }
    }
    if canaries.is_empty() && errors.is_empty() && !files.is_empty() {
        for path in paths.iter().filter(|p| p.is_dir()) {
            errors.push(ConfigError::file(
                path,
                "no canaries here: the YAML files in this folder are not canary files",
            ));
        }
    }
    // A folder holds the whole project, so a window that names what is not there is a mistake;
    // a few files given one by one are a part of it.
    let whole = paths.iter().any(|p| p.is_dir());
    let project_file = opts
        .project
        .file
        .as_deref()
        .filter(|_| whole && errors.is_empty());
    maintenance::assign(
        &opts.project.maintenance,
        &mut canaries,
        project_file,
        &mut errors,
    );
    if !errors.is_empty() {
        return Err(ConfigErrors(errors));
    }
    let shard = opts.shard;
    Ok(canaries
        .into_iter()
        .filter(|c| shard.is_none_or(|s| s.owns(&c.name)))
        .collect())
}

/// What parsing one canary file gives: the canary and where its name is written, or its errors.
type Parsed = Result<(Canary, serde_saphyr::Location), Vec<ConfigError>>;

/// What loading one file gives: [`Parsed`], or None for other YAML found in a folder.
type Loaded = Result<Option<(Canary, serde_saphyr::Location)>, Vec<ConfigError>>;

/// Files are parsed on every core, this many at a time per thread (a set smaller than two of
/// these loads on the calling thread).
const CHUNK: usize = 64;

/// Parses and compiles `files` on every core; the results are in the files' order.
fn load_files(files: &[Found], opts: &LoadOptions) -> Vec<Loaded> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = cores.min(files.len() / CHUNK).max(1);
    if threads == 1 {
        return files.iter().map(|f| load_file(f, opts)).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(chunk) = files.chunks(CHUNK).nth(i) else {
                return done;
            };
            done.push((i, chunk.iter().map(|f| load_file(f, opts)).collect()));
        }
    };
    let mut chunks: Vec<(usize, Vec<Loaded>)> = std::thread::scope(|s| {
        let helpers: Vec<_> = (1..threads).map(|_| s.spawn(work)).collect();
        let mut all = work();
        for h in helpers {
            all.extend(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
        all
    });
    chunks.sort_by_key(|c| c.0);
    chunks.into_iter().flat_map(|c| c.1).collect()
}

/// Parses and compiles one file; returns the canary and where its name is written.
fn load_file(found: &Found, opts: &LoadOptions) -> Loaded {
    let file = &found.path;
    let text = std::fs::read(file)
        .map_err(|e| vec![ConfigError::file(file, format!("cannot read: {e}"))])?;
    let text =
        String::from_utf8(text).map_err(|_| vec![ConfigError::file(file, "not UTF-8 text")])?;
    match parse(file, &text, opts) {
        Err(_) if found.in_folder && !looks_like_canary(&text) => Ok(None),
        parsed => parsed.map(Some),
    }
}

/// Parses and compiles the text of one canary file named `file` (not read from disk).
pub fn load_text(file: &Path, text: &str, opts: &LoadOptions) -> Result<Canary, ConfigErrors> {
    parse(file, text, opts)
        .map(|(c, _)| c)
        .map_err(ConfigErrors)
}

fn parse(file: &Path, text: &str, opts: &LoadOptions) -> Parsed {
    let raw: file::RawCanary = shape::parse(file, text)?;
    let canary = compile::compile(file, &raw, opts)?;
    Ok((canary, raw.name.referenced))
}

/// The canary files under `paths` that exist now (for watching them).
pub fn files(paths: &[PathBuf]) -> Vec<PathBuf> {
    discover(paths, &mut Vec::new())
        .into_iter()
        .map(|f| f.path)
        .collect()
}

/// A YAML file to load, and whether it was found in a folder (not named on its own).
struct Found {
    path: PathBuf,
    in_folder: bool,
}

/// True when the YAML `text` has one of a canary's keys at its top level (so its errors are a
/// canary's errors, typos included), or no keys at all (an empty file is a canary begun).
fn looks_like_canary(text: &str) -> bool {
    static KEYS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        let schema = schemars::schema_for!(file::RawCanary);
        let props = schema.get("properties").and_then(|p| p.as_object());
        props.map_or_else(Vec::new, |p| p.keys().cloned().collect())
    });
    let mut top = text
        .lines()
        .filter(|l| l.contains(':') && !l.starts_with([' ', '\t', '#', '-', '{', '[']))
        .map(|l| l.split(':').next().unwrap_or("").trim_matches(['"', '\'']))
        .peekable();
    top.peek().is_none() || top.any(|key| keys.iter().any(|k| k == key))
}

/// The canary files under `paths`, each folder's sorted by path; hidden entries are skipped.
fn discover(paths: &[PathBuf], errors: &mut Vec<ConfigError>) -> Vec<Found> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut walked = Vec::new();
            walk(path, &mut walked, errors);
            if walked.is_empty() {
                errors.push(ConfigError::file(
                    path,
                    "no canary files (*.yaml, *.yml) in this folder",
                ));
            }
            files.extend(walked.into_iter().map(|path| Found {
                path,
                in_folder: true,
            }));
        } else if path.is_file() {
            files.push(Found {
                path: path.clone(),
                in_folder: false,
            });
        } else {
            errors.push(ConfigError::file(path, "no such file or folder"));
        }
    }
    // Paths may overlap (`canaries canaries/a.yaml`): each file loads once, where first named.
    // One path cannot overlap itself, and canonicalising costs syscalls per file on every poll.
    if paths.len() > 1 {
        let mut seen = std::collections::HashSet::new();
        files.retain(|f| seen.insert(f.path.canonicalize().unwrap_or_else(|_| f.path.clone())));
    }
    files
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>, errors: &mut Vec<ConfigError>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => return errors.push(ConfigError::file(dir, format!("cannot read folder: {e}"))),
    };
    // The entry's type comes with the listing; only a symlink needs a stat to follow it.
    let mut paths: Vec<(PathBuf, bool)> = entries
        .filter_map(|e| e.ok())
        .map(|e| {
            let p = e.path();
            let dir = match e.file_type() {
                Ok(t) if !t.is_symlink() => t.is_dir(),
                _ => p.is_dir(),
            };
            (p, dir)
        })
        .collect();
    paths.sort();
    for (p, dir) in paths {
        let hidden = p
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if hidden {
            continue;
        }
        if dir {
            walk(&p, files, errors);
        } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            files.push(p);
        }
    }
}

/// The JSON Schema (draft 2020-12) of a canary file, or of the project file, generated from the
/// types the loader reads, with every field's documentation as its `description`.
pub fn json_schema(project: bool) -> String {
    let mut schema = if project {
        schemars::schema_for!(project::RawProject)
    } else {
        schemars::schema_for!(file::RawCanary)
    };
    let title = if project {
        "canary project file (.canary.yaml)"
    } else {
        "canary file"
    };
    schema.insert("title".into(), title.into());
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema serializes");
    text.push('\n');
    text
}
