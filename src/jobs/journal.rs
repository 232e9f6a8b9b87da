//! The job journal's records and their text form: a header line, then one JSON line per job
//! submitted and per task that ended. A scheduler restarted on its journal resumes unfinished
//! jobs without running finished tasks again. A torn last line (the scheduler killed while
//! writing) is ignored; anything else that does not parse makes the journal corrupt, and a
//! file without the header is not a journal. This module must not touch files.

use serde::{Deserialize, Serialize};

use crate::protocol::job_control::{JobSubmission, TaskState};

/// The first line of every journal.
pub const JOURNAL_HEADER: &str = "tessera-journal 1";

/// One fact of the journal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum JournalRecord {
    /// A job was accepted.
    Submitted {
        job: u64,
        submitted_ms: u64,
        submission: Box<JobSubmission>,
    },
    /// A task ended (finished, failed after its last attempt, or cancelled).
    Ended {
        job: u64,
        task: u64,
        state: TaskState,
        exit_code: Option<i32>,
        ended_ms: u64,
    },
}

/// A journal cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JournalError {
    #[error("{path}: not a Tessera job journal (its first line is not {JOURNAL_HEADER:?})")]
    Foreign { path: String },
    #[error("{path}: corrupt journal at line {line}: {reason}")]
    Corrupt {
        path: String,
        line: usize,
        reason: String,
    },
}

/// One record as a journal line (with its newline).
pub fn encode(record: &JournalRecord) -> String {
    // Plain data: serialising to a string cannot fail.
    let mut line = serde_json::to_string(record).unwrap_or_default();
    line.push('\n');
    line
}

/// The records of a journal's text (`path` names it in errors). Empty text is an empty
/// journal.
pub fn parse(text: &str, path: &str) -> Result<Vec<JournalRecord>, JournalError> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let mut lines = text.split_inclusive('\n');
    if lines.next().map(str::trim_end) != Some(JOURNAL_HEADER) {
        return Err(JournalError::Foreign { path: path.into() });
    }
    let mut records = Vec::new();
    for (i, line) in lines.enumerate() {
        let complete = line.ends_with('\n');
        match serde_json::from_str(line.trim_end()) {
            Ok(record) => records.push(record),
            // The scheduler died while writing its last line: that record never counted.
            Err(_) if !complete => break,
            Err(e) => {
                return Err(JournalError::Corrupt {
                    path: path.into(),
                    line: i + 2,
                    reason: e.to_string(),
                })
            }
        }
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_a_torn_tail_is_ignored_and_bad_files_are_named() {
        let ended = JournalRecord::Ended {
            job: 1,
            task: 4,
            state: TaskState::Finished,
            exit_code: Some(0),
            ended_ms: 9,
        };
        let text = format!("{JOURNAL_HEADER}\n{}", encode(&ended));
        assert_eq!(parse(&text, "j").unwrap(), vec![ended.clone()]);
        let torn = format!("{text}{{\"Ended\":{{\"job\":1,");
        assert_eq!(parse(&torn, "j").unwrap(), vec![ended]);
        assert_eq!(parse("", "j").unwrap(), vec![]);
        assert_eq!(
            parse("hello\n", "j.bin").unwrap_err().to_string(),
            "j.bin: not a Tessera job journal (its first line is not \"tessera-journal 1\")"
        );
        let corrupt = format!(
            "{JOURNAL_HEADER}\nnot json\n{}",
            &text[JOURNAL_HEADER.len() + 1..]
        );
        assert!(matches!(
            parse(&corrupt, "j"),
            Err(JournalError::Corrupt { line: 2, .. })
        ));
    }
}
