//! The `tessera` command line: argument parsing, configuration layering, logging, running a
//! command, and mapping errors to one-line messages and documented exit codes.
//!
//! `anyhow` lives here and only here; the library returns typed errors. This module must not
//! contain cluster logic: commands call the library.

pub mod args;
mod array_compute;
mod commands;
pub mod job_args;
pub mod jobqueue_args;
mod output;
mod panic_hook;
pub mod signals;
mod stdout;
#[cfg(feature = "dashboard")]
mod top_output;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use args::{Cli, Command};
use commands::eval_source::ProgramFileError;

/// Exit codes, documented in `tessera --help` and docs/cli.md.
pub mod exit {
    pub const OK: u8 = 0;
    pub const FAILURE: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const UNREACHABLE: u8 = 3;
    pub const TASK_FAILED: u8 = 4;
    pub const INTERRUPTED: u8 = 130;
}

/// Run the command line; returns the process exit code.
pub fn main() -> ExitCode {
    panic_hook::install();
    let signal = signals::install();
    let argv: Vec<OsString> = std::env::args_os().collect();
    let argv = match layered_argv(argv) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("tessera: error: {e}");
            return ExitCode::from(exit::USAGE);
        }
    };
    let cli = match Cli::try_parse_from(argv) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    init_logging(&cli.log);
    let result = match cli.command {
        Command::Scheduler(a) => commands::scheduler::run(a, &signal),
        Command::Worker(a) => commands::worker::run(a, &signal),
        Command::Local(a) => commands::local::run(a, &signal),
        Command::Info(a) => commands::info::run(a),
        Command::Shutdown(a) => commands::shutdown::run(a),
        Command::Dashboard(a) => commands::dashboard::run(a),
        Command::Top(a) => commands::top::run(a, &signal),
        Command::Eval(a) => commands::eval::run(a, &signal),
        Command::Demo(a) => commands::demo::run(a, &signal),
        Command::Jobqueue(a) => commands::jobqueue::run(*a, &signal),
        Command::Launch(a) => commands::launch::run(a, &signal),
        Command::Mpi(a) => commands::mpi::run(a, &signal),
        Command::Submit(a) => commands::submit::run(*a),
        Command::Job(a) => commands::job::run(a),
    };
    match result {
        Ok(()) => ExitCode::from(exit::OK),
        Err(e) => {
            // Under MPI, one rank reports a problem every rank has; the others exit quietly.
            let quiet = matches!(
                e.downcast_ref::<crate::mpi::MpiError>(),
                Some(crate::mpi::MpiError::ReportedElsewhere { .. })
            );
            // A program error is already a rendered diagnostic ("error: ..." with a caret).
            if !quiet {
                if e.is::<crate::expr::ExprError>() || e.is::<ProgramFileError>() {
                    eprintln!("{e}");
                } else {
                    eprintln!("tessera: error: {}", error_chain(&e));
                }
            }
            ExitCode::from(exit_code_for(&e))
        }
    }
}

/// An error and its causes on one line, `outer: cause: root`. Library errors often say their
/// cause in their own message too (`cannot write x.npy: No such file…` with the I/O error as
/// source); a cause already in the text is not repeated.
fn error_chain(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// Insert config-file options the user did not give as flags or environment variables.
fn layered_argv(argv: Vec<OsString>) -> Result<Vec<OsString>, crate::config::ConfigError> {
    crate::config::args_with_config(argv, &Cli::command())
}

fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

/// A command was interrupted by a signal before finishing its work.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

/// A usage problem found after parsing (bad combination, bad value).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

fn exit_code_for(e: &anyhow::Error) -> u8 {
    use crate::deploy::SchedulerFileError;
    use crate::runtime::ClientError;
    use crate::transport::TransportError;
    for cause in e.chain() {
        if cause.is::<Interrupted>() {
            return exit::INTERRUPTED;
        }
        if cause.is::<UsageError>()
            || cause.is::<crate::units::UnitError>()
            || cause.is::<crate::deploy::jobqueue::JobSpecError>()
            || cause.is::<crate::expr::ExprError>()
            || cause.is::<ProgramFileError>()
        {
            return exit::USAGE;
        }
        // Work refused before anything runs: too big to describe or to submit.
        if matches!(
            cause.downcast_ref::<crate::array::ArrayError>(),
            Some(
                crate::array::ArrayError::TooManyTasks { .. }
                    | crate::array::ArrayError::SizeOverflow { .. }
                    | crate::array::ArrayError::ScalarOutOfBounds { .. }
            )
        ) {
            return exit::USAGE;
        }
        if cause.is::<commands::job::JobFailed>() {
            return exit::TASK_FAILED;
        }
        if let Some(c) = cause.downcast_ref::<ClientError>() {
            return match c {
                ClientError::Refused(_) => exit::USAGE,
                ClientError::TaskFailed { .. } | ClientError::Cancelled { .. } => exit::TASK_FAILED,
                ClientError::Connect(_) | ClientError::SchedulerFile(_) => exit::UNREACHABLE,
                _ => exit::FAILURE,
            };
        }
        if cause
            .downcast_ref::<TransportError>()
            .is_some_and(TransportError::is_usage)
        {
            return exit::USAGE;
        }
        if let Some(m) = cause.downcast_ref::<crate::mpi::MpiError>() {
            return m.exit_code();
        }
        if cause.is::<SchedulerFileError>() || cause.is::<TransportError>() {
            return exit::UNREACHABLE;
        }
    }
    exit::FAILURE
}

#[cfg(test)]
mod tests {
    use super::error_chain;

    #[test]
    fn causes_already_in_the_message_are_not_repeated() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file");
        let inner = anyhow::Error::new(io).context("cannot write x.npy: No such file");
        assert_eq!(error_chain(&inner), "cannot write x.npy: No such file");
        let outer = inner.context("writing outputs");
        assert_eq!(
            error_chain(&outer),
            "writing outputs: cannot write x.npy: No such file"
        );
        let plain = anyhow::anyhow!("root").context("middle").context("top");
        assert_eq!(error_chain(&plain), "top: middle: root");
    }
}
