//! The one error type of the expression language, [`ExprError`], and its rendering: the
//! message, the offending source line with carets under the span, a label, and optional help.
//!
//! ```text
//! error: unexpected token ')'
//!   |
//! 1 | sum(x, axis=)
//!   |             ^ expected an expression
//! ```
//!
//! This module formats; it must not decide what is an error (the lexer, parser and validator
//! do) and must never panic, whatever span it is handed.

use std::fmt;
use std::sync::Arc;

use super::ast::Span;

/// What kind of mistake an [`ExprError`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The text is not a program: bad character, bad literal, unexpected token.
    Syntax,
    /// A name is used that no binding defines.
    UnknownName,
    /// A call of a function the catalogue does not know.
    UnknownFunction,
    /// A method call `x.name(...)` with a name that is not a method.
    UnknownMethod,
    /// An attribute `x.name` that arrays do not have.
    UnknownAttribute,
    /// A keyword argument the function does not accept.
    UnknownKeyword,
    /// Too many positional arguments or a missing required one.
    Arity,
    /// The same parameter given twice.
    DuplicateArgument,
    /// The program nests deeper than the parser allows.
    TooDeep,
    /// Evaluation: a value of the wrong kind, e.g. an array where an integer is needed.
    Type,
    /// Evaluation: a value out of range or malformed, e.g. an unknown dtype name.
    Value,
    /// Evaluation: shapes that do not fit an operation, e.g. operands that cannot broadcast.
    Shape,
    /// Evaluation: a feature the evaluator does not provide yet, e.g. reading HDF5.
    Unsupported,
    /// Evaluation: an input file cannot be opened (missing, unreadable, not HDF5/NetCDF, no
    /// file matches a glob). Not a mistake in the program text: rendered as one line naming
    /// the file, without the source snippet.
    InputFile,
}

/// An error in a `tessera eval` program: what went wrong and where.
///
/// `Display` renders the full diagnostic (source line and carets) when the error carries its
/// source, which [`crate::expr::parse_program`] always attaches; [`ExprError::render`] renders
/// against any source.
#[derive(Clone, Debug, PartialEq)]
pub struct ExprError {
    /// The kind of mistake.
    pub kind: ErrorKind,
    /// Byte range of the offending text.
    pub span: Span,
    /// One-line description, e.g. `unknown function "sume"; did you mean "sum"?`.
    pub message: String,
    /// Short note printed after the carets, e.g. `expected an expression`.
    pub label: Option<String>,
    /// A longer hint printed under the snippet.
    pub help: Option<String>,
    source: Option<Arc<str>>,
}

impl ExprError {
    /// An error of `kind` at `span` with `message` and no label, help or source.
    pub fn new(kind: ErrorKind, span: Span, message: impl Into<String>) -> ExprError {
        ExprError {
            kind,
            span,
            message: message.into(),
            label: None,
            help: None,
            source: None,
        }
    }

    /// A [`ErrorKind::Syntax`] error.
    pub fn syntax(span: Span, message: impl Into<String>) -> ExprError {
        ExprError::new(ErrorKind::Syntax, span, message)
    }

    /// Add the note printed after the carets.
    pub fn with_label(mut self, label: impl Into<String>) -> ExprError {
        self.label = Some(label.into());
        self
    }

    /// Add the hint printed under the snippet.
    pub fn with_help(mut self, help: impl Into<String>) -> ExprError {
        self.help = Some(help.into());
        self
    }

    /// Attach the program source so that `Display` shows the snippet.
    pub fn with_source(mut self, source: &str) -> ExprError {
        self.source = Some(Arc::from(source));
        self
    }

    /// The attached program source, if any.
    pub fn source_text(&self) -> Option<&str> {
        self.source.as_deref()
    }

    /// The 1-based line and column (in characters) where the error starts in `src`.
    pub fn line_column(&self, src: &str) -> (usize, usize) {
        line_column(src, self.span.start)
    }

    /// Render the diagnostic against `src`:
    ///
    /// ```text
    /// error: <message>
    ///   |
    /// 3 | <source line>
    ///   |     ^^^^ <label>
    ///   |
    ///   = help: <help>
    /// ```
    pub fn render(&self, src: &str) -> String {
        if self.kind == ErrorKind::InputFile {
            return format!("error: {}", self.message);
        }
        let location = Location::find(src, self.span.start);
        let line = &src[location.line_start..location.line_end];
        let gutter = location.line_number.to_string();
        let pad = " ".repeat(gutter.len());

        // Carets cover the span's part on this line; at least one.
        let end = clamp_to_boundary(src, self.span.end.max(self.span.start));
        let caret_end = end.min(location.line_end).max(location.offset);
        let caret_count = src[location.offset..caret_end].chars().count().max(1);
        // A long line (a huge literal) is shown as a window around the span, cut with `…`.
        let chars: Vec<char> = line.chars().collect();
        let col = line[..location.offset - location.line_start]
            .chars()
            .count();
        let (from, to) = if chars.len() <= SHOWN_CHARS {
            (0, chars.len())
        } else {
            let from = col
                .saturating_sub(SHOWN_CHARS / 3)
                .min(chars.len() - SHOWN_CHARS);
            (from, from + SHOWN_CHARS)
        };
        let caret_count = caret_count.min(to.saturating_sub(col).max(1));
        let mut shown: String = chars[from..to].iter().collect();
        let mut indent = String::new();
        if from > 0 {
            shown.insert(0, '…');
            indent.push(' ');
        }
        if to < chars.len() {
            shown.push('…');
        }
        let line = shown;
        // Keep tabs so the carets line up however the terminal expands them.
        indent.extend(
            chars[from..col.max(from)]
                .iter()
                .map(|&c| if c == '\t' { '\t' } else { ' ' }),
        );

        let mut out = format!("error: {}\n", self.message);
        out.push_str(&format!("{pad} |\n"));
        out.push_str(&format!("{gutter} | {line}\n"));
        out.push_str(&format!("{pad} | {indent}{}", "^".repeat(caret_count)));
        if let Some(label) = &self.label {
            out.push(' ');
            out.push_str(label);
        }
        if let Some(help) = &self.help {
            out.push_str(&format!("\n{pad} |\n{pad} = help: {help}"));
        }
        out
    }
}

