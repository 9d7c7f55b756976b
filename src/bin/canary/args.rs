//! The command line's argument groups: loading, metrics, browser, and each command's own.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;

use canary::archive::logs::Group as LogGroup;
use canary::archive::record::Identity;
use canary::archive::tap::WarningTap;
use canary::archive::{Archive, Settings as ArchiveSettings, Target};
use canary::canary::Canary;
use canary::check::Context as RunContext;
use canary::check::browser::Driver;
use canary::health::Heartbeat;
use canary::metrics::{self, Metrics, SinkKind};

use crate::choice::Choice;
use canary::notify::StateDir;
use canary::shard::Shard;
use canary::stop::Stop;

#[derive(Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub load: LoadArgs,
    #[command(flatten)]
    pub metrics: MetricsArgs,
    #[command(flatten)]
    pub browser: BrowserArgs,
    #[command(flatten)]
    pub archive: ArchiveArgs,
    /// Run every canary once (within --max-concurrent), log, and exit with `canary test`'s codes.
    #[arg(long)]
    pub once: bool,
    /// With --once: exit 1 when a canary is degraded.
    #[arg(long, requires = "once")]
    pub fail_on_degraded: bool,
    /// With --once: write a self-contained HTML report here.
    #[arg(long, value_name = "FILE", requires = "once")]
    pub html: Option<PathBuf>,
    /// At most this many runs at once.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..), env = "CANARY_MAX_CONCURRENT")]
    pub max_concurrent: u16,
    /// Move each canary's instants by a fixed offset below this, so canaries on the same schedule do not fire together (a few far-apart ones share a start, to share a wake-up).
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration, env = "CANARY_SPREAD")]
    pub spread: Duration,
    /// On SIGTERM/SIGINT, how long in-flight runs may finish (ECS and Kubernetes allow 30 s);
    /// with --once, no canary starts after the signal, and each is still recorded.
    #[arg(long, default_value = "25s", value_parser = humantime::parse_duration, env = "CANARY_GRACE")]
    pub grace: Duration,
    /// Keep the next browser run's browser started while any canary drives a browser (faster
    /// runs, the same isolation; one idle Chromium's memory). `false` starts each in its run.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL", env = "CANARY_BROWSER_WARM")]
    pub browser_warm: bool,
    /// Keep the alert state and undelivered notifications here, so a restart neither repeats
    /// nor forgets an alarm (the image's /state). `s3://BUCKET/PREFIX` keeps the alert state in
    /// S3 instead, shared by every runner that names it: for `--once` runners that start with an
    /// empty disk (a CronJob, a scheduled task); racing runners change a state, and notify, once.
    #[arg(long, value_name = "DIR|s3://BUCKET/PREFIX", env = "CANARY_STATE_DIR", value_parser = StateDir::parse)]
    pub state_dir: Option<StateDir>,
    /// Changes of alert state within this window go out as one message per channel.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration, env = "CANARY_NOTIFY_WINDOW")]
    pub notify_window: Duration,
    /// Touch this file every few seconds while the scheduler runs, for `canary health`.
    #[arg(long, value_name = "FILE", env = "CANARY_HEARTBEAT")]
    pub heartbeat: Option<PathBuf>,
    /// How often to look for changed canary files (0s: only reload on SIGHUP).
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration, env = "CANARY_WATCH_INTERVAL")]
    pub watch_interval: Duration,
}

#[derive(Args)]
pub struct HealthArgs {
    /// The heartbeat file `canary run --heartbeat` writes.
    #[arg(
        long,
        value_name = "FILE",
        env = "CANARY_HEARTBEAT",
        default_value = "/state/heartbeat"
    )]
    pub heartbeat: PathBuf,
    /// Unhealthy when the last beat is older than this.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub max_age: Duration,
}

#[derive(Args)]
pub struct NextArgs {
    #[command(flatten)]
    pub load: LoadArgs,
    /// How many fire times per canary.
    #[arg(long, default_value_t = 5)]
    pub count: usize,
}

