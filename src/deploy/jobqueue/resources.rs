//! How memory sizes and wall-clock limits are written in job directives, and how they round.
//!
//! Rounding is always **up** (a job must never ask for less than the user gave): sizes to the
//! next whole unit, durations to the next whole second (or minute where the system counts in
//! minutes). The rules per system are tabulated in `docs/jobqueue.md`. This module formats
//! numbers only; it must not decide which directive a number goes into.

use std::time::Duration;

/// Bytes in a kibibyte (what batch systems call `K`/`KB`).
pub const KIB: u64 = 1 << 10;
/// Bytes in a mebibyte (what batch systems call `M`/`MB`/`mb`).
pub const MIB: u64 = 1 << 20;
/// Bytes in a gibibyte (what batch systems call `G`/`GB`/`gb`).
pub const GIB: u64 = 1 << 30;
/// Bytes in a tebibyte.
pub const TIB: u64 = 1 << 40;

/// `bytes` in units of `unit` bytes, rounded up, at least 1.
///
/// ```
/// use tessera::deploy::jobqueue::resources::{units_ceil, MIB};
/// assert_eq!(units_ceil(32_000_000_000, MIB), 30518);
/// assert_eq!(units_ceil(1, MIB), 1);
/// ```
pub fn units_ceil(bytes: u64, unit: u64) -> u64 {
    bytes.div_ceil(unit.max(1)).max(1)
}

/// A PBS size (`mem=`, `pmem=`): whole gibibytes as `Ngb` when exact, otherwise mebibytes
/// rounded up as `Nmb` (PBS units are powers of 1024).
///
/// ```
/// use tessera::deploy::jobqueue::resources::pbs_size;
/// assert_eq!(pbs_size(4 << 30), "4gb");
/// assert_eq!(pbs_size(32_000_000_000), "30518mb");
/// ```
pub fn pbs_size(bytes: u64) -> String {
    if bytes >= GIB && bytes.is_multiple_of(GIB) {
        format!("{}gb", bytes / GIB)
    } else {
        format!("{}mb", units_ceil(bytes, MIB))
    }
}

/// Whole seconds of `d`, rounded up.
pub fn seconds_ceil(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// `HH:MM:SS` with as many hour digits as needed (`100:00:00`), seconds rounded up.
///
/// ```
/// use std::time::Duration;
/// use tessera::deploy::jobqueue::resources::hours_minutes_seconds;
/// assert_eq!(hours_minutes_seconds(Duration::from_secs(300)), "00:05:00");
/// assert_eq!(hours_minutes_seconds(Duration::from_millis(3_600_500)), "01:00:01");
/// ```
pub fn hours_minutes_seconds(d: Duration) -> String {
    let s = seconds_ceil(d);
    format!("{:02}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60)
}

/// SLURM's time limit: `HH:MM:SS` below one day, `D-HH:MM:SS` from one day on.
///
/// ```
/// use std::time::Duration;
/// use tessera::deploy::jobqueue::resources::slurm_time;
/// assert_eq!(slurm_time(Duration::from_secs(5400)), "01:30:00");
/// assert_eq!(slurm_time(Duration::from_secs(2 * 86400 + 61)), "2-00:01:01");
/// ```
pub fn slurm_time(d: Duration) -> String {
    let s = seconds_ceil(d);
    if s < 86_400 {
        hours_minutes_seconds(d)
    } else {
        let rest = s % 86_400;
        format!(
            "{}-{:02}:{:02}:{:02}",
            s / 86_400,
            rest / 3600,
            rest % 3600 / 60,
            rest % 60
        )
    }
}

/// LSF's run limit `HH:MM`, rounded up to the next whole minute.
///
/// ```
/// use std::time::Duration;
/// use tessera::deploy::jobqueue::resources::hours_minutes_ceil;
/// assert_eq!(hours_minutes_ceil(Duration::from_secs(3601)), "01:01");
/// ```
pub fn hours_minutes_ceil(d: Duration) -> String {
    let minutes = seconds_ceil(d).div_ceil(60);
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_round_up() {
        assert_eq!(units_ceil(MIB, MIB), 1);
        assert_eq!(units_ceil(MIB + 1, MIB), 2);
        assert_eq!(units_ceil(0, MIB), 1);
        assert_eq!(units_ceil(3 * GIB, GIB), 3);
        assert_eq!(pbs_size(GIB + 1), "1025mb");
        assert_eq!(pbs_size(512 * MIB), "512mb");
    }

    #[test]
    fn durations_round_up() {
        assert_eq!(
            hours_minutes_seconds(Duration::from_secs(100 * 3600)),
            "100:00:00"
        );
        assert_eq!(hours_minutes_seconds(Duration::from_secs(59)), "00:00:59");
        assert_eq!(slurm_time(Duration::from_secs(86_399)), "23:59:59");
        assert_eq!(slurm_time(Duration::from_secs(86_400)), "1-00:00:00");
        assert_eq!(hours_minutes_ceil(Duration::from_secs(60)), "00:01");
        assert_eq!(hours_minutes_ceil(Duration::from_secs(1)), "00:01");
        assert_eq!(hours_minutes_ceil(Duration::from_secs(30 * 3600)), "30:00");
        assert_eq!(seconds_ceil(Duration::from_nanos(1)), 1);
    }
}
