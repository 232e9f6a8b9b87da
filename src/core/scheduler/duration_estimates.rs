//! How long tasks take, learned per task prefix: a running mean of the compute durations
//! workers report, used to keep long tasks off workers whose job ends too soon and to decide
//! whether a task is worth moving away from big inputs.
//!
//! A task's prefix is its key without the trailing chunk index (see [`task_prefix`]): every
//! chunk of one array operation, or every task of one `Client::map`, shares a prefix and
//! usually a duration, like dask's `TaskPrefix`. This module only keeps numbers: it must not
//! decide placement.

use std::time::Duration;

use super::fast_hash::FastMap;

/// Observations after which the mean turns into a moving average (older ones fade out, so
/// an estimate follows a drift in chunk sizes or node speed).
const MEAN_WINDOW: u32 = 64;

/// Prefixes kept at most. Keys without a chunk index (`t17`, `result-final`) are their own
/// prefix; so that a stream of such keys cannot grow the table without bound, it is emptied
/// when full (estimates are learned again from the next completions).
const MAX_PREFIXES: usize = 4096;

/// The part of a task key that names its kind: the key without its trailing `-<digits>`
/// segments (the chunk index, or a task counter).
///
/// ```
/// use tessera::core::scheduler::task_prefix;
/// assert_eq!(task_prefix("add-3f2a91c04b5d6e7f-0-12"), "add-3f2a91c04b5d6e7f");
/// assert_eq!(task_prefix("tessera.sleep-ab12-7"), "tessera.sleep-ab12");
/// assert_eq!(task_prefix("slow-3"), "slow");
/// assert_eq!(task_prefix("total"), "total");
/// assert_eq!(task_prefix("42"), "42");
/// ```
pub fn task_prefix(key: &str) -> &str {
    let mut end = key.len();
    while let Some(dash) = key[..end].rfind('-') {
        let segment = &key[dash + 1..end];
        if dash == 0 || segment.is_empty() || !segment.bytes().all(|b| b.is_ascii_digit()) {
            break;
        }
        end = dash;
    }
    &key[..end]
}

/// A running mean of one prefix's durations.
#[derive(Clone, Copy, Debug, Default)]
struct Mean {
    seconds: f64,
    count: u32,
}

/// Mean compute duration per task prefix.
#[derive(Default)]
pub(super) struct DurationEstimates {
    by_prefix: FastMap<Box<str>, Mean>,
    /// At least every current estimate (the largest mean ever seen): a worker with more time
    /// left than this needs no per-task lookup.
    longest: Duration,
}

impl DurationEstimates {
    /// Account for one run of the task `key` that computed for `took`.
    pub(super) fn observe(&mut self, key: &str, took: Duration) {
        let prefix = task_prefix(key);
        let seconds = took.as_secs_f64();
        let mean = match self.by_prefix.get_mut(prefix) {
            Some(mean) => mean,
            None => {
                if self.by_prefix.len() >= MAX_PREFIXES {
                    self.by_prefix.clear();
                    self.longest = Duration::ZERO;
                }
                self.by_prefix.entry(prefix.into()).or_default()
            }
        };
        mean.count = (mean.count + 1).min(MEAN_WINDOW);
        mean.seconds += (seconds - mean.seconds) / f64::from(mean.count);
        if let Ok(estimate) = Duration::try_from_secs_f64(mean.seconds) {
            self.longest = self.longest.max(estimate);
        }
    }

    /// No estimate exceeds this.
    #[inline]
    pub(super) fn longest(&self) -> Duration {
        self.longest
    }

    /// The expected compute duration of the task `key`; `None` until a task of its prefix
    /// was observed.
    pub(super) fn estimate(&self, key: &str) -> Option<Duration> {
        if self.by_prefix.is_empty() {
            return None;
        }
        let mean = self.by_prefix.get(task_prefix(key))?;
        Duration::try_from_secs_f64(mean.seconds).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_drop_only_trailing_numeric_segments() {
        assert_eq!(task_prefix("sum-tree-add-3-5"), "sum-tree-add");
        assert_eq!(task_prefix("x-1a-2"), "x-1a");
        assert_eq!(task_prefix("x-"), "x-");
        assert_eq!(task_prefix("-5"), "-5");
        assert_eq!(task_prefix("a--5"), "a-");
        assert_eq!(task_prefix(""), "");
    }

    #[test]
    fn estimate_is_the_mean_of_observations_of_the_prefix() {
        let mut e = DurationEstimates::default();
        assert_eq!(e.estimate("slow-1"), None);
        e.observe("slow-1", Duration::from_secs(2));
        e.observe("slow-2", Duration::from_secs(4));
        assert_eq!(e.estimate("slow-99"), Some(Duration::from_secs(3)));
        assert_eq!(e.estimate("fast-1"), None);
        e.observe("fast-1", Duration::from_secs(1));
        assert_eq!(e.longest(), Duration::from_secs(3));
    }

    #[test]
    fn the_table_is_bounded() {
        let mut e = DurationEstimates::default();
        for i in 0..=MAX_PREFIXES {
            e.observe(&format!("t{i}"), Duration::from_secs(5));
        }
        assert!(e.by_prefix.len() <= MAX_PREFIXES);
        assert_eq!(
            e.estimate(&format!("t{MAX_PREFIXES}")),
            Some(Duration::from_secs(5))
        );
    }

    #[test]
    fn old_observations_fade_after_the_window() {
        let mut e = DurationEstimates::default();
        for i in 0..MEAN_WINDOW {
            e.observe(&format!("t-{i}"), Duration::from_secs(1));
        }
        for i in 0..10 * MEAN_WINDOW {
            e.observe(&format!("t-{i}"), Duration::from_secs(9));
        }
        let estimate = e.estimate("t-0").map(|d| d.as_secs_f64());
        assert!(
            estimate.is_some_and(|s| s > 8.9 && s <= 9.0),
            "{estimate:?}"
        );
    }
}
