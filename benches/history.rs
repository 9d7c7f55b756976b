//! `canary history` over a large archive: writes one million run records (10 canaries, one run a
//! minute each for ~69 days, realistic one-step records) once, then times `canary history` on it
//! and, when DuckDB is in .venv-ci, the README's availability and percentile queries on the same
//! files.
//!
//!     cargo bench --bench history              # CANARY_BENCH_RECORDS=1000000 by default

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn main() {
    let records: usize = std::env::var("CANARY_BENCH_RECORDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join(format!("bench-archive-{records}"));
    if !root.join(".complete").exists() {
        let t = Instant::now();
        write_archive(&root, records);
        println!(
            "wrote {records} records in {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }
    let bytes = size(&root);
    println!(
        "archive: {records} records, {:.0} MB, {}",
        bytes as f64 / 1e6,
        root.display()
    );
    let canary = PathBuf::from(env!("CARGO_BIN_EXE_canary"));
    let mut times = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let out = Command::new(&canary)
            .arg("history")
            .arg(&root)
            .output()
            .expect("run canary history");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "canary history: best {:.2} s, median {:.2} s ({:.0} records/s)",
        times[0].as_secs_f64(),
        times[1].as_secs_f64(),
        records as f64 / times[1].as_secs_f64()
    );
    if let Some(t) = duckdb(&root) {
        println!(
            "DuckDB (availability per day + p50/p99 per week, same files): {:.2} s  → canary history is {:.1}× its time",
            t.as_secs_f64(),
            times[1].as_secs_f64() / t.as_secs_f64()
        );
    }
}

/// One record per line, as canary writes them (one HTTP step, one assertion).
fn write_archive(root: &Path, records: usize) {
    let _ = std::fs::remove_dir_all(root);
    let canaries = 10;
    let start = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .unwrap()
        .to_utc();
    let per_canary = records / canaries;
    for c in 0..canaries {
        let name = format!("bench-{c}");
        let mut file: Option<(PathBuf, std::io::BufWriter<std::fs::File>)> = None;
        for i in 0..per_canary {
            let at = start + chrono::Duration::minutes(i as i64);
            let rel = format!(
                "canary={name}/date={}/{}.jsonl",
                at.format("%Y-%m-%d"),
                at.format("%H")
            );
            let path = root.join(rel);
            if file.as_ref().is_none_or(|(p, _)| *p != path) {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                let f = std::fs::File::create(&path).unwrap();
                file = Some((path, std::io::BufWriter::new(f)));
            }
            let w = &mut file.as_mut().unwrap().1;
            writeln!(w, "{}", record(&name, at, i)).unwrap();
        }
    }
    std::fs::write(root.join(".complete"), "").unwrap();
}

fn record(name: &str, at: chrono::DateTime<chrono::Utc>, i: usize) -> String {
    let stamp = at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let failed = i.is_multiple_of(97);
    let (outcome, status, reason) = if failed {
        (
            "failed",
            503,
            format!("\"step {name}: status expected 200, got 503\""),
        )
    } else {
        ("passed", 200, "null".to_string())
    };
    let ms = 20.0 + (i % 50) as f64 * 1.7;
    format!(
        r#"{{"record":"run","schema":1,"name":"{name}","file":"canaries/{name}.yaml","outcome":"{outcome}","attempts":1,"flaky":false,"started_at":"{stamp}","duration_ms":{ms},"steps":[{{"name":"{name}","outcome":"{outcome}","url":"https://example.com/{name}","status":{status},"redirects":0,"duration_ms":{ms},"phases_ms":{{"resolve":1.2,"connect":3.4,"tls":6.1,"processing":8.0,"transfer":0.3,"total":{ms}}},"assertions":[{{"subject":"status","passed":{},"expected":"200","actual":"{status}"}}],"error":null,"artifacts":[],"console":[],"page_ms":null,"http_version":"HTTP/1.1","tls":null}}],"retried":[],"reason":{reason},"error_kind":null,"dimensions":{{}},"file_sha256":"076b205e99b7ec76c56e0e70f4a94fcfbf9c561f63719ed58ac10116d2e38515","runner":{{"host":"bench","version":"0.1.0"}}}}"#,
        !failed
    )
}

fn size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                size(&p)
            } else {
                e.metadata().map_or(0, |m| m.len())
            }
        })
        .sum()
}

/// DuckDB's time for two of the README's queries over the archive, when DuckDB is installed.
fn duckdb(root: &Path) -> Option<Duration> {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-ci/bin/python");
    if !python.exists() {
        println!("DuckDB: not installed (scripts/tools installs it into .venv-ci)");
        return None;
    }
    let glob = format!("{}/canary=*/date=*/*.jsonl", root.display());
    let script = format!(
        "import duckdb\ncon = duckdb.connect()\n\
         con.execute(\"CREATE VIEW runs AS SELECT * FROM read_json('{glob}', hive_partitioning = true, columns = {{name: 'VARCHAR', outcome: 'VARCHAR', started_at: 'TIMESTAMP', duration_ms: 'DOUBLE', flaky: 'BOOLEAN'}})\")\n\
         con.execute(\"SELECT canary, date, count(*), count(*) FILTER (WHERE outcome IN ('passed','degraded')) FROM runs GROUP BY ALL\").fetchall()\n\
         con.execute(\"SELECT canary, date_trunc('week', started_at), quantile_disc(duration_ms, 0.5), quantile_disc(duration_ms, 0.99) FROM runs GROUP BY ALL\").fetchall()\n"
    );
    let t = Instant::now();
    let out = Command::new(python).args(["-c", &script]).output().ok()?;
    if !out.status.success() {
        println!("DuckDB failed: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    Some(t.elapsed())
}
