//! Records gathered in the spool before an uploader sends them: appended to files in the spool's
//! `open/` folder (fsynced with every sync, so a crash loses nothing), and every `flush_every`
//! each file becomes one waiting entry. Files left open by a crash become entries at the next
//! start. For S3 there is one file per hourly partition file (one object each); for CloudWatch
//! Logs one file for everything.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::layout;
use super::spool::Spool;
use super::writer::Store;

/// The writer's store for an uploaded destination.
pub struct Batches {
    /// Keep each partition file apart (S3), or gather everything in one (Logs).
    by_file: bool,
    spool: Spool,
    open_dir: PathBuf,
    host: String,
    open: BTreeMap<PathBuf, File>,
    flush_every: Duration,
    flushed: Instant,
    wake: Arc<Notify>,
}

impl Batches {
    /// Gathers in `spool`, each partition file apart when `by_file`; `host` goes into entry
    /// keys so runners never overwrite each other.
    pub fn new(
        by_file: bool,
        spool: Spool,
        host: &str,
        flush_every: Duration,
        wake: Arc<Notify>,
    ) -> std::io::Result<Batches> {
        let open_dir = spool.dir().join("open");
        std::fs::create_dir_all(&open_dir)?;
        let mut b = Batches {
            by_file,
            spool,
            open_dir,
            host: layout::escape(host),
            open: BTreeMap::new(),
            flush_every,
            flushed: Instant::now(),
            wake,
        };
        b.commit_all();
        Ok(b)
    }

    fn append(&mut self, rel: &Path, line: &[u8]) -> std::io::Result<()> {
        let rel = if self.by_file {
            rel
        } else {
            Path::new("records.jsonl")
        };
        if !self.open.contains_key(rel) {
            let path = self.open_dir.join(layout::escape(&rel.to_string_lossy()));
            let file = OpenOptions::new().create(true).append(true).open(path)?;
            self.open.insert(rel.to_path_buf(), file);
        }
        let mut file = &self.open[rel];
        file.write_all(line)
    }

    fn fsync(&self) {
        for (rel, file) in &self.open {
            if let Err(e) = file.sync_data() {
                tracing::error!(file = %rel.display(), error = %e, "archive spool fsync failed");
            }
        }
    }

    /// Every open file becomes a waiting entry.
    fn commit_all(&mut self) {
        self.open.clear();
        self.flushed = Instant::now();
        let ms = chrono::Utc::now().timestamp_millis();
        let Ok(rd) = std::fs::read_dir(&self.open_dir) else {
            return;
        };
        for path in rd.filter_map(|e| e.ok().map(|e| e.path())) {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let rel = PathBuf::from(layout::unescape(name));
            let hour = rel.file_stem().and_then(|s| s.to_str()).unwrap_or("00");
            let object = format!("{hour}-{}-{ms}.jsonl", self.host);
            let key = rel.with_file_name(object).to_string_lossy().into_owned();
            if let Err(e) = self.spool.adopt(&key, &path) {
                tracing::error!(key, error = %e, "cannot spool archive records; they stay for the next try");
            }
        }
        self.wake.notify_one();
    }
}

impl Store for Batches {
    fn write(&mut self, rel: &Path, line: &[u8]) {
        if let Err(e) = self.append(rel, line) {
            tracing::error!(file = %rel.display(), error = %e, "cannot write archive records to the spool");
        }
    }

    fn copy(&mut self, src: &Path, rel: &Path) {
        if !self.by_file {
            return;
        }
        if let Err(e) = self.spool.put_file(&rel.to_string_lossy(), src) {
            tracing::warn!(artifact = %src.display(), error = %e, "cannot spool an artifact for S3");
        }
        self.wake.notify_one();
    }

    fn sync(&mut self) {
        self.fsync();
        if self.flushed.elapsed() >= self.flush_every {
            self.commit_all();
        }
    }

    fn close(&mut self) {
        self.fsync();
        self.commit_all();
    }
}
