//! Browser benchmark: one flow (open a page, fill a form, click, wait for the result, screenshot)
//! run by canary and by Playwright (playwright-core, same Debian Chromium) in one run.
//! Prints time per run and the runner's own resident memory (browser processes not counted).
//!
//!     (cd benches/browser && npm install) && cargo bench --bench browser     # CANARY_BENCH_RUNS=10

#[path = "../tests/support/certs.rs"]
#[allow(dead_code)]
mod certs;
#[path = "../tests/support/demo.rs"]
#[allow(dead_code)]
mod demo;
#[path = "../tests/support/server.rs"]
#[allow(dead_code)]
mod server;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn main() {
    let runs: usize = std::env::var("CANARY_BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let srv = server::Server::http(demo::handle);
    let base = srv.url("");
    println!("browser benchmark: the same login flow, {runs} runs each, Debian Chromium");
    let (canary_ms, canary_rss) = canary(&base, runs);
    report("canary (a fresh browser per run)", &canary_ms, canary_rss);
    for (mode, label) in [
        ("launch", "playwright (a fresh browser per run)"),
        ("context", "playwright (one browser, a new context per run)"),
    ] {
        match playwright(&base, runs, mode) {
            Some((ms, rss)) => {
                report(label, &ms, rss);
                println!(
                    "  canary / this: {:.2}x time per run (median)",
                    median(&canary_ms) / median(&ms)
                );
            }
            None => println!("{label}: not run (cd benches/browser && npm install)"),
        }
    }
}

fn report(label: &str, ms: &[f64], rss_kb: u64) {
    println!(
        "{label:50} median {:7.1} ms  min {:7.1} ms  runner RSS {:6.1} MB",
        median(ms),
        ms.iter().cloned().fold(f64::MAX, f64::min),
        rss_kb as f64 / 1024.0
    );
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// `canary run` with the flow every 5 s (time for the next run's browser to start between runs, as on
/// any real schedule); per-run durations from its log, RSS from /proc.
fn canary(base: &str, runs: usize) -> (Vec<f64>, u64) {
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "name: flow\nschedule: rate(5 seconds)\ntimeout: 30s\nbrowser:\n  steps:\n    - goto: {base}/login\n    - fill: {{ selector: '#email', value: demo@example.com }}\n    - fill: {{ selector: '#password', value: demo }}\n    - click: 'button[type=submit]'\n    - wait_for: {{ selector: .dashboard }}\n    - screenshot: done\n"
    );
    std::fs::write(dir.path().join("flow.yaml"), yaml).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_canary"))
        .args([
            "run",
            ".",
            "--log-format",
            "json",
            "--watch-interval",
            "0s",
            "--artifacts",
            "artifacts",
        ])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ms = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(runs as u64 * 10 + 30);
    for line in BufReader::new(child.stderr.take().unwrap())
        .lines()
        .map_while(Result::ok)
    {
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        if v["message"] == "run" {
            assert_eq!(v["outcome"], "passed", "{v}");
            ms.push(v["duration_ms"].as_f64().unwrap());
        }
        if ms.len() > runs || Instant::now() > deadline {
            break;
        }
    }
    let rss = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0);
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    // The first run pays for starting chromedriver; compare steady runs.
    (ms.into_iter().skip(1).collect(), rss)
}

/// The Playwright script; None when playwright-core is not installed.
fn playwright(base: &str, runs: usize, mode: &str) -> Option<(Vec<f64>, u64)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/browser");
    if !dir.join("node_modules/playwright-core").exists() {
        return None;
    }
    let out = Command::new("node")
        .arg("flow.mjs")
        .args([base, &(runs + 1).to_string(), mode])
        .current_dir(&dir)
        .output()
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    let ms: Vec<f64> = v["times"]
        .as_array()?
        .iter()
        .filter_map(|x| x.as_f64())
        .skip(1)
        .collect();
    Some((ms, v["rss"].as_u64()? / 1024))
}
