//! The local archive: JSON Lines appended to hourly files, fsynced on the writer's interval,
//! idle files closed, and whole days older than the retention removed.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::layout;
use super::writer::Store;

/// Lines kept in memory while the disk refuses them (full, read-only); beyond, they are counted
/// and dropped.
const MAX_WAITING: usize = 100_000;

/// An archive folder.
pub struct LocalDir {
    root: PathBuf,
    open: HashMap<PathBuf, Open>,
    waiting: Vec<(PathBuf, Vec<u8>)>,
    dropped: u64,
    retention: Option<Duration>,
    pruned: Option<Instant>,
}

struct Open {
    file: BufWriter<File>,
    used: bool,
}

impl LocalDir {
    /// Opens (creating it) the archive folder `root`; days older than `retention` are removed.
    pub fn open(root: &Path, retention: Option<Duration>) -> std::io::Result<LocalDir> {
        std::fs::create_dir_all(root)?;
        let mut dir = LocalDir {
            root: root.to_path_buf(),
            open: HashMap::new(),
            waiting: Vec::new(),
            dropped: 0,
            retention,
            pruned: None,
        };
        dir.prune();
        Ok(dir)
    }

    fn append(&mut self, rel: &Path, line: &[u8]) -> std::io::Result<()> {
        if !self.open.contains_key(rel) {
            let path = self.root.join(rel);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let file = OpenOptions::new().create(true).append(true).open(&path)?;
            let open = Open {
                file: BufWriter::new(file),
                used: false,
            };
            self.open.insert(rel.to_path_buf(), open);
        }
        let open = self.open.get_mut(rel).expect("opened above");
        open.used = true;
        open.file.write_all(line)
    }

    /// Removes `date=` folders wholly older than the retention, at most once an hour.
    fn prune(&mut self) {
        let Some(keep) = self.retention else { return };
        if self
            .pruned
            .is_some_and(|t| t.elapsed() < Duration::from_secs(3600))
        {
            return;
        }
        self.pruned = Some(Instant::now());
        let keep = chrono::Duration::from_std(keep).unwrap_or(chrono::Duration::MAX);
        let Some(oldest) = chrono::Utc::now().date_naive().checked_sub_signed(keep) else {
            return;
        };
        let removed = prune_older(&self.root, oldest);
        if removed > 0 {
            tracing::info!(days_removed = removed, %oldest, "archive pruned");
        }
    }
}

/// Removes every `<partition>/date=D` folder with D before `oldest`; how many were removed.
pub fn prune_older(root: &Path, oldest: chrono::NaiveDate) -> usize {
    let mut removed = 0;
    for top in read_dirs(root) {
        for day in read_dirs(&top) {
            let name = day.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if layout::date_of(name).is_some_and(|d| d < oldest)
                && std::fs::remove_dir_all(&day).is_ok()
            {
                removed += 1;
            }
        }
        let _ = std::fs::remove_dir(&top); // only when now empty
    }
    removed
}

fn read_dirs(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

impl Store for LocalDir {
    fn write(&mut self, rel: &Path, line: &[u8]) {
        if let Err(e) = self.append(rel, line) {
            if self.waiting.len() < MAX_WAITING {
                tracing::warn!(file = %rel.display(), error = %e, "archive write failed; will retry");
                self.waiting.push((rel.to_path_buf(), line.to_vec()));
            } else {
                self.dropped += 1;
                tracing::error!(file = %rel.display(), error = %e, dropped = self.dropped, "archive write failed and too many wait: record dropped");
            }
        }
    }

    fn copy(&mut self, src: &Path, rel: &Path) {
        let dest = self.root.join(rel);
        let copied = dest
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::copy(src, &dest));
        if let Err(e) = copied {
            tracing::warn!(artifact = %src.display(), error = %e, "cannot copy an artifact into the archive");
        }
    }

    fn sync(&mut self) {
        for waiting in std::mem::take(&mut self.waiting) {
            self.write(&waiting.0, &waiting.1);
        }
        self.open.retain(|rel, open| {
            let synced = open
                .file
                .flush()
                .and_then(|()| open.file.get_ref().sync_data());
            if let Err(e) = synced {
                tracing::error!(file = %rel.display(), error = %e, "archive fsync failed");
            }
            std::mem::replace(&mut open.used, false)
        });
        self.prune();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_days_before_the_oldest_kept_go_and_empty_partitions_with_them() {
        let root = tempfile::tempdir().unwrap();
        for day in ["2026-01-01", "2026-01-02", "2026-01-03"] {
            for top in ["canary=a", "_audit"] {
                let dir = root.path().join(top).join(format!("date={day}"));
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(dir.join("00.jsonl"), "{}\n").unwrap();
            }
        }
        std::fs::create_dir_all(root.path().join("canary=old/date=2025-12-31")).unwrap();
        let oldest = chrono::NaiveDate::from_ymd_opt(2026, 1, 2).unwrap();
        assert_eq!(prune_older(root.path(), oldest), 3);
        let mut left: Vec<String> = walk(root.path());
        left.sort();
        assert_eq!(
            left,
            [
                "_audit/date=2026-01-02",
                "_audit/date=2026-01-03",
                "canary=a/date=2026-01-02",
                "canary=a/date=2026-01-03"
            ]
        );
    }

    #[test]
    fn records_land_in_their_hour_and_are_synced() {
        let root = tempfile::tempdir().unwrap();
        let mut dir = LocalDir::open(root.path(), None).unwrap();
        let rel = Path::new("canary=a/date=2026-01-02/03.jsonl");
        dir.write(rel, b"{\"n\":1}\n");
        dir.write(rel, b"{\"n\":2}\n");
        dir.sync();
        let text = std::fs::read_to_string(root.path().join(rel)).unwrap();
        assert_eq!(text, "{\"n\":1}\n{\"n\":2}\n");
        dir.sync();
        assert!(dir.open.is_empty(), "idle files are closed");
    }

    fn walk(root: &Path) -> Vec<String> {
        read_dirs(root)
            .iter()
            .flat_map(|top| read_dirs(top))
            .map(|d| d.strip_prefix(root).unwrap().display().to_string())
            .collect()
    }
}
