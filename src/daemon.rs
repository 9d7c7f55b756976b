//! `canary run`: the scheduler with signals, reload on SIGHUP and on file changes, and one
//! structured log line per run.

use std::path::PathBuf;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use std::sync::Arc;

use crate::canary::Canary;
use crate::changes::Changes;
use crate::check::Context;
use crate::config::{self, LoadOptions};
use crate::run::{Outcome, Run};
use crate::scheduler::{self, Clock, Control, Event};
use crate::sinks::Sinks;

/// What `canary run` was asked to do.
#[derive(Clone)]
pub struct Options {
    /// The canary files and folders (re-read on reload).
    pub paths: Vec<PathBuf>,
    /// The project file, and whether it must exist (re-read on reload; one that appears later
    /// is read then).
    pub project: (PathBuf, bool),
    /// Variables and environment for loading.
    pub load: LoadOptions,
    /// The scheduler's settings.
    pub scheduler: scheduler::Options,
    /// How often to look for changed files; None: only on SIGHUP.
    pub watch: Option<Duration>,
    /// Where runs go: metrics, notifications.
    pub sinks: Sinks,
    /// How long the sinks may take to flush at shutdown.
    pub flush_timeout: Duration,
    /// What checks need from outside (WebDriver, artifacts).
    pub ctx: Arc<Context>,
    /// Keep the next browser run's session started ahead (see [`Driver::keep_warm`]).
    ///
    /// [`Driver::keep_warm`]: crate::check::browser::Driver::keep_warm
    pub warm_browser: bool,
}

/// Runs `canaries` until SIGTERM or SIGINT (a second one exits at once), then shuts down cleanly.
pub async fn run(canaries: Vec<Canary>, opts: Options) -> std::io::Result<()> {
    // Always: a reload may bring TLS canaries, and a daemon pays this once.
    crate::check::http::warm_up(true).await;
    crate::reaper::start();
    let (ctl, ctl_rx) = mpsc::unbounded_channel();
    let (ev_tx, mut events) = mpsc::unbounded_channel();
    tracing::info!(canaries = canaries.len(), "canary run started");
    opts.sinks.canaries(&canaries);
    keep_warm(&opts, &canaries);
    let scheduler = tokio::spawn(scheduler::run(
        canaries,
        opts.scheduler.clone(),
        Clock::System,
        scheduler::real_runner(opts.ctx.clone()),
        ctl_rx,
        ev_tx,
    ));
    let reloads = Reloads::start(opts.clone(), ctl.clone());
    tokio::spawn(signals(
        reloads.clone(),
        opts.ctx.clone(),
        opts.scheduler.grace,
        ctl.clone(),
    )?);
    if let Some(every) = opts.watch {
        // The project file too: its windows, defaults and locations change what runs.
        let mut watched = opts.paths.clone();
        watched.push(opts.project.0.clone());
        tokio::spawn(watch(watched, every, reloads));
    }
    drop(ctl);
    // On a worker, not on the thread that waits for the runtime: a run's event then costs no
    // wake-up of another thread.
    let sinks = opts.sinks.clone();
    let consumer = tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            log(&event);
            record(&sinks, &event);
        }
    });
    let _ = scheduler.await;
    let _ = consumer.await;
    opts.sinks.stopping("signal");
    opts.sinks.flush(opts.flush_timeout).await;
    if let Some(driver) = &opts.ctx.webdriver {
        driver.shutdown();
    }
    tracing::info!("canary run stopped");
    Ok(())
}

fn record(sinks: &Sinks, event: &Event) {
    match event {
        Event::Finished { run, lateness, .. } => sinks.run(run, Some(*lateness)),
        Event::Skipped {
            canary,
            planned,
            dimensions,
            ..
        } => sinks.skipped(canary, dimensions, (*planned).into()),
        Event::Reloaded { .. } => {}
    }
}

/// SIGTERM/SIGINT: shut down (twice: exit now); SIGHUP: reload. A signal never waits for a
/// reload, so a reload stuck on an unreadable file cannot keep the daemon from stopping.
fn signals(
    reloads: Reloads,
    ctx: Arc<Context>,
    grace: Duration,
    ctl: mpsc::UnboundedSender<Control>,
) -> std::io::Result<impl Future<Output = ()>> {
    let (mut term, mut int, mut hup) = (
        signal(SignalKind::terminate())?,
        signal(SignalKind::interrupt())?,
        signal(SignalKind::hangup())?,
    );
    Ok(async move {
        let mut stopping = false;
        loop {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
                _ = hup.recv() => {
                    tracing::info!("SIGHUP: reloading");
                    reloads.ask();
                    continue;
                }
            }
            if stopping {
                tracing::warn!("second signal: exiting now");
                if let Some(driver) = &ctx.webdriver {
                    driver.shutdown();
                }
                std::process::exit(130);
            }
            stopping = true;
            tracing::info!(
                grace_s = grace.as_secs_f64(),
                "shutting down: no new runs; waiting for in-flight runs"
            );
            let _ = ctl.send(Control::Shutdown);
        }
    })
}

