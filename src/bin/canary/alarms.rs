//! `canary alarms plan | apply | export`: alarms as code, against CloudWatch or into files.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};

use canary::alarm::export::{self, Format};
use canary::alarm::plan::Change;
use canary::alarm::{AlarmClient, Settings, desired, plan};
use canary::archive::record::Audit;
use canary::archive::{Archive, Settings as ArchiveSettings, Target};
use canary::config::LoadOptions;

use crate::args::{LoadArgs, parse_dimension};
use crate::choice::Choice;
use crate::commands::{emit, load_with};

/// Exit code of `plan` when CloudWatch differs from the files (changes or conflicts).
const CHANGES: u8 = 3;

#[derive(Subcommand)]
pub enum AlarmsCommand {
    /// Print what would change in CloudWatch. Exit 0: in sync; 3: changes or conflicts; 1:
    /// CloudWatch could not be read; 2: the files do not load.
    Plan(AlarmsArgs),
    /// Make CloudWatch match the files: create, update, and delete the alarms canary created
    /// that are gone from them. Exit 0: done; 1: a call failed or a conflict is left; 2: bad files.
    Apply(AlarmsArgs),
    /// Write the alarms for CloudFormation, Terraform or Prometheus instead.
    Export(ExportArgs),
}

#[derive(Args)]
pub struct AlarmsArgs {
    #[command(flatten)]
    pub load: LoadArgs,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Record what `apply` changed as an audit event in this archive (as `canary run --archive`).
    #[arg(long, value_name = "DIR|s3://BUCKET/PREFIX", env = "CANARY_ARCHIVE", value_parser = Target::parse)]
    pub archive: Option<Target>,
}

#[derive(Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub load: LoadArgs,
    #[command(flatten)]
    pub target: TargetArgs,
    /// The format.
    #[arg(long, value_parser = Choice(Format::ALL))]
    pub format: Format,
    /// Write here instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// The metrics the alarms watch: as `canary run` publishes them.
#[derive(Args)]
pub struct TargetArgs {
    /// The metric namespace `canary run --namespace` publishes to.
    #[arg(long, default_value = "Canary", env = "CANARY_NAMESPACE")]
    pub namespace: String,
    /// The runner's dimensions (`canary run --dimension`): every series has them, so the alarms must.
    #[arg(long = "dimension", value_name = "NAME=VALUE", value_parser = parse_dimension, value_delimiter = ',', env = "CANARY_DIMENSIONS")]
    pub dimensions: Vec<(String, String)>,
    /// Another CloudWatch endpoint (an emulator).
    #[arg(long, value_name = "URL", env = "CANARY_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
}

/// Where the alarms go and what they watch: `--location` adds its dimension, as on `canary run`.
fn settings(opts: &LoadOptions, load: &LoadArgs, t: &TargetArgs) -> Result<Settings> {
    let mut dimensions = t.dimensions.clone();
    if let Some(location) = &load.location {
        if !opts.project.locations.is_empty() {
            anyhow::bail!(
                "the project file's `locations:` makes every alarm watch each location: leave --location off `canary alarms`"
            );
        }
        dimensions.insert(0, (canary::names::LOCATION.into(), location.clone()));
    }
    Ok(Settings {
        namespace: t.namespace.clone(),
        prefix: opts.project.alarm_prefix.clone(),
        project: opts.project.name.clone(),
        dimensions,
    })
}

pub fn run(cmd: AlarmsCommand) -> Result<ExitCode> {
    match cmd {
        AlarmsCommand::Plan(a) => against_cloudwatch(&a, false),
        AlarmsCommand::Apply(a) => against_cloudwatch(&a, true),
        AlarmsCommand::Export(a) => export_to(&a),
    }
}

fn against_cloudwatch(args: &AlarmsArgs, apply: bool) -> Result<ExitCode> {
    let (canaries, opts) = match load_with(&args.load)? {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    let s = settings(&opts, &args.load, &args.target)?;
    let wanted = desired(&canaries, &s);
    let rt = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    rt.block_on(async {
        let client = AlarmClient::connect(args.target.endpoint_url.as_deref()).await?;
        let existing = client.existing(&s).await?;
        let p = plan(&wanted, &existing);
        emit(&p.to_string());
        let (_, _, _, conflicts) = p.counts();
        if !apply {
            return Ok(ExitCode::from(if p.is_empty() { 0 } else { CHANGES }));
        }
        let done = client.apply(&p, &s).await?;
        audit(args, &p).await;
        emit(&format!(
            "Applied: {} put, {} deleted, {} anomaly detectors changed{}\n",
            done.put.len(),
            done.deleted.len(),
            done.detectors,
            if conflicts > 0 {
                format!("; {conflicts} conflicts left alone")
            } else {
                String::new()
            }
        ));
        Ok(ExitCode::from(u8::from(conflicts > 0)))
    })
    .or_else(|e: canary::alarm::AlarmError| {
        let _ = writeln!(std::io::stderr(), "error: {e}");
        Ok(ExitCode::from(1))
    })
}

fn export_to(args: &ExportArgs) -> Result<ExitCode> {
    let (canaries, opts) = match load_with(&args.load)? {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    let s = settings(&opts, &args.load, &args.target)?;
    let out = export::render(args.format, &desired(&canaries, &s), &s);
    for l in &out.left_out {
        let _ = writeln!(std::io::stderr(), "warning: left out {l}");
    }
    match &args.output {
        Some(path) => std::fs::write(path, &out.text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => emit(&out.text),
    }
    Ok(ExitCode::SUCCESS)
}

/// Records the applied changes in the archive, when there is one (a failure is a warning: the
/// alarms are applied either way).
async fn audit(args: &AlarmsArgs, plan: &canary::alarm::plan::Plan) {
    let Some(target) = args.archive.clone() else {
        return;
    };
    let changes: Vec<String> = plan
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::Create(s) => Some(format!("create {}", s.name())),
            Change::Update(s, _) => Some(format!("update {}", s.name())),
            Change::Delete(s) => Some(format!("delete {}", s.name())),
            Change::Conflict(_) => None,
        })
        .collect();
    let settings = ArchiveSettings {
        target,
        retention: None,
        sync_every: std::time::Duration::from_secs(1),
        flush_every: std::time::Duration::ZERO,
        spool: None,
        endpoint_url: args.target.endpoint_url.clone(),
        identity: crate::args::identity(args.load.shard, args.load.location.clone()),
    };
    match Archive::start(settings).await {
        Ok(a) => {
            a.audit(Audit::AlarmsApply { changes });
            a.close(std::time::Duration::from_secs(10)).await;
        }
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "warning: cannot record the change in the archive: {e}"
            );
        }
    }
}
