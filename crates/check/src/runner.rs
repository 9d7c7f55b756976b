//! Running canaries: attempts with retries, steps in order, many canaries in parallel.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tokio::task::JoinSet;

use crate::canary::{Canary, maintenance};
use crate::run::{Attempt, CheckError, ErrorKind, Outcome, Run, StepRun};
use crate::stop::Stop;
use crate::{Context, Scope};

/// Runs one canary: up to `retries + 1` attempts, stopping at the first pass.
pub async fn run_canary(canary: &Canary, ctx: &Arc<Context>) -> Run {
    let started_at = SystemTime::now();
    let start = Instant::now();
    let stamp = chrono::DateTime::<chrono::Utc>::from(started_at).format("%Y%m%dT%H%M%S%.3fZ");
    let mut attempts = Vec::new();
    for n in 0..=canary.retries {
        let attempt = run_attempt(canary, ctx, format!("{stamp}-{}", n + 1)).await;
        let passed = attempt.outcome.is_pass();
        attempts.push(attempt);
        if passed {
            break;
        }
    }
    Run {
        canary: canary.name.clone(),
        file: canary.file.clone(),
        started_at,
        attempts,
        duration: start.elapsed(),
        dimensions: canary.dimensions.clone(),
        maintenance: maintenance::open_at(&canary.maintenance, started_at).map(String::from),
    }
}

/// One attempt: the steps in order, within the canary's timeout, with a cookie jar of its own.
/// A step that fails or errors stops the attempt unless it says `continue_on_failure`.
async fn run_attempt(canary: &Canary, ctx: &Arc<Context>, run_id: String) -> Attempt {
    let start = Instant::now();
    let mut scope = Scope {
        captures: Default::default(),
        redactor: canary.secrets.clone(),
        deadline: start + canary.timeout,
        ctx: ctx.clone(),
        canary: canary.name.clone(),
        run_id,
        cookies: canary.cookies.then(Default::default),
        browser: None,
        seen: Default::default(),
    };
    let mut outcome = Outcome::Passed;
    let mut steps = Vec::new();
    for step in &canary.steps {
        let result = crate::run(step, &mut scope).await;
        outcome = outcome.worst(result.outcome);
        let stop = !result.outcome.is_pass() && !step.continue_on_failure;
        steps.push(result);
        if stop {
            break;
        }
    }
    scope.finish();
    Attempt {
        outcome,
        steps,
        duration: start.elapsed(),
    }
}

/// Runs every canary once, at most `parallel` at a time; `on_done` sees each run as it
/// finishes. The runs come back in the canaries' order. Only the runs under way exist as tasks:
/// each one that ends starts the next canary, so 5,000 canaries keep `parallel` runs' state.
pub async fn run_all(
    canaries: &[Arc<Canary>],
    parallel: usize,
    ctx: &Arc<Context>,
    mut on_done: impl FnMut(&Run),
) -> Vec<Run> {
    crate::http::warm_up(canaries.iter().any(|c| c.uses_tls())).await;
    let mut runs: Vec<Option<Run>> = vec![None; canaries.len()];
    let next = AtomicUsize::new(0);
    lane(canaries, parallel, ctx, &next, |i, run| {
        on_done(&run);
        runs[i] = Some(run);
    })
    .await;
    in_order(runs, canaries)
}

/// Runs every canary once, like [`run_all`], from outside a runtime: on a thread per core
/// ([`run_all_on_threads`]) unless a canary drives a browser, there are too few canaries or
/// too little parallelism to share, or those threads' runtimes cannot start; otherwise on `rt`.
pub fn run_all_blocking(
    rt: &tokio::runtime::Runtime,
    canaries: &[Arc<Canary>],
    parallel: usize,
    ctx: &Arc<Context>,
    mut on_done: impl FnMut(&Run) + Send,
) -> Vec<Run> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = match canaries.iter().any(|c| c.uses_browser()) {
        true => 1,
        false => cores.min(parallel).min(canaries.len()),
    };
    if threads > 1 {
        match run_all_on_threads(canaries, parallel, threads, ctx, &mut on_done) {
            Ok(runs) => return runs,
            Err(e) => tracing::warn!("cannot start a runtime per core ({e}); running on one"),
        }
    }
    rt.block_on(run_all(canaries, parallel, ctx, on_done))
}

