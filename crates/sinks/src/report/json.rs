//! The JSON report: a stable, documented document of every run (`--json FILE`).

use serde::Serialize;

use super::{Summary, millis};
use crate::observed::TlsSeen;
use crate::run::{AssertionResult, Attempt, CheckError, PageTiming, Run, StepRun};

/// The report's format version; bumped on any incompatible change.
pub const VERSION: u32 = 1;

#[derive(Serialize)]
struct Report<'a> {
    version: u32,
    summary: Summary,
    canaries: Vec<CanaryJson<'a>>,
}

/// One canary's entry of the report (also the body of an archived run record).
#[derive(Serialize)]
pub struct CanaryJson<'a> {
    name: &'a str,
    file: String,
    outcome: &'static str,
    attempts: usize,
    flaky: bool,
    started_at: String,
    duration_ms: f64,
    /// The maintenance window open when the run started (the run changed no alert state).
    #[serde(skip_serializing_if = "Option::is_none")]
    maintenance: Option<&'a str>,
    steps: Vec<StepJson<'a>>,
    retried: Vec<RetriedJson>,
}

#[derive(Serialize)]
struct RetriedJson {
    outcome: &'static str,
    duration_ms: f64,
    reason: Option<String>,
}

/// Phase durations in milliseconds, in wire order.
#[derive(Serialize)]
struct PhasesJson {
    resolve: f64,
    connect: f64,
    tls: f64,
    processing: f64,
    transfer: f64,
    total: f64,
}

#[derive(Serialize)]
struct StepJson<'a> {
    name: &'a str,
    outcome: &'static str,
    url: Option<&'a str>,
    status: Option<u16>,
    redirects: u32,
    duration_ms: f64,
    phases_ms: Option<PhasesJson>,
    /// Fetching an OAuth2 token, apart from the phases (absent when a kept one was used).
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_ms: Option<f64>,
    assertions: &'a [AssertionResult],
    error: Option<&'a CheckError>,
    artifacts: Vec<String>,
    console: &'a [String],
    page_ms: Option<&'a PageTiming>,
    http_version: Option<&'static str>,
    tls: Option<&'a TlsSeen>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dns: Option<&'a crate::observed::DnsSeen>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    received: &'a [String],
}

/// The JSON report of `runs`, pretty-printed.
pub fn render(runs: &[Run]) -> String {
    let report = Report {
        version: VERSION,
        summary: Summary::of(runs),
        canaries: runs.iter().map(canary).collect(),
    };
    serde_json::to_string_pretty(&report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// The report's entry for one run.
pub fn canary(run: &Run) -> CanaryJson<'_> {
    let (earlier, _) = run.attempts.split_at(run.attempts.len() - 1);
    CanaryJson {
        name: &run.canary,
        file: run.file.display().to_string(),
        outcome: run.outcome().as_str(),
        attempts: run.attempts.len(),
        flaky: run.flaky(),
        started_at: humantime::format_rfc3339_millis(run.started_at).to_string(),
        duration_ms: millis(run.duration),
        maintenance: run.maintenance.as_deref(),
        steps: run.last().steps.iter().map(step).collect(),
        retried: earlier.iter().map(retried).collect(),
    }
}

fn retried(a: &Attempt) -> RetriedJson {
    RetriedJson {
        outcome: a.outcome.as_str(),
        duration_ms: millis(a.duration),
        reason: a.reason(),
    }
}

fn step(s: &StepRun) -> StepJson<'_> {
    let phases_ms = s.phases.map(|p| PhasesJson {
        resolve: millis(p.resolve),
        connect: millis(p.connect),
        tls: millis(p.tls),
        processing: millis(p.processing),
        transfer: millis(p.transfer),
        total: millis(p.total),
    });
    StepJson {
        name: &s.name,
        outcome: s.outcome.as_str(),
        url: s.url.as_deref(),
        status: s.status,
        redirects: s.redirects,
        duration_ms: millis(s.duration),
        phases_ms,
        auth_ms: s.auth.map(millis),
        assertions: &s.assertions,
        error: s.error.as_ref(),
        artifacts: s
            .artifacts
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        console: &s.console,
        page_ms: s.page.as_ref(),
        http_version: s.http_version,
        tls: s.tls.as_ref(),
        dns: s.dns.as_ref(),
        received: &s.received,
    }
}
