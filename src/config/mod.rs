//! Layered configuration: command-line flags > environment (`TESSERA_*`) > config file >
//! built-in defaults.
//!
//! Clap already layers flags over environment variables over defaults (`#[arg(long, env =
//! "TESSERA_NTHREADS", default_value = ...)]`). This module adds the file layer by rewriting the
//! command line before clap sees it: for the subcommand being run, each setting of the config
//! file becomes `--key=value` right after the subcommand's name, unless that flag is already on
//! the command line or its environment variable is set. Clap then parses as usual, so the
//! file can only ever supply what flags and environment left unset.
//!
//! This module reads the config file and the environment; it must not know what any option
//! means (that is the CLI's business) and must not parse the final command line.
//!
//! ```
//! use clap::{Arg, Command};
//! use std::ffi::OsString;
//! use std::path::Path;
//! use tessera::config::{apply_config_file, ConfigFile};
//!
//! let cli = Command::new("tessera")
//!     .subcommand(Command::new("worker").arg(Arg::new("nthreads").long("nthreads")));
//! let file = ConfigFile::parse("[worker]\nnthreads = 4\n", Path::new("tessera.toml")).unwrap();
//! let argv: Vec<OsString> = ["tessera", "worker"].map(OsString::from).to_vec();
//! let argv = apply_config_file(argv, &cli, &file).unwrap();
//! assert_eq!(argv, ["tessera", "worker", "--nthreads=4"].map(OsString::from));
//! ```

mod argv;
mod file;
mod profile;

use std::path::PathBuf;

pub use argv::{apply_config_file, config_path_in_argv};
pub use file::{default_config_path, load_config_file, ConfigFile};
pub use profile::PROFILE_FLAG;

/// The long flag (and key) that names the config file; never itself read from a config file.
pub const CONFIG_FLAG: &str = "config";

/// The environment variable that names the config file when `--config` is not given.
pub const CONFIG_ENV: &str = "TESSERA_CONFIG";

/// The config file could not be read or does not fit the command line; every message names the
/// file and, where it applies, the table and key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// An explicitly named config file does not exist.
    #[error("config file {path} not found")]
    Missing { path: PathBuf },
    /// The config file exists but could not be read.
    #[error("config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The config file is not valid TOML.
    #[error("config file {path}: not valid TOML: {message}")]
    Parse { path: PathBuf, message: String },
    /// A key outside any table.
    #[error(
        "config file {path}: `{key}` must be inside a table: [global] for every subcommand, or \
         [<subcommand>] for one"
    )]
    NotATable { path: PathBuf, key: String },
    /// A table that names no subcommand.
    #[error("config file {path}: unknown table [{table}]; valid tables: {valid}")]
    UnknownTable {
        path: PathBuf,
        table: String,
        valid: String,
    },
    /// A key that is not a long option of its table's subcommand.
    #[error("config file {path}: unknown key `{key}` in [{table}]; valid keys: {valid}")]
    UnknownKey {
        path: PathBuf,
        table: String,
        key: String,
        valid: String,
    },
    /// `--profile NAME` names a table the config file does not have.
    #[error("config file {path}: --profile {name}: no table [{table}]; profiles there: {valid}")]
    UnknownProfile {
        path: PathBuf,
        name: String,
        table: String,
        valid: String,
    },
    /// `--profile NAME` without any config file.
    #[error(
        "--profile {name} reads the table [{table}] of a config file, but there is none (give \
         --config FILE, set TESSERA_CONFIG, or create ~/.config/tessera/tessera.toml)"
    )]
    NoFileForProfile { name: String, table: String },
    /// A value of the wrong kind for its option.
    #[error("config file {path}: key `{key}` in [{table}]: {reason}")]
    BadValue {
        path: PathBuf,
        table: String,
        key: String,
        reason: String,
    },
}

/// Read the config file named by `--config` (in `argv`) or `TESSERA_CONFIG`, or the default one
/// if it exists, and apply it to `argv` for `command` (see [`apply_config_file`]).
///
/// This is the whole file layer in one call: `Cli::parse_from(args_with_config(argv, &cmd)?)`.
pub fn args_with_config(
    argv: Vec<std::ffi::OsString>,
    command: &clap::Command,
) -> Result<Vec<std::ffi::OsString>, ConfigError> {
    let path = config_path_in_argv(&argv);
    let file = load_config_file(path.as_deref())?;
    apply_config_file(argv, command, &file)
}

/// A paragraph for `--help` explaining where settings come from.
pub fn config_help() -> &'static str {
    "Settings are taken, highest precedence first, from command-line flags, then environment \
     variables (TESSERA_<FLAG>, e.g. TESSERA_NTHREADS=4, shown as [env: ...] beside each \
     flag), then the config file, then built-in defaults. The config file is the one given by \
     --config or TESSERA_CONFIG, otherwise $XDG_CONFIG_HOME/tessera/tessera.toml (by default \
     ~/.config/tessera/tessera.toml) if it exists. It is TOML: a [global] table applies to \
     every subcommand that has the option, a table per subcommand ([worker], [scheduler], ...) \
     to that one; keys are long flag names without the dashes, e.g. nthreads = 4, \
     memory-limit = \"4GiB\", scheduler-file = \"~/scheduler.json\"; true turns a switch on, a \
     list repeats a flag. Unknown keys are errors."
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_names_every_layer_and_the_file_location() {
        let help = config_help();
        for needle in [
            "command-line flags",
            "TESSERA_NTHREADS",
            "--config",
            CONFIG_ENV,
            "~/.config/tessera/tessera.toml",
            "[global]",
        ] {
            assert!(help.contains(needle), "missing {needle:?}");
        }
    }
}
