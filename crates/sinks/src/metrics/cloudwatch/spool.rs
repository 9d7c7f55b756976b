//! The spool: batches not yet accepted by CloudWatch, one JSON file each, replayed in order
//! (also after a restart) and deleted the moment CloudWatch accepts them.

use std::io;
use std::path::{Path, PathBuf};

use super::datum::Datum;
use crate::delivery::SpoolDir;

/// A spool folder.
#[derive(Debug)]
pub struct Spool(SpoolDir);

impl Spool {
    /// Opens (creating it if need be) the spool folder.
    pub fn open(dir: &Path) -> io::Result<Spool> {
        SpoolDir::open(dir).map(Spool)
    }

    /// Writes a batch (atomically: a temporary file, then a rename) and returns its path.
    pub fn write(&mut self, batch: &[Datum]) -> io::Result<PathBuf> {
        let path = self.0.next_entry().with_extension("json");
        let bytes = serde_json::to_vec(batch).map_err(io::Error::other)?;
        crate::delivery::write_atomically(&path, &bytes)?;
        Ok(path)
    }

    /// The spooled batches, oldest first.
    pub fn pending(&self) -> io::Result<Vec<PathBuf>> {
        self.0.pending("json")
    }

    /// Reads a spooled batch.
    pub fn read(path: &Path) -> io::Result<Vec<Datum>> {
        serde_json::from_slice(&std::fs::read(path)?).map_err(io::Error::other)
    }
}
