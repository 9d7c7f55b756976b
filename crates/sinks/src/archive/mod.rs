//! The run history: every run (and every change to the monitoring itself) as one JSON record,
//! kept in an archive folder or in S3 in Hive-style partitions that query engines read as they
//! are, and summarised by `canary history`.

pub mod batches;
pub mod history;
pub mod layout;
pub mod local;
pub mod logs;
pub mod record;
pub mod s3;
pub mod spool;
pub mod tap;
pub mod upload;
pub mod writer;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, SystemTime};

use tokio::sync::Notify;

use crate::canary::Canary;
use crate::run::Run;
use record::{Audit, AuditRecord, CanaryRef, Identity, RunRecord};
use writer::Msg;

/// Where the archive is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A local folder.
    Dir(PathBuf),
    /// An S3 bucket and prefix.
    S3(s3::Location),
    /// A CloudWatch Logs group (artifacts stay where they are).
    Logs(logs::Group),
}

impl Target {
    /// `s3://bucket/prefix`, or a folder.
    pub fn parse(s: &str) -> Result<Target, String> {
        if s.starts_with("s3://") {
            return s3::Location::from_url(s).map(Target::S3);
        }
        if s.is_empty() {
            return Err("give a folder or s3://BUCKET/PREFIX".into());
        }
        Ok(Target::Dir(PathBuf::from(s)))
    }
}

/// How the archive behaves.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where.
    pub target: Target,
    /// Local archive: days older than this are removed (None: kept forever).
    pub retention: Option<Duration>,
    /// How often appended records are fsynced (at most this much is at risk in a crash).
    pub sync_every: Duration,
    /// S3 and Logs: the records of this interval are sent together (one object per canary in S3).
    pub flush_every: Duration,
    /// S3 and Logs: where records wait until sent (None: a temporary folder, lost on restart).
    pub spool: Option<PathBuf>,
    /// Another AWS endpoint (an emulator).
    pub endpoint_url: Option<String>,
    /// Who writes the records.
    pub identity: Identity,
}

/// Why the archive cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The folder (or the spool) cannot be created.
    #[error("archive folder {path}: {1}", path = .0.display())]
    Folder(PathBuf, std::io::Error),
    /// AWS cannot be reached.
    #[error(transparent)]
    Aws(#[from] crate::aws::AwsError),
    /// The writer thread cannot be started.
    #[error("cannot start the archive writer: {0}")]
    Thread(std::io::Error),
}

/// The archive sink: cheap to feed from any task; a thread writes (never joined, so a stuck disk
/// cannot hold up exit), a task uploads to S3 or CloudWatch Logs.
pub struct Archive {
    tx: mpsc::Sender<Msg>,
    upload: Mutex<Option<Upload>>,
    identity: Identity,
    known: Mutex<Option<HashMap<String, CanaryRef>>>,
    copies_artifacts: bool,
    /// Where uploads go, for logs.
    dest: &'static str,
}

impl Archive {
    /// Opens the archive and starts its writer (and, for S3 and Logs, its uploader).
    pub async fn start(s: Settings) -> Result<Archive, ArchiveError> {
        let (store, upload): (Box<dyn writer::Store>, _) = match &s.target {
            Target::Dir(dir) => {
                let local = local::LocalDir::open(dir, s.retention)
                    .map_err(|e| ArchiveError::Folder(dir.clone(), e))?;
                (Box::new(local), None)
            }
            Target::S3(location) => {
                let (batches, upload) = start_upload(&s, "archive", |conf, up| {
                    let s3conf = aws_sdk_s3::config::Builder::from(conf)
                        .force_path_style(s.endpoint_url.is_some())
                        .build();
                    let client = aws_sdk_s3::Client::from_conf(s3conf);
                    let location = location.clone();
                    up.spawn("S3 archive", s3::S3Dest { client, location })
                })
                .await?;
                (Box::new(batches), Some(upload))
            }
            Target::Logs(group) => {
                let (batches, upload) = start_upload(&s, "logs", |conf, up| {
                    let client = aws_sdk_cloudwatchlogs::Client::new(conf);
                    up.spawn(
                        "CloudWatch Logs",
                        logs::LogsDest::new(client, group.clone()),
                    )
                })
                .await?;
                (Box::new(batches), Some(upload))
            }
        };
        let (tx, rx) = mpsc::channel();
        let every = s.sync_every;
        std::thread::Builder::new()
            .name("archive".into())
            .spawn(move || writer::run(store, rx, every))
            .map_err(ArchiveError::Thread)?;
        Ok(Archive {
            tx,
            upload: Mutex::new(upload),
            copies_artifacts: !matches!(s.target, Target::Logs(_)),
            dest: match s.target {
                Target::Dir(_) => "folder",
                Target::S3(_) => "S3",
                Target::Logs(_) => "CloudWatch Logs",
            },
            identity: s.identity,
            known: Mutex::new(None),
        })
    }