#[derive(Args)]
pub struct LoadArgs {
    /// Canary files, or folders searched for *.yaml / *.yml at any depth.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Set ${NAME} (overrides `variables:` and --env-file). Repeatable.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
    /// Read NAME=VALUE lines, for ${NAME}, ${env:NAME} and ${secret:NAME}.
    #[arg(long, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
    /// The project file: alarm defaults and settings shared by all canaries (default:
    /// `.canary.yaml` in the current folder, when there is one).
    #[arg(long, value_name = "FILE", env = "CANARY_PROJECT")]
    pub project: Option<PathBuf>,
    /// Send the requests of canaries without a `proxy:` of their own through this forward proxy
    /// (http://host:port). Off by default; environment proxy variables are ignored.
    #[arg(long, value_name = "URL", env = "CANARY_PROXY", value_parser = parse_proxy)]
    pub proxy: Option<url::Url>,
    /// Only the canaries of shard I of N (I from 0), by a stable hash of their names; `auto/N`
    /// takes I from CANARY_SHARD_INDEX or HOSTNAME's trailing number (a StatefulSet pod's ordinal).
    #[arg(long, value_name = "I/N", env = "CANARY_SHARD", value_parser = parse_shard)]
    pub shard: Option<Shard>,
    /// Where this runner runs, e.g. `eu-west-1`: the `Location` dimension on every metric (a
    /// `location` label in Prometheus), `runner.location` in the archive, `location` in
    /// notifications, and `${env:CANARY_LOCATION}` in canaries.
    #[arg(long, value_name = "NAME", env = "CANARY_LOCATION", value_parser = parse_location)]
    pub location: Option<String>,
    /// How config errors are printed to stderr: `human` (`file:line:col: message`) or `json`
    /// (one object per line: file, line, column, message, help). Under GitHub Actions
    /// (GITHUB_ACTIONS=true) each error is also an `::error` annotation on stdout.
    #[arg(long, value_enum, default_value_t = ErrorFormat::Human, env = "CANARY_ERROR_FORMAT")]
    pub error_format: ErrorFormat,
}

/// How config errors are printed.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ErrorFormat {
    Human,
    Json,
}

fn parse_location(s: &str) -> Result<String, String> {
    metrics::check_dimension(canary::names::LOCATION, s)?;
    Ok(s.to_string())
}

fn parse_shard(s: &str) -> Result<Shard, String> {
    Shard::parse(s, |k| std::env::var(k).ok()).map_err(|e| e.to_string())
}

fn parse_proxy(s: &str) -> Result<url::Url, String> {
    canary::config::parse_proxy(s)?.ok_or_else(|| "give a proxy URL like http://proxy:3128".into())
}

#[derive(Args)]
pub struct MetricsArgs {
    /// Record runs as metrics: cloudwatch, emf, prometheus (comma-separated).
    #[arg(long, value_parser = Choice(SinkKind::ALL), value_delimiter = ',', env = "CANARY_METRICS")]
    pub metrics: Vec<SinkKind>,
    /// The CloudWatch and EMF namespace.
    #[arg(long, default_value = "Canary", env = "CANARY_NAMESPACE")]
    pub namespace: String,
    /// A dimension on every metric (repeatable; comma-separated in the environment).
    #[arg(long = "dimension", value_name = "NAME=VALUE", value_parser = parse_dimension, value_delimiter = ',', env = "CANARY_DIMENSIONS")]
    pub dimensions: Vec<(String, String)>,
    /// Also publish each phase's duration to CloudWatch/EMF (six more custom metrics per canary and step).
    #[arg(long, env = "CANARY_PHASE_METRICS")]
    pub phase_metrics: bool,
    /// The CloudWatch window: each series' runs in a window become one datum (a histogram), sent
    /// when the wall clock's window ends (5 s after, for runs still finishing).
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration, env = "CANARY_FLUSH_INTERVAL")]
    pub flush_interval: Duration,
    /// Publish CloudWatch metrics at high resolution (for alarms with 10 s or 30 s periods;
    /// use with --flush-interval 10s). High-resolution metrics cost the same, their alarms more.
    #[arg(long, env = "CANARY_HIGH_RESOLUTION")]
    pub high_resolution: bool,
    /// Send CloudWatch metrics to this endpoint (an emulator) instead of AWS's.
    #[arg(long, value_name = "URL", env = "CANARY_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
    /// Keep CloudWatch batches not yet accepted in this folder; they are replayed, once, later or on the next start.
    #[arg(long, value_name = "DIR", env = "CANARY_SPOOL")]
    pub spool: Option<PathBuf>,
    /// Where to serve Prometheus /metrics and /healthz (0.0.0.0:9464 to reach it from outside).
    #[arg(long, default_value = "127.0.0.1:9464", env = "CANARY_LISTEN")]
    pub listen: SocketAddr,
    /// Write EMF lines to this file instead of stdout.
    #[arg(long, value_name = "FILE", env = "CANARY_EMF_FILE")]
    pub emf_file: Option<PathBuf>,
    /// How long the metrics may take to flush at exit (after --grace: 25 s + 4 s fit the 30 s ECS and Kubernetes allow).
    #[arg(long, default_value = "4s", value_parser = humantime::parse_duration, env = "CANARY_FLUSH_TIMEOUT")]
    pub flush_timeout: Duration,
}

