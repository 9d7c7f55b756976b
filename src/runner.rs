//! Running canaries: attempts with retries, steps in order, many canaries in parallel.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::task::JoinSet;

use crate::canary::Canary;
use crate::check::{self, Context, Scope};
use crate::redact::Redactor;
use crate::run::{Attempt, CheckError, ErrorKind, Outcome, Run, StepRun};

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
    }
}

/// One attempt: the steps in order, within the canary's timeout, with a cookie jar of its own.
/// A step that fails or errors stops the attempt unless it says `continue_on_failure`.
async fn run_attempt(canary: &Canary, ctx: &Arc<Context>, run_id: String) -> Attempt {
    let start = Instant::now();
    let mut scope = Scope {
        captures: Default::default(),
        redactor: Redactor::new(canary.secrets.iter().cloned()),
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
        let result = check::run(step, &mut scope).await;
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
    check::http::warm_up(canaries.iter().any(|c| c.uses_tls())).await;
    let mut tasks = Tasks {
        set: JoinSet::new(),
        index: HashMap::new(),
        next: 0,
    };
    for _ in 0..parallel.max(1) {
        tasks.start(canaries, ctx);
    }
    let mut runs: Vec<Option<Run>> = vec![None; canaries.len()];
    while let Some(joined) = tasks.set.join_next_with_id().await {
        let (id, run) = match joined {
            Ok((id, run)) => (id, run),
            Err(e) => {
                let why = format!("canary crashed: {e}");
                let i = tasks.index[&e.id()];
                (e.id(), not_run(&canaries[i], ErrorKind::Internal, why))
            }
        };
        tasks.start(canaries, ctx);
        on_done(&run);
        if let Some(i) = tasks.index.remove(&id) {
            runs[i] = Some(run);
        }
    }
    runs.into_iter().flatten().collect()
}

/// The runs under way, and which canary each task runs.
struct Tasks {
    set: JoinSet<Run>,
    index: HashMap<tokio::task::Id, usize>,
    next: usize,
}

impl Tasks {
    /// Starts the next canary's run, if one is left.
    fn start(&mut self, canaries: &[Arc<Canary>], ctx: &Arc<Context>) {
        let Some(canary) = canaries.get(self.next) else {
            return;
        };
        let (canary, ctx) = (canary.clone(), ctx.clone());
        let handle = self
            .set
            .spawn(async move { run_canary(&canary, &ctx).await });
        self.index.insert(handle.id(), self.next);
        self.next += 1;
    }
}

/// The record of a run that did not complete on its own — its task died (a bug), the scheduler
/// cut it off, or shutdown came first: errored with `kind`, never dropped.
pub fn not_run(canary: &Canary, kind: ErrorKind, why: String) -> Run {
    let first = canary.steps.first().map_or("", |s| s.name.as_str());
    let mut step = StepRun::new(first);
    step.outcome = Outcome::Errored;
    step.error = Some(CheckError::new(kind, why));
    Run {
        canary: canary.name.clone(),
        file: canary.file.clone(),
        started_at: SystemTime::now(),
        attempts: vec![Attempt {
            outcome: Outcome::Errored,
            steps: vec![step],
            duration: Duration::ZERO,
        }],
        duration: Duration::ZERO,
        dimensions: canary.dimensions.clone(),
    }
}
