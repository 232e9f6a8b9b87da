//! `--array START-END[:STEP]` (or a single index): parsed with one clear error per mistake.
//! This module must not know about tasks.

use crate::protocol::job_control::JobEntries;

/// An array spec is malformed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ArraySpecError {
    #[error("--array {0:?}: expected START-END or START-END:STEP (example: 1-1000)")]
    Syntax(String),
    #[error("--array {0:?}: the end is before the start")]
    Reversed(String),
    #[error("--array {0:?}: the step must be at least 1")]
    Step(String),
}

/// Parse `1-1000`, `0-99:2` or `7`.
///
/// ```
/// use tessera::jobs::parse_array;
/// use tessera::protocol::job_control::JobEntries;
/// assert_eq!(parse_array("1-10:3").unwrap(), JobEntries::Range { start: 1, end: 10, step: 3 });
/// assert!(parse_array("5-1").is_err());
/// assert!(parse_array("1-").is_err());
/// ```
pub fn parse_array(text: &str) -> Result<JobEntries, ArraySpecError> {
    let syntax = || ArraySpecError::Syntax(text.to_string());
    let t = text.trim();
    let (range, step) = match t.split_once(':') {
        Some((r, s)) => (r, Some(s)),
        None => (t, None),
    };
    let step = match step {
        Some(s) => s.trim().parse::<i64>().map_err(|_| syntax())?,
        None => 1,
    };
    if step < 1 {
        return Err(ArraySpecError::Step(text.to_string()));
    }
    // A leading '-' is a negative start, not the separator.
    let split_at = range
        .char_indices()
        .skip(1)
        .find(|&(_, c)| c == '-')
        .map(|(i, _)| i);
    let (start, end) = match split_at {
        Some(i) => (&range[..i], &range[i + 1..]),
        None => (range, range),
    };
    let start: i64 = start.trim().parse().map_err(|_| syntax())?;
    let end: i64 = end.trim().parse().map_err(|_| syntax())?;
    if end < start {
        return Err(ArraySpecError::Reversed(text.to_string()));
    }
    Ok(JobEntries::Range { start, end, step })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_steps_single_indices_and_mistakes() {
        assert_eq!(
            parse_array("1-1000").unwrap(),
            JobEntries::Range {
                start: 1,
                end: 1000,
                step: 1
            }
        );
        assert_eq!(parse_array("7").unwrap().len(), 1);
        assert_eq!(parse_array("-3-3").unwrap().len(), 7);
        assert_eq!(parse_array("0-9:4").unwrap().len(), 3);
        assert_eq!(parse_array("0-9:4").unwrap().task(2).0, Some(8));
        assert_eq!(
            parse_array("5-1").unwrap_err().to_string(),
            "--array \"5-1\": the end is before the start"
        );
        for bad in ["1-", "", "a-b", "1-2:x", "1--"] {
            assert!(
                matches!(parse_array(bad), Err(ArraySpecError::Syntax(_))),
                "{bad}"
            );
        }
        assert!(matches!(parse_array("1-2:0"), Err(ArraySpecError::Step(_))));
    }
}
