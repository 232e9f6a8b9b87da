//! Human quantities on the command line and in config files: sizes (`4GiB`, `4GB`, `4e9`),
//! durations (`30s`, `5m`, `1h`, `02:00:00`) and memory limits (`4GiB`, `0.25`, `auto`, `none`).
//!
//! (Contract; implemented by the config work.) Parsing only: this module must not read the
//! machine (the worker resolves `auto` and fractions against the node it runs on).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A quantity could not be parsed; the message names the input and shows valid examples.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct UnitError(pub String);

/// A number of bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(pub u64);

impl FromStr for ByteSize {
    type Err = UnitError;
    fn from_str(_s: &str) -> Result<Self, Self::Err> {
        todo!()
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, _f: &mut fmt::Formatter<'_>) -> fmt::Result {
        todo!()
    }
}

/// Parse a duration: `30s`, `5m`, `1h30m`, `1d`, `90` (seconds), `02:00:00`, `1-00:00:00`.
pub fn parse_duration(_s: &str) -> Result<Duration, UnitError> {
    todo!()
}

/// Compact duration text (`1h30m`, `45s`, `250ms`).
pub fn format_duration(_d: Duration) -> String {
    todo!()
}

/// A worker's memory limit as given by the user.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MemoryLimit {
    /// Exactly this many bytes.
    Bytes(u64),
    /// This fraction (0 < f ≤ 1) of the node's memory.
    Fraction(f64),
    /// The node's memory divided by the workers on the node.
    Auto,
    /// No limit.
    Unlimited,
}

impl MemoryLimit {
    /// Bytes for one of `workers_on_node` workers on a node with `node_memory` bytes.
    pub fn resolve(self, _node_memory: u64, _workers_on_node: u32) -> Option<u64> {
        todo!()
    }
}

impl FromStr for MemoryLimit {
    type Err = UnitError;
    fn from_str(_s: &str) -> Result<Self, Self::Err> {
        todo!()
    }
}
