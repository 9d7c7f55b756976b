//! The S3 archive: each canary's records of a flush interval become one object
//! (`<prefix>/canary=<name>/date=D/HH-<host>-<ms>.jsonl`), spooled first, then uploaded in
//! order by a task that retries while S3 is down and resumes from the spool after a restart.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::layout;
use super::spool::{Entry, Spool};
use super::writer::Store;

/// Where in S3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The bucket.
    pub bucket: String,
    /// The key prefix (no leading or trailing `/`; may be empty).
    pub prefix: String,
}

impl Location {
    /// `s3://bucket/prefix`.
    pub fn parse(url: &str) -> Option<Location> {
        let rest = url.strip_prefix("s3://")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        (!bucket.is_empty()).then(|| Location {
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
        })
    }

    fn key(&self, rel: &str) -> String {
        if self.prefix.is_empty() {
            rel.to_string()
        } else {
            format!("{}/{rel}", self.prefix)
        }
    }
}

/// The writer's store for S3: each hourly file's records are appended to a file in the spool's
/// `open/` folder (fsynced with every sync, so a crash loses nothing), and every `flush_every`
/// each becomes one waiting object. Files left open by a crash become objects at the next start.
pub struct Batches {
    spool: Spool,
    open_dir: PathBuf,
    host: String,
    open: BTreeMap<PathBuf, File>,
    flush_every: Duration,
    flushed: Instant,
    wake: Arc<Notify>,
}

impl Batches {
    /// Gathers in `spool`; `host` goes into object names so runners never overwrite each other.
    pub fn new(
        spool: Spool,
        host: &str,
        flush_every: Duration,
        wake: Arc<Notify>,
    ) -> std::io::Result<Batches> {
        let open_dir = spool.dir().join("open");
        std::fs::create_dir_all(&open_dir)?;
        let mut b = Batches {
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
        if !self.open.contains_key(rel) {
            let path = self.open_dir.join(layout::escape(&rel.to_string_lossy()));
            let file = OpenOptions::new().create(true).append(true).open(path)?;
            self.open.insert(rel.to_path_buf(), file);
        }
        let mut file = &self.open[rel];
        file.write_all(line)
    }

    /// Every open file becomes a waiting object.
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
        if let Err(e) = self.spool.put_file(&rel.to_string_lossy(), src) {
            tracing::warn!(artifact = %src.display(), error = %e, "cannot spool an artifact for S3");
        }
        self.wake.notify_one();
    }

    fn sync(&mut self) {
        for (rel, file) in &self.open {
            if let Err(e) = file.sync_data() {
                tracing::error!(file = %rel.display(), error = %e, "archive spool fsync failed");
            }
        }
        if self.flushed.elapsed() >= self.flush_every {
            self.commit_all();
        }
    }

    fn close(&mut self) {
        self.flushed = Instant::now() - self.flush_every;
        self.sync();
    }
}

/// Uploads the spool's objects, oldest first.
pub struct Uploader {
    client: aws_sdk_s3::Client,
    location: Location,
    spool: Spool,
}

/// What an upload pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    /// Objects uploaded.
    pub uploaded: usize,
    /// Objects still waiting.
    pub waiting: usize,
}

impl Uploader {
    /// An uploader of `spool`'s objects to `location`.
    pub fn new(client: aws_sdk_s3::Client, location: Location, spool: Spool) -> Uploader {
        Uploader {
            client,
            location,
            spool,
        }
    }

    /// Uploads what waits, in order, stopping at the first failure.
    pub async fn pass(&self) -> Result<Pass, String> {
        let pending = self.spool.pending().map_err(|e| e.to_string())?;
        let mut pass = Pass {
            uploaded: 0,
            waiting: pending.len(),
        };
        for entry in pending {
            self.upload(&entry).await?;
            pass.uploaded += 1;
            pass.waiting -= 1;
        }
        Ok(pass)
    }

    async fn upload(&self, entry: &Entry) -> Result<(), String> {
        let key = entry.key().map_err(|e| e.to_string())?;
        let body = aws_sdk_s3::primitives::ByteStream::from_path(entry.body())
            .await
            .map_err(|e| e.to_string())?;
        let content_type = if key.ends_with(".jsonl") {
            "application/x-ndjson"
        } else {
            "application/octet-stream"
        };
        self.client
            .put_object()
            .bucket(&self.location.bucket)
            .key(self.location.key(&key))
            .content_type(content_type)
            .body(body)
            .send()
            .await
            .map_err(|e| format!("{}", aws_sdk_s3::error::DisplayErrorContext(e)))?;
        entry.remove().map_err(|e| e.to_string())
    }

    async fn last_pass(&self) -> Pass {
        self.pass().await.unwrap_or_else(|e| {
            let waiting = self.spool.pending().map_or(0, |p| p.len());
            tracing::warn!(error = %e, waiting, "S3 archive unreachable at exit: records stay in the spool for the next start");
            Pass { uploaded: 0, waiting }
        })
    }

    /// Uploads whenever woken (and every `retry` while objects wait), until `stop` is notified;
    /// then one last pass.
    pub async fn run(self, wake: Arc<Notify>, stop: Arc<Notify>, retry: Duration) -> Pass {
        let mut failing = false;
        loop {
            let last = match self.pass().await {
                Ok(p) => {
                    if failing {
                        tracing::info!(uploaded = p.uploaded, "S3 archive reachable again");
                    }
                    failing = false;
                    p
                }
                Err(e) => {
                    if !failing {
                        tracing::warn!(error = %e, "S3 archive upload failed; records wait in the spool");
                    }
                    failing = true;
                    Pass::default()
                }
            };
            let idle = !failing && last.waiting == 0;
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(retry), if !idle => {}
                _ = stop.notified() => return self.last_pass().await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse() {
        let l = Location::parse("s3://b/runs/prod/").unwrap();
        assert_eq!((l.bucket.as_str(), l.prefix.as_str()), ("b", "runs/prod"));
        assert_eq!(l.key("x.jsonl"), "runs/prod/x.jsonl");
        assert_eq!(Location::parse("s3://b").unwrap().key("x"), "x");
        assert_eq!(Location::parse("s3:///x"), None);
        assert_eq!(Location::parse("/tmp/x"), None);
    }
}
