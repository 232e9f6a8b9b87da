//! The worker memory configuration: the limit, the four thresholds and the spill cap, checked
//! once and turned into byte levels.
//!
//! This module only validates numbers; it must not read the machine (the worker resolves
//! `auto` and fractional `--memory-limit` forms into bytes before building a [`MemoryConfig`]).

use std::time::Duration;

/// A memory configuration value is out of range; the message names the key and the value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MemoryConfigError {
    /// A threshold fraction is not in (0, 1] (or is not a finite number).
    #[error("memory threshold `{key}` must be a fraction in (0, 1] of the memory limit (or disabled), got {value}")]
    FractionOutOfRange {
        /// The threshold's name: `target`, `spill`, `pause` or `terminate`.
        key: &'static str,
        /// The value given.
        value: f64,
    },
    /// Two enabled thresholds are in the wrong order.
    #[error("memory threshold `{lower_key}` ({lower}) must not be above `{higher_key}` ({higher}); the order is target <= spill <= pause <= terminate")]
    Misordered {
        /// The threshold that must be lower.
        lower_key: &'static str,
        /// Its value.
        lower: f64,
        /// The threshold that must be higher.
        higher_key: &'static str,
        /// Its value.
        higher: f64,
    },
    /// `limit` is zero bytes (use `None` for "no limit").
    #[error("memory `limit` must be more than 0 bytes (use `none` to disable the limit)")]
    ZeroLimit,
    /// `resume_margin` is not in [0, 1).
    #[error("memory `resume_margin` must be a fraction in [0, 1), got {0}")]
    ResumeMarginOutOfRange(f64),
}

/// How a worker manages its memory. Fractions are of `limit`; `None` disables a threshold.
///
/// ```
/// use tessera::core::memory::MemoryConfig;
/// let cfg = MemoryConfig { limit: Some(8 << 30), ..MemoryConfig::default() };
/// assert!(cfg.validate().is_ok());
/// let bad = MemoryConfig { pause: Some(0.5), ..cfg };
/// assert!(bad.validate().unwrap_err().to_string().contains("pause"));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct MemoryConfig {
    /// The worker's memory limit in bytes; `None` = unlimited (no threshold ever fires).
    pub limit: Option<u64>,
    /// Managed (stored chunk) bytes above this fraction: spill least-recently-used chunks
    /// until below it. Default 0.60.
    pub target: Option<f64>,
    /// Process RSS above this fraction: spill until RSS is back under `target`. Default 0.70.
    pub spill: Option<f64>,
    /// Process memory above this fraction: stop starting new tasks. Default 0.80.
    pub pause: Option<f64>,
    /// Process memory above this fraction: the worker stops itself. Default 0.95.
    pub terminate: Option<f64>,
    /// Most bytes the worker may keep on disk; `None` = bounded only by the disk.
    pub max_spill: Option<u64>,
    /// A paused worker resumes when its memory falls below `pause - resume_margin`. Default 0.10.
    pub resume_margin: f64,
    /// Shortest time between two RSS-triggered spill batches. Default 100 ms.
    pub spill_interval: Duration,
    /// Longest back-off after RSS-triggered spills that did not lower RSS. Default 30 s.
    pub max_spill_backoff: Duration,
    /// The same warning is emitted at most once per this interval. Default 30 s.
    pub warning_interval: Duration,
    /// After the disk filled up, spilling is retried after this long (or as soon as disk space
    /// is freed by removing or unspilling a chunk). Default 10 s.
    pub disk_full_retry: Duration,
    /// A worker paused with spilling impossible that frees no chunk for this long terminates
    /// (its work moves to other workers); `None` waits for ever. Default 60 s.
    pub disk_full_timeout: Option<Duration>,
}

impl Default for MemoryConfig {
    fn default() -> Self {
        MemoryConfig {
            limit: None,
            target: Some(0.60),
            spill: Some(0.70),
            pause: Some(0.80),
            terminate: Some(0.95),
            max_spill: None,
            resume_margin: 0.10,
            spill_interval: Duration::from_millis(100),
            max_spill_backoff: Duration::from_secs(30),
            warning_interval: Duration::from_secs(30),
            disk_full_retry: Duration::from_secs(10),
            disk_full_timeout: Some(Duration::from_secs(60)),
        }
    }
}

/// The thresholds of a valid configuration in bytes (`None` = disabled or no limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ByteLevels {
    /// Managed bytes above this start LRU spilling.
    pub target: Option<u64>,
    /// RSS above this starts RSS-triggered spilling.
    pub spill: Option<u64>,
    /// Memory above this pauses the worker.
    pub pause: Option<u64>,
    /// A paused worker resumes below this.
    pub resume: Option<u64>,
    /// Memory above this terminates the worker.
    pub terminate: Option<u64>,
}

