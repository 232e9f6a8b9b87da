//! The scheduler file: how workers and clients on a shared filesystem find a scheduler and
//! learn the secret that proves they belong to it.
//!
//! (Contract; implemented by the config work.) JSON with a format version; written atomically
//! (temp file + rename) with mode 0600; removed on clean exit. This module must not open
//! network connections except to tell a live scheduler from a stale file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::protocol::Secret;
use crate::transport::Address;

/// The format version this build writes and reads.
pub const SCHEDULER_FILE_VERSION: u32 = 1;

/// The scheduler file could not be used; every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum SchedulerFileError {
    #[error("scheduler file {path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
    #[error("scheduler file {path} did not appear within {waited:?}: is the scheduler running?")]
    Timeout { path: PathBuf, waited: Duration },
    #[error("scheduler file {path} is stale: {reason}")]
    Stale { path: PathBuf, reason: String },
    #[error("scheduler file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The contents of a scheduler file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SchedulerFile {
    pub version: u32,
    /// Where clients and workers connect (`tcp://host:port`).
    pub address: String,
    /// Other services by name (dashboard, ...).
    #[serde(default)]
    pub services: std::collections::BTreeMap<String, String>,
    /// Seconds since the Unix epoch when the scheduler started.
    pub started: f64,
    pub pid: u32,
    pub host: String,
    /// The cluster secret, hex.
    pub secret: String,
}

impl SchedulerFile {
    /// Describe a scheduler listening at `address` with `secret`, started now by this process.
    pub fn new(_address: &Address, _secret: &Secret) -> Self {
        todo!()
    }
    /// Write atomically with mode 0600.
    pub fn write(&self, _path: &Path) -> Result<(), SchedulerFileError> {
        todo!()
    }
    /// Read and validate (version, fields, permissions).
    pub fn read(_path: &Path) -> Result<Self, SchedulerFileError> {
        todo!()
    }
    /// Wait until the file exists and is valid, up to `timeout`.
    pub fn wait(_path: &Path, _timeout: Duration) -> Result<Self, SchedulerFileError> {
        todo!()
    }
    /// The scheduler's address.
    pub fn address(&self) -> Result<Address, SchedulerFileError> {
        todo!()
    }
    /// The secret.
    pub fn secret(&self) -> Result<Secret, SchedulerFileError> {
        todo!()
    }
    /// Tell a live scheduler from a stale file.
    pub fn check_alive(&self) -> Result<(), SchedulerFileError> {
        todo!()
    }
}

/// Remove the scheduler file at `path` if this process wrote it (pid matches), so a new
/// scheduler's file is never deleted by an old one.
pub fn remove_if_ours(path: &Path) {
    if let Ok(text) = std::fs::read_to_string(path) {
        if let Ok(file) = serde_json::from_str::<SchedulerFile>(&text) {
            if file.pid == std::process::id() {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}
