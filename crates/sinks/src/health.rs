//! Liveness: the scheduler's heartbeat, kept in memory for `/healthz` and in a file for
//! `canary health` — the container health check that needs no network and no curl.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How often the scheduler beats.
pub const EVERY: Duration = Duration::from_secs(5);

/// The scheduler's heartbeat: beats while its loop turns.
#[derive(Debug, Default)]
pub struct Heartbeat {
    last_ms: AtomicU64,
    file: Option<PathBuf>,
}

impl Heartbeat {
    /// A heartbeat also written to `file` (its modification time is the beat).
    pub fn new(file: Option<PathBuf>) -> Heartbeat {
        Heartbeat {
            last_ms: AtomicU64::new(0),
            file,
        }
    }

    /// Records a beat now.
    pub fn beat(&self) {
        let now = SystemTime::now();
        self.last_ms.store(millis(now), Ordering::Relaxed);
        if let Some(path) = &self.file {
            let stamp = humantime::format_rfc3339_seconds(now).to_string();
            if let Err(e) = crate::delivery::write_atomically(path, stamp.as_bytes()) {
                tracing::warn!(file = %path.display(), error = %e, "cannot write the heartbeat file");
            }
        }
    }

    /// How long ago the last beat was; None before the first.
    pub fn age(&self) -> Option<Duration> {
        match self.last_ms.load(Ordering::Relaxed) {
            0 => None,
            ms => Some(Duration::from_millis(
                millis(SystemTime::now()).saturating_sub(ms),
            )),
        }
    }
}

fn millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64
}

/// Why a heartbeat file does not show a healthy scheduler.
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    /// There is no heartbeat file: nothing to judge by.
    #[error(
        "no heartbeat file at {path}: `canary run` writes one only with --heartbeat {path} (the \
         image's default); outside a container, give `canary health --heartbeat FILE` the file \
         your `canary run --heartbeat FILE` writes",
        path = .0.display()
    )]
    Missing(PathBuf),
    /// The file is there but cannot be read.
    #[error("cannot read the heartbeat file {path}: {1}", path = .0.display())]
    Unreadable(PathBuf, std::io::Error),
    /// The scheduler has not beaten for too long.
    #[error(
        "unhealthy: the scheduler last beat {}s ago (at most {}s allowed): it is stuck or stopped",
        .age.as_secs(),
        .max_age.as_secs()
    )]
    Stale {
        /// Since the last beat.
        age: Duration,
        /// The most allowed.
        max_age: Duration,
    },
}

/// Checks a heartbeat file: Ok(age) when it beat within `max_age`, else why not.
pub fn check_file(path: &Path, max_age: Duration) -> Result<Duration, HealthError> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => HealthError::Missing(path.to_path_buf()),
        _ => HealthError::Unreadable(path.to_path_buf(), e),
    })?;
    let modified = meta
        .modified()
        .map_err(|e| HealthError::Unreadable(path.to_path_buf(), e))?;
    let age = SystemTime::now()
        .duration_since(modified)
        .unwrap_or_default();
    if age > max_age {
        return Err(HealthError::Stale { age, max_age });
    }
    Ok(age)
}
