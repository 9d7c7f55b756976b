//! The archive's writer thread: records arrive over a channel and go to a store (a local folder,
//! or batches for S3) that is synced on a bounded interval and once more at close.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

/// Where the writer puts what it is given.
pub trait Store: Send {
    /// Appends one JSON line to the file at `rel` (relative to the archive's root).
    fn write(&mut self, rel: &Path, line: &[u8]);
    /// Copies the file `src` to `rel`.
    fn copy(&mut self, src: &Path, rel: &Path);
    /// Makes everything written so far durable.
    fn sync(&mut self);
    /// The last sync, at close.
    fn close(&mut self) {
        self.sync();
    }
}

/// What the writer is told.
pub enum Msg {
    /// A record: its file, its line (with the newline) and the artifacts to copy next to it.
    Record {
        /// The file, relative to the archive's root.
        rel: PathBuf,
        /// The JSON line.
        line: Vec<u8>,
        /// (source, destination relative to the root).
        copies: Vec<(PathBuf, PathBuf)>,
    },
    /// Sync and stop; answered when done.
    Close(Sender<()>),
}

/// Runs the writer until it is told to close (or every sender is gone), syncing every `every`.
pub fn run(mut store: Box<dyn Store>, rx: Receiver<Msg>, every: Duration) {
    let mut synced = Instant::now();
    loop {
        let wait = every.saturating_sub(synced.elapsed());
        match rx.recv_timeout(wait) {
            Ok(Msg::Record { rel, line, copies }) => {
                for (src, dest) in &copies {
                    store.copy(src, dest);
                }
                store.write(&rel, &line);
            }
            Ok(Msg::Close(done)) => {
                store.close();
                let _ = done.send(());
                return;
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                store.close();
                return;
            }
        }
        if synced.elapsed() >= every {
            store.sync();
            synced = Instant::now();
        }
    }
}