/// Like [`run_all`], on `threads` threads (the calling one and `threads - 1` of its own), each
/// with a single-threaded runtime and its share of `parallel`, taking the next canary from one
/// list: the runs of one thread never wake another, which a shared runtime does for every run
/// that ends (here that took 40 % off a check's CPU). `on_done` is called on those threads, one
/// run at a time. Not for browser canaries, whose sessions live on the caller's runtime.
pub fn run_all_on_threads(
    canaries: &[Arc<Canary>],
    parallel: usize,
    threads: usize,
    ctx: &Arc<Context>,
    on_done: impl FnMut(&Run) + Send,
) -> std::io::Result<Vec<Run>> {
    let tls = canaries.iter().any(|c| c.uses_tls());
    let next = AtomicUsize::new(0);
    let done = Mutex::new((on_done, vec![None; canaries.len()]));
    let threads = threads.clamp(1, parallel.max(1));
    let mut lanes: Vec<_> = (0..threads)
        .map(|_| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
        })
        .collect::<std::io::Result<_>>()?;
    // Lane t of n takes its share of `parallel`, the first ones one more.
    let slots = |t: usize| parallel / threads + usize::from(t < parallel % threads);
    let run_lane = |rt: tokio::runtime::Runtime, slots: usize| {
        rt.block_on(async {
            // Each runtime pays its own first costs too (its blocking pool, for name lookups).
            crate::http::warm_up(tls).await;
            lane(canaries, slots, ctx, &next, |i, run| {
                let mut d = done.lock().unwrap_or_else(|p| p.into_inner());
                (d.0)(&run);
                d.1[i] = Some(run);
            })
            .await
        });
        // A name lookup that outlived its check's deadline must not hold the thread.
        rt.shutdown_background();
    };
    let own = lanes.remove(0);
    std::thread::scope(|s| {
        // This thread runs lane 0, with the share of any lane whose thread cannot start.
        let mut own_slots = slots(0);
        for (t, rt) in (1..).zip(lanes) {
            let spawned = std::thread::Builder::new()
                .name("canary-runs".into())
                .spawn_scoped(s, move || run_lane(rt, slots(t)));
            if let Err(e) = spawned {
                tracing::warn!("cannot start a thread for runs ({e}); running its share here");
                own_slots += slots(t);
            }
        }
        run_lane(own, own_slots);
    });
    let (_, runs) = done.into_inner().unwrap_or_else(|p| p.into_inner());
    Ok(in_order(runs, canaries))
}

/// The runs in the canaries' order. Every canary is taken by a lane and every lane ends its
/// runs, so a gap would be a bug: recorded as such rather than dropped.
fn in_order(runs: Vec<Option<Run>>, canaries: &[Arc<Canary>]) -> Vec<Run> {
    let runs = runs.into_iter().zip(canaries).map(|(run, canary)| {
        run.unwrap_or_else(|| not_run(canary, ErrorKind::Internal, "not run".into()))
    });
    runs.collect()
}

/// Runs canaries `slots` at a time, each taking the next index from `next`, until none is left
/// or the context's stop is asked; `done` gets each run with its canary's index. After a stop,
/// the runs under way get the grace period, then are cut off, and the canaries no lane took are
/// recorded as not started.
async fn lane(
    canaries: &[Arc<Canary>],
    slots: usize,
    ctx: &Arc<Context>,
    next: &AtomicUsize,
    mut done: impl FnMut(usize, Run),
) {
    let mut tasks = Tasks {
        set: JoinSet::new(),
        index: HashMap::new(),
    };
    for _ in 0..slots.max(1) {
        tasks.start(canaries, ctx, next);
    }
    let cut_off = ctx.stop.cut_off();
    tokio::pin!(cut_off);
    let mut cutting = false;
    loop {
        let joined = tokio::select! {
            joined = tasks.set.join_next_with_id() => joined,
            () = &mut cut_off, if !cutting => {
                cutting = true;
                tasks.set.abort_all();
                continue;
            }
        };
        let Some(joined) = joined else { break };
        let (id, run) = match joined {
            Ok((id, run)) => (id, run),
            Err(e) => {
                let (i, started) = tasks.index[&e.id()];
                (e.id(), lost(&canaries[i], &e, started, &ctx.stop))
            }
        };
        tasks.start(canaries, ctx, next);
        if let Some((i, _)) = tasks.index.remove(&id) {
            done(i, run);
        }
    }
    if let Some(signal) = ctx.stop.asked() {
        let why = format!("not started: {signal} came before its turn");
        let left = std::iter::from_fn(|| Some(next.fetch_add(1, Ordering::Relaxed)));
        for i in left.take_while(|i| *i < canaries.len()) {
            done(i, not_run(&canaries[i], ErrorKind::Shutdown, why.clone()));
        }
    }
}

