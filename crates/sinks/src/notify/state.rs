//! The runner's alert state per canary: OK → ALARM when "N of the last M runs" failed, ALARM →
//! OK after enough passes in a row, reminders while an ALARM lasts, nothing during maintenance;
//! kept in a small file in the state folder, so a restart neither sends an alarm again nor
//! forgets one.

use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

use crate::canary::alerting::Alerting;
use crate::run::{Outcome, Run};

/// The file the state is kept in, in the state folder.
pub const FILE: &str = "alert-state.json";

/// A canary's alert state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum AlertState {
    /// Passing (or not failing enough to alarm).
    Ok,
    /// Failing as the policy says.
    Alarm,
}

impl AlertState {
    /// `OK` or `ALARM`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Ok => "OK",
            AlertState::Alarm => "ALARM",
        }
    }
}

/// One canary's state and the recent runs that decide it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The state.
    pub state: AlertState,
    /// Since when (RFC 3339).
    pub since: String,
    /// The last runs, oldest first: `F` failed, `P` passed.
    pub recent: String,
    /// Passes in a row (while in ALARM).
    pub passes: u32,
    /// Failed runs since the ALARM began (while in ALARM).
    #[serde(default)]
    pub failed_runs: u32,
    /// When the channels were last told of the ALARM (RFC 3339): its start or the last reminder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub told: Option<String>,
    /// The last run in a maintenance window failed: the window counts as one failure when it
    /// closes.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub held_failure: bool,
}

impl Entry {
    /// A canary never seen: OK since now, no runs.
    pub fn new() -> Entry {
        Entry {
            state: AlertState::Ok,
            since: now(),
            recent: String::new(),
            passes: 0,
            failed_runs: 0,
            told: None,
            held_failure: false,
        }
    }

    /// Takes a finished run into account; returns the change of state it causes, or the
    /// reminder that is due, if any. A run in a maintenance window changes nothing; its failure
    /// is held, and counts once when the window has closed.
    pub fn observe(&mut self, policy: &Alerting, run: &Run) -> Option<Transition> {
        let failing = match run.outcome() {
            Outcome::Passed => false,
            Outcome::Degraded => policy.degraded_fails,
            Outcome::Failed | Outcome::Errored => true,
        };
        if run.maintenance.is_some() {
            self.held_failure = failing;
            return None;
        }
        let mut recent: VecDeque<char> = self.recent.chars().collect();
        if std::mem::take(&mut self.held_failure) {
            recent.push_back('F');
        }
        recent.push_back(if failing { 'F' } else { 'P' });
        while recent.len() > policy.window.max(1) as usize {
            recent.pop_front();
        }
        self.passes = if failing { 0 } else { self.passes + 1 };
        self.failed_runs += u32::from(failing);
        let failures = recent.iter().filter(|c| **c == 'F').count() as u32;
        let from = self.state;
        let to = match from {
            AlertState::Ok if failures >= policy.failures => AlertState::Alarm,
            AlertState::Alarm if self.passes >= policy.recover => AlertState::Ok,
            s => s,
        };
        if to == AlertState::Ok && from == AlertState::Alarm {
            // A fresh start: the failures that raised the alarm do not count again.
            recent.clear();
        }
        self.recent = recent.into_iter().collect();
        if to == from {
            return self.reminder(policy, &run.canary);
        }
        self.state = to;
        self.since = now();
        self.told = Some(self.since.clone());
        if to == AlertState::Alarm {
            self.passes = 0;
            self.failed_runs = failures;
        }
        Some(Transition {
            canary: run.canary.clone(),
            from,
            to,
            reminder: None,
        })
    }

    /// Sets the state several locations agree on (`wanted`), for the incident they share;
    /// returns the change, or the reminder that is due. `failed_runs` is the failed runs the
    /// runner that settles it has seen.
    pub fn settle(
        &mut self,
        wanted: AlertState,
        policy: &Alerting,
        canary: &str,
        failed_runs: u32,
    ) -> Option<Transition> {
        self.failed_runs = failed_runs;
        let from = self.state;
        if wanted == from {
            return self.reminder(policy, canary);
        }
        self.state = wanted;
        self.since = now();
        self.told = Some(self.since.clone());
        Some(Transition {
            canary: canary.to_string(),
            from,
            to: wanted,
            reminder: None,
        })
    }

