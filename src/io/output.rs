//! How an output is laid out in its file — [`OutputPlan`]: name, dtype, shape, storage
//! chunks, filters, dimensions, coordinates, attributes — and the user's [`WriteOptions`].
//!
//! This module must not open files.

use std::path::PathBuf;

use crate::array::DType;
use crate::io::codec::Codec;
use crate::io::format::Format;
use crate::labeled::Coordinate;
use crate::labeled::{AttrValue, Attributes};

/// How the workers get chunks into one output file (see docs/architecture.md, "Parallel
/// writes", for the measurements behind the default).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WriteStrategy {
    /// Each worker compresses the chunks it computed, then takes an exclusive lock on the
    /// output, opens it, writes them with `H5Dwrite_chunk`, closes it and unlocks. The
    /// default: compression runs in parallel and nothing funnels through one process.
    #[default]
    LockedChunks,
    /// Workers compress; one writer task receives every compressed chunk and writes them in
    /// one open of the file.
    SingleWriter,
    /// Each worker takes the lock and writes its block through libhdf5's filter pipeline
    /// (compression happens under the lock, so it is serial).
    LockedFilter,
}

/// Options of a write.
///
/// ```
/// use tessera::io::{WriteOptions, WriteStrategy};
/// let o = WriteOptions::new().deflate(Some(6)).shuffle(true).history("tessera eval ...");
/// assert_eq!(o.strategy, WriteStrategy::LockedChunks);
/// ```
#[derive(Clone, Debug, Default)]
pub struct WriteOptions {
    /// Filters of the output datasets.
    pub codec: Codec,
    /// Storage chunk shape (the array is rechunked to it); default: the array's chunks.
    pub chunks: Option<Vec<usize>>,
    /// How chunks reach the file.
    pub strategy: WriteStrategy,
    /// The command recorded in the `history` attribute (default: this process's arguments).
    pub history: Option<String>,
    /// Extra global (file) attributes.
    pub global_attrs: Attributes,
}

impl WriteOptions {
    /// Defaults: shuffle + deflate level 4, the array's chunks, [`WriteStrategy::LockedChunks`].
    pub fn new() -> Self {
        WriteOptions::default()
    }

    /// Deflate level 1–9, or `None` for no compression.
    pub fn deflate(mut self, level: Option<u8>) -> Self {
        self.codec.deflate = level.map(|l| l.clamp(1, 9));
        self
    }

    /// Byte shuffle before deflate.
    pub fn shuffle(mut self, on: bool) -> Self {
        self.codec.shuffle = on;
        self
    }

    /// Storage chunk shape.
    pub fn chunks(mut self, chunks: Vec<usize>) -> Self {
        self.chunks = Some(chunks);
        self
    }

    /// How chunks reach the file.
    pub fn strategy(mut self, s: WriteStrategy) -> Self {
        self.strategy = s;
        self
    }

    /// The command to record in `history`.
    pub fn history(mut self, command: &str) -> Self {
        self.history = Some(command.to_string());
        self
    }

    /// A global attribute.
    pub fn global_attr(mut self, name: &str, value: impl Into<AttrValue>) -> Self {
        self.global_attrs.insert(name.to_string(), value.into());
        self
    }
}

/// One output as it will be laid out.
#[derive(Clone, Debug)]
pub(crate) struct OutputPlan {
    pub format: Format,
    /// The final file name.
    pub path: PathBuf,
    /// The temporary name written until success.
    pub tmp_path: PathBuf,
    /// The lock file next to it.
    pub lock_path: PathBuf,
    /// Dataset path (HDF5) or variable name (NetCDF).
    pub name: String,
    pub dtype: DType,
    pub shape: Vec<usize>,
    /// Storage chunk shape; empty for contiguous (0-d) data.
    pub chunk: Vec<usize>,
    pub codec: Codec,
    pub dims: Vec<String>,
    pub coords: Vec<(String, Coordinate)>,
    pub attrs: Attributes,
    pub global_attrs: Attributes,
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) of a Unix time, for `history` lines.
pub(crate) fn utc_timestamp(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The `history` line for `command`, prepended to an existing history (NCO's convention).
pub(crate) fn history_line(command: &str, previous: Option<&str>) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let line = format!("{}: {command}", utc_timestamp(now));
    match previous {
        Some(p) if !p.is_empty() => format!("{line}\n{p}"),
        _ => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_civil_utc() {
        assert_eq!(utc_timestamp(0), "1970-01-01 00:00:00");
        assert_eq!(utc_timestamp(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(utc_timestamp(1_700_000_000), "2023-11-14 22:13:20");
    }

    #[test]
    fn history_prepends() {
        let h = history_line("tessera eval x", Some("old"));
        assert!(h.ends_with(": tessera eval x\nold"), "{h}");
    }
}
