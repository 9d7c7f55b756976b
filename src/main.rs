//! The `canary` command line: validate, list and test canary files.

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};

use canary::canary::Canary;
use canary::check::Context as RunContext;
use canary::check::browser::Driver;
use canary::config::{self, LoadOptions};
use canary::metrics::{self, Metrics, SinkKind};
use canary::report::{self, Summary, console::Console};
use canary::runner;

/// Synthetic monitoring canaries from YAML: HTTP checks, once in CI or on a schedule.
#[derive(Parser)]
#[command(version, about)]
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
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    load: LoadArgs,
    #[command(flatten)]
    metrics: MetricsArgs,
    #[command(flatten)]
    browser: BrowserArgs,
    /// Run every canary once (within --max-concurrent), log, and exit with `canary test`'s codes.
    #[arg(long)]
    once: bool,
    /// At most this many runs at once.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..))]
    max_concurrent: u16,
    /// Move each canary's instants by a fixed offset below this, so canaries on the same schedule do not fire together.
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
    spread: Duration,
    /// On SIGTERM/SIGINT, how long in-flight runs may finish (ECS and Kubernetes allow 30 s).
    #[arg(long, default_value = "25s", value_parser = humantime::parse_duration)]
    grace: Duration,
    /// How often to look for changed canary files (0s: only reload on SIGHUP).
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    watch_interval: Duration,
}

#[derive(Args)]
struct NextArgs {
    #[command(flatten)]
    load: LoadArgs,
    /// How many fire times per canary.
    #[arg(long, default_value_t = 5)]
    count: usize,
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
struct MetricsArgs {
    /// Record runs as metrics: cloudwatch, emf, prometheus (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',', env = "CANARY_METRICS")]
    metrics: Vec<SinkKind>,
    /// The CloudWatch and EMF namespace.
    #[arg(long, default_value = "Canary", env = "CANARY_NAMESPACE")]
    namespace: String,
    /// A dimension on every metric (repeatable; comma-separated in the environment).
    #[arg(long = "dimension", value_name = "NAME=VALUE", value_parser = parse_dimension, value_delimiter = ',', env = "CANARY_DIMENSIONS")]
    dimensions: Vec<(String, String)>,
    /// Also publish each phase's duration to CloudWatch/EMF (six more custom metrics per canary and step).
    #[arg(long, env = "CANARY_PHASE_METRICS")]
    phase_metrics: bool,
    /// The CloudWatch window: each series' runs in a window become one datum (a histogram).
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration, env = "CANARY_FLUSH_INTERVAL")]
    flush_interval: Duration,
    /// Send CloudWatch metrics to this endpoint (an emulator) instead of AWS's.
    #[arg(long, value_name = "URL", env = "CANARY_ENDPOINT_URL")]
    endpoint_url: Option<String>,
    /// Keep CloudWatch batches not yet accepted in this folder; they are replayed, once, later or on the next start.
    #[arg(long, value_name = "DIR", env = "CANARY_SPOOL")]
    spool: Option<PathBuf>,
    /// Where to serve Prometheus /metrics and /healthz (0.0.0.0:9464 to reach it from outside).
    #[arg(long, default_value = "127.0.0.1:9464", env = "CANARY_LISTEN")]
    listen: SocketAddr,
    /// Write EMF lines to this file instead of stdout.
    #[arg(long, value_name = "FILE", env = "CANARY_EMF_FILE")]
    emf_file: Option<PathBuf>,
    /// How long the metrics may take to flush at exit (after --grace: 25 s + 4 s fit the 30 s ECS and Kubernetes allow).
    #[arg(long, default_value = "4s", value_parser = humantime::parse_duration, env = "CANARY_FLUSH_TIMEOUT")]
    flush_timeout: Duration,
}

impl MetricsArgs {
    /// EMF lines go to stdout, so the console must not.
    fn emf_on_stdout(&self) -> bool {
        self.metrics.contains(&SinkKind::Emf) && self.emf_file.is_none()
    }

    /// Starts the sinks asked for (none: None); bad settings are errors (exit 2).
    async fn start<'a>(
        &self,
        canaries: impl IntoIterator<Item = &'a Canary>,
    ) -> Result<Option<Metrics>> {
        if self.metrics.is_empty() {
            return Ok(None);
        }
        for c in canaries {
            let n = c.dimensions.len() + self.dimensions.len() + 3;
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
                dimensions: self.dimensions.clone(),
                phases: self.phase_metrics,
            },
            flush_interval: self.flush_interval,
            endpoint_url: self.endpoint_url.clone(),
            spool: self.spool.clone(),
            listen: self.listen,
            emf_file: self.emf_file.clone(),
        };
        Ok(Some(
            Metrics::start(config)
                .await
                .context("cannot start the metrics")?,
        ))
    }
}

#[derive(Args)]
struct BrowserArgs {
    /// The chromedriver canary starts for browser canaries (a path, or a name on PATH).
    #[arg(
        long,
        value_name = "PATH",
        default_value = "chromedriver",
        env = "CANARY_CHROMEDRIVER"
    )]
    chromedriver: PathBuf,
    /// The Chromium binary (default: /usr/lib/chromium/chromium when present, else chromedriver's choice).
    #[arg(long, value_name = "PATH", env = "CANARY_CHROMIUM")]
    chromium: Option<PathBuf>,
    /// Use this WebDriver endpoint (a Selenium Grid) instead of starting chromedriver.
    #[arg(long, value_name = "URL", env = "CANARY_WEBDRIVER_URL")]
    webdriver_url: Option<String>,
    /// Screenshots and page sources go under DIR/<canary>/<run-id>/.
    #[arg(
        long,
        value_name = "DIR",
        default_value = "artifacts",
        env = "CANARY_ARTIFACTS"
    )]
    artifacts: PathBuf,
}