    /// The reminder due while in ALARM: `remind` after the channels were last told.
    fn reminder(&mut self, policy: &Alerting, canary: &str) -> Option<Transition> {
        let every = policy.remind?;
        if self.state != AlertState::Alarm {
            return None;
        }
        let parse = |t: &str| humantime::parse_rfc3339(t).ok();
        let since = parse(&self.since);
        let told = self.told.as_deref().and_then(parse).or(since)?;
        let now = SystemTime::now();
        if now.duration_since(told).unwrap_or_default() < every {
            return None;
        }
        self.told = Some(humantime::format_rfc3339_seconds(now).to_string());
        let since = since.unwrap_or(told);
        Some(Transition {
            canary: canary.to_string(),
            from: AlertState::Alarm,
            to: AlertState::Alarm,
            reminder: Some(Reminder {
                lasted: now.duration_since(since).unwrap_or_default(),
                failed_runs: self.failed_runs,
            }),
        })
    }
}

impl Default for Entry {
    fn default() -> Entry {
        Entry::new()
    }
}

/// A change of state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The canary.
    pub canary: String,
    /// The state before.
    pub from: AlertState,
    /// The state now.
    pub to: AlertState,
    /// Set when this is no change but a reminder that the ALARM goes on.
    pub reminder: Option<Reminder>,
}

/// A reminder that an ALARM goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reminder {
    /// How long the ALARM has lasted.
    pub lasted: Duration,
    /// The failed runs since it began.
    pub failed_runs: u32,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Saved {
    version: u32,
    canaries: BTreeMap<String, Entry>,
}

/// Every canary's alert state, and where it is kept.
#[derive(Debug)]
pub struct AlertBook {
    file: Option<PathBuf>,
    entries: BTreeMap<String, Entry>,
    dirty: bool,
    saved_at: Instant,
}

/// How often the recent runs are written when nothing changed state (a change is written at once).
const SAVE_EVERY: Duration = Duration::from_secs(1);

impl AlertBook {
    /// The state kept in `dir` (empty when there is none yet), or in memory only.
    pub fn open(dir: Option<&Path>) -> io::Result<AlertBook> {
        let file = dir.map(|d| d.join(FILE));
        let mut entries = BTreeMap::new();
        if let Some(f) = &file {
            if let Some(d) = f.parent() {
                std::fs::create_dir_all(d)?;
            }
            match std::fs::read(f) {
                Ok(bytes) => {
                    let saved: Saved = serde_json::from_slice(&bytes).map_err(|e| {
                        io::Error::other(format!(
                            "{} is not canary's alert state: {e}",
                            f.display()
                        ))
                    })?;
                    entries = saved.canaries;
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(AlertBook {
            file,
            entries,
            dirty: false,
            saved_at: Instant::now(),
        })
    }

    /// The canary's state (OK when never seen).
    pub fn state(&self, canary: &str) -> AlertState {
        self.entries.get(canary).map_or(AlertState::Ok, |e| e.state)
    }

    /// Takes a finished run into account; returns the change of state it causes, if any.
    pub fn observe(&mut self, policy: &Alerting, run: &Run) -> Option<Transition> {
        let entry = self.entries.entry(run.canary.clone()).or_default();
        self.dirty = true;
        entry.observe(policy, run)
    }

    /// The canary's entry, if it has one.
    pub fn entry(&self, canary: &str) -> Option<&Entry> {
        self.entries.get(canary)
    }

    /// Forgets canaries no longer loaded.
    pub fn retain(&mut self, names: &[String]) {
        let before = self.entries.len();
        self.entries.retain(|k, _| names.contains(k));
        self.dirty |= self.entries.len() != before;
    }

    /// Writes the state (atomically) if it changed: at once when `now`, else at most every second.
    pub fn save(&mut self, now: bool) -> io::Result<()> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        if !self.dirty || (!now && self.saved_at.elapsed() < SAVE_EVERY) {
            return Ok(());
        }
        let saved = Saved {
            version: 1,
            canaries: self.entries.clone(),
        };
        let bytes = serde_json::to_vec_pretty(&saved).map_err(io::Error::other)?;
        crate::delivery::write_atomically(file, &bytes)?;
        self.dirty = false;
        self.saved_at = Instant::now();
        Ok(())
    }
}

fn now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::{Attempt, StepRun};

    fn run(outcome: Outcome) -> Run {
        Run {
            canary: "c".into(),
            file: "c.yaml".into(),
            started_at: SystemTime::now(),
            attempts: vec![Attempt {
                outcome,
                steps: vec![StepRun::new("c")],
                duration: Duration::ZERO,
            }],
            duration: Duration::ZERO,
            dimensions: Vec::new(),
            maintenance: None,
        }
    }

    fn policy(failures: u32, window: u32, recover: u32) -> Alerting {
        Alerting {
            failures,
            window,
            recover,
            degraded_fails: false,
            notify: Vec::new(),
            remind: None,
            locations: None,
        }
    }

    #[test]
    fn two_of_three_then_two_passes_in_a_row() {
        let mut book = AlertBook::open(None).unwrap();
        let p = policy(2, 3, 2);
        let seq = [
            Outcome::Failed,
            Outcome::Passed,
            Outcome::Passed,
            Outcome::Failed,
            Outcome::Errored,
            Outcome::Failed,
            Outcome::Passed,
            Outcome::Degraded,
            Outcome::Passed,
        ];
        let states: Vec<Option<AlertState>> = seq
            .iter()
            .map(|o| book.observe(&p, &run(*o)).map(|t| t.to))
            .collect();
        assert_eq!(
            states,
            [
                None,
                None,
                None,
                None,
                Some(AlertState::Alarm),
                None,
                None,
                Some(AlertState::Ok),
                None
            ]
        );
    }

    #[test]
    fn the_state_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let p = policy(1, 1, 1);
        let mut book = AlertBook::open(Some(dir.path())).unwrap();
        assert!(book.observe(&p, &run(Outcome::Failed)).is_some());
        book.save(true).unwrap();
        let mut again = AlertBook::open(Some(dir.path())).unwrap();
        assert_eq!(again.state("c"), AlertState::Alarm);
        assert_eq!(
            again.observe(&p, &run(Outcome::Failed)),
            None,
            "no second ALARM"
        );
        assert_eq!(
            again.observe(&p, &run(Outcome::Passed)).map(|t| t.to),
            Some(AlertState::Ok)
        );
    }

