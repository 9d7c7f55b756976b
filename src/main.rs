//! The `canary` command line: validate, list and test canary files.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};

use canary::canary::Canary;
use canary::config::{self, LoadOptions};
use canary::report::{self, Summary, console::Console};
use canary::runner;

/// Synthetic monitoring canaries from YAML: HTTP checks, once in CI or on a schedule.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check canary files and report every error; run nothing.
    Validate(LoadArgs),
    /// List canaries: name, kind, schedule, tags, file.
    List(LoadArgs),
    /// Run each canary once, in parallel. Exit 0 if all pass, 1 if any fail or error, 2 if they cannot be loaded.
    Test(TestArgs),
}

#[derive(Args)]
struct LoadArgs {
    /// Canary files, or folders searched for *.yaml / *.yml at any depth.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Set ${NAME} (overrides `variables:` and --env-file). Repeatable.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    vars: Vec<(String, String)>,
    /// Read NAME=VALUE lines, for ${NAME}, ${env:NAME} and ${secret:NAME}.
    #[arg(long, value_name = "FILE")]
    env_file: Option<PathBuf>,
}

#[derive(Args)]
struct TestArgs {
    #[command(flatten)]
    load: LoadArgs,
    /// Run at most this many canaries at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..))]
    parallel: u16,
    /// Only canaries with one of these tags. Repeatable.
    #[arg(long = "tag", value_name = "TAG")]
    tags: Vec<String>,
    /// Write the JSON report here (`-` for stdout; the console then goes to stderr).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write a JUnit XML report here.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
}

fn parse_var(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if canary::template::valid_name(k) => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not NAME=VALUE")),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CANARY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Validate(args) => Ok(match load(&args)? {
            Ok(canaries) => {
                emit(&format!("{} canaries OK\n", canaries.len()));
                ExitCode::SUCCESS
            }
            Err(code) => code,
        }),
        Command::List(args) => Ok(match load(&args)? {
            Ok(canaries) => {
                list(&canaries);
                ExitCode::SUCCESS
            }
            Err(code) => code,
        }),
        Command::Test(args) => test(args),
    }
}

/// Loads canaries; config errors are printed and become exit code 2.
fn load(args: &LoadArgs) -> Result<Result<Vec<Canary>, ExitCode>> {
    let opts = load_options(args)?;
    Ok(config::load(&args.paths, &opts).map_err(|errors| {
        let _ = writeln!(std::io::stderr(), "{errors}");
        ExitCode::from(2)
    }))
}

fn load_options(args: &LoadArgs) -> Result<LoadOptions> {
    let mut env: HashMap<String, String> = std::env::vars().collect();
    let mut vars = HashMap::new();
    if let Some(file) = &args.env_file {
        let entries = dotenvy::from_path_iter(file)
            .with_context(|| format!("cannot read --env-file {}", file.display()))?;
        for entry in entries {
            let (k, v) = entry.with_context(|| format!("--env-file {}", file.display()))?;
            env.entry(k.clone()).or_insert_with(|| v.clone());
            vars.insert(k, v);
        }
    }
    vars.extend(args.vars.iter().cloned());
    Ok(LoadOptions { vars, env })
}

/// Writes to stdout; a closed pipe (`canary list | head`) is not an error.
fn emit(text: &str) {
    let _ = std::io::stdout().write_all(text.as_bytes());
}

fn list(canaries: &[Canary]) {
    let width = canaries.iter().map(|c| c.name.len()).max().unwrap_or(4);
    let width = width.max(4);
    let mut out = format!(
        "{:width$}  {:5}  {:24}  {:20}  FILE\n",
        "NAME", "KIND", "SCHEDULE", "TAGS"
    );
    for c in canaries {
        let (kind, schedule, tags) = (c.kind(), c.schedule.to_string(), c.tags.join(","));
        let file = c.file.display();
        out += &format!(
            "{:width$}  {kind:5}  {schedule:24}  {tags:20}  {file}\n",
            c.name
        );
    }
    emit(&out);
}

fn test(args: TestArgs) -> Result<ExitCode> {
    let canaries = match load(&args.load)? {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let selected: Vec<Arc<Canary>> = canaries
        .into_iter()
        .filter(|c| args.tags.is_empty() || c.tags.iter().any(|t| args.tags.contains(t)))
        .map(Arc::new)
        .collect();
    if selected.is_empty() {
        bail!("no canary has any of the tags {:?}", args.tags);
    }
    let json_to_stdout = args.json.as_deref() == Some(Path::new("-"));
    let rt = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let runs = if json_to_stdout {
        let mut console = Console::plain(std::io::stderr());
        let runs = rt.block_on(runner::run_all(&selected, args.parallel.into(), |r| {
            console.run(r)
        }));
        console.summary(&Summary::of(&runs));
        runs
    } else {
        let mut console = Console::stdout(selected.len());
        let runs = rt.block_on(runner::run_all(&selected, args.parallel.into(), |r| {
            console.run(r)
        }));
        console.summary(&Summary::of(&runs));
        runs
    };
    if let Some(path) = &args.json {
        write_report(path, &report::json::render(&runs))?;
    }
    if let Some(path) = &args.junit {
        write_report(path, &report::junit::render(&runs))?;
    }
    Ok(if Summary::of(&runs).all_passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn write_report(path: &Path, text: &str) -> Result<()> {
    if path == Path::new("-") {
        emit(&format!("{text}\n"));
        return Ok(());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}
