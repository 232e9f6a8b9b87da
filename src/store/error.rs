//! Errors of the chunk store; every message names the chunk, file or directory at fault.
//!
//! Only the error type lives here; this module must not perform I/O.

use std::io;
use std::path::PathBuf;

use crate::core::TaskKey;

/// A chunk store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The key is neither in memory nor on disk.
    #[error("chunk {0} is not in the worker's store")]
    Missing(TaskKey),
    /// The spill directory (or its parent) could not be created or locked.
    #[error("cannot create the spill directory {path}: {source} (set --local-directory to a writable node-local directory)")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// A spilled chunk could not be read back.
    #[error("cannot read spilled chunk {key} from {path}: {source}")]
    Read {
        /// The chunk.
        key: TaskKey,
        /// The spill file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// A spilled chunk read back does not decode to its recorded size.
    #[error("spilled chunk {key} in {path} is corrupt: {detail}")]
    Corrupt {
        /// The chunk.
        key: TaskKey,
        /// The spill file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// Any other filesystem error on `path`.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The background spill writer is gone (it panicked or was shut down).
    #[error("the spill writer thread has stopped")]
    WriterStopped,
}
