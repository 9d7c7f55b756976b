//! `canary history`: per canary, from a local archive — runs, availability, failures and errors
//! by kind, flaky passes, duration percentiles, the longest outage, the last failure, and the
//! availability of each day. Files are read in parallel; only the partitions asked for are opened.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::layout;

/// What to summarise.
#[derive(Debug, Clone)]
pub struct Query {
    /// Only runs that started at or after this.
    pub since: Option<DateTime<Utc>>,
    /// Only this canary.
    pub canary: Option<String>,
}

/// Why the archive cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The folder cannot be read.
    #[error("archive {path}: {1}", path = .0.display())]
    Folder(PathBuf, std::io::Error),
    /// `--canary` names a canary the archive has no runs of.
    #[error("no canary `{name}` in the archive{hint}", hint = unknown_hint(.name, .known))]
    UnknownCanary {
        /// The name asked for.
        name: String,
        /// The canaries the archive has, sorted.
        known: Vec<String>,
    },
}

/// ": did you mean `x`? (canaries there: a, b)" for an unknown `name` among `known`.
fn unknown_hint(name: &str, known: &[String]) -> String {
    if known.is_empty() {
        return " (it holds no canary's runs yet)".into();
    }
    let close = known
        .iter()
        .map(|k| (strsim::jaro_winkler(name, k), k))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let mean = close.map_or(String::new(), |(_, k)| format!(": did you mean `{k}`?"));
    format!("{mean} (canaries there: {})", known.join(", "))
}

/// One canary's history.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CanaryHistory {
    /// The canary.
    pub canary: String,
    /// Runs.
    pub runs: u64,
    /// Runs that passed (degraded ones included).
    pub passed: u64,
    /// Runs that passed degraded.
    pub degraded: u64,
    /// Runs whose assertions failed.
    pub failed: u64,
    /// Runs that errored, by error kind (`timeout`, `refused`…).
    pub errored: BTreeMap<String, u64>,
    /// Runs that passed only after a retry.
    pub flaky: u64,
    /// passed / runs, in percent.
    pub availability: f64,
    /// Run duration percentiles (nearest rank), in milliseconds.
    pub duration_ms: Percentiles,
    /// The longest stretch of runs that did not pass.
    pub longest_outage: Option<Outage>,
    /// The last run that did not pass.
    pub last_failure: Option<Failure>,
    /// Availability per UTC day, oldest first.
    pub daily: Vec<Day>,
}

/// Duration percentiles.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 90th.
    pub p90: f64,
    /// 99th.
    pub p99: f64,
}

/// An outage: consecutive runs that did not pass.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Outage {
    /// When the first of them started.
    pub start: String,
    /// When the next passing run started (None: still going).
    pub end: Option<String>,
    /// How many runs did not pass.
    pub runs: u64,
    /// From start to end (to the last failing run, while still going), in seconds.
    pub seconds: f64,
}

/// A failed or errored run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Failure {
    /// When it started.
    pub at: String,
    /// `failed` or `errored`.
    pub outcome: String,
    /// Why.
    pub reason: Option<String>,
}

/// One day's availability.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Day {
    /// The UTC date (YYYY-MM-DD).
    pub date: String,
    /// Runs that day.
    pub runs: u64,
    /// passed / runs, in percent.
    pub availability: f64,
}

/// The fields of a run record history reads.
#[derive(Deserialize)]
struct Line<'a> {
    #[serde(default)]
    record: Option<&'a str>,
    name: String,
    outcome: &'a str,
    #[serde(default)]
    flaky: bool,
    started_at: &'a str,
    duration_ms: f64,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    error_kind: Option<&'a str>,
}

/// A run, as history keeps it.
struct Mini {
    at: DateTime<Utc>,
    outcome: Outcome,
    flaky: bool,
    duration_ms: f64,
    reason: Option<String>,
    error_kind: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Passed,
    Degraded,
    Failed,
    Errored,
}

impl Outcome {
    fn parse(s: &str) -> Option<Outcome> {
        Some(match s {
            "passed" => Outcome::Passed,
            "degraded" => Outcome::Degraded,
            "failed" => Outcome::Failed,
            "errored" => Outcome::Errored,
            _ => return None,
        })
    }

    fn is_pass(self) -> bool {
        matches!(self, Outcome::Passed | Outcome::Degraded)
    }
}