impl MetricsArgs {
    /// EMF lines go to stdout, so the console must not.
    pub fn emf_on_stdout(&self) -> bool {
        self.metrics.contains(&SinkKind::Emf) && self.emf_file.is_none()
    }

    /// Starts the sinks asked for (none: None); bad settings are errors (exit 2).
    pub async fn start<'a>(
        &self,
        canaries: impl IntoIterator<Item = &'a Canary>,
        heartbeat: Option<Arc<Heartbeat>>,
        load: &LoadArgs,
    ) -> Result<Option<Metrics>> {
        if self.metrics.is_empty() {
            return Ok(None);
        }
        let mut dimensions = self.dimensions.clone();
        if let Some(location) = &load.location {
            if dimensions.iter().any(|(k, _)| k == canary::names::LOCATION) {
                bail!("--location and --dimension Location=… say the same: give one");
            }
            dimensions.insert(0, (canary::names::LOCATION.into(), location.clone()));
        }
        for c in canaries {
            let n = c.dimensions.len() + dimensions.len() + 3;
            if n > 30 {
                bail!(
                    "{}: {n} dimensions with CanaryName, StepName and Phase; CloudWatch allows 30",
                    c.name
                );
            }
        }
        let config = metrics::Config {
            sinks: self.metrics.clone(),
            namespace: self.namespace.clone(),
            series: metrics::SeriesOptions {
                dimensions,
                phases: self.phase_metrics,
            },
            flush_interval: self.flush_interval,
            endpoint_url: self.endpoint_url.clone(),
            spool: self.spool.clone(),
            listen: self.listen,
            emf_file: self.emf_file.clone(),
            high_resolution: self.high_resolution,
            heartbeat,
            shard: load.shard,
        };
        Ok(Some(
            Metrics::start(config)
                .await
                .context("cannot start the metrics")?,
        ))
    }
}

#[derive(Args)]
pub struct BrowserArgs {
    /// The chromedriver canary starts for browser canaries (a path, or a name on PATH).
    #[arg(
        long,
        value_name = "PATH",
        default_value = "chromedriver",
        env = "CANARY_CHROMEDRIVER"
    )]
    pub chromedriver: PathBuf,
    /// The Chromium binary (default: /usr/lib/chromium/chromium when present, else chromedriver's choice).
    #[arg(long, value_name = "PATH", env = "CANARY_CHROMIUM")]
    pub chromium: Option<PathBuf>,
    /// Chromium's own sandbox: auto (on, except as root where it cannot work), on, or off. In a
    /// container the container is the sandbox: the image sets off, since Docker's default seccomp
    /// profile refuses the user namespaces Chromium's sandbox needs.
    #[arg(long, value_enum, default_value_t = Sandbox::Auto, env = "CANARY_BROWSER_SANDBOX")]
    pub browser_sandbox: Sandbox,
    /// Use this WebDriver endpoint (a Selenium Grid) instead of starting chromedriver.
    #[arg(long, value_name = "URL", env = "CANARY_WEBDRIVER_URL")]
    pub webdriver_url: Option<String>,
    /// Screenshots and page sources go under DIR/<canary>/<run-id>/.
    #[arg(
        long,
        value_name = "DIR",
        default_value = "artifacts",
        env = "CANARY_ARTIFACTS"
    )]
    pub artifacts: PathBuf,
}

