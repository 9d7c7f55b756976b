//! The kinds beyond HTTP and the browser — tcp, dns, tls, websocket, grpc — each passing and
//! failing both ways against real servers on loopback, errors classified within their timeout,
//! and CloudWatch Synthetics multi-check configurations imported and run against the same.

#[path = "../support/mod.rs"]
mod support;

mod dns;
mod grpc;
mod import;
mod tcp;
mod tls;
mod websocket;

use std::time::{Duration, Instant};

use canary::config::{self, LoadOptions};
use canary::run::{ErrorKind, Outcome, Run, StepRun};

/// A canary file in a folder of its own (with any other files it names).
pub struct Canary {
    pub dir: tempfile::TempDir,
}

impl Canary {
    /// `yaml` as `c.yaml`, beside `files`.
    pub fn new(yaml: &str, files: &[(&str, &str)]) -> Canary {
        let mut all = vec![("c.yaml", yaml)];
        all.extend_from_slice(files);
        Canary {
            dir: support::canary_dir(&all),
        }
    }

    /// The compiled canary, or the config errors as text.
    pub fn load(&self) -> Result<canary::canary::Canary, String> {
        let opts = LoadOptions::default();
        config::load(&[self.dir.path().join("c.yaml")], &opts)
            .map(|mut c| c.remove(0))
            .map_err(|e| e.to_string())
    }

    /// One run, and how long it took.
    pub async fn run(&self) -> (Run, Duration) {
        let c = self.load().unwrap_or_else(|e| panic!("{e}"));
        let t = Instant::now();
        let run = canary::runner::run_canary(&c, &Default::default()).await;
        (run, t.elapsed())
    }
}

/// Runs `yaml` once.
pub async fn run(yaml: &str) -> Run {
    Canary::new(yaml, &[]).run().await.0
}

/// The config errors of `yaml`, as the user sees them.
pub fn errors(yaml: &str) -> String {
    match Canary::new(yaml, &[]).load() {
        Ok(_) => panic!("expected config errors in:\n{yaml}"),
        Err(e) => e,
    }
}

/// The last attempt's first step.
pub fn step(r: &Run) -> &StepRun {
    &r.last().steps[0]
}

/// The step passed; else the report says why not.
pub fn passed(r: &Run) {
    assert_eq!(r.outcome(), Outcome::Passed, "{}", report(r));
}

/// The step failed an assertion named `subject`, which got `actual` (a part of it).
pub fn failed_on(r: &Run, subject: &str, actual: &str) {
    assert_eq!(r.outcome(), Outcome::Failed, "{}", report(r));
    let s = step(r);
    let bad: Vec<_> = s.assertions.iter().filter(|a| !a.passed).collect();
    assert!(
        bad.iter()
            .any(|a| a.subject == subject && a.actual.contains(actual)),
        "expected `{subject}` to fail with `{actual}`:\n{}",
        report(r)
    );
}

/// The step errored with `kind`, its message containing `text`.
pub fn errored(r: &Run, kind: ErrorKind, text: &str) {
    let s = step(r);
    let e = s
        .error
        .as_ref()
        .unwrap_or_else(|| panic!("no error:\n{}", report(r)));
    assert_eq!(
        (s.outcome, e.kind),
        (Outcome::Errored, kind),
        "{}",
        report(r)
    );
    assert!(e.message.contains(text), "`{}` lacks `{text}`", e.message);
}

/// A timeout error that came within the step's `timeout` plus a small margin.
pub fn timed_out_within(r: &Run, took: Duration, timeout: Duration) {
    errored(r, ErrorKind::Timeout, "timed out");
    assert!(
        took < timeout + Duration::from_millis(1500),
        "took {took:?} for a {timeout:?} timeout"
    );
    assert!(
        took >= timeout - Duration::from_millis(50),
        "gave up early: {took:?}"
    );
}

/// The run as the JSON report shows it.
pub fn report(r: &Run) -> String {
    canary::report::json::render(std::slice::from_ref(r))
}

/// Start-up warms TLS (tens of milliseconds of entropy seeding) only for canaries that speak it.
#[test]
fn only_canaries_that_speak_tls_need_its_warm_up() {
    let speaks = |body: &str| {
        Canary::new(&format!("name: t\n{body}\n"), &[])
            .load()
            .unwrap_or_else(|e| panic!("{e}"))
            .uses_tls()
    };
    assert!(!speaks("http: { url: 'http://127.0.0.1:1/' }"));
    assert!(!speaks("dns: { name: a.test, server: 127.0.0.1 }"));
    assert!(!speaks("tcp: { host: 127.0.0.1, port: 1 }"));
    assert!(!speaks("websocket: { url: 'ws://127.0.0.1:1/' }"));
    assert!(!speaks("grpc: { address: '127.0.0.1:1' }"));
    assert!(speaks("http: { url: 'https://127.0.0.1:1/' }"));
    assert!(speaks("tcp: { host: 127.0.0.1, port: 1, tls: true }"));
    assert!(speaks("tls: { host: 127.0.0.1 }"));
    assert!(speaks("websocket: { url: 'wss://127.0.0.1:1/' }"));
    assert!(speaks("grpc: { address: '127.0.0.1:1', tls: true }"));
    // A URL known only at run time may be HTTPS.
    assert!(speaks(
        "steps:\n  - { name: a, http: { url: 'http://127.0.0.1:1/' }, capture: { u: { header: location } } }\n  - { name: b, http: { url: '${u}' } }"
    ));
}