/// The most characters of a source line an error shows (longer lines are cut around the span).
const SHOWN_CHARS: usize = 120;

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Some(src) => f.write_str(&self.render(src)),
            None => {
                write!(f, "error: {}", self.message)?;
                if let Some(label) = &self.label {
                    write!(f, " ({label})")?;
                }
                if let Some(help) = &self.help {
                    write!(f, "\n  = help: {help}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ExprError {}

/// The 1-based line and column (in characters) of byte `offset` in `src`.
pub fn line_column(src: &str, offset: usize) -> (usize, usize) {
    let location = Location::find(src, offset);
    (location.line_number, location.column + 1)
}

/// Where a byte offset falls: its line and column.
struct Location {
    /// The offset, clamped into the source and onto a character boundary.
    offset: usize,
    /// Byte offset where the line starts.
    line_start: usize,
    /// Byte offset of the line's end (its `\n`, `\r\n` or the end of the source).
    line_end: usize,
    /// 1-based line number.
    line_number: usize,
    /// 0-based column in characters.
    column: usize,
}

impl Location {
    fn find(src: &str, offset: usize) -> Location {
        let offset = clamp_to_boundary(src, offset);
        let line_start = src[..offset].rfind('\n').map_or(0, |i| i + 1);
        let mut line_end = src[offset..].find('\n').map_or(src.len(), |i| offset + i);
        if line_end > line_start && src.as_bytes()[line_end - 1] == b'\r' && line_end > offset {
            line_end -= 1;
        }
        let line_number = src[..line_start].matches('\n').count() + 1;
        let column = src[line_start..offset].chars().count();
        Location {
            offset,
            line_start,
            line_end,
            line_number,
            column,
        }
    }
}

/// `offset` moved into `src` and back onto the nearest character boundary at or before it.
fn clamp_to_boundary(src: &str, offset: usize) -> usize {
    let mut offset = offset.min(src.len());
    while !src.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_caret_label_and_help() {
        let err = ExprError::syntax(Span::new(12, 13), "unexpected token ')'")
            .with_label("expected an expression")
            .with_help("give the keyword a value");
        let expected = "error: unexpected token ')'\n  |\n1 | sum(x, axis=)\n  |             ^ expected an expression\n  |\n  = help: give the keyword a value";
        assert_eq!(err.render("sum(x, axis=)"), expected);
    }

    #[test]
    fn renders_the_line_holding_the_span_with_a_wide_gutter() {
        let src =
            "a = 1\nb = 2\nc = 3\nd = 4\ne = 5\nf = 6\ng = 7\nh = 8\ni = 9\nj = 10\nk = bad + 1\nk";
        let start = src.find("bad").expect("test source has bad");
        let err = ExprError::new(ErrorKind::UnknownName, Span::new(start, start + 3), "nope");
        assert_eq!(
            err.render(src),
            "error: nope\n   |\n11 | k = bad + 1\n   |     ^^^"
        );
        assert_eq!(err.line_column(src), (11, 5));
    }

    #[test]
    fn caret_at_end_of_input_sits_after_the_last_character() {
        let err = ExprError::syntax(Span::new(6, 6), "unexpected end of input");
        assert_eq!(
            err.render("sum(x,"),
            "error: unexpected end of input\n  |\n1 | sum(x,\n  |       ^"
        );
    }

    #[test]
    fn span_running_past_the_line_is_cut_at_the_line_end() {
        let err = ExprError::syntax(Span::new(4, 100), "m");
        assert_eq!(
            err.render("x = 'abc\ny"),
            "error: m\n  |\n1 | x = 'abc\n  |     ^^^^"
        );
    }

    #[test]
    fn out_of_range_and_mid_character_spans_do_not_panic() {
        let src = "é + ü";
        for start in 0..12 {
            for end in 0..12 {
                let rendered = ExprError::syntax(Span::new(start, end), "m").render(src);
                assert!(rendered.starts_with("error: m\n"), "{rendered}");
            }
        }
        assert!(ExprError::syntax(Span::new(3, 9), "m")
            .render("")
            .contains("1 | \n"));
    }

    #[test]
    fn crlf_line_endings_are_not_shown() {
        let err = ExprError::syntax(Span::new(7, 8), "m");
        assert_eq!(err.render("x = 1\r\n)"), "error: m\n  |\n2 | )\n  | ^");
    }

    #[test]
    fn display_without_source_is_the_message() {
        let err = ExprError::syntax(Span::new(0, 1), "bad").with_help("fix it");
        assert_eq!(err.to_string(), "error: bad\n  = help: fix it");
        let with_source = err.with_source("?");
        assert_eq!(
            with_source.to_string(),
            "error: bad\n  |\n1 | ?\n  | ^\n  |\n  = help: fix it"
        );
    }
}
