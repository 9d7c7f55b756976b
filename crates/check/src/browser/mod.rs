//! The browser check: actions in the attempt's Chromium session through WebDriver, with
//! screenshots of failures, page timings and the browser's console errors.

mod action;
mod driver;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fantoccini::Client;
use fantoccini::wd::WebDriverCompatibleCommand;
use serde_json::Value;

pub use action::Seen;
pub use driver::{DEBIAN_CHROMIUM, Driver, Session};

use super::Scope;
use crate::canary::Step;
use crate::canary::browser::{Action, BrowserCheck, describe};
use crate::run::{CheckError, ErrorKind, Outcome, PageTiming, Phases, StepRun};
use action::{Stop, perform};

/// Runs a browser step in the attempt's session (opened by the first browser step).
pub async fn run(step: &Step, check: &BrowserCheck, scope: &mut Scope) -> StepRun {
    let started = Instant::now();
    let deadline = step
        .timeout
        .map_or(scope.deadline, |t| scope.deadline.min(started + t));
    let mut out = StepRun::new(&step.name);
    let session = match session(scope, check.viewport, deadline).await {
        Ok(s) => s,
        Err(e) => {
            out.outcome = Outcome::Errored;
            out.error = Some(e);
            out.duration = started.elapsed();
            super::redact(&mut out, &scope.redactor);
            return out;
        }
    };
    let broken = act(&session.client, check, scope, deadline, &mut out).await;
    if !broken {
        collect_logs(&session.client, scope, &mut out).await;
        if out.outcome != Outcome::Passed {
            save_failure(&session.client, scope, &step.name, &mut out).await;
        }
        scope.browser = Some(session);
    } else {
        session.close().await;
    }
    out.duration = started.elapsed();
    super::redact(&mut out, &scope.redactor);
    out
}

/// The attempt's session, opened now if this is its first browser step.
async fn session(
    scope: &mut Scope,
    viewport: (u32, u32),
    deadline: Instant,
) -> Result<Session, CheckError> {
    if let Some(s) = scope.browser.take() {
        return Ok(s);
    }
    let Some(driver) = &scope.ctx.webdriver else {
        return Err(driver::browser_error(
            "no WebDriver: this runner was started without browser support".into(),
        ));
    };
    let left = deadline.saturating_duration_since(Instant::now());
    match tokio::time::timeout(left, driver.session(viewport, left)).await {
        Ok(s) => s,
        Err(_) => Err(CheckError::new(
            ErrorKind::Timeout,
            "timed out starting the browser",
        )),
    }
}

/// Performs the actions until one stops the step; true when the session can no longer be trusted.
async fn act(
    c: &Client,
    check: &BrowserCheck,
    scope: &mut Scope,
    deadline: Instant,
    out: &mut StepRun,
) -> bool {
    for a in &check.actions {
        let t0 = Instant::now();
        let done = match tokio::time::timeout_at(
            deadline.into(),
            perform(c, a, &scope.captures, &scope.seen),
        )
        .await
        {
            Ok(done) => done,
            Err(_) => {
                let msg = format!(
                    "timed out after {} during {}",
                    crate::assert::format_duration(t0.elapsed()),
                    describe(a)
                );
                out.outcome = Outcome::Errored;
                out.error = Some(CheckError::new(ErrorKind::Timeout, msg));
                return true;
            }
        };
        match done {
            Ok(done) => {
                out.assertions.extend(done.assertion);
                if let Some((name, png)) = done.screenshot {
                    save(scope, &format!("{name}.png"), &png, out);
                }
                if matches!(a, Action::Goto(_)) {
                    timing(c, out).await;
                }
            }
            Err(Stop::Failed(result)) => {
                out.assertions.push(result);
                out.outcome = Outcome::Failed;
                return false;
            }
            Err(Stop::Errored(e)) => {
                let gone = e.kind == ErrorKind::Browser;
                out.outcome = Outcome::Errored;
                out.error = Some(e);
                return gone;
            }
        }
    }
    false
}

