//! Where a `tessera eval` program comes from: the command-line argument, a file (`-f FILE`) or
//! standard input (`-f -`), and errors in a file's program located as `FILE:LINE:COLUMN` above
//! the caret, the way compilers name them.
//!
//! This module reads text and decorates diagnostics; it must not parse or evaluate programs
//! (that is `expr` and `eval`).

use std::fmt;
use std::io::Read;
use std::path::Path;

use crate::cli::args::EvalArgs;
use crate::cli::UsageError;
use crate::expr::ExprError;

/// A program's text and, when it came from a file, the name errors should give.
pub(crate) struct ProgramSource {
    pub text: String,
    pub origin: Option<String>,
}

impl ProgramSource {
    /// The program of `args`: its argument, or the file or stdin named by `-f`.
    pub fn of(args: &EvalArgs) -> Result<ProgramSource, UsageError> {
        match (&args.program, &args.file) {
            (Some(text), None) => Ok(ProgramSource {
                text: text.clone(),
                origin: None,
            }),
            (None, Some(path)) if path == Path::new("-") => {
                let mut text = String::new();
                std::io::stdin().read_to_string(&mut text).map_err(|e| {
                    UsageError(format!("-f -: cannot read the program from stdin: {e}"))
                })?;
                Ok(ProgramSource {
                    text,
                    origin: Some("<stdin>".into()),
                })
            }
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    UsageError(format!(
                        "-f {}: cannot read the program file: {e}",
                        path.display()
                    ))
                })?;
                Ok(ProgramSource {
                    text,
                    origin: Some(path.display().to_string()),
                })
            }
            _ => Err(UsageError(
                "give the program either as an argument or with -f FILE, not both".into(),
            )),
        }
    }

    /// `error` located in this program's file, when it came from one (other errors pass).
    pub fn locate(&self, error: anyhow::Error) -> anyhow::Error {
        let Some(origin) = &self.origin else {
            return error;
        };
        match error.downcast::<ExprError>() {
            Ok(error) => ProgramFileError {
                file: origin.clone(),
                error,
            }
            .into(),
            Err(other) => other,
        }
    }
}

/// An error in a program read from a file: the diagnostic with `--> FILE:LINE:COLUMN`.
#[derive(Debug)]
pub(crate) struct ProgramFileError {
    file: String,
    error: ExprError,
}

impl fmt::Display for ProgramFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rendered = self.error.to_string();
        if self.error.kind == crate::expr::ErrorKind::InputFile {
            // About an input file, not a place in the program file.
            return f.write_str(&rendered);
        }
        let Some(src) = self.error.source_text() else {
            return write!(f, "{}: {rendered}", self.file);
        };
        let (line, column) = self.error.line_column(src);
        let pad = " ".repeat(line.to_string().len());
        let (first, rest) = rendered.split_once('\n').unwrap_or((&rendered, ""));
        write!(f, "{first}\n{pad}--> {}:{line}:{column}", self.file)?;
        if !rest.is_empty() {
            write!(f, "\n{rest}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ProgramFileError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_errors_name_the_file_line_and_column_above_the_caret() {
        let text = "# comment\nx = ones((2, 2))\ny = sume(x)\ny\n";
        let error = crate::expr::parse_program(text).expect_err("unknown function");
        let source = ProgramSource {
            text: text.into(),
            origin: Some("prog.tsr".into()),
        };
        let located = source.locate(error.into());
        let shown = located.to_string();
        let lines: Vec<&str> = shown.lines().collect();
        assert!(
            lines[0].starts_with("error: unknown function \"sume\""),
            "{shown}"
        );
        assert_eq!(lines[1], " --> prog.tsr:3:5", "{shown}");
        assert!(lines.contains(&"3 | y = sume(x)"), "{shown}");
        assert!(located.is::<ProgramFileError>());
    }

    #[test]
    fn other_errors_and_argument_programs_pass_unchanged() {
        let source = ProgramSource {
            text: "1".into(),
            origin: Some("p.tsr".into()),
        };
        let e = source.locate(anyhow::anyhow!("cannot start the local cluster"));
        assert_eq!(e.to_string(), "cannot start the local cluster");
        let inline = ProgramSource {
            text: "sume(1)".into(),
            origin: None,
        };
        let error = crate::expr::parse_program("sume(1)").expect_err("unknown");
        assert!(inline.locate(error.into()).is::<ExprError>());
    }
}
