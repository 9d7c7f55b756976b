//! `canary import`: other tools' checks as canary files.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};

/// Where the checks come from.
#[derive(Subcommand)]
pub enum ImportCommand {
    /// A CloudWatch Synthetics multi checks configuration (JSON) as one multi-step canary.
    Synthetics(ImportArgs),
    /// A curl command line as an HTTP canary: `canary import curl -- curl -X POST -H … URL`.
    Curl(CurlArgs),
    /// A HAR file (developer tools' export) as a multi-step canary: the requests to one host.
    Har(HarArgs),
    /// A Chrome DevTools Recorder recording (its JSON export) as a browser canary.
    #[command(alias = "devtools")]
    Recorder(ImportArgs),
}

#[derive(Args)]
pub struct HarArgs {
    /// The HAR file.
    pub file: PathBuf,
    /// Only requests to this host (`name` or `name:port`). Default: the first request's host.
    #[arg(long)]
    pub host: Option<String>,
    /// The canary's name. Default: the file's name without its extension.
    #[arg(long)]
    pub name: Option<String>,
    /// Write the canary here instead of to stdout (never over an existing file without --force).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Overwrite the --output file if it exists.
    #[arg(long, requires = "output")]
    pub force: bool,
}

#[derive(Args)]
pub struct CurlArgs {
    /// The canary's name. Default: from the URL's host and path.
    #[arg(long)]
    pub name: Option<String>,
    /// Write the canary here instead of to stdout (never over an existing file without --force).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Overwrite the --output file if it exists.
    #[arg(long, requires = "output")]
    pub force: bool,
    /// The curl command line, after `--`.
    #[arg(last = true, required = true, value_name = "CURL")]
    pub args: Vec<String>,
}

#[derive(Args)]
pub struct ImportArgs {
    /// The file to import.
    pub file: PathBuf,
    /// The canary's name. Default: the file's name without its extension.
    #[arg(long)]
    pub name: Option<String>,
    /// Write the canary here instead of to stdout (never over an existing file without --force).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Overwrite the --output file if it exists.
    #[arg(long, requires = "output")]
    pub force: bool,
}

/// Imports; the YAML goes to stdout or `--output`, one `warning:` line per thing left out to
/// stderr.
pub fn run(cmd: ImportCommand) -> Result<ExitCode> {
    let (output, force) = match &cmd {
        ImportCommand::Synthetics(a) | ImportCommand::Recorder(a) => (a.output.clone(), a.force),
        ImportCommand::Har(a) => (a.output.clone(), a.force),
        ImportCommand::Curl(a) => (a.output.clone(), a.force),
    };
    if let Some(path) = output.as_ref().filter(|p| !force && p.exists()) {
        eprintln!(
            "error: {} exists; canary import never overwrites a file (--force to replace it)",
            path.display()
        );
        return Ok(ExitCode::from(2));
    }
    let imported = match cmd {
        ImportCommand::Synthetics(args) => {
            canary::import::synthetics::import(&args.file, args.name.as_deref())?
        }
        ImportCommand::Har(args) => {
            canary::import::har::import(&args.file, args.host.as_deref(), args.name.as_deref())?
        }
        ImportCommand::Recorder(args) => {
            canary::import::recorder::import(&args.file, args.name.as_deref())?
        }
        ImportCommand::Curl(args) => {
            canary::import::curl::import(&args.args, args.name.as_deref())?
        }
    };
    match &output {
        Some(path) => std::fs::write(path, &imported.yaml)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => std::io::stdout().write_all(imported.yaml.as_bytes())?,
    }
    let mut err = std::io::stderr();
    for w in &imported.warnings {
        writeln!(err, "warning: {w}")?;
    }
    Ok(ExitCode::SUCCESS)
}