/// Reads the page's URL and Navigation Timing into the step's URL, phases and page timings.
async fn timing(c: &Client, out: &mut StepRun) {
    let js = "const n = performance.getEntriesByType('navigation')[0]; if (!n) return [location.href]; return [location.href, n.domainLookupStart, n.domainLookupEnd, n.connectStart, n.secureConnectionStart, n.connectEnd, n.requestStart, n.responseStart, n.responseEnd, n.domContentLoadedEventEnd, n.loadEventEnd, n.responseStatus || 0];";
    let Ok(Value::Array(v)) = c.execute(js, Vec::new()).await else {
        return;
    };
    out.url = v.first().and_then(Value::as_str).map(str::to_string);
    let f: Vec<f64> = v
        .iter()
        .skip(1)
        .map(|x| x.as_f64().unwrap_or(0.0))
        .collect();
    let [
        dns0,
        dns1,
        con0,
        tls0,
        con1,
        req,
        resp0,
        resp1,
        dcl,
        load,
        status,
    ] = f[..]
    else {
        return;
    };
    let ms = |x: f64| Duration::from_secs_f64((x.max(0.0)) / 1000.0);
    let tls_start = if tls0 > 0.0 { tls0 } else { con1 };
    out.phases = Some(Phases {
        resolve: ms(dns1 - dns0),
        connect: ms(tls_start - con0),
        tls: ms(con1 - tls_start),
        processing: ms(resp0 - req),
        transfer: ms(resp1 - resp0),
        total: ms(load),
    });
    out.page = Some(PageTiming {
        ttfb: resp0,
        dom_content_loaded: dcl,
        load,
    });
    if status > 0.0 {
        out.status = Some(status as u16);
    }
}

/// chromedriver's log endpoint (`POST /session/{id}/se/log`): entries since the last read.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.into()))
    }
}

/// Moves the browser's new SEVERE log entries into the run's console errors and failed requests.
async fn collect_logs(c: &Client, scope: &mut Scope, out: &mut StepRun) {
    let Ok(Value::Array(entries)) = c.issue_cmd(BrowserLog).await else {
        return;
    };
    for e in entries.iter().filter(|e| e["level"] == "SEVERE") {
        let message = e["message"].as_str().unwrap_or_default().to_string();
        if e["source"] == "network" || message.contains("Failed to load resource") {
            scope.seen.failed_requests.push(message.clone());
        } else {
            scope.seen.console_errors.push(message.clone());
        }
        out.console.push(message);
    }
}

/// On failure: a screenshot and the page's HTML, named after the step.
async fn save_failure(c: &Client, scope: &Scope, step: &str, out: &mut StepRun) {
    if let Ok(Ok(png)) = tokio::time::timeout(Duration::from_secs(10), c.screenshot()).await {
        save(
            scope,
            &format!("{}-failure.png", file_name(step)),
            &png,
            out,
        );
    }
    if let Ok(Ok(html)) = tokio::time::timeout(Duration::from_secs(10), c.source()).await {
        let html = scope.redactor.apply(&html);
        save(
            scope,
            &format!("{}-failure.html", file_name(step)),
            html.as_bytes(),
            out,
        );
    }
}

/// Writes an artifact under `<artifacts>/<canary>/<run-id>/`.
fn save(scope: &Scope, name: &str, bytes: &[u8], out: &mut StepRun) {
    let dir = artifact_dir(&scope.ctx.artifacts, &scope.canary, &scope.run_id);
    let path = dir.join(file_name(name));
    match std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, bytes)) {
        Ok(()) => out.artifacts.push(path),
        Err(e) => tracing::error!(path = %path.display(), error = %e, "cannot save an artifact"),
    }
}

/// `<artifacts>/<canary>/<run-id>`.
pub fn artifact_dir(root: &Path, canary: &str, run_id: &str) -> PathBuf {
    root.join(file_name(canary)).join(run_id)
}

/// A name safe as a file name.
fn file_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}
