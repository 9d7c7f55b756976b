//! The spool: batches not yet accepted by CloudWatch, one JSON file each, replayed in order
//! (also after a restart) and deleted the moment CloudWatch accepts them.

use std::io;
use std::path::{Path, PathBuf};

use super::datum::Datum;

/// A spool folder.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    seq: u64,
}

impl Spool {
    /// Opens (creating it if need be) the spool folder.
    pub fn open(dir: &Path) -> io::Result<Spool> {
        std::fs::create_dir_all(dir)?;
        Ok(Spool {
            dir: dir.to_path_buf(),
            seq: 0,
        })
    }

    /// Writes a batch (atomically: a temporary file, then a rename) and returns its path.
    pub fn write(&mut self, batch: &[Datum]) -> io::Result<PathBuf> {
        self.seq += 1;
        let name = format!("{}.json", crate::delivery::unique_name(self.seq));
        let path = self.dir.join(name);
        let bytes = serde_json::to_vec(batch).map_err(io::Error::other)?;
        crate::delivery::write_atomically(&path, &bytes)?;
        Ok(path)
    }

    /// The spooled batches, oldest first.
    pub fn pending(&self) -> io::Result<Vec<PathBuf>> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        Ok(files)
    }

    /// Reads a spooled batch.
    pub fn read(path: &Path) -> io::Result<Vec<Datum>> {
        serde_json::from_slice(&std::fs::read(path)?).map_err(io::Error::other)
    }

    /// Sets aside a file that cannot be read, so it is not retried forever.
    pub fn set_aside(path: &Path) -> io::Result<()> {
        crate::delivery::set_aside(path)
    }
}
