//! The worker's chunk store: `Bytes` values by [`TaskKey`], each in memory, being spilled, or
//! on disk in the worker's spill directory.
//!
//! Thread-safe: a `Mutex` guards the index (never held during file I/O) and a second one the
//! spill backend, so the network thread keeps serving in-memory (and being-spilled) chunks
//! while a spill batch is written. It records a [`MemoryEvent`] for every change, which the
//! worker feeds to its [`crate::core::memory::MemoryManager`]; it must not decide *what* to
//! spill (that is the memory manager's job).

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use bytes::Bytes;

use super::backend::{read_location, DiskLocation, SpillBackend, SpillLayout};
use super::codec::{self, Compression};
use super::error::StoreError;
use super::filesystem::warn_if_shared_filesystem;
use super::spill_dir::SpillDir;
use crate::core::memory::{MemoryEvent, SpillFailure};
use crate::core::TaskKey;

/// Encoded bytes written per backend call (bounds the extra memory compression needs).
const WRITE_BATCH_BYTES: u64 = 64 << 20;
/// Most bytes compaction reads into memory at once (one chunk at least).
const COMPACTION_GROUP_BYTES: u64 = 8 << 20;

/// How the store spills.
#[derive(Clone, Debug, PartialEq)]
pub struct StoreConfig {
    /// Parent of the worker's spill directory (`--local-directory`).
    pub local_directory: PathBuf,
    /// Most bytes the spill files may take (`--max-spill`); `None` = the disk's size.
    pub max_spill: Option<u64>,
    /// Per-chunk compression of spilled data.
    pub compression: Compression,
    /// File layout of the spill directory.
    pub layout: SpillLayout,
}

impl Default for StoreConfig {
    /// `$TMPDIR` (or `/tmp`), no cap, LZ4 when it pays, append-only log.
    fn default() -> Self {
        StoreConfig {
            local_directory: std::env::temp_dir(),
            max_spill: None,
            compression: Compression::default(),
            layout: SpillLayout::default(),
        }
    }
}

/// Where a chunk currently is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Residency {
    /// In memory.
    Memory,
    /// In memory while its spill is being written.
    Spilling,
    /// On disk only.
    Disk,
}

/// Store figures for logs and `tessera info`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StoreMetrics {
    /// Bytes of chunks in memory (including ones being spilled).
    pub memory_bytes: u64,
    /// Chunks in memory.
    pub memory_chunks: usize,
    /// Original size of the chunks on disk.
    pub spilled_bytes: u64,
    /// Chunks on disk.
    pub spilled_chunks: usize,
    /// Bytes the spill files take (including deleted chunks not yet compacted away).
    pub disk_bytes: u64,
    /// Bytes of the spilled chunks as stored (after compression): what `max_spill` limits.
    pub live_disk_bytes: u64,
    /// Payload bytes written to disk since start.
    pub bytes_written: u64,
    /// Payload bytes read from disk since start.
    pub bytes_read: u64,
    /// Chunks spilled since start.
    pub spill_count: u64,
    /// Chunks read back into memory since start.
    pub unspill_count: u64,
    /// Failed chunk spills since start.
    pub spill_failures: u64,
    /// Spilled chunks stored compressed since start.
    pub compressed_chunks: u64,
    /// Seconds spent writing spill batches (encoding included) since start:
    /// `bytes_written / write_seconds` is the spill throughput.
    pub write_seconds: f64,
    /// Seconds spent reading spilled chunks back (decoding included) since start:
    /// `bytes_read / read_seconds` is the unspill throughput.
    pub read_seconds: f64,
}

/// What one [`ChunkStore::spill`] call did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpillReport {
    /// Chunks now on disk.
    pub spilled: usize,
    /// Chunks that stayed in memory because writing failed.
    pub failed: usize,
    /// Payload bytes written.
    pub bytes_written: u64,
}

#[derive(Clone, Debug)]
struct DiskRecord {
    loc: DiskLocation,
    compressed: bool,
    raw_len: u64,
}