/// Reads the archive at `root` and summarises each canary, by name.
pub fn read(root: &Path, q: &Query) -> Result<Vec<CanaryHistory>, HistoryError> {
    let files = files(root, q)?;
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = files.len().div_ceil(threads).max(1);
    let parts: Vec<BTreeMap<String, Vec<Mini>>> = std::thread::scope(|s| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|c| s.spawn(move || parse_files(c, q)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut all: BTreeMap<String, Vec<Mini>> = BTreeMap::new();
    for part in parts {
        for (name, mut runs) in part {
            all.entry(name).or_default().append(&mut runs);
        }
    }
    Ok(all.into_iter().map(|(n, r)| summarise(n, r)).collect())
}

/// The hourly files of the partitions the query needs.
fn files(root: &Path, q: &Query) -> Result<Vec<PathBuf>, HistoryError> {
    let list = |dir: &Path| -> Result<Vec<PathBuf>, HistoryError> {
        let rd = std::fs::read_dir(dir).map_err(|e| HistoryError::Folder(dir.to_path_buf(), e))?;
        Ok(rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
    };
    let first_day = q.since.map(|t| t.date_naive());
    let mut out = Vec::new();
    let canaries = list(root)?;
    if let Some(wanted) = &q.canary {
        let mut known: Vec<String> = canaries
            .iter()
            .filter_map(|c| c.file_name()?.to_str()?.strip_prefix("canary="))
            .map(layout::unescape)
            .collect();
        if !known.contains(wanted) {
            known.sort();
            return Err(HistoryError::UnknownCanary {
                name: wanted.clone(),
                known,
            });
        }
    }
    for canary in canaries {
        let name = canary.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let Some(value) = name.strip_prefix("canary=") else {
            continue;
        };
        if q.canary
            .as_ref()
            .is_some_and(|c| *c != layout::unescape(value))
        {
            continue;
        }
        for day in list(&canary)? {
            let dname = day.file_name().and_then(|n| n.to_str()).unwrap_or("");
            match layout::date_of(dname) {
                Some(d) if first_day.is_none_or(|f| d >= f) => {}
                _ => continue,
            }
            let hours = list(&day)?;
            out.extend(
                hours
                    .into_iter()
                    .filter(|p| p.extension().is_some_and(|e| e == "jsonl")),
            );
        }
    }
    Ok(out)
}

fn parse_files(files: &[PathBuf], q: &Query) -> BTreeMap<String, Vec<Mini>> {
    let mut out: BTreeMap<String, Vec<Mini>> = BTreeMap::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(file) else {
            tracing::warn!(file = %file.display(), "cannot read an archive file; skipped");
            continue;
        };
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let Some((name, mini)) = parse_line(line) else {
                tracing::warn!(file = %file.display(), "a line that is not a run record; skipped");
                continue;
            };
            if q.since.is_none_or(|s| mini.at >= s) {
                out.entry(name).or_default().push(mini);
            }
        }
    }
    out
}

fn parse_line(line: &str) -> Option<(String, Mini)> {
    let l: Line = serde_json::from_str(line).ok()?;
    if l.record.is_some_and(|r| r != "run") {
        return None;
    }
    let outcome = Outcome::parse(l.outcome)?;
    let at = DateTime::parse_from_rfc3339(l.started_at).ok()?.to_utc();
    let failing = !outcome.is_pass();
    let mini = Mini {
        at,
        outcome,
        flaky: l.flaky,
        duration_ms: l.duration_ms,
        reason: l.reason.filter(|_| failing),
        error_kind: l.error_kind.map(str::to_string),
    };
    Some((l.name, mini))
}

fn summarise(canary: String, mut runs: Vec<Mini>) -> CanaryHistory {
    runs.sort_by_key(|r| r.at);
    let count = |f: fn(&Mini) -> bool| runs.iter().filter(|r| f(r)).count() as u64;
    let passed = count(|r| r.outcome.is_pass());
    let mut errored = BTreeMap::new();
    for r in runs.iter().filter(|r| r.outcome == Outcome::Errored) {
        let kind = r.error_kind.clone().unwrap_or_else(|| "other".into());
        *errored.entry(kind).or_insert(0) += 1;
    }
    CanaryHistory {
        runs: runs.len() as u64,
        passed,
        degraded: count(|r| r.outcome == Outcome::Degraded),
        failed: count(|r| r.outcome == Outcome::Failed),
        errored,
        flaky: count(|r| r.flaky),
        availability: percent(passed, runs.len() as u64),
        duration_ms: percentiles(runs.iter().map(|r| r.duration_ms).collect()),
        longest_outage: longest_outage(&runs),
        last_failure: runs
            .iter()
            .rev()
            .find(|r| !r.outcome.is_pass())
            .map(|r| Failure {
                at: stamp(r.at),
                outcome: if r.outcome == Outcome::Failed {
                    "failed"
                } else {
                    "errored"
                }
                .into(),
                reason: r.reason.clone(),
            }),
        daily: daily(&runs),
        canary,
    }
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    (part as f64 * 100.0 / whole as f64 * 1000.0).round() / 1000.0
}

/// Nearest-rank percentiles (the value at rank ⌈p·n⌉), as DuckDB's `quantile_disc` gives them.
fn percentiles(mut d: Vec<f64>) -> Percentiles {
    if d.is_empty() {
        return Percentiles::default();
    }
    d.sort_by(f64::total_cmp);
    let at = |p: f64| d[((p * d.len() as f64).ceil() as usize).clamp(1, d.len()) - 1];
    Percentiles {
        p50: at(0.5),
        p90: at(0.9),
        p99: at(0.99),
    }
}

fn longest_outage(runs: &[Mini]) -> Option<Outage> {
    let mut best: Option<Outage> = None;
    let mut i = 0;
    while i < runs.len() {
        if runs[i].outcome.is_pass() {
            i += 1;
            continue;
        }
        let start = i;
        while i < runs.len() && !runs[i].outcome.is_pass() {
            i += 1;
        }
        let end = runs.get(i).map(|r| r.at);
        let until = end.unwrap_or(runs[i - 1].at);
        let seconds = (until - runs[start].at).num_milliseconds() as f64 / 1000.0;
        let outage = Outage {
            start: stamp(runs[start].at),
            end: end.map(stamp),
            runs: (i - start) as u64,
            seconds,
        };
        if best.as_ref().is_none_or(|b| outage.seconds > b.seconds) {
            best = Some(outage);
        }
    }
    best
}

fn daily(runs: &[Mini]) -> Vec<Day> {
    let mut days: BTreeMap<NaiveDate, (u64, u64)> = BTreeMap::new();
    for r in runs {
        let d = days.entry(r.at.date_naive()).or_default();
        d.0 += 1;
        d.1 += u64::from(r.outcome.is_pass());
    }
    days.into_iter()
        .map(|(date, (runs, passed))| Day {
            date: date.to_string(),
            runs,
            availability: percent(passed, runs),
        })
        .collect()
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The history as a table for the terminal, one block per canary.
pub fn render(histories: &[CanaryHistory]) -> String {
    let mut out = String::new();
    for h in histories {
        out += &render_one(h);
    }
    if histories.is_empty() {
        out += "no runs in the archive for this query\n";
    }
    out
}

fn render_one(h: &CanaryHistory) -> String {
    let errors: Vec<String> = h.errored.iter().map(|(k, n)| format!("{k} {n}")).collect();
    let errored: u64 = h.errored.values().sum();
    let mut out = format!(
        "{}\n  runs {}  availability {:.3}%  {}\n  passed {} (degraded {}, flaky {})  failed {}  errored {}{}\n  duration p50 {} ms  p90 {} ms  p99 {} ms\n",
        h.canary,
        h.runs,
        h.availability,
        sparkline(&h.daily),
        h.passed,
        h.degraded,
        h.flaky,
        h.failed,
        errored,
        if errors.is_empty() {
            String::new()
        } else {
            format!(" ({})", errors.join(", "))
        },
        h.duration_ms.p50,
        h.duration_ms.p90,
        h.duration_ms.p99,
    );
    if let Some(o) = &h.longest_outage {
        let end = o.end.as_deref().unwrap_or("still going");
        out += &format!(
            "  longest outage {}, {:.0} s: {} → {end}\n",
            crate::report::count(o.runs as usize, "run", "runs"),
            o.seconds,
            o.start
        );
    }
    if let Some(f) = &h.last_failure {
        let reason = f.reason.as_deref().unwrap_or("no reason recorded");
        out += &format!("  last failure {} ({}): {reason}\n", f.at, f.outcome);
    }
    out
}

/// One block character per day, from ▁ (0 %) to █ (100 %).
pub fn sparkline(days: &[Day]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    days.iter()
        .map(|d| BARS[((d.availability / 100.0) * 7.0).round().clamp(0.0, 7.0) as usize])
        .collect()
}
