//! The one delivery toolkit under metrics, notifications and the archive: atomic writes, file
//! names that sort in the order of writing, backoff between attempts, and the boxed future the
//! senders' traits return. "Nothing is lost" rests on these, written and tested once.

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A boxed future that can be sent between threads: what the senders' traits return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A spool folder: entries named in the order they were written (also across restarts: the
/// names start with the time), read back oldest first.
#[derive(Debug, Clone)]
pub struct SpoolDir {
    dir: PathBuf,
    seq: u64,
}

impl SpoolDir {
    /// Opens the folder, creating it if need be.
    pub fn open(dir: &Path) -> io::Result<SpoolDir> {
        std::fs::create_dir_all(dir)?;
        Ok(SpoolDir {
            dir: dir.to_path_buf(),
            seq: 0,
        })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The next entry's path, without an extension: it sorts after every entry before it.
    pub fn next_entry(&mut self) -> PathBuf {
        self.seq += 1;
        self.dir.join(unique_name(self.seq))
    }

    /// The entries' files with extension `ext`, oldest first.
    pub fn pending(&self, ext: &str) -> io::Result<Vec<PathBuf>> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == ext))
            .collect();
        files.sort();
        Ok(files)
    }
}

/// Writes `bytes` to `path` atomically and durably: a temporary file beside it (the folder made
/// if need be), flushed to disk, then renamed over `path`. A crash leaves the old file or the
/// new one, never half of one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    let file = std::fs::File::create(&tmp)?;
    io::Write::write_all(&mut &file, bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// Sets aside a file that cannot be read (renamed to `.bad`), so it is not retried forever and
/// a person can still look at it.
pub fn set_aside(path: &Path) -> io::Result<()> {
    std::fs::rename(path, path.with_extension("bad"))
}

/// A file name that sorts in the order of writing and never repeats: milliseconds since the
/// epoch, the process id, and `seq` (counting within the process).
pub fn unique_name(seq: u64) -> String {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    format!("{ms:013}-{:05}-{seq:08}", std::process::id() % 100_000)
}

/// The wait after `failures` failed attempts in a row: 1 s, 2 s, 4 s … up to 60 s.
pub fn backoff(failures: u32) -> Duration {
    Duration::from_secs(1 << failures.saturating_sub(1).min(6)).min(Duration::from_secs(60))
}

/// `wait` give or take a quarter, so that senders that failed together do not retry together.
pub fn jittered(wait: Duration) -> Duration {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    wait.mul_f64(0.75 + f64::from(nanos % 1000) / 2000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_atomic_write_replaces_the_whole_file_and_leaves_no_temporary_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/state.json");
        write_atomically(&path, b"first, and longer").unwrap();
        write_atomically(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        assert!(!path.with_extension("tmp").exists());
        set_aside(&path).unwrap();
        assert!(path.with_extension("bad").exists() && !path.exists());
    }

    #[test]
    fn a_spool_gives_its_entries_back_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = SpoolDir::open(&dir.path().join("spool")).unwrap();
        let written: Vec<PathBuf> = (0..5)
            .map(|_| spool.next_entry().with_extension("json"))
            .collect();
        for (i, path) in written.iter().enumerate().rev() {
            write_atomically(path, i.to_string().as_bytes()).unwrap();
        }
        write_atomically(&spool.next_entry().with_extension("other"), b"").unwrap();
        assert_eq!(spool.pending("json").unwrap(), written);
    }

    #[test]
    fn names_sort_in_the_order_of_writing() {
        let names: Vec<String> = (1..=3).map(unique_name).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        assert_ne!(names[0], names[1]);
    }

    #[test]
    fn backoff_doubles_to_a_minute_and_jitter_stays_within_a_quarter() {
        let secs: Vec<u64> = (1..=9).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        for _ in 0..100 {
            let j = jittered(Duration::from_secs(4));
            assert!(
                j >= Duration::from_secs(3) && j <= Duration::from_secs(5),
                "{j:?}"
            );
        }
    }
}