impl MemoryConfig {
    /// Check every fraction is in (0, 1] and enabled thresholds are ordered
    /// target ≤ spill ≤ pause ≤ terminate.
    pub fn validate(&self) -> Result<(), MemoryConfigError> {
        if self.limit == Some(0) {
            return Err(MemoryConfigError::ZeroLimit);
        }
        if !(0.0..1.0).contains(&self.resume_margin) {
            return Err(MemoryConfigError::ResumeMarginOutOfRange(
                self.resume_margin,
            ));
        }
        let named = self.named_fractions();
        for (key, value) in named {
            if let Some(v) = value {
                if !(v > 0.0 && v <= 1.0) {
                    return Err(MemoryConfigError::FractionOutOfRange { key, value: v });
                }
            }
        }
        let enabled: Vec<(&'static str, f64)> = named
            .iter()
            .filter_map(|(k, v)| v.map(|v| (*k, v)))
            .collect();
        for pair in enabled.windows(2) {
            let (lower_key, lower) = pair[0];
            let (higher_key, higher) = pair[1];
            if lower > higher {
                return Err(MemoryConfigError::Misordered {
                    lower_key,
                    lower,
                    higher_key,
                    higher,
                });
            }
        }
        Ok(())
    }

    fn named_fractions(&self) -> [(&'static str, Option<f64>); 4] {
        [
            ("target", self.target),
            ("spill", self.spill),
            ("pause", self.pause),
            ("terminate", self.terminate),
        ]
    }

    /// The thresholds in bytes (all `None` without a limit). Call after [`Self::validate`].
    pub fn byte_levels(&self) -> ByteLevels {
        let Some(limit) = self.limit else {
            return ByteLevels::default();
        };
        let of = |f: Option<f64>| f.map(|f| (limit as f64 * f) as u64);
        ByteLevels {
            target: of(self.target),
            spill: of(self.spill),
            pause: of(self.pause),
            resume: self
                .pause
                .map(|p| (limit as f64 * (p - self.resume_margin).max(0.0)) as u64),
            terminate: of(self.terminate),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_dask_like() {
        let cfg = MemoryConfig {
            limit: Some(1000),
            ..MemoryConfig::default()
        };
        cfg.validate().unwrap();
        let levels = cfg.byte_levels();
        assert_eq!(levels.target, Some(600));
        assert_eq!(levels.spill, Some(700));
        assert_eq!(levels.pause, Some(800));
        assert_eq!(levels.resume, Some(700));
        assert_eq!(levels.terminate, Some(950));
    }

    #[test]
    fn out_of_range_fraction_names_the_key() {
        for (cfg, key) in [
            (
                MemoryConfig {
                    target: Some(0.0),
                    ..MemoryConfig::default()
                },
                "target",
            ),
            (
                MemoryConfig {
                    spill: Some(1.5),
                    ..MemoryConfig::default()
                },
                "spill",
            ),
            (
                MemoryConfig {
                    terminate: Some(f64::NAN),
                    ..MemoryConfig::default()
                },
                "terminate",
            ),
        ] {
            let err = cfg.validate().unwrap_err();
            assert!(
                matches!(err, MemoryConfigError::FractionOutOfRange { key: k, .. } if k == key)
            );
            assert!(err.to_string().contains(key), "{err}");
        }
    }

    #[test]
    fn misordered_names_both_keys_and_skips_disabled() {
        let cfg = MemoryConfig {
            spill: Some(0.9),
            ..MemoryConfig::default()
        };
        let err = cfg.validate().unwrap_err();
        assert_eq!(
            err,
            MemoryConfigError::Misordered {
                lower_key: "spill",
                lower: 0.9,
                higher_key: "pause",
                higher: 0.8
            }
        );
        // With pause disabled, spill 0.9 is only compared with terminate 0.95.
        let ok = MemoryConfig { pause: None, ..cfg };
        ok.validate().unwrap();
    }

    #[test]
    fn zero_limit_and_no_limit() {
        let zero = MemoryConfig {
            limit: Some(0),
            ..MemoryConfig::default()
        };
        assert_eq!(zero.validate(), Err(MemoryConfigError::ZeroLimit));
        let none = MemoryConfig::default();
        none.validate().unwrap();
        assert_eq!(none.byte_levels(), ByteLevels::default());
    }
}
