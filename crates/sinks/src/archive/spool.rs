//! The archive's spool: objects waiting for S3, each a body file and a key file written after
//! it (the key file's presence is the commit), taken in order and deleted once S3 has them.
//! Object keys are fixed when spooled, so an upload repeated after a crash overwrites, never doubles.

use std::io;
use std::path::{Path, PathBuf};

use crate::delivery::SpoolDir;

/// A spool folder.
#[derive(Debug, Clone)]
pub struct Spool(SpoolDir);

/// One waiting object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The key file (`<id>.key`); the body is `<id>.body`.
    pub key_file: PathBuf,
}

impl Entry {
    /// The body file.
    pub fn body(&self) -> PathBuf {
        self.key_file.with_extension("body")
    }

    /// The object key (relative to the archive's prefix).
    pub fn key(&self) -> io::Result<String> {
        std::fs::read_to_string(&self.key_file)
    }

    /// Removes the entry (body first, so a crash between leaves nothing half-done).
    pub fn remove(&self) -> io::Result<()> {
        std::fs::remove_file(self.body())?;
        std::fs::remove_file(&self.key_file)
    }
}

impl Spool {
    /// Opens (creating it) the spool folder.
    pub fn open(dir: &Path) -> io::Result<Spool> {
        SpoolDir::open(dir).map(Spool)
    }

    /// The spool's folder.
    pub fn dir(&self) -> &Path {
        self.0.dir()
    }

    fn next_id(&mut self) -> PathBuf {
        self.0.next_entry()
    }

    /// Spools `body` for the object `key`.
    pub fn put(&mut self, key: &str, body: &[u8]) -> io::Result<()> {
        let id = self.next_id();
        std::fs::write(id.with_extension("body"), body)?;
        commit(&id, key)
    }

    /// Spools a copy of the file `src` for the object `key`.
    pub fn put_file(&mut self, key: &str, src: &Path) -> io::Result<()> {
        let id = self.next_id();
        std::fs::copy(src, id.with_extension("body"))?;
        commit(&id, key)
    }

    /// Spools the file `src` itself (moved, on the same file system) for the object `key`.
    pub fn adopt(&mut self, key: &str, src: &Path) -> io::Result<()> {
        let id = self.next_id();
        std::fs::rename(src, id.with_extension("body"))?;
        commit(&id, key)
    }

    /// The waiting objects, oldest first.
    pub fn pending(&self) -> io::Result<Vec<Entry>> {
        let keys = self.0.pending("key")?;
        Ok(keys
            .into_iter()
            .map(|key_file| Entry { key_file })
            .collect())
    }
}

/// Writes the key file atomically once the body is on disk: the key file's presence commits.
fn commit(id: &Path, key: &str) -> io::Result<()> {
    std::fs::File::open(id.with_extension("body"))?.sync_all()?;
    crate::delivery::write_atomically(&id.with_extension("key"), key.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_come_back_in_order_and_go_once_removed() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(dir.path()).unwrap();
        spool.put("a/1.jsonl", b"one\n").unwrap();
        spool.put("a/2.jsonl", b"two\n").unwrap();
        std::fs::write(dir.path().join("0-torn.body"), b"never committed").unwrap();
        let pending = spool.pending().unwrap();
        let keys: Vec<String> = pending.iter().map(|e| e.key().unwrap()).collect();
        assert_eq!(keys, ["a/1.jsonl", "a/2.jsonl"]);
        assert_eq!(std::fs::read(pending[1].body()).unwrap(), b"two\n");
        pending[0].remove().unwrap();
        assert_eq!(Spool::open(dir.path()).unwrap().pending().unwrap().len(), 1);
    }
}