    /// Archives a finished run (its artifacts copied next to it).
    pub fn run(&self, run: &Run) {
        let sha = self
            .lock_known()
            .as_ref()
            .and_then(|k| k.get(&run.canary).map(|c| c.sha256.clone()))
            .unwrap_or_default();
        let partition = layout::partition(&run.canary, run.started_at);
        let (run, copies) = if self.copies_artifacts {
            with_archived_artifacts(run, &partition)
        } else {
            (std::borrow::Cow::Borrowed(run), Vec::new())
        };
        let mut line = serde_json::to_vec(&RunRecord::new(&run, &sha, &self.identity))
            .expect("a run record serializes");
        line.push(b'\n');
        let rel = partition.join(layout::hour_file(run.started_at));
        let _ = self.tx.send(Msg::Record { rel, line, copies });
    }

    /// The canaries now loaded: archived as a `load` audit event with what was added, removed
    /// or changed since the last call.
    pub fn canaries<'a>(&self, canaries: impl IntoIterator<Item = &'a Canary>) {
        let now = refs(canaries);
        let mut known = self.lock_known();
        let trigger = if known.is_some() { "reload" } else { "start" };
        let before = known.take().unwrap_or_default();
        let mut added = Vec::new();
        let mut changed = Vec::new();
        for (name, c) in &now {
            match before.get(name) {
                None => added.push(c.clone()),
                Some(old) if old.sha256 != c.sha256 => changed.push(c.clone()),
                Some(_) => {}
            }
        }
        let mut removed: Vec<CanaryRef> = before
            .iter()
            .filter(|(name, _)| !now.contains_key(*name))
            .map(|(_, c)| c.clone())
            .collect();
        for list in [&mut added, &mut changed, &mut removed] {
            list.sort_by(|a, b| a.name.cmp(&b.name));
        }
        let count = now.len();
        *known = Some(now);
        drop(known);
        self.audit(Audit::Load {
            trigger,
            canaries: count,
            added,
            removed,
            changed,
        });
    }

    /// Archives an audit event, now.
    pub fn audit(&self, audit: Audit) {
        let at = SystemTime::now();
        let mut line = serde_json::to_vec(&AuditRecord::new(&audit, at, &self.identity))
            .expect("an audit record serializes");
        line.push(b'\n');
        let rel = layout::audit_partition(at).join(layout::hour_file(at));
        let copies = Vec::new();
        let _ = self.tx.send(Msg::Record { rel, line, copies });
    }

    /// Archives one of the runner's own log events (`level`: `WARN`, `ERROR`), now.
    pub fn log(&self, level: &str, fields: &serde_json::Map<String, serde_json::Value>) {
        let at = SystemTime::now();
        let mut line =
            serde_json::to_vec(&record::LogRecord::new(level, fields, at, &self.identity))
                .expect("a log record serializes");
        line.push(b'\n');
        let rel = layout::audit_partition(at).join(layout::hour_file(at));
        let copies = Vec::new();
        let _ = self.tx.send(Msg::Record { rel, line, copies });
    }

    /// Writes and syncs what is queued, then (S3) uploads what waits, all within `within`.
    pub async fn close(&self, within: Duration) {
        let deadline = tokio::time::Instant::now() + within;
        let (done, synced) = mpsc::channel();
        if self.tx.send(Msg::Close(done)).is_ok() {
            let wait = tokio::task::spawn_blocking(move || synced.recv_timeout(within));
            if !matches!(wait.await, Ok(Ok(()))) {
                tracing::error!("the archive writer did not finish in time");
            }
        }
        let upload = self.upload.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some((stop, task)) = upload {
            stop.notify_one();
            match tokio::time::timeout_at(deadline, task).await {
                Ok(Ok(p)) => tracing::info!(
                    to = self.dest,
                    sent = p.uploaded,
                    waiting = p.waiting,
                    "archive flushed"
                ),
                _ => tracing::warn!(
                    to = self.dest,
                    "archive upload still going at exit: what waits stays in the spool for the next start"
                ),
            }
        }
    }

    fn lock_known(&self) -> std::sync::MutexGuard<'_, Option<HashMap<String, CanaryRef>>> {
        self.known.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The uploader's stop signal and task.