#[derive(Debug)]
enum State {
    Memory(Bytes),
    Spilling(Bytes),
    Disk(DiskRecord),
}

#[derive(Debug)]
struct Entry {
    generation: u64,
    state: State,
}

#[derive(Debug, Default)]
struct Index {
    entries: HashMap<TaskKey, Entry>,
    events: Vec<MemoryEvent>,
    next_generation: u64,
    pending_frees: Vec<DiskLocation>,
    metrics: StoreMetrics,
}

impl Index {
    fn drop_entry(&mut self, entry: Entry) -> Option<DiskLocation> {
        match entry.state {
            State::Memory(b) | State::Spilling(b) => {
                self.metrics.memory_bytes -= b.len() as u64;
                self.metrics.memory_chunks -= 1;
                None
            }
            State::Disk(rec) => {
                self.metrics.spilled_bytes -= rec.raw_len;
                self.metrics.spilled_chunks -= 1;
                Some(rec.loc)
            }
        }
    }
}

/// One chunk being spilled.
struct SpillJob {
    key: TaskKey,
    generation: u64,
    value: Bytes,
}

/// The worker's chunk store. See the module docs.
#[derive(Debug)]
pub struct ChunkStore {
    config: StoreConfig,
    index: Mutex<Index>,
    backend: Mutex<SpillBackend>,
    disk_bytes: AtomicU64,
    live_disk_bytes: AtomicU64,
    filesystem_warning: Option<String>,
    // Last: dropped after the backend's open files.
    dir: SpillDir,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl ChunkStore {
    /// Create the worker's spill directory under `config.local_directory` and an empty store.
    pub fn open(config: StoreConfig) -> Result<ChunkStore, StoreError> {
        let dir = SpillDir::create(&config.local_directory)?;
        let filesystem_warning = warn_if_shared_filesystem(dir.path());
        Ok(ChunkStore {
            backend: Mutex::new(SpillBackend::new(config.layout, dir.path().to_path_buf())),
            config,
            index: Mutex::new(Index::default()),
            disk_bytes: AtomicU64::new(0),
            live_disk_bytes: AtomicU64::new(0),
            filesystem_warning,
            dir,
        })
    }

    /// The worker's own spill directory.
    pub fn directory(&self) -> &Path {
        self.dir.path()
    }

    /// Delete the spill directory and everything in it now, even while other threads still
    /// hold the store (a worker stopping). Spilled chunks are gone after this; later spills
    /// fail (the chunks stay in memory). Idempotent; the directory is also removed on drop.
    pub fn remove_spill_files(&self) {
        let _backend = lock(&self.backend);
        if let Err(e) = std::fs::remove_dir_all(self.dir.path()) {
            if e.kind() != io::ErrorKind::NotFound {
                tracing::warn!(path = %self.dir.path().display(), error = %e, "cannot remove the spill directory");
            }
        }
    }

    /// True when spills are written (and read back) with direct I/O, bypassing the page cache;
    /// false with a buffered layout or on a filesystem that refuses `O_DIRECT`.
    pub fn spills_with_direct_io(&self) -> bool {
        lock(&self.backend).uses_direct_io()
    }

    /// A warning to log once when the spill directory is on a shared filesystem or in RAM.
    pub fn filesystem_warning(&self) -> Option<&str> {
        self.filesystem_warning.as_deref()
    }

    /// The configuration in force.
    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// Store `value` in memory under `key`, replacing (and freeing) any earlier value.
    pub fn put(&self, key: TaskKey, value: Bytes) {
        let mut index = lock(&self.index);
        index.next_generation += 1;
        let entry = Entry {
            generation: index.next_generation,
            state: State::Memory(value.clone()),
        };
        index.metrics.memory_bytes += value.len() as u64;
        index.metrics.memory_chunks += 1;
        if let Some(old) = index.entries.insert(key.clone(), entry) {
            if let Some(loc) = index.drop_entry(old) {
                index.pending_frees.push(loc);
            }
        }
        index.events.push(MemoryEvent::Stored {
            key,
            nbytes: value.len() as u64,
        });
        self.free_pending(index);
    }

    /// The chunk's bytes; a spilled chunk is read back and kept in memory again (unspilled).
    /// Counts as an access for the LRU order.
    pub fn get(&self, key: &TaskKey) -> Result<Bytes, StoreError> {
        self.fetch(key, true)
    }

    /// The chunk's bytes without moving a spilled chunk back into memory: the way to send a
    /// spilled chunk to a peer. Such a read costs one exactly-sized buffer (two when the chunk
    /// was compressed: the read buffer and the decoded one), wrapped as `Bytes` without a copy.
    pub fn read(&self, key: &TaskKey) -> Result<Bytes, StoreError> {
        self.fetch(key, false)
    }

    fn fetch(&self, key: &TaskKey, unspill: bool) -> Result<Bytes, StoreError> {
        // A concurrent unspill or removal may delete the file we were about to read: look again.
        for _attempt in 0..3 {
            let (generation, record) = {
                let mut index = lock(&self.index);
                let Some(entry) = index.entries.get(key) else {
                    return Err(StoreError::Missing(key.clone()));
                };
                match &entry.state {
                    State::Memory(b) | State::Spilling(b) => {
                        let b = b.clone();
                        index
                            .events
                            .push(MemoryEvent::Accessed { key: key.clone() });
                        return Ok(b);
                    }
                    State::Disk(rec) => (entry.generation, rec.clone()),
                }
            };
            let started = Instant::now();
            let read = self.read_record(key, &record);
            let seconds = started.elapsed().as_secs_f64();
            tracing::debug!(%key, unspill, seconds, "spilled chunk read");
            let bytes = match read {
                Ok(bytes) => bytes,
                Err(e) => {
                    if self.generation_of(key) == Some(generation) && self.is_on_disk(key) {
                        return Err(e);
                    }
                    continue;
                }
            };
            let mut index = lock(&self.index);
            index.metrics.bytes_read += record.loc.payload_len();
            index.metrics.read_seconds += seconds;
            if !unspill {
                return Ok(bytes);
            }
            let Some(entry) = index.entries.get_mut(key) else {
                return Ok(bytes);
            };
            if entry.generation != generation || !matches!(entry.state, State::Disk(_)) {
                return Ok(bytes);
            }
            entry.state = State::Memory(bytes.clone());
            let m = &mut index.metrics;
            m.spilled_bytes -= record.raw_len;
            m.spilled_chunks -= 1;
            m.memory_bytes += bytes.len() as u64;
            m.memory_chunks += 1;
            m.unspill_count += 1;
            index
                .events
                .push(MemoryEvent::Unspilled { key: key.clone() });
            index.pending_frees.push(record.loc);
            self.free_pending(index);
            return Ok(bytes);
        }
        Err(StoreError::Missing(key.clone()))
    }

    fn generation_of(&self, key: &TaskKey) -> Option<u64> {
        lock(&self.index).entries.get(key).map(|e| e.generation)
    }

    fn is_on_disk(&self, key: &TaskKey) -> bool {
        self.residency(key) == Some(Residency::Disk)
    }

    fn read_record(&self, key: &TaskKey, record: &DiskRecord) -> Result<Bytes, StoreError> {
        let dir = self.dir.path();
        let payload = read_location(dir, &record.loc).map_err(|source| StoreError::Read {
            key: key.clone(),
            path: record.loc.path(dir),
            source,
        })?;
        codec::decode(payload, record.compressed, record.raw_len).map_err(|detail| {
            StoreError::Corrupt {
                key: key.clone(),
                path: record.loc.path(dir),
                detail,
            }
        })
    }

    /// Delete the chunk wherever it is; false if it was not stored.
    pub fn remove(&self, key: &TaskKey) -> bool {
        let mut index = lock(&self.index);
        let Some(entry) = index.entries.remove(key) else {
            return false;
        };
        if let Some(loc) = index.drop_entry(entry) {
            index.pending_frees.push(loc);
        }
        index.events.push(MemoryEvent::Removed { key: key.clone() });
        self.free_pending(index);
        true
    }

    /// True when the chunk is stored (in memory or on disk).
    pub fn contains(&self, key: &TaskKey) -> bool {
        lock(&self.index).entries.contains_key(key)
    }

    /// Where the chunk is, if stored.
    pub fn residency(&self, key: &TaskKey) -> Option<Residency> {
        lock(&self.index).entries.get(key).map(|e| match e.state {
            State::Memory(_) => Residency::Memory,
            State::Spilling(_) => Residency::Spilling,
            State::Disk(_) => Residency::Disk,
        })
    }

    /// The size of a chunk that is on disk only (what reading it costs in memory); `None` when
    /// it is in memory or not stored.
    pub fn spilled_len(&self, key: &TaskKey) -> Option<u64> {
        lock(&self.index)
            .entries
            .get(key)
            .and_then(|e| match &e.state {
                State::Disk(rec) => Some(rec.raw_len),
                _ => None,
            })
    }

    /// Current figures.
    pub fn metrics(&self) -> StoreMetrics {
        let mut m = lock(&self.index).metrics.clone();
        m.disk_bytes = self.disk_bytes.load(Ordering::Relaxed);
        m.live_disk_bytes = self.live_disk_bytes.load(Ordering::Relaxed);
        m
    }

    /// The memory events recorded since the last call, in order.
    pub fn drain_events(&self) -> Vec<MemoryEvent> {
        std::mem::take(&mut lock(&self.index).events)
    }

    /// Write the in-memory chunks among `keys` to disk and release their memory (once no
    /// other `Bytes` handle shares it). Blocks for the I/O: call it from a spill thread (see
    /// [`super::SpillWriter`]), not from the executor. Keys missing, already spilled or
    /// being spilled by another call are skipped. A chunk that cannot be written (disk full,
    /// `max_spill`) stays in memory and is reported as [`MemoryEvent::SpillFailed`].
    pub fn spill(&self, keys: &[TaskKey]) -> SpillReport {
        let mut jobs = self.claim_for_spill(keys);
        let mut backend = lock(&self.backend);
        self.take_pending_frees(&mut backend);
        let mut report = SpillReport::default();
        let mut start = 0;
        while start < jobs.len() {
            let started = Instant::now();
            let (end, outcomes) = self.write_some(&mut backend, &jobs[start..]);
            let seconds = started.elapsed().as_secs_f64();
            tracing::debug!(chunks = end, seconds, "spill batch written");
            let end = start + end;
            self.commit_spill(&mut backend, &jobs[start..end], outcomes, &mut report);
            lock(&self.index).metrics.write_seconds += seconds;
            // Release the written chunks' memory now, not after the whole request.
            for job in &mut jobs[start..end] {
                job.value = Bytes::new();
            }
            start = end;
        }
        if backend.compaction_candidate().is_some() {
            self.compact(&mut backend);
        }
        // Frees queued by removals and unspills while this batch was being written.
        self.take_pending_frees(&mut backend);
        self.publish_disk_usage(&backend);
        report
    }

    fn claim_for_spill(&self, keys: &[TaskKey]) -> Vec<SpillJob> {
        let mut index = lock(&self.index);
        let mut jobs = Vec::with_capacity(keys.len());
        let mut confirmations = Vec::new();
        for key in keys {
            let Some(entry) = index.entries.get_mut(key) else {
                continue;
            };
            match &entry.state {
                State::Memory(b) => {
                    let value = b.clone();
                    entry.state = State::Spilling(value.clone());
                    jobs.push(SpillJob {
                        key: key.clone(),
                        generation: entry.generation,
                        value,
                    });
                }
                State::Disk(rec) => confirmations.push(MemoryEvent::Spilled {
                    key: key.clone(),
                    nbytes_on_disk: rec.loc.payload_len(),
                }),
                State::Spilling(_) => {}
            }
        }
        index.events.extend(confirmations);
        jobs
    }

    /// Encode and write a prefix of `jobs` (up to [`WRITE_BATCH_BYTES`] of payload) in one
    /// backend call. Returns how many jobs it covered and each one's outcome.
    #[allow(clippy::type_complexity)]
    fn write_some(
        &self,
        backend: &mut SpillBackend,
        jobs: &[SpillJob],
    ) -> (usize, Vec<Result<DiskRecord, SpillFailure>>) {
        let mut outcomes: Vec<Option<Result<DiskRecord, SpillFailure>>> = Vec::new();
        let mut batch: Vec<(usize, codec::EncodedChunk)> = Vec::new();
        let mut batch_bytes = 0u64;
        let mut taken = 0;
        for job in jobs {
            if !batch.is_empty() && batch_bytes >= WRITE_BATCH_BYTES {
                break;
            }
            taken += 1;
            let encoded = codec::encode(&job.value, self.config.compression);
            let len = encoded.payload.len() as u64;
            if let Some(cap) = self.config.max_spill {
                if backend.live_bytes() + batch_bytes + len > cap {
                    outcomes.push(Some(Err(SpillFailure::CapReached { max_spill: cap })));
                    continue;
                }
            }
            batch_bytes += len;
            batch.push((outcomes.len(), encoded));
            outcomes.push(None);
        }
        let payloads: Vec<Bytes> = batch.iter().map(|(_, e)| e.payload.clone()).collect();
        match backend.write_batch(&payloads) {
            Ok(locations) => {
                for ((slot, encoded), loc) in batch.into_iter().zip(locations) {
                    outcomes[slot] = Some(Ok(DiskRecord {
                        loc,
                        compressed: encoded.compressed,
                        raw_len: encoded.raw_len,
                    }));
                }
            }
            Err(e) => {
                let failure = self.classify(e);
                for (slot, _) in batch {
                    outcomes[slot] = Some(Err(failure.clone()));
                }
            }
        }
        let outcomes = outcomes
            .into_iter()
            .map(|o| {
                o.unwrap_or_else(|| {
                    Err(SpillFailure::Io {
                        message: "internal: spill outcome missing".into(),
                    })
                })
            })
            .collect();
        (taken, outcomes)
    }

    fn classify(&self, e: io::Error) -> SpillFailure {
        let message = format!("writing to {}: {e}", self.dir.path().display());
        match e.raw_os_error() {
            Some(libc::ENOSPC) | Some(libc::EDQUOT) => SpillFailure::NoSpace { message },
            _ => SpillFailure::Io { message },
        }
    }

    fn commit_spill(
        &self,
        backend: &mut SpillBackend,
        jobs: &[SpillJob],
        outcomes: Vec<Result<DiskRecord, SpillFailure>>,
        report: &mut SpillReport,
    ) {
        let mut index = lock(&self.index);
        for (job, outcome) in jobs.iter().zip(outcomes) {
            let current = index.entries.get_mut(&job.key).filter(|e| {
                e.generation == job.generation && matches!(e.state, State::Spilling(_))
            });
            match (current, outcome) {
                (Some(entry), Ok(record)) => {
                    let on_disk = record.loc.payload_len();
                    let compressed = record.compressed;
                    entry.state = State::Disk(record);
                    let m = &mut index.metrics;
                    m.memory_bytes -= job.value.len() as u64;
                    m.memory_chunks -= 1;
                    m.spilled_bytes += job.value.len() as u64;
                    m.spilled_chunks += 1;
                    m.bytes_written += on_disk;
                    m.spill_count += 1;
                    m.compressed_chunks += u64::from(compressed);
                    report.spilled += 1;
                    report.bytes_written += on_disk;
                    index.events.push(MemoryEvent::Spilled {
                        key: job.key.clone(),
                        nbytes_on_disk: on_disk,
                    });
                }
                (Some(entry), Err(reason)) => {
                    entry.state = State::Memory(job.value.clone());
                    index.metrics.spill_failures += 1;
                    report.failed += 1;
                    index.events.push(MemoryEvent::SpillFailed {
                        key: job.key.clone(),
                        reason,
                    });
                }
                // Removed or replaced while being written: the copy on disk is garbage.
                (None, Ok(record)) => backend.free(&record.loc),
                (None, Err(_)) => {}
            }
        }
    }

    /// Move the live chunks of the most-dead log segment to the active one, so its file can go.
    fn compact(&self, backend: &mut SpillBackend) {
        let Some(segment) = backend.compaction_candidate() else {
            return;
        };
        backend.seal(segment);
        let movers: Vec<(TaskKey, DiskRecord)> = lock(&self.index)
            .entries
            .iter()
            .filter_map(|(k, e)| match &e.state {
                State::Disk(rec) if matches!(rec.loc, DiskLocation::Log { segment: s, .. } if s == segment) => {
                    Some((k.clone(), rec.clone()))
                }
                _ => None,
            })
            .collect();
        // Move the live chunks in groups of at most COMPACTION_GROUP_BYTES: each group is read
        // into memory before it is written (a spilling worker has no memory to spare).
        let mut groups: Vec<&[(TaskKey, DiskRecord)]> = Vec::new();
        let mut first = 0;
        let mut bytes = 0u64;
        for (i, (_, rec)) in movers.iter().enumerate() {
            if i > first && bytes + rec.loc.payload_len() > COMPACTION_GROUP_BYTES {
                groups.push(&movers[first..i]);
                first = i;
                bytes = 0;
            }
            bytes += rec.loc.payload_len();
        }
        if first < movers.len() {
            groups.push(&movers[first..]);
        }
        tracing::debug!(segment, chunks = movers.len(), "compacting a spill segment");
        for group in groups {
            let mut payloads = Vec::with_capacity(group.len());
            for (_, rec) in group {
                match read_location(self.dir.path(), &rec.loc) {
                    Ok(p) => payloads.push(p),
                    Err(e) => {
                        tracing::warn!(error = %e, "compaction could not read a spilled chunk");
                        return;
                    }
                }
            }
            let Ok(locations) = backend.write_batch(&payloads) else {
                return;
            };
            let mut index = lock(&self.index);
            for ((key, old), new_loc) in group.iter().zip(locations) {
                let moved = match index.entries.get_mut(key).map(|e| &mut e.state) {
                    Some(State::Disk(rec)) if rec.loc.same_place(&old.loc) => {
                        rec.loc = new_loc.clone();
                        true
                    }
                    _ => false,
                };
                backend.free(if moved { &old.loc } else { &new_loc });
            }
        }
    }

    fn publish_disk_usage(&self, backend: &SpillBackend) {
        self.disk_bytes
            .store(backend.disk_bytes(), Ordering::Relaxed);
        self.live_disk_bytes
            .store(backend.live_bytes(), Ordering::Relaxed);
    }

    fn take_pending_frees(&self, backend: &mut SpillBackend) {
        let frees = std::mem::take(&mut lock(&self.index).pending_frees);
        for loc in &frees {
            backend.free(loc);
        }
        self.publish_disk_usage(backend);
    }

    /// Free queued disk ranges now if the backend is idle; otherwise the running spill will.
    fn free_pending(&self, index: MutexGuard<'_, Index>) {
        if index.pending_frees.is_empty() {
            return;
        }
        drop(index);
        if let Ok(mut backend) = self.backend.try_lock() {
            self.take_pending_frees(&mut backend);
        }
    }

    /// Hold the backend lock, as a long spill write does (tests of concurrency).
    #[cfg(test)]
    pub(crate) fn hold_backend(&self) -> MutexGuard<'_, SpillBackend> {
        lock(&self.backend)
    }

    /// Seal the active log segment (so tests can exercise compaction without 256 MiB).
    #[cfg(test)]
    pub(crate) fn seal_active_segment(&self) {
        if let SpillBackend::AppendLog(log) = &mut *lock(&self.backend) {
            log.seal_active();
        }
    }
}