impl BrowserArgs {
    /// The context of the runs: a WebDriver when any canary drives a browser, or always (a
    /// daemon, whose reloads may bring browser canaries; chromedriver starts when first needed).
    pub fn context(&self, canaries: &[&Canary], always: bool, stop: Stop) -> Arc<RunContext> {
        let browser = always || canaries.iter().any(|c| c.uses_browser());
        let webdriver = browser.then(|| match &self.webdriver_url {
            Some(url) => Driver::remote(url.clone()),
            None => Driver::chromedriver(self.chromedriver.clone(), self.chromium.clone())
                .with_sandbox(self.browser_sandbox.as_option()),
        });
        Arc::new(RunContext {
            webdriver,
            artifacts: self.artifacts.clone(),
            stop,
        })
    }
}

/// `--browser-sandbox`.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Sandbox {
    Auto,
    On,
    Off,
}

impl Sandbox {
    fn as_option(self) -> Option<bool> {
        match self {
            Sandbox::Auto => None,
            Sandbox::On => Some(true),
            Sandbox::Off => Some(false),
        }
    }
}

pub fn parse_dimension(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not NAME=VALUE"))?;
    metrics::check_dimension(k, v)?;
    Ok((k.to_string(), v.to_string()))
}

#[derive(Args)]
pub struct TestArgs {
    #[command(flatten)]
    pub load: LoadArgs,
    #[command(flatten)]
    pub metrics: MetricsArgs,
    #[command(flatten)]
    pub browser: BrowserArgs,
    #[command(flatten)]
    pub archive: ArchiveArgs,
    /// Run at most this many canaries at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallel: u16,
    /// Only canaries with one of these tags. Repeatable.
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Write the JSON report here (`-` for stdout; the console then goes to stderr).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write a JUnit XML report here.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write a self-contained HTML report here (failures first, screenshots embedded).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Exit 1 when a canary is degraded (by default degraded counts as passed).
    #[arg(long)]
    pub fail_on_degraded: bool,
    /// On SIGTERM/SIGINT, how long runs under way may finish; no canary starts after the
    /// signal, and each is still reported (CI runners kill a cancelled job about 10 s later).
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration, env = "CANARY_GRACE")]
    pub grace: Duration,
    /// Keep going: re-run the canaries whose files change (all on `r` Enter; `q` Enter quits).
    #[arg(long, conflicts_with_all = ["json", "junit", "html", "archive", "metrics"])]
    pub watch: bool,
}

pub fn parse_var(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if canary::template::valid_name(k) => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not NAME=VALUE")),
    }
}

#[derive(Args)]
pub struct ArchiveArgs {
    /// Keep every run as a JSON record, in a folder or in S3 (s3://BUCKET/PREFIX), partitioned
    /// canary=<name>/date=YYYY-MM-DD/ for Athena, DuckDB and `canary history`.
    #[arg(long, value_name = "DIR|s3://BUCKET/PREFIX", env = "CANARY_ARCHIVE", value_parser = Target::parse)]
    pub archive: Option<Target>,
    /// A folder archive: remove days older than this (e.g. 90d). Default: keep everything.
    #[arg(long, value_name = "AGE", value_parser = humantime::parse_duration, env = "CANARY_ARCHIVE_RETENTION")]
    pub archive_retention: Option<Duration>,
    /// How often archived records are fsynced: at most this much is at risk if the machine dies.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration, env = "CANARY_ARCHIVE_SYNC")]
    pub archive_sync: Duration,
    /// An S3 archive: each canary's records of this interval become one object (shorter: fresher
    /// data, more PUT requests and smaller files).
    #[arg(long, default_value = "15m", value_parser = humantime::parse_duration, env = "CANARY_ARCHIVE_FLUSH")]
    pub archive_flush: Duration,
    /// Also ship each run's record, each audit event and the runner's own warnings to CloudWatch Logs.
    #[arg(long, value_enum, env = "CANARY_LOGS")]
    pub logs: Option<LogsKind>,
    /// The CloudWatch Logs group (created when missing).
    #[arg(long, default_value = "/canary/runs", env = "CANARY_LOG_GROUP")]
    pub log_group: String,
    /// The log stream, one per runner (default: this machine's name).
    #[arg(long, env = "CANARY_LOG_STREAM")]
    pub log_stream: Option<String>,
    /// Set the group's retention (e.g. 30d; CloudWatch Logs accepts 1, 3, 5, 7, 14, 30, 60, 90… days).
    #[arg(long, value_name = "AGE", value_parser = parse_retention, env = "CANARY_LOG_RETENTION")]
    pub log_retention: Option<i32>,
    /// CloudWatch Logs: the records of this interval go in one call.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration, env = "CANARY_LOGS_FLUSH")]
    pub logs_flush: Duration,
}