/// The record of a run whose task ended without one: cut off after a stop, or crashed (a bug).
fn lost(canary: &Canary, e: &tokio::task::JoinError, started: Started, stop: &Stop) -> Run {
    if !e.is_cancelled() {
        return not_run(canary, ErrorKind::Internal, format!("canary crashed: {e}"));
    }
    let signal = stop.asked().unwrap_or("a stop");
    let why = format!("cut off: still running {:?} after {signal}", stop.grace());
    cut_off(canary, ErrorKind::Shutdown, why, started)
}

/// The runs under way: which canary each task runs, and since when.
struct Tasks {
    set: JoinSet<Run>,
    index: HashMap<tokio::task::Id, (usize, Started)>,
}

impl Tasks {
    /// Starts the next canary's run, if one is left and no stop was asked.
    fn start(&mut self, canaries: &[Arc<Canary>], ctx: &Arc<Context>, next: &AtomicUsize) {
        if ctx.stop.asked().is_some() {
            return;
        }
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(canary) = canaries.get(i) else {
            return;
        };
        let (canary, ctx) = (canary.clone(), ctx.clone());
        let started = Started {
            at: SystemTime::now(),
            instant: tokio::time::Instant::now(),
        };
        let handle = self
            .set
            .spawn(async move { run_canary(&canary, &ctx).await });
        self.index.insert(handle.id(), (i, started));
    }
}

/// When a run began: the wall-clock time for its record, and an instant to time it by.
#[derive(Debug, Clone, Copy)]
pub struct Started {
    /// The wall-clock time, for `started_at`.
    pub at: SystemTime,
    /// The instant, for the duration.
    pub instant: tokio::time::Instant,
}

/// The record of a run that began at `started` and was stopped from outside (cut off at
/// shutdown, or past its outer time limit): errored with `kind`, its real start, and the time it
/// ran until it was stopped.
pub fn cut_off(canary: &Canary, kind: ErrorKind, why: String, started: Started) -> Run {
    let mut run = not_run(canary, kind, why);
    let ran = started.instant.elapsed();
    run.started_at = started.at;
    run.maintenance = maintenance::open_at(&canary.maintenance, started.at).map(String::from);
    run.duration = ran;
    run.attempts[0].duration = ran;
    run.attempts[0].steps[0].duration = ran;
    run
}

/// The record of a run that did not complete on its own — its task died (a bug), the scheduler
/// cut it off, or shutdown came first: errored with `kind`, never dropped.
pub fn not_run(canary: &Canary, kind: ErrorKind, why: String) -> Run {
    let first = canary.steps.first().map_or("", |s| s.name.as_str());
    let mut step = StepRun::new(first);
    step.outcome = Outcome::Errored;
    step.error = Some(CheckError::new(kind, why));
    let started_at = SystemTime::now();
    Run {
        canary: canary.name.clone(),
        file: canary.file.clone(),
        started_at,
        attempts: vec![Attempt {
            outcome: Outcome::Errored,
            steps: vec![step],
            duration: Duration::ZERO,
        }],
        duration: Duration::ZERO,
        dimensions: canary.dimensions.clone(),
        maintenance: maintenance::open_at(&canary.maintenance, started_at).map(String::from),
    }
}
