//! Finding the job id in what a submit command printed, robustly against site wrappers that
//! add banners, warnings and quota lines (often with digits in them) before or after it.
//!
//! The rule every system's parser follows: only a whole line (trimmed) matching one of the
//! system's anchored forms counts, the explicit sentence forms (`Submitted batch job N`) win
//! over bare-id lines, and among equal forms the **last** matching line wins (wrappers print
//! banners first). Hand-written matching, no regex. This module must not know commands.

/// No job id could be found; the message quotes the output.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{system}: found no job id in the output of `{command}` (expected a line like {expected}); \
     the output was: {output:?}"
)]
pub struct SubmitParseError {
    /// The batch system.
    pub system: &'static str,
    /// The submit command.
    pub command: &'static str,
    /// An example of what was expected.
    pub expected: &'static str,
    /// The output (the first 2000 characters).
    pub output: String,
}

impl SubmitParseError {
    /// An error quoting (the start of) `output`.
    pub fn new(
        system: &'static str,
        command: &'static str,
        expected: &'static str,
        output: &str,
    ) -> Self {
        SubmitParseError {
            system,
            command,
            expected,
            output: output.chars().take(2000).collect(),
        }
    }
}

/// The value returned by `matcher` for the last line of `output` it accepts; lines are trimmed
/// and empty lines skipped.
pub fn last_match<F>(output: &str, matcher: F) -> Option<String>
where
    F: Fn(&str) -> Option<String>,
{
    output
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .rev()
        .find_map(matcher)
}

/// Recognises one form of submit output in a trimmed line and returns the job id in it.
pub type LineMatcher<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The first of `matchers` that finds something with [`last_match`].
pub fn first_form_found(output: &str, matchers: &[LineMatcher<'_>]) -> Option<String> {
    matchers
        .iter()
        .find_map(|matcher| last_match(output, matcher))
}

/// Splits `text` into its leading ASCII digits (at least one) and the rest.
///
/// ```
/// use tessera::deploy::jobqueue::submit_output::leading_digits;
/// assert_eq!(leading_digits("42.srv"), Some(("42", ".srv")));
/// assert_eq!(leading_digits("x42"), None);
/// ```
pub fn leading_digits(text: &str) -> Option<(&str, &str)> {
    let n = text.bytes().take_while(u8::is_ascii_digit).count();
    (n > 0).then(|| text.split_at(n))
}

/// Whether `text` is a non-empty run of characters that can form a host, server or cluster name.
pub fn is_name(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_accepted_line_wins() {
        let output = "Welcome (2048 nodes)\n12\n\n  34  \nbye\n";
        let digits = |l: &str| l.parse::<u64>().ok().map(|n| n.to_string());
        assert_eq!(last_match(output, digits).as_deref(), Some("34"));
        let none = |_: &str| None::<String>;
        assert_eq!(
            first_form_found(output, &[&none, &digits]).as_deref(),
            Some("34")
        );
        assert_eq!(first_form_found("x", &[&none, &digits]), None);
    }

    #[test]
    fn error_quotes_output() {
        let err = SubmitParseError::new("slurm", "sbatch", "`Submitted batch job 1`", "oops\n");
        let text = err.to_string();
        assert!(text.contains("\"oops\\n\""), "{text}");
        assert!(text.contains("sbatch"), "{text}");
    }

    #[test]
    fn names() {
        assert!(is_name("admin01.cluster-a"));
        assert!(!is_name(""));
        assert!(!is_name("a b"));
    }
}