type Upload = (Arc<Notify>, tokio::task::JoinHandle<upload::Pass>);

/// What an uploader starts with: its spool and its wake-up and stop signals.
struct UploadStart {
    spool: spool::Spool,
    wake: Arc<Notify>,
    stop: Arc<Notify>,
}

impl UploadStart {
    /// Spawns the uploader task sending to `dest`.
    fn spawn<D: upload::Destination>(
        &self,
        what: &'static str,
        dest: D,
    ) -> tokio::task::JoinHandle<upload::Pass> {
        let spool = self.spool.clone();
        let uploader = upload::Uploader { what, dest, spool };
        let (wake, stop) = (self.wake.clone(), self.stop.clone());
        tokio::spawn(uploader.run(wake, stop, Duration::from_secs(5)))
    }
}

/// The spool (`<--spool>/<sub>`), the store that fills it, and the uploader `spawn` starts.
async fn start_upload(
    s: &Settings,
    sub: &str,
    spawn: impl FnOnce(&aws_config::SdkConfig, &UploadStart) -> tokio::task::JoinHandle<upload::Pass>,
) -> Result<(batches::Batches, Upload), ArchiveError> {
    let dir = match &s.spool {
        Some(d) => d.join(sub),
        None => {
            let d = std::env::temp_dir().join(format!("canary-{sub}-{}", std::process::id()));
            tracing::warn!(spool = %d.display(), "no --spool: records wait in a temporary folder, lost if canary restarts during an outage");
            d
        }
    };
    let spool = spool::Spool::open(&dir).map_err(|e| ArchiveError::Folder(dir.clone(), e))?;
    let conf = crate::aws::config(s.endpoint_url.as_deref(), crate::aws::Patience::Sink).await?;
    let (wake, stop) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let up = UploadStart { spool, wake, stop };
    let task = spawn(&conf, &up);
    let by_file = matches!(s.target, Target::S3(_));
    let batches =
        batches::Batches::new(by_file, up.spool, &s.identity.host, s.flush_every, up.wake)
            .map_err(|e| ArchiveError::Folder(dir.clone(), e))?;
    Ok((batches, (up.stop, task)))
}

/// The canaries by name, with their files' hashes (each file read once).
fn refs<'a>(canaries: impl IntoIterator<Item = &'a Canary>) -> HashMap<String, CanaryRef> {
    let mut hashes: HashMap<&Path, String> = HashMap::new();
    canaries
        .into_iter()
        .map(|c| {
            let sha = hashes
                .entry(&c.file)
                .or_insert_with(|| record::file_sha256(&c.file));
            let r = CanaryRef {
                name: c.name.clone(),
                file: c.file.display().to_string(),
                sha256: sha.clone(),
            };
            (c.name.clone(), r)
        })
        .collect()
}

/// The run with its artifacts' paths moved into the archive, and the copies to make.
fn with_archived_artifacts<'a>(
    run: &'a Run,
    partition: &Path,
) -> (std::borrow::Cow<'a, Run>, Vec<(PathBuf, PathBuf)>) {
    if run
        .attempts
        .iter()
        .all(|a| a.steps.iter().all(|s| s.artifacts.is_empty()))
    {
        return (std::borrow::Cow::Borrowed(run), Vec::new());
    }
    let mut copies = Vec::new();
    let mut run = run.clone();
    for step in run.attempts.iter_mut().flat_map(|a| a.steps.iter_mut()) {
        for path in &mut step.artifacts {
            let name = |p: Option<&Path>| {
                p.and_then(|p| p.file_name())
                    .map_or("artifact".into(), |n| n.to_string_lossy().into_owned())
            };
            let dest = layout::artifact(partition, &name(path.parent()), &name(Some(path)));
            copies.push((std::mem::replace(path, dest.clone()), dest));
        }
    }
    (std::borrow::Cow::Owned(run), copies)
}
