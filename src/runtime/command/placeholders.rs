//! Placeholders in command lines and output paths: `%{JOB_ID}`, `%{TASK_ID}`,
//! `%{ARRAY_INDEX}`, `%{ENTRY}`, `%{WORKER}`, replaced per task when it runs.
//!
//! Templates are checked when a job is submitted ([`validate`]), so an unknown or unclosed
//! placeholder is refused before any task starts. This module must not run anything.

use std::fmt;

/// The placeholders a template may use.
pub const PLACEHOLDERS: [&str; 5] = ["JOB_ID", "TASK_ID", "ARRAY_INDEX", "ENTRY", "WORKER"];

/// A template is malformed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlaceholderError {
    #[error("unknown placeholder %{{{name}}} in {template:?} (known: {known})", known = known_list())]
    Unknown { name: String, template: String },
    #[error("unclosed placeholder in {template:?} (write %{{NAME}})")]
    Unclosed { template: String },
}

fn known_list() -> String {
    PLACEHOLDERS
        .iter()
        .map(|p| format!("%{{{p}}}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The values placeholders take for one task.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlaceholderValues<'a> {
    pub job_id: u64,
    pub task_id: u64,
    /// The array index; empty text when the task is not part of an array.
    pub array_index: Option<i64>,
    /// The line or file of `--each-line`/`--each-file`.
    pub entry: Option<&'a str>,
    pub worker: &'a str,
}

impl PlaceholderValues<'_> {
    fn value(&self, name: &str, out: &mut String) -> bool {
        use fmt::Write;
        match name {
            "JOB_ID" => {
                let _ = write!(out, "{}", self.job_id);
            }
            "TASK_ID" => {
                let _ = write!(out, "{}", self.task_id);
            }
            "ARRAY_INDEX" => {
                if let Some(i) = self.array_index {
                    let _ = write!(out, "{i}");
                }
            }
            "ENTRY" => out.push_str(self.entry.unwrap_or("")),
            "WORKER" => out.push_str(self.worker),
            _ => return false,
        }
        true
    }
}

/// Check that every placeholder of `template` is known and closed.
///
/// ```
/// use tessera::runtime::command::placeholders::validate;
/// assert!(validate("out/%{JOB_ID}-%{ARRAY_INDEX}.txt").is_ok());
/// assert!(validate("%{JOBID}").is_err());
/// ```
pub fn validate(template: &str) -> Result<(), PlaceholderError> {
    expand_with(template, |name, _| PLACEHOLDERS.contains(&name)).map(|_| ())
}

/// `template` with every placeholder replaced by its value for one task.
///
/// ```
/// use tessera::runtime::command::placeholders::{expand, PlaceholderValues};
/// let v = PlaceholderValues { job_id: 3, task_id: 7, array_index: Some(8), entry: None, worker: "w1" };
/// assert_eq!(expand("%{JOB_ID}/%{ARRAY_INDEX}.%{WORKER}", &v).unwrap(), "3/8.w1");
/// ```
pub fn expand(template: &str, values: &PlaceholderValues<'_>) -> Result<String, PlaceholderError> {
    expand_with(template, |name, out| values.value(name, out))
}

fn expand_with(
    template: &str,
    mut put: impl FnMut(&str, &mut String) -> bool,
) -> Result<String, PlaceholderError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("%{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err(PlaceholderError::Unclosed {
                template: template.to_string(),
            });
        };
        let name = &after[..end];
        if !put(name, &mut out) {
            return Err(PlaceholderError::Unknown {
                name: name.to_string(),
                template: template.to_string(),
            });
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_every_placeholder_and_leaves_other_text() {
        let v = PlaceholderValues {
            job_id: 12,
            task_id: 0,
            array_index: None,
            entry: Some("a b.nc"),
            worker: "host:1",
        };
        assert_eq!(
            expand(
                "j%{JOB_ID}t%{TASK_ID}i%{ARRAY_INDEX}e%{ENTRY}w%{WORKER}%",
                &v
            )
            .unwrap(),
            "j12t0iea b.ncwhost:1%"
        );
        assert_eq!(expand("100% {x}", &v).unwrap(), "100% {x}");
    }

    #[test]
    fn unknown_and_unclosed_placeholders_are_named() {
        let e = validate("out-%{INDEX}.txt").unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown placeholder %{INDEX} in \"out-%{INDEX}.txt\" (known: %{JOB_ID}, %{TASK_ID}, \
             %{ARRAY_INDEX}, %{ENTRY}, %{WORKER})"
        );
        assert!(matches!(
            validate("x%{JOB_ID"),
            Err(PlaceholderError::Unclosed { .. })
        ));
    }
}
