//! A background thread that carries out spill requests for a [`ChunkStore`], so the
//! executor and the network thread never wait for disk writes.
//!
//! It only moves spill jobs to [`ChunkStore::spill`] and reports back; it must not decide
//! what to spill. The store's memory events (`Spilled`/`SpillFailed`) are drained by the
//! worker as usual; the completion callback is a wake-up so the worker knows to drain them.

use std::sync::mpsc::{self, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

use super::chunk_store::{ChunkStore, SpillReport};
use super::error::StoreError;
use crate::core::TaskKey;

/// Handle to the spill thread. Dropping it finishes the queued jobs and joins the thread.
///
/// ```
/// use std::sync::{mpsc, Arc};
/// use bytes::Bytes;
/// use tessera::core::TaskKey;
/// use tessera::store::{ChunkStore, Residency, SpillWriter, StoreConfig};
///
/// let parent = tempfile::tempdir().unwrap();
/// let store = Arc::new(ChunkStore::open(StoreConfig {
///     local_directory: parent.path().to_path_buf(),
///     ..StoreConfig::default()
/// }).unwrap());
/// let (done_tx, done_rx) = mpsc::channel();
/// let writer = SpillWriter::start(Arc::clone(&store), move |report| {
///     let _ = done_tx.send(report);
/// }).unwrap();
/// store.put(TaskKey::new("x"), Bytes::from(vec![1u8; 1000]));
/// writer.submit(vec![TaskKey::new("x")]).unwrap();
/// let report = done_rx.recv().unwrap();
/// assert_eq!(report.spilled, 1);
/// assert_eq!(store.residency(&TaskKey::new("x")), Some(Residency::Disk));
/// ```
pub struct SpillWriter {
    jobs: Option<Sender<Vec<TaskKey>>>,
    thread: Option<JoinHandle<()>>,
}

impl SpillWriter {
    /// Start the thread; `on_done` runs on it after each job with the job's report.
    pub fn start(
        store: Arc<ChunkStore>,
        mut on_done: impl FnMut(SpillReport) + Send + 'static,
    ) -> Result<SpillWriter, StoreError> {
        let (tx, rx) = mpsc::channel::<Vec<TaskKey>>();
        let thread = std::thread::Builder::new()
            .name("tessera-spill".into())
            .spawn(move || {
                for keys in rx {
                    let report = store.spill(&keys);
                    on_done(report);
                }
            })
            .map_err(|source| StoreError::Io {
                path: "spill writer thread".into(),
                source,
            })?;
        Ok(SpillWriter {
            jobs: Some(tx),
            thread: Some(thread),
        })
    }

    /// Queue a spill of `keys` (in the memory manager's LRU order).
    pub fn submit(&self, keys: Vec<TaskKey>) -> Result<(), StoreError> {
        self.jobs
            .as_ref()
            .ok_or(StoreError::WriterStopped)?
            .send(keys)
            .map_err(|_| StoreError::WriterStopped)
    }

    /// Finish queued jobs and stop the thread.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.jobs.take();
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("the spill writer thread panicked");
            }
        }
    }
}

impl Drop for SpillWriter {
    fn drop(&mut self) {
        self.stop();
    }
}