/// Where `--logs` ships records.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogsKind {
    Cloudwatch,
}

fn parse_retention(s: &str) -> Result<i32, String> {
    let age = humantime::parse_duration(s).map_err(|e| e.to_string())?;
    let days = age.as_secs() / 86_400;
    let allowed = canary::archive::logs::RETENTION_DAYS;
    match allowed.iter().find(|d| u64::try_from(**d) == Ok(days)) {
        Some(d) if age.as_secs() % 86_400 == 0 => Ok(*d),
        _ => Err(format!(
            "CloudWatch Logs keeps logs for one of {allowed:?} days"
        )),
    }
}

impl ArchiveArgs {
    /// Opens the archive and the CloudWatch Logs shipping asked for; the spool and endpoint
    /// come from the metrics' options.
    pub async fn start(
        &self,
        metrics: &MetricsArgs,
        load: &LoadArgs,
        tap: &WarningTap,
    ) -> Result<Vec<Arc<Archive>>> {
        let mut targets = Vec::new();
        if let Some(target) = self.archive.clone() {
            if self.archive_retention.is_some() && matches!(target, Target::S3(_)) {
                bail!(
                    "--archive-retention is for a folder archive; for S3 use a lifecycle rule on the bucket"
                );
            }
            targets.push((target, self.archive_flush));
        }
        if self.logs.is_some() {
            let group = LogGroup {
                name: self.log_group.clone(),
                stream: self.log_stream.clone().unwrap_or_else(hostname),
                retention_days: self.log_retention,
            };
            targets.push((Target::Logs(group), self.logs_flush));
        }
        let mut out = Vec::new();
        for (target, flush_every) in targets {
            let logs = matches!(target, Target::Logs(_));
            let settings = ArchiveSettings {
                target,
                retention: self.archive_retention,
                sync_every: self.archive_sync.max(Duration::from_millis(10)),
                flush_every,
                spool: metrics.spool.clone(),
                endpoint_url: metrics.endpoint_url.clone(),
                identity: identity(load.shard, load.location.clone()),
            };
            let archive = Archive::start(settings)
                .await
                .context("cannot open the archive")?;
            let archive = Arc::new(archive);
            if logs {
                tap.attach(archive.clone());
            }
            out.push(archive);
        }
        Ok(out)
    }
}

/// Who writes the records: this machine, its shard, location and AWS region, canary's version.
pub fn identity(shard: Option<Shard>, location: Option<String>) -> Identity {
    let region = ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()));
    Identity {
        host: hostname(),
        shard: shard.map(|s| s.to_string()),
        location,
        region,
        version: env!("CARGO_PKG_VERSION").to_string(),
    }
}

/// This machine's name, as notifications and records show where canary runs.
pub fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

#[derive(Args)]
pub struct HistoryArgs {
    /// The archive folder (`--archive DIR` of `canary run` and `canary test`).
    pub archive: PathBuf,
    /// Only runs of this long ago or later (e.g. 7d, 24h).
    #[arg(long, value_name = "AGE", value_parser = humantime::parse_duration)]
    pub since: Option<Duration>,
    /// Only this canary.
    #[arg(long, value_name = "NAME")]
    pub canary: Option<String>,
    /// Print JSON instead of the table.
    #[arg(long)]
    pub json: bool,
}