    fn in_window(outcome: Outcome) -> Run {
        Run {
            maintenance: Some("weekly-db".into()),
            ..run(outcome)
        }
    }

    #[test]
    fn a_maintenance_window_changes_nothing_and_a_failure_through_it_counts_once_after() {
        let mut book = AlertBook::open(None).unwrap();
        let p = policy(2, 3, 1);
        for _ in 0..5 {
            assert_eq!(book.observe(&p, &in_window(Outcome::Failed)), None);
        }
        assert_eq!(book.state("c"), AlertState::Ok, "no ALARM in the window");
        assert_eq!(
            book.observe(&p, &run(Outcome::Failed)).map(|t| t.to),
            Some(AlertState::Alarm),
            "the window was the first failure, this run the second"
        );
        // In ALARM, a window does not clear it either.
        assert_eq!(book.observe(&p, &in_window(Outcome::Passed)), None);
        assert_eq!(book.state("c"), AlertState::Alarm);
        // A window whose last run passed holds nothing.
        let mut fresh = AlertBook::open(None).unwrap();
        fresh.observe(&p, &in_window(Outcome::Failed));
        fresh.observe(&p, &in_window(Outcome::Passed));
        assert_eq!(fresh.observe(&p, &run(Outcome::Failed)), None);
    }

    #[test]
    fn a_reminder_comes_when_remind_has_passed_since_the_channels_were_told() {
        let mut book = AlertBook::open(None).unwrap();
        let p = Alerting {
            remind: Some(Duration::from_secs(3600)),
            ..policy(1, 1, 1)
        };
        assert!(book.observe(&p, &run(Outcome::Failed)).is_some());
        assert_eq!(book.observe(&p, &run(Outcome::Failed)), None, "not yet");
        let hour_ago = SystemTime::now() - Duration::from_secs(3601);
        let e = book.entries.get_mut("c").unwrap();
        e.since = humantime::format_rfc3339_seconds(hour_ago - Duration::from_secs(60)).to_string();
        e.told = Some(humantime::format_rfc3339_seconds(hour_ago).to_string());
        let t = book.observe(&p, &run(Outcome::Errored)).unwrap();
        assert_eq!((t.from, t.to), (AlertState::Alarm, AlertState::Alarm));
        let r = t.reminder.unwrap();
        assert_eq!(r.failed_runs, 3);
        assert!(r.lasted >= Duration::from_secs(3660), "{:?}", r.lasted);
        assert_eq!(
            book.observe(&p, &run(Outcome::Failed)),
            None,
            "told again just now"
        );
        assert_eq!(
            book.observe(&p, &run(Outcome::Passed)).map(|t| t.to),
            Some(AlertState::Ok)
        );
        assert_eq!(
            book.observe(&p, &run(Outcome::Passed)),
            None,
            "no reminder while OK"
        );
    }
}
