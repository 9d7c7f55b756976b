//! What channels are told: a canary's change of alert state (with why), or a finished run (for
//! EventBridge's TestRun events). Serializable: undelivered ones wait in the outbox.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::state::{AlertState, Transition};
use crate::canary::alerting::Alerting;
use crate::report::millis;
use crate::run::{Outcome, Run};

/// One thing to tell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A change of alert state.
    Change(Box<Notice>),
    /// A finished run.
    Run(Box<RunNote>),
}

/// The changes of state among `events`.
pub fn notices(events: &[Event]) -> Vec<&Notice> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Change(n) => Some(&**n),
            Event::Run(_) => None,
        })
        .collect()
}

/// A canary's change of alert state, with the run that caused it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    /// The canary.
    pub canary: String,
    /// The state now: `ALARM` or `OK`.
    pub state: AlertState,
    /// The state before.
    pub previous_state: AlertState,
    /// When it changed (RFC 3339).
    pub at: String,
    /// The run's outcome: passed, degraded, failed, errored.
    pub outcome: String,
    /// One line: why the run did not pass (None when it passed).
    pub reason: Option<String>,
    /// The first step that did not pass, with what it expected and got.
    pub failure: Option<Failure>,
    /// The run.
    pub run: RunNote,
    /// The policy that decided.
    pub policy: Policy,
    /// Set when this is no change but a reminder that the ALARM goes on (`remind:`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminder: Option<ReminderNote>,
    /// Where the runner that saw it runs (`--location`), when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// A reminder that an ALARM goes on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderNote {
    /// How long the ALARM has lasted, in seconds.
    pub lasted_seconds: u64,
    /// The same, for people: `1h 2m`.
    pub lasted: String,
    /// The failed runs since it began.
    pub failed_runs: u32,
}

/// The first thing that went wrong in a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// The step.
    pub step: String,
    /// `assertion`, or the error kind (timeout, connect, tls…).
    pub kind: String,
    /// What was checked (for an assertion), or the error message.
    pub subject: String,
    /// What was expected.
    pub expected: Option<String>,
    /// What was seen.
    pub actual: Option<String>,
}

/// A finished run, briefly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunNote {
    /// The canary.
    pub canary: String,
    /// Its file.
    pub file: String,
    /// passed, degraded, failed, errored.
    pub outcome: String,
    /// When it started (Unix seconds).
    pub started: f64,
    /// When it ended (Unix seconds).
    pub completed: f64,
    /// How long it took.
    pub duration_ms: f64,
    /// Attempts made.
    pub attempts: usize,
    /// The run's id: its start time, as artifact folders name it.
    pub id: String,
    /// The canary's dimensions.
    pub dimensions: Vec<(String, String)>,
    /// Why it did not pass.
    pub reason: Option<String>,
}

/// The policy, as shown in a notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// N of "N of M".
    pub failures: u32,
    /// M of "N of M".
    pub window: u32,
    /// Passes in a row to recover.
    pub recover: u32,
}

fn unix(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

impl RunNote {
    /// The note of `run`.
    pub fn of(run: &Run) -> RunNote {
        let started = unix(run.started_at);
        RunNote {
            canary: run.canary.clone(),
            file: run.file.display().to_string(),
            outcome: run.outcome().as_str().into(),
            started,
            completed: started + run.duration.as_secs_f64(),
            duration_ms: millis(run.duration),
            attempts: run.attempts.len(),
            id: chrono::DateTime::<chrono::Utc>::from(run.started_at)
                .format("%Y%m%dT%H%M%S%.3fZ")
                .to_string(),
            dimensions: run.dimensions.clone(),
            reason: run.last().reason(),
        }
    }

    /// True for failed and errored runs.
    pub fn failed(&self) -> bool {
        self.outcome == Outcome::Failed.as_str() || self.outcome == Outcome::Errored.as_str()
    }
}

impl Notice {
    /// The notice of `t`, caused by `run` under `policy`, seen from `location`.
    pub fn of(t: &Transition, run: &Run, policy: &Alerting, location: Option<String>) -> Notice {
        Notice {
            canary: t.canary.clone(),
            state: t.to,
            previous_state: t.from,
            at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            outcome: run.outcome().as_str().into(),
            reason: run.last().reason(),
            failure: failure(run),
            run: RunNote::of(run),
            policy: Policy {
                failures: policy.failures,
                window: policy.window,
                recover: policy.recover,
            },
            reminder: t.reminder.map(|r| {
                let minutes = std::time::Duration::from_secs(r.lasted.as_secs() / 60 * 60);
                ReminderNote {
                    lasted_seconds: r.lasted.as_secs(),
                    lasted: match minutes.is_zero() {
                        true => format!("{}s", r.lasted.as_secs()),
                        false => humantime::format_duration(minutes).to_string(),
                    },
                    failed_runs: r.failed_runs,
                }
            }),
            location,
        }
    }
}

fn failure(run: &Run) -> Option<Failure> {
    let step = run
        .last()
        .steps
        .iter()
        .find(|s| s.outcome != Outcome::Passed)?;
    if let Some(e) = &step.error {
        return Some(Failure {
            step: step.name.clone(),
            kind: e.kind.as_str().into(),
            subject: e.message.clone(),
            expected: None,
            actual: None,
        });
    }
    let a = step.assertions.iter().find(|a| !a.passed)?;
    Some(Failure {
        step: step.name.clone(),
        kind: if a.degraded { "degraded" } else { "assertion" }.into(),
        subject: a.subject.clone(),
        expected: Some(a.expected.clone()),
        actual: Some(a.actual.clone()),
    })
}