/// Loads the project file and the canaries again: applies a valid set, or logs every error and
/// keeps the old set. (The notification channels stay those read at start.) It blocks on the
/// files, so only [`reload_aside`] calls it, for [`Reloads`].
fn reload(opts: &Options, ctl: &mpsc::UnboundedSender<Control>) {
    let mut load = opts.load.clone();
    let (file, required) = &opts.project;
    let loaded = config::project::load(file, *required, &opts.load).map(|p| load.project = p);
    match loaded.and_then(|()| config::load(&opts.paths, &load)) {
        Ok(canaries) => {
            opts.sinks.canaries(&canaries);
            keep_warm(opts, &canaries);
            let _ = ctl.send(Control::Reload(canaries));
        }
        Err(errors) => {
            for e in &errors.0 {
                tracing::error!(file = %e.file.display(), line = e.line, column = e.column, "{e}");
            }
            tracing::error!(
                errors = errors.0.len(),
                "reload rejected: the running canaries are kept"
            );
        }
    }
}

/// The reloads asked for (by SIGHUP or by changed files), made one at a time on a task of their
/// own, so that neither a signal nor the watcher waits for one.
#[derive(Clone)]
struct Reloads(mpsc::Sender<()>);

/// A reload still under way after this long is logged: later ones wait for it.
const SLOW_RELOAD: Duration = Duration::from_secs(30);

impl Reloads {
    /// Starts the task that reloads for `opts` and hands the new set to the scheduler by `ctl`.
    fn start(opts: Options, ctl: mpsc::UnboundedSender<Control>) -> Reloads {
        // Room for one: asks that come while a reload waits to start are the same reload.
        let (tx, mut asked) = mpsc::channel(1);
        tokio::spawn(async move {
            while asked.recv().await.is_some() {
                reload_aside(&opts, &ctl).await;
            }
        });
        Reloads(tx)
    }

    /// Asks for a reload, without waiting for it.
    fn ask(&self) {
        let _ = self.0.try_send(());
    }
}

/// [`reload`] on the blocking pool: reading and compiling the files (seconds at 100,000
/// canaries, forever on a hung network file system) must not hold up the daemon's thread.
async fn reload_aside(opts: &Options, ctl: &mpsc::UnboundedSender<Control>) {
    let (opts, ctl) = (opts.clone(), ctl.clone());
    let mut reload = tokio::task::spawn_blocking(move || reload(&opts, &ctl));
    let done = match tokio::time::timeout(SLOW_RELOAD, &mut reload).await {
        Ok(done) => done,
        Err(_) => {
            tracing::warn!(
                after_s = SLOW_RELOAD.as_secs(),
                "reloading is still reading the canary files (one that cannot be read?); \
                 the canaries loaded before keep running, and later reloads wait for this one"
            );
            reload.await
        }
    };
    if let Err(e) = done {
        tracing::error!(error = %e, "reloading failed; the canaries loaded before keep running");
    }
}

/// A browser session waits ready for the next browser run while any canary drives a browser.
fn keep_warm(opts: &Options, canaries: &[Canary]) {
    if let Some(driver) = &opts.ctx.webdriver {
        driver.keep_warm(opts.warm_browser && canaries.iter().any(Canary::uses_browser));
    }
}

/// Asks for a reload when the canary files change (noticed by events, or by polling every
/// `every`).
async fn watch(paths: Vec<PathBuf>, every: Duration, reloads: Reloads) {
    let mut changes = Changes::new(&paths, every);
    loop {
        changes.next().await;
        tracing::info!("canary files changed: reloading");
        reloads.ask();
    }
}

/// One structured log line per event.
pub fn log(event: &Event) {
    match event {
        Event::Finished {
            run,
            planned,
            lateness,
        } => log_run(run, Some((planned, lateness))),
        Event::Skipped {
            canary,
            planned,
            total,
            ..
        } => tracing::warn!(
            canary = %canary,
            planned = %planned.to_rfc3339(),
            skipped_total = total,
            "instant skipped: the previous run is still going"
        ),
        Event::Reloaded {
            added,
            removed,
            kept,
        } => {
            tracing::info!(added, removed, kept, "canaries reloaded")
        }
    }
}

/// The line for one run: canary, outcome, duration, attempts, and lateness when scheduled.
pub fn log_run(run: &Run, scheduled: Option<(&chrono::DateTime<chrono::Utc>, &Duration)>) {
    let outcome = run.outcome().as_str();
    let duration_ms = crate::report::millis(run.duration);
    let lateness_ms = scheduled.map(|(_, l)| crate::report::millis(*l));
    let planned = scheduled.map(|(p, _)| p.to_rfc3339());
    let attempts = run.attempts.len();
    let maintenance = run.maintenance.as_deref();
    match run.last().reason() {
        None => {
            tracing::info!(canary = %run.canary, outcome, duration_ms, lateness_ms, attempts, planned, maintenance, "run")
        }
        Some(reason) if matches!(run.outcome(), Outcome::Failed | Outcome::Degraded) => {
            tracing::warn!(canary = %run.canary, outcome, duration_ms, lateness_ms, attempts, planned, maintenance, reason, "run")
        }
        Some(reason) => {
            tracing::error!(canary = %run.canary, outcome, duration_ms, lateness_ms, attempts, planned, maintenance, reason, "run")
        }
    }
}
