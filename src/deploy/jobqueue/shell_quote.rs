//! Quoting words for the shell lines of a job script.
//!
//! Words made only of characters the shell leaves alone are written bare; anything else is put
//! in double quotes with `"`, `\` and `` ` `` escaped. `$` is deliberately **not** escaped, so
//! `$TMPDIR/spill` or `/scratch/$USER` expand inside the job (as users expect from
//! dask-jobqueue) while spaces stay safe. This module must not decide what the words are.

/// `word` ready to be placed on a shell command line.
///
/// ```
/// use tessera::deploy::jobqueue::shell_quote::quote;
/// assert_eq!(quote("/scratch/run-1"), "/scratch/run-1");
/// assert_eq!(quote("my dir"), "\"my dir\"");
/// assert_eq!(quote("$TMPDIR/x"), "\"$TMPDIR/x\"");
/// ```
pub fn quote(word: &str) -> String {
    let bare = !word.is_empty()
        && word.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '_' | '@' | '%' | '+' | '=' | ':' | ',' | '.' | '/' | '-')
        });
    if bare {
        return word.to_owned();
    }
    let mut quoted = String::with_capacity(word.len() + 2);
    quoted.push('"');
    for c in word.chars() {
        if matches!(c, '"' | '\\' | '`') {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

/// Words quoted and joined with spaces.
pub fn join(words: &[String]) -> String {
    words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_what_needs_it() {
        assert_eq!(quote(""), "\"\"");
        assert_eq!(quote("a\"b"), "\"a\\\"b\"");
        assert_eq!(quote("a\\b`c`"), "\"a\\\\b\\`c\\`\"");
        assert_eq!(quote("x;rm"), "\"x;rm\"");
        assert_eq!(join(&["a".into(), "b c".into()]), "a \"b c\"");
    }
}
