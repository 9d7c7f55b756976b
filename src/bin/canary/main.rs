//! The `canary` command line: validate, list, test, run, next, alarms, health, history, init, schema and import; logging setup and exit codes.
//! The only place that uses `anyhow`.

mod alarms;
mod args;
mod choice;
mod commands;
mod history;
mod import;
mod init;
mod maintenance;
mod watch;

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use canary::archive::tap::WarningTap;
use clap::{Parser, Subcommand};

use args::{HealthArgs, HistoryArgs, LoadArgs, NextArgs, RunArgs, TestArgs};

/// `canary --version`: the version, the commit and the build date (the commit's date).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("CANARY_COMMIT"),
    " ",
    env!("CANARY_BUILD_DATE"),
    ")"
);

/// Synthetic monitoring canaries from YAML: HTTP checks, once in CI or on a schedule.
#[derive(Parser)]
#[command(version = VERSION, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log lines as human text or as JSON objects (for containers). Logs go to stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "CANARY_LOG_FORMAT")]
    log_format: LogFormat,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Check canary files and report every error; run nothing.
    Validate(LoadArgs),
    /// List canaries: name, kind, schedule, tags, file.
    List(LoadArgs),
    /// Run each canary once, in parallel. Exit 0 if all pass, 1 if any fail or error, 2 if they cannot be loaded.
    Test(TestArgs),
    /// Run the canaries on their schedules until SIGTERM/SIGINT; reload on SIGHUP and file changes.
    Run(RunArgs),
    /// Print the next fire times of each canary.
    Next(NextArgs),
    /// Print the next maintenance windows of the project file, and the canaries each covers.
    Maintenance(NextArgs),
    /// Alarms as code: plan, apply or export the canaries' CloudWatch alarms.
    #[command(subcommand)]
    Alarms(alarms::AlarmsCommand),
    /// Exit 0 when a running `canary run` is healthy (its heartbeat file is fresh), else 1: the
    /// container health check, with no network and no curl.
    Health(HealthArgs),
    /// Summarise an archive folder (what `--archive DIR` of `run` and `test` writes) per canary: runs, availability, failures and
    /// errors by kind, flaky passes, p50/p90/p99 duration, the longest outage, the last failure.
    History(HistoryArgs),
    /// Write a commented starter set into DIR (default: canaries): a heartbeat, a multi-step API
    /// canary, a browser canary, and the JSON Schema they name. Never overwrites a file.
    Init {
        /// Where to write them.
        #[arg(default_value = "canaries")]
        dir: std::path::PathBuf,
    },
    /// Print the JSON Schema of canary files (or, with --project, of the project file) for
    /// editor completion and validation.
    Schema {
        /// The project file's schema (`.canary.yaml`) instead.
        #[arg(long)]
        project: bool,
    },
    /// Convert other tools' checks into a canary file; what has no equivalent becomes a
    /// `# NOTE:` comment and a warning.
    #[command(subcommand)]
    Import(import::ImportCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let level = if matches!(cli.command, Command::Run(_)) {
        "info"
    } else {
        "warn"
    };
    let tap = WarningTap::default();
    init_logging(cli.log_format, level, tap.clone());
    match run(cli, tap) {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {}", sentence(&e));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes, each cause said once: one that an outer message already
/// includes (an error that names its source in its own text) is not repeated.
fn sentence(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
    }
    out
}

/// Logs to stderr, as text or JSON; warnings also go to the tap (CloudWatch Logs, once opened).
fn init_logging(format: LogFormat, level: &str, tap: WarningTap) {
    use std::io::IsTerminal;
    use tracing_subscriber::prelude::*;
    // Off EC2, the SDK's region probe of the instance metadata service fails with a long warning
    // on every client; `canary` says "no AWS region" itself when the whole chain found none.
    let filter = tracing_subscriber::EnvFilter::try_from_env("CANARY_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!(
            "{level},aws_config::imds::region=error,aws_config::meta::credentials=error"
        ))
    });
    use tracing_subscriber::fmt::layer;
    let json = (format == LogFormat::Json).then(|| {
        let l = layer().with_writer(std::io::stderr).with_target(false);
        l.json().flatten_event(true)
    });
    let ansi = std::io::stderr().is_terminal();
    let text = (format == LogFormat::Text).then(|| {
        let l = layer().with_writer(std::io::stderr).with_target(false);
        l.with_ansi(ansi)
    });
    tracing_subscriber::registry()
        .with(filter)
        .with(json)
        .with(text)
        .with(tap)
        .init();
}

fn run(cli: Cli, tap: WarningTap) -> Result<ExitCode> {
    match cli.command {
        Command::Validate(args) => Ok(match commands::load(&args)? {
            Ok(canaries) => {
                commands::emit(&format!(
                    "{} OK\n",
                    canary::report::canaries(canaries.len())
                ));
                ExitCode::SUCCESS
            }
            Err(code) => code,
        }),
        Command::List(args) => commands::list_command(&args),
        Command::Test(args) if args.watch => watch::run(&args),
        Command::Test(args) => commands::test(args, &tap),
        Command::Health(args) => Ok(commands::health(&args)),
        Command::Alarms(cmd) => alarms::run(cmd),
        Command::Import(cmd) => import::run(cmd),
        Command::History(args) => history::run(&args),
        Command::Init { dir } => init::run(&dir),
        Command::Schema { project } => {
            commands::emit(&canary::config::json_schema(project));
            Ok(ExitCode::SUCCESS)
        }
        Command::Run(args) => commands::run_daemon(args, &tap),
        Command::Maintenance(args) => maintenance::run(&args),
        Command::Next(args) => Ok(match commands::load(&args.load)? {
            Ok(canaries) => {
                commands::emit(&commands::next_times(
                    &canaries,
                    args.count,
                    chrono::Utc::now(),
                ));
                ExitCode::SUCCESS
            }
            Err(code) => code,
        }),
    }
}
