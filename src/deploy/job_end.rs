//! When the batch job this process runs in ends, as far as the batch system says.
//!
//! Newer Slurm releases export `SLURM_JOB_END_TIME` (the job's end as Unix seconds) into the
//! job's environment; Slurm 22.05 does not, nor do PBS and Grid Engine. Without it, workers go
//! by `--lifetime` (which `tessera jobqueue` job scripts set from the walltime). Asking the
//! batch system (`squeue -h -j $SLURM_JOB_ID -o %e`) is left out on purpose: one query per
//! worker start, per rank, would load the controller for little gain. This module only reads
//! the environment; it must not start processes.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The environment variable Slurm sets to the job's end time (Unix seconds).
pub const SLURM_JOB_END_TIME: &str = "SLURM_JOB_END_TIME";

/// The end of the batch job this process runs in, when the environment says
/// (`SLURM_JOB_END_TIME`); `None` outside a job, or when the value is not Unix seconds (an
/// unlimited job's end is not a date, so it is ignored with a debug message).
pub fn batch_job_end() -> Option<SystemTime> {
    let value = std::env::var(SLURM_JOB_END_TIME).ok()?;
    let end = parse_unix_seconds(&value);
    if end.is_none() {
        tracing::debug!(%value, "{SLURM_JOB_END_TIME} is not Unix seconds; ignored");
    }
    end
}

/// Unix seconds (`1767225600`) as a time; `None` for anything else, including zero.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use tessera::deploy::job_end::parse_unix_seconds;
/// assert_eq!(parse_unix_seconds(" 1700000000 "), Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000)));
/// assert_eq!(parse_unix_seconds("Unknown"), None);
/// ```
pub fn parse_unix_seconds(value: &str) -> Option<SystemTime> {
    let seconds: u64 = value.trim().parse().ok()?;
    if seconds == 0 {
        return None;
    }
    UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_positive_integer_seconds_are_an_end() {
        assert_eq!(
            parse_unix_seconds("86400"),
            Some(UNIX_EPOCH + Duration::from_secs(86_400))
        );
        for bad in [
            "",
            "0",
            "-5",
            "1.5",
            "2025-01-01T00:00:00",
            "18446744073709551616",
        ] {
            assert_eq!(parse_unix_seconds(bad), None, "{bad:?}");
        }
    }
}
