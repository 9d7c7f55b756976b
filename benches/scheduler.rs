//! Scheduler benchmark: `canary run` with 1,000 and 10,000 HTTP canaries against a local server.
//! Prints lateness p50/p99/max, CPU time per run, and resident memory idle and under load.
//!
//!     cargo bench --bench scheduler            # CANARY_BENCH_SECONDS=60 by default

#[path = "../tests/support/certs.rs"]
#[allow(dead_code)]
mod certs;
#[path = "../tests/support/server.rs"]
#[allow(dead_code)]
mod server;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use server::{Reply, Server};

fn main() {
    let seconds: u64 = std::env::var("CANARY_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let srv = Server::http(|_| Reply::text(200, "ok"));
    println!(
        "canary scheduler benchmark: {seconds} s of fire instants per case, local HTTP server"
    );
    println!(
        "{:>7} {:>9} {:>7} {:>9} {:>9} {:>9} {:>11} {:>9} {:>9}",
        "canaries",
        "schedule",
        "runs",
        "late p50",
        "late p99",
        "late max",
        "cpu/run",
        "rss idle",
        "rss load"
    );
    for (count, rate) in [(1_000, 10), (10_000, 60)] {
        let idle = idle_rss(count);
        let r = loaded(&srv, count, rate, seconds);
        println!(
            "{count:>7} {:>9} {:>7} {:>7.2}ms {:>7.2}ms {:>7.2}ms {:>9.3}ms {:>7.1}MB {:>7.1}MB",
            format!("{rate}s"),
            r.runs,
            r.lateness.value_at_quantile(0.5) as f64 / 1000.0,
            r.lateness.value_at_quantile(0.99) as f64 / 1000.0,
            r.lateness.max() as f64 / 1000.0,
            r.cpu_ms / r.runs.max(1) as f64,
            idle,
            r.rss_peak_mb,
        );
    }
}

/// Writes `count` canaries with this schedule into a fresh folder.
fn canaries(count: usize, schedule: &str, url: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..count {
        let yaml = format!(
            "name: c{i:05}\nschedule: {schedule}\ntimeout: 10s\nhttp:\n  url: {url}\n  assert: [ {{ status: 200 }} ]\n"
        );
        std::fs::write(dir.path().join(format!("c{i:05}.yaml")), yaml).unwrap();
    }
    dir
}

fn start(dir: &Path, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_canary"))
        .args([
            "run",
            ".",
            "--log-format",
            "json",
            "--watch-interval",
            "0s",
            "--max-concurrent",
            "64",
        ])
        .args(extra)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Resident memory with `count` canaries loaded and none due (they fire on 1 January).
fn idle_rss(count: usize) -> f64 {
    let dir = canaries(count, "cron(0 0 1 1 ? *)", "http://127.0.0.1:9/");
    let mut child = start(dir.path(), &[]);
    std::thread::sleep(Duration::from_secs(3));
    let rss = status_kb(child.id(), "VmRSS") as f64 / 1024.0;
    stop(&mut child);
    rss
}

struct Loaded {
    runs: u64,
    lateness: Histogram<u64>,
    cpu_ms: f64,
    rss_peak_mb: f64,
}

/// Runs `count` canaries every `rate` seconds, spread over the period, for `seconds`.
fn loaded(srv: &Server, count: usize, rate: u64, seconds: u64) -> Loaded {
    let dir = canaries(count, &format!("rate({rate} seconds)"), &srv.url("/"));
    let mut child = start(dir.path(), &["--spread", &format!("{rate}s")]);
    let lateness = Arc::new(Mutex::new(Histogram::<u64>::new(3).unwrap()));
    let runs = Arc::new(Mutex::new(0u64));
    let (lat, n, stderr) = (lateness.clone(), runs.clone(), child.stderr.take().unwrap());
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if let Some(ms) = v["lateness_ms"].as_f64() {
                let _ = lat.lock().unwrap().record((ms * 1000.0) as u64);
                *n.lock().unwrap() += 1;
            }
        }
    });
    let begin = Instant::now();
    let cpu_start = cpu_ms(child.id());
    std::thread::sleep(Duration::from_secs(seconds));
    let cpu = cpu_ms(child.id()) - cpu_start;
    let rss_peak_mb = status_kb(child.id(), "VmHWM") as f64 / 1024.0;
    let counted = *runs.lock().unwrap();
    stop(&mut child);
    let _ = begin;
    let lateness = lateness.lock().unwrap().clone();
    Loaded {
        runs: counted,
        lateness,
        cpu_ms: cpu,
        rss_peak_mb,
    }
}

fn stop(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

/// A `/proc/PID/status` field in kB.
fn status_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// User + system CPU time of a process, in milliseconds (from /proc/PID/stat, 100 ticks a second).
fn cpu_ms(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    ticks as f64 * 10.0
}
