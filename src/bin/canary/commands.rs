//! What each command does: load, list, test, run (or once), next.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use canary::archive::tap::WarningTap;
use canary::canary::Canary;
use canary::check::Context as RunContext;
use canary::config::{self, LoadOptions};
use canary::health::Heartbeat;
use canary::metrics::Metrics;
use canary::notify::{Notifier, Settings as NotifySettings};
use canary::report::{self, Summary, console::Console};
use canary::runner;
use canary::sinks::Sinks;
use canary::stop::Stop;

use crate::args::{ArchiveArgs, ErrorFormat, HealthArgs, LoadArgs, MetricsArgs, RunArgs, TestArgs};

pub fn run_daemon(args: RunArgs, tap: &WarningTap) -> Result<ExitCode> {
    let (canaries, load_opts) = match load_with(&args.load)? {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    let rt = daemon_runtime(args.once).context("cannot start the async runtime")?;
    let heartbeat = Arc::new(Heartbeat::new(args.heartbeat.clone()));
    let sinks = rt.block_on(start_sinks(
        (&args.metrics, &args.archive),
        &canaries.iter().collect::<Vec<_>>(),
        Some(heartbeat.clone()),
        &args.load,
        async |metrics| notifier(&args, &canaries, &load_opts, metrics).await,
        tap,
    ))?;
    // The daemon stops through its scheduler; a single pass stops through its runs' context.
    let stop = match args.once {
        true => Stop::on_signals(rt.handle(), args.grace).context("cannot listen for signals")?,
        false => Stop::default(),
    };
    let ctx = args
        .browser
        .context(&canaries.iter().collect::<Vec<_>>(), !args.once, stop);
    if args.once {
        let flush = args.metrics.flush_timeout;
        let (runs, code) = once(
            &rt,
            canaries,
            args.max_concurrent.into(),
            sinks,
            flush,
            &ctx,
            args.fail_on_degraded,
        );
        if let Some(path) = &args.html {
            write_report(path, &report::html::render(&runs))?;
        }
        return Ok(code);
    }
    let opts = canary::daemon::Options {
        paths: args.load.paths.clone(),
        project: project_file(&args.load),
        load: load_opts,
        scheduler: canary::scheduler::Options {
            max_concurrent: args.max_concurrent.into(),
            spread: args.spread,
            grace: args.grace,
            heartbeat: Some(heartbeat),
        },
        watch: (!args.watch_interval.is_zero()).then_some(args.watch_interval),
        sinks,
        flush_timeout: args.metrics.flush_timeout,
        ctx,
        warm_browser: args.browser_warm,
    };
    rt.block_on(canary::daemon::run(canaries, opts))
        .context("cannot listen for signals")?;
    // The runs are over and the sinks flushed: a reload stuck reading a file (a hung network
    // file system) must not keep the process from exiting, as dropping the runtime would.
    rt.shutdown_background();
    Ok(ExitCode::SUCCESS)
}

/// The runtime of `canary run`. The daemon's runs come a few at a time, and on one thread a
/// run's wake-ups, its result and its log line cost no wake-up of another thread: 7–16 % less
/// CPU per run than on a worker pool at 1,000 canaries, 25 % less at 100,000 (a run is a
/// fraction of a millisecond of CPU, so one core keeps far ahead of the schedule). What could
/// hold the thread up (reloading the files, polling them, rendering `/metrics`, stopping what a
/// crashed chromedriver left) runs on the blocking pool. `--once` runs every canary at the same
/// moment and spreads them over the cores itself.
fn daemon_runtime(once: bool) -> std::io::Result<tokio::runtime::Runtime> {
    if once {
        return tokio::runtime::Runtime::new();
    }
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// The notifier, when the project has channels or a canary an alert policy.
/// The sinks of a command, built from its options in one place: the metrics first (the notifier
/// counts its deliveries in them), then the notifier (`notifier` makes it: `canary run`'s), then
/// the archives.
async fn start_sinks(
    (metrics, archive): (&MetricsArgs, &ArchiveArgs),
    canaries: &[&Canary],
    heartbeat: Option<Arc<Heartbeat>>,
    load: &LoadArgs,
    notifier: impl AsyncFnOnce(Option<Metrics>) -> Result<Option<Arc<Notifier>>>,
    tap: &WarningTap,
) -> Result<Sinks> {
    let metrics_sink = metrics
        .start(canaries.iter().copied(), heartbeat, load)
        .await?;
    Ok(Sinks {
        notifier: notifier(metrics_sink.clone()).await?,
        archives: archive.start(metrics, load, tap).await?,
        metrics: metrics_sink,
    })
}

async fn notifier(
    args: &RunArgs,
    canaries: &[Canary],
    opts: &LoadOptions,
    metrics: Option<Metrics>,
) -> Result<Option<Arc<Notifier>>> {
    let project = &opts.project;
    if project.channels.is_empty() && canaries.iter().all(|c| c.alerting.is_none()) {
        return Ok(None);
    }
    shared_locations(args, canaries, project)?;
    let settings = NotifySettings {
        state_dir: args.state_dir.clone(),
        window: args.notify_window,
        endpoint_url: args.metrics.endpoint_url.clone(),
        secrets: project.secrets.clone(),
        host: crate::args::hostname(),
        location: args.load.location.clone(),
        metrics,
    };
    let n = Notifier::start(&project.channels, settings)
        .await
        .context("cannot start the notifications")?;
    n.set_canaries(canaries);
    Ok(Some(Arc::new(n)))
}

/// Runners that share an alert state between locations (`alerting.locations`) keep it in S3,
/// and each says which of the project's locations it is.
fn shared_locations(
    args: &RunArgs,
    canaries: &[Canary],
    project: &config::project::Project,
) -> Result<()> {
    let Some(c) = canaries
        .iter()
        .find(|c| c.alerting.as_ref().is_some_and(|a| a.locations.is_some()))
    else {
        return Ok(());
    };
    if !matches!(args.state_dir, Some(canary::notify::StateDir::S3(_))) {
        bail!(
            "{}: `alerting.locations` is agreed between the runners of each location through --state-dir s3://BUCKET/PREFIX",
            c.name
        );
    }
    match &args.load.location {
        Some(l) if project.locations.contains(l) => Ok(()),
        Some(l) => bail!(
            "--location {l} is not among the project's locations: {}",
            project.locations.join(", ")
        ),
        None => bail!(
            "{}: `alerting.locations` needs --location (one of {})",
            c.name,
            project.locations.join(", ")
        ),
    }
}

/// `canary run --once`: every canary once, logged and recorded, sinks flushed; `test`'s exit codes.
fn once(
    rt: &tokio::runtime::Runtime,
    canaries: Vec<Canary>,
    parallel: usize,
    sinks: Sinks,
    flush: Duration,
    ctx: &Arc<RunContext>,
    fail_on_degraded: bool,
) -> (Vec<canary::run::Run>, ExitCode) {
    {
        let _on_rt = rt.enter(); // the reaper's tasks go on `rt`
        canary::reaper::start();
    }
    sinks.canaries(&canaries);
    let canaries: Vec<Arc<Canary>> = canaries.into_iter().map(Arc::new).collect();
    let runs = runner::run_all_blocking(rt, &canaries, parallel, ctx, |r| {
        canary::daemon::log_run(r, None);
        sinks.run(r, None);
    });
    sinks.stopping("finished");
    rt.block_on(sinks.flush(flush));
    let s = Summary::of(&runs);
    tracing::info!(
        passed = s.passed,
        degraded = s.degraded,
        failed = s.failed,
        errored = s.errored,
        "all canaries ran once"
    );
    (runs, ExitCode::from(s.exit_code(fail_on_degraded)))
}

/// The next `count` fire times of each canary, from `now` (a rate counts from now).
pub fn next_times(canaries: &[Canary], count: usize, now: chrono::DateTime<chrono::Utc>) -> String {
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
pub fn load(args: &LoadArgs) -> Result<Result<Vec<Canary>, ExitCode>> {
    Ok(load_with(args)?.map(|(canaries, _)| canaries))
}

/// The project file `args` name (it must exist), or `.canary.yaml` in the current folder (if
/// it exists).
fn project_file(args: &LoadArgs) -> (std::path::PathBuf, bool) {
    match &args.project {
        Some(p) => (p.clone(), true),
        None => (std::path::PathBuf::from(config::project::FILE), false),
    }
}

/// Loads the project file and the canaries, and says with which options (for reloads).
pub fn load_with(args: &LoadArgs) -> Result<Result<(Vec<Canary>, LoadOptions), ExitCode>> {
    let mut opts = load_options(args)?;
    let (path, required) = project_file(args);
    let loaded = config::project::load(&path, required, &opts).and_then(|project| {
        opts.project = project;
        config::load(&args.paths, &opts)
    });
    Ok(match loaded {
        Ok(canaries) => Ok((canaries, opts)),
        Err(errors) => {
            report_errors(&errors, args.error_format);
            Err(ExitCode::from(2))
        }
    })
}

/// Config errors on stderr, as asked; under GitHub Actions also as annotations on stdout.
fn report_errors(errors: &config::ConfigErrors, format: ErrorFormat) {
    let _ = match format {
        ErrorFormat::Human => {
            let stderr = std::io::stderr();
            let color = stderr.is_terminal() && std::env::var_os("NO_COLOR").is_none();
            writeln!(&stderr, "{}", config::render(errors, color))
        }
        ErrorFormat::Json => write!(std::io::stderr(), "{}", errors.to_json_lines()),
    };
    if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") {
        let _ = write!(std::io::stdout(), "{}", errors.to_github());
    }
}

fn load_options(args: &LoadArgs) -> Result<LoadOptions> {
    let mut env: HashMap<String, String> = std::env::vars().collect();
    if let Some(location) = &args.location {
        env.insert("CANARY_LOCATION".into(), location.clone());
    }
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
    Ok(LoadOptions {
        vars,
        env,
        proxy: args.proxy.clone(),
        shard: args.shard,
        project: Default::default(),
    })
}

/// Writes to stdout; a closed pipe (`canary list | head`) is not an error.
pub fn emit(text: &str) {
    let _ = std::io::stdout().write_all(text.as_bytes());
}

/// `canary health`: 0 when the heartbeat file is fresh, 1 (saying why) otherwise.
pub fn health(args: &HealthArgs) -> ExitCode {
    match canary::health::check_file(&args.heartbeat, args.max_age) {
        Ok(age) => {
            emit(&format!("healthy: last beat {}s ago\n", age.as_secs()));
            ExitCode::SUCCESS
        }
        Err(why) => {
            let _ = writeln!(std::io::stderr(), "{why}");
            ExitCode::from(1)
        }
    }
}

/// `canary list`: the canaries (of the shard, saying how many of all that is).
pub fn list_command(args: &LoadArgs) -> Result<ExitCode> {
    let (canaries, opts) = match load_with(args)? {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    list(&canaries);
    if let Some(shard) = args.shard {
        let all = config::load(&args.paths, &opts.without_shard());
        let total = all.map_or(0, |a| a.len());
        let _ = writeln!(
            std::io::stderr(),
            "shard {shard}: {} of {total} canaries",
            canaries.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn list(canaries: &[Canary]) {
    let width = canaries.iter().map(|c| c.name.len()).max().unwrap_or(4);
    let width = width.max(4);
    let kinds = canaries.iter().map(|c| c.kind().len()).max().unwrap_or(4);
    let kinds = kinds.max(4);
    let mut out = format!(
        "{:width$}  {:kinds$}  {:24}  {:20}  FILE\n",
        "NAME", "KIND", "SCHEDULE", "TAGS"
    );
    for c in canaries {
        let (kind, schedule, tags) = (c.kind(), c.schedule.to_string(), c.tags.join(","));
        let file = c.file.display();
        out += &format!(
            "{:width$}  {kind:kinds$}  {schedule:24}  {tags:20}  {file}\n",
            c.name
        );
    }
    emit(&out);
}

pub fn test(args: TestArgs, tap: &WarningTap) -> Result<ExitCode> {
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
    let stop = Stop::on_signals(rt.handle(), args.grace).context("cannot listen for signals")?;
    {
        let _on_rt = rt.enter(); // the reaper's tasks go on `rt`
        canary::reaper::start(); // a CI job's PID 1 is often a shell that reaps nothing
    }
    let sinks = rt.block_on(start_sinks(
        (&args.metrics, &args.archive),
        &selected.iter().map(|c| &**c).collect::<Vec<_>>(),
        None,
        &args.load,
        async |_| Ok(None),
        tap,
    ))?;
    for a in &sinks.archives {
        a.canaries(selected.iter().map(|c| &**c));
    }
    let ctx = args.browser.context(
        &selected.iter().map(|c| &**c).collect::<Vec<_>>(),
        false,
        stop,
    );
    let parallel = args.parallel.into();
    let runs = if stdout_taken {
        with_console(
            Console::plain(std::io::stderr()),
            &selected,
            parallel,
            &ctx,
            &rt,
        )
    } else {
        with_console(
            Console::stdout(selected.len()),
            &selected,
            parallel,
            &ctx,
            &rt,
        )
    };
    runs.iter().for_each(|r| sinks.run(r, None));
    sinks.stopping("finished");
    rt.block_on(sinks.flush(args.metrics.flush_timeout));
    if let Some(path) = &args.json {
        write_report(path, &report::json::render(&runs))?;
    }
    if let Some(path) = &args.junit {
        write_report(path, &report::junit::render(&runs))?;
    }
    if let Some(path) = &args.html {
        write_report(path, &report::html::render(&runs))?;
    }
    Ok(ExitCode::from(
        Summary::of(&runs).exit_code(args.fail_on_degraded),
    ))
}

/// Runs the canaries once, writing each to the console as it finishes, then the summary.
pub fn with_console<W: Write + Send>(
    mut console: Console<W>,
    canaries: &[Arc<Canary>],
    parallel: usize,
    ctx: &Arc<RunContext>,
    rt: &tokio::runtime::Runtime,
) -> Vec<canary::run::Run> {
    let runs = runner::run_all_blocking(rt, canaries, parallel, ctx, |r| console.run(r));
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
