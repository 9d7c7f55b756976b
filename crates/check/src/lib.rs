//! Checks: one module per kind, each with the same `run(step, check, scope) -> StepRun`
//! signature; the match on the kind is here and nowhere else.

// The crates below this one, reached as `crate::…` like this crate's own modules.
use canary_model::{assert, canary, capture, observed, redact, run, template};

pub mod browser;
pub mod dns;
pub mod grpc;
pub mod http;
pub mod net;
pub mod reaper;
pub mod runner;
pub mod stop;
pub mod tcp;
pub mod tls;
pub mod websocket;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crate::canary::{Step, StepKind};
use crate::observed::Observed;
use crate::redact::Redactor;
use crate::run::{Outcome, StepRun};
use crate::template::Captures;

/// What checks need from outside the canary: a WebDriver for browser steps, a folder for artifacts.
#[derive(Debug, Default)]
pub struct Context {
    /// Where browser sessions come from (None: browser canaries error, saying why).
    pub webdriver: Option<browser::Driver>,
    /// Screenshots and page sources go under `<artifacts>/<canary>/<run-id>/`.
    pub artifacts: PathBuf,
    /// Asks one-shot runs to stop (SIGTERM in `canary test`); never, by default.
    pub stop: crate::stop::Stop,
}

/// What one attempt carries from step to step.
#[derive(Debug)]
pub struct Scope {
    /// Values captured so far.
    pub captures: Captures,
    /// Every secret value known so far, captured ones included.
    pub redactor: Redactor,
    /// When the attempt must end.
    pub deadline: Instant,
    /// The outside world.
    pub ctx: Arc<Context>,
    /// The canary's name (for artifact paths).
    pub canary: String,
    /// This attempt's id (for artifact paths): the run's start time and attempt number.
    pub run_id: String,
    /// The attempt's cookie jar (None: the canary says `cookies: false`).
    pub cookies: Option<Arc<http::Jar>>,
    /// The attempt's browser session, opened by its first browser step.
    pub browser: Option<browser::Session>,
    /// What the browser logged so far in this attempt.
    pub seen: browser::Seen,
}

impl Scope {
    /// Ends the attempt: closes its browser session, whatever happened — in the background, so
    /// that a run's duration is its steps' and not the browser's shut-down.
    pub fn finish(&mut self) {
        if let Some(session) = self.browser.take() {
            tokio::spawn(session.close());
        }
    }
}

/// Runs one step with its kind's executor: `browser::run`, or `run` in the module the kinds'
/// table ([`canary_model::for_each_kind`]) names.
macro_rules! dispatch {
    ({ $step:ident $scope:ident } $( $(#[$doc:meta])* $variant:ident $key:ident $check:ident $raw:ident; )*) => {
        match &$step.kind {
            StepKind::Browser(check) => browser::run($step, check, $scope).await,
            $( StepKind::$variant(check) => $key::run($step, check, $scope).await, )*
        }
    };
}

/// Runs one step, whatever its kind. The result is already redacted.
pub async fn run(step: &Step, scope: &mut Scope) -> StepRun {
    canary_model::for_each_kind!(dispatch { step scope })
}

/// When a step must end: its own timeout, within the attempt's.
pub fn deadline(step: &Step, scope: &Scope, started: Instant) -> Instant {
    step.timeout
        .map_or(scope.deadline, |t| scope.deadline.min(started + t))
}

/// The report of a kind's step: what it observed judged (with `implicit` results first, such as
/// an `expect:` that did not match), or why it could not complete. Redacted.
pub fn conclude(
    step: &Step,
    scope: &mut Scope,
    started: Instant,
    target: String,
    result: Result<(Observed, Vec<crate::run::AssertionResult>), net::Broken>,
) -> StepRun {
    let mut out = StepRun::new(&step.name);
    out.url = Some(target);
    match result {
        Ok((seen, implicit)) => {
            out.phases = Some(seen.phases);
            out.status = seen.status;
            out.tls.clone_from(&seen.tls);
            out.dns.clone_from(&seen.dns);
            out.received.clone_from(&seen.messages);
            out.assertions = implicit;
            judge(step, &seen, scope, &mut out);
        }
        Err(b) => {
            out.outcome = Outcome::Errored;
            out.error = Some(b.error);
            out.phases = Some(b.phases);
        }
    }
    out.duration = started.elapsed();
    redact(&mut out, &scope.redactor);
    out
}

/// Judges what a step observed: its assertions, its captures (kept for later steps) and its
/// `degraded:` assertions, into `out` and its outcome.
pub fn judge(step: &Step, seen: &Observed, scope: &mut Scope, out: &mut StepRun) {
    if step.secret_cookies {
        for (_, value) in &seen.cookies {
            scope.redactor.add(value);
        }
    }
    for a in &step.assertions {
        out.assertions
            .push(assert::evaluate(a, seen, &scope.captures, &scope.redactor));
    }
    for c in &step.captures {
        let got = capture::extract(c, seen);
        out.assertions.push(capture::to_result(c, &got));
        if let Ok(value) = got {
            if c.secret {
                scope.redactor.add(&value);
            }
            scope.captures.insert(c.name.clone(), value);
        }
    }
    let failed = out.assertions.iter().any(|a| !a.passed);
    for a in &step.degraded {
        let mut result = assert::evaluate(a, seen, &scope.captures, &scope.redactor);
        result.degraded = true;
        out.assertions.push(result);
    }
    let degraded = out.assertions.iter().any(|a| a.degraded && !a.passed);
    out.outcome = match (failed, degraded) {
        (true, _) => Outcome::Failed,
        (false, true) => Outcome::Degraded,
        (false, false) => Outcome::Passed,
    };
}

/// Replaces every secret in a step's report.
pub fn redact(out: &mut StepRun, r: &Redactor) {
    out.url = out.url.as_deref().map(|u| r.apply(u));
    for a in &mut out.assertions {
        a.expected = r.apply(&a.expected);
        a.actual = r.apply(&a.actual);
    }
    if let Some(e) = &mut out.error {
        e.message = r.apply(&e.message);
    }
    for line in out.console.iter_mut().chain(&mut out.received) {
        *line = r.apply(line);
    }
}