impl BrowserArgs {
    /// The context of the runs: a WebDriver when any canary drives a browser.
    fn context(&self, canaries: &[&Canary]) -> Arc<RunContext> {
        let browser = canaries.iter().any(|c| c.kind() == "browser");
        let webdriver = browser.then(|| match &self.webdriver_url {
            Some(url) => Driver::remote(url.clone()),
            None => Driver::chromedriver(self.chromedriver.clone(), self.chromium.clone()),
        });
        Arc::new(RunContext {
            webdriver,
            artifacts: self.artifacts.clone(),
        })
    }
}

fn parse_dimension(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not NAME=VALUE"))?;
    metrics::check_dimension(k, v)?;
    Ok((k.to_string(), v.to_string()))
}

#[derive(Args)]
struct TestArgs {
    #[command(flatten)]
    load: LoadArgs,
    #[command(flatten)]
    metrics: MetricsArgs,
    #[command(flatten)]
    browser: BrowserArgs,
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
    let level = if matches!(cli.command, Command::Run(_)) {
        "info"
    } else {
        "warn"
    };
    init_logging(cli.log_format, level);
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn init_logging(format: LogFormat, level: &str) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_env("CANARY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
    }
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
        Command::Run(args) => run_daemon(args),
        Command::Next(args) => Ok(match load(&args.load)? {
            Ok(canaries) => {
                emit(&next_times(&canaries, args.count, chrono::Utc::now()));
                ExitCode::SUCCESS
            }
            Err(code) => code,
        }),
    }
}

fn run_daemon(args: RunArgs) -> Result<ExitCode> {
    let canaries = match load(&args.load)? {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let rt = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let metrics = rt.block_on(args.metrics.start(&canaries))?;
    let ctx = args.browser.context(&canaries.iter().collect::<Vec<_>>());
    if args.once {
        let flush = args.metrics.flush_timeout;
        return Ok(rt.block_on(once(
            canaries,
            args.max_concurrent.into(),
            metrics,
            flush,
            &ctx,
        )));
    }
    let opts = canary::daemon::Options {
        paths: args.load.paths.clone(),
        load: load_options(&args.load)?,
        scheduler: canary::scheduler::Options {
            max_concurrent: args.max_concurrent.into(),
            spread: args.spread,
            grace: args.grace,
        },
        watch: (!args.watch_interval.is_zero()).then_some(args.watch_interval),
        metrics,
        flush_timeout: args.metrics.flush_timeout,
        ctx,
    };
    rt.block_on(canary::daemon::run(canaries, opts))
        .context("cannot listen for signals")?;
    Ok(ExitCode::SUCCESS)
}

/// `canary run --once`: every canary once, logged and recorded, metrics flushed; `test`'s exit codes.
async fn once(
    canaries: Vec<Canary>,
    parallel: usize,
    metrics: Option<Metrics>,
    flush: Duration,
    ctx: &Arc<RunContext>,
) -> ExitCode {
    let canaries: Vec<Arc<Canary>> = canaries.into_iter().map(Arc::new).collect();
    let runs = runner::run_all(&canaries, parallel, ctx, |r| {
        canary::daemon::log_run(r, None);
        if let Some(m) = &metrics {
            m.run(r, None);
        }
    })
    .await;
    if let Some(m) = &metrics {
        canary::daemon::flush(m, flush).await;
    }
    let s = Summary::of(&runs);
    tracing::info!(
        passed = s.passed,
        failed = s.failed,
        errored = s.errored,
        "all canaries ran once"
    );
    if s.all_passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The next `count` fire times of each canary, from `now` (a rate counts from now).
fn next_times(canaries: &[Canary], count: usize, now: chrono::DateTime<chrono::Utc>) -> String {
    let mut out = String::new();
    for c in canaries {
        out += &format!("{}  {}\n", c.name, c.schedule);
        let mut t = now - chrono::TimeDelta::milliseconds(1);
        for _ in 0..count {
            let Some(next) = c.schedule.next_after(t, now) else {
                break;
            };
            let local = next.with_timezone(&c.schedule.tz);
            let shown = if c.schedule.tz == chrono_tz::UTC {
                String::new()
            } else {
                format!("  ({})", local.format("%Y-%m-%d %H:%M %Z"))
            };
            out += &format!("  {}{shown}\n", next.format("%Y-%m-%dT%H:%M:%SZ"));
            t = next;
        }
    }
    out
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
    let stdout_taken = args.json.as_deref() == Some(Path::new("-")) || args.metrics.emf_on_stdout();
    let rt = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let metrics = rt.block_on(args.metrics.start(selected.iter().map(|c| &**c)))?;
    let ctx = args
        .browser
        .context(&selected.iter().map(|c| &**c).collect::<Vec<_>>());
    let parallel = args.parallel.into();
    let runs = if stdout_taken {
        rt.block_on(with_console(
            Console::plain(std::io::stderr()),
            &selected,
            parallel,
            &ctx,
        ))
    } else {
        rt.block_on(with_console(
            Console::stdout(selected.len()),
            &selected,
            parallel,
            &ctx,
        ))
    };
    if let Some(m) = &metrics {
        runs.iter().for_each(|r| m.run(r, None));
        rt.block_on(canary::daemon::flush(m, args.metrics.flush_timeout));
    }
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

/// Runs the canaries once, writing each to the console as it finishes, then the summary.
async fn with_console<W: Write>(
    mut console: Console<W>,
    canaries: &[Arc<Canary>],
    parallel: usize,
    ctx: &Arc<RunContext>,
) -> Vec<canary::run::Run> {
    let runs = runner::run_all(canaries, parallel, ctx, |r| console.run(r)).await;
    console.summary(&Summary::of(&runs));
    runs
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
