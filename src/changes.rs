//! Noticing that canary files changed: file-system events (inotify on Linux, kqueue on BSD and
//! macOS) where the system gives them, so an idle daemon costs nothing however many files it has;
//! polling their names, sizes and modification times otherwise (an exhausted watch limit), and
//! once a minute besides (file systems that send no events for changes made elsewhere).

use std::path::{Path, PathBuf};
use std::time::Duration;

use ::notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;

use crate::config;

/// Events closer together than this are one change (an editor's save, a ConfigMap's swap).
const SETTLE: Duration = Duration::from_millis(200);

/// With events, the files are still polled this often: some file systems (NFS, FUSE) send none
/// for changes made elsewhere.
const SAFETY_NET: Duration = Duration::from_secs(60);

/// Watches canary files and folders for changes.
pub struct Changes {
    paths: Vec<PathBuf>,
    seen: (usize, u64),
    poll: Duration,
    events: Option<(::notify::RecommendedWatcher, mpsc::UnboundedReceiver<()>)>,
}

impl Changes {
    /// Watches `paths` by file-system events, or by polling every `poll` where events cannot
    /// be had (said in a warning).
    pub fn new(paths: &[PathBuf], poll: Duration) -> Changes {
        let events = match subscribe(paths) {
            Ok(events) => Some(events),
            Err(e) => {
                tracing::warn!(
                    poll_s = poll.as_secs_f64(),
                    "cannot watch the canary files for events ({e}): polling them instead"
                );
                None
            }
        };
        Changes {
            paths: paths.to_vec(),
            seen: fingerprint(paths),
            poll,
            events,
        }
    }

    /// Whether changes arrive as file-system events (else by polling).
    pub fn by_events(&self) -> bool {
        self.events.is_some()
    }

    /// Returns once the files' names, sizes or modification times differ from when last seen.
    pub async fn next(&mut self) {
        loop {
            match &mut self.events {
                Some((_, rx)) => {
                    tokio::select! {
                        got = rx.recv() => if got.is_none() {
                            self.events = None;
                            continue;
                        },
                        () = tokio::time::sleep(SAFETY_NET) => {}
                    }
                    tokio::time::sleep(SETTLE).await;
                    while rx.try_recv().is_ok() {}
                }
                None => tokio::time::sleep(self.poll).await,
            }
            // A stat of every file: off the daemon's thread, as it grows with the files.
            let paths = self.paths.clone();
            let Ok(now) = tokio::task::spawn_blocking(move || fingerprint(&paths)).await else {
                continue;
            };
            if now != self.seen {
                self.seen = now;
                return;
            }
        }
    }
}

/// A watcher over `paths` (a folder recursively; a file through its folder, so that a file
/// replaced by a rename is still seen) that sends on the channel at every event.
fn subscribe(
    paths: &[PathBuf],
) -> ::notify::Result<(::notify::RecommendedWatcher, mpsc::UnboundedReceiver<()>)> {
    let (tx, rx) = mpsc::unbounded_channel();
    let mut watcher =
        ::notify::recommended_watcher(move |event: ::notify::Result<::notify::Event>| {
            if event.is_ok_and(|e| !e.kind.is_access()) {
                let _ = tx.send(());
            }
        })?;
    for p in paths {
        let (target, mode) = match p.is_dir() {
            true => (p.as_path(), RecursiveMode::Recursive),
            false => (parent(p), RecursiveMode::NonRecursive),
        };
        watcher.watch(target, mode)?;
    }
    Ok((watcher, rx))
}

fn parent(file: &Path) -> &Path {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// One number for the canary files' names, sizes and modification times, in any order: cheap
/// enough to take every couple of seconds over tens of thousands of files.
fn fingerprint(paths: &[PathBuf]) -> (usize, u64) {
    use std::hash::{Hash, Hasher};
    let files = config::files(paths);
    let sum = files.iter().fold(0u64, |sum, p| {
        let meta = std::fs::metadata(p).ok();
        let (len, modified) = meta.map_or((0, None), |m| (m.len(), m.modified().ok()));
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (p.as_os_str(), len, modified).hash(&mut h);
        sum.wrapping_add(h.finish())
    });
    (files.len(), sum)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::Changes;

    #[tokio::test]
    async fn an_edit_a_new_file_and_a_rename_over_a_file_are_each_noticed_by_events() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.yaml");
        std::fs::write(&file, "name: a\n").unwrap();
        let mut changes = Changes::new(&[dir.path().to_path_buf()], Duration::from_secs(3600));
        assert!(changes.by_events(), "inotify is available here");
        let pending = futures_util::FutureExt::now_or_never(changes.next()).is_none();
        assert!(pending, "nothing changed yet");
        for change in [
            |d: &std::path::Path| std::fs::write(d.join("a.yaml"), "name: a2\n").unwrap(),
            |d: &std::path::Path| std::fs::write(d.join("b.yaml"), "name: b\n").unwrap(),
            |d: &std::path::Path| {
                std::fs::write(d.join(".tmp"), "name: a3, longer\n").unwrap();
                std::fs::rename(d.join(".tmp"), d.join("a.yaml")).unwrap();
            },
        ] {
            change(dir.path());
            tokio::time::timeout(Duration::from_secs(5), changes.next())
                .await
                .expect("the change is noticed within 5 s, though polling is an hour away");
        }
    }
}
