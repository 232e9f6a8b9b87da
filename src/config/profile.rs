//! Named profiles (dask-jobqueue's `config_name`): a command with a `--profile NAME` option
//! reads the table `[<parent>.NAME]` of the config file instead of its own
//! `[<parent>.<command>]`, so `tessera jobqueue slurm up --profile gpu` takes its settings
//! from `[jobqueue.gpu]`. The keys of a profile table are checked against the options of the
//! commands that accept `--profile`.
//!
//! This module finds the profile asked for; it must not read files or insert arguments (that
//! is [`super::argv`]).

use std::ffi::OsString;

use clap::Command;

use super::argv::last_flag_value;

/// The long option that names a profile; never itself read from a config file.
pub const PROFILE_FLAG: &str = "profile";

/// The profile `cmd` is asked to use: the last `--profile NAME` / `--profile=NAME` in `argv`
/// (before any `--`), else the option's environment variable; `None` when `cmd` has no such
/// option or none is given.
pub(super) fn requested_profile(
    cmd: &Command,
    argv: &[OsString],
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Option<String> {
    let arg = cmd
        .get_arguments()
        .find(|a| a.get_long() == Some(PROFILE_FLAG))?;
    let found = last_flag_value(argv, PROFILE_FLAG).map(|v| v.to_string_lossy().into_owned());
    found.or_else(|| {
        let name = arg.get_env()?.to_str()?;
        env(name).map(|v| v.to_string_lossy().into_owned())
    })
}

/// A subcommand of `cmd` that accepts `--profile`: a table nested in `cmd`'s that names no
/// subcommand is a profile for it (all such subcommands share their options).
pub(super) fn profile_command(cmd: &Command) -> Option<&Command> {
    cmd.get_subcommands().find(|sub| {
        sub.get_arguments()
            .any(|a| a.get_long() == Some(PROFILE_FLAG))
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use clap::{Arg, Command};

    use super::*;
    use crate::config::{apply_config_file, ConfigError, ConfigFile};

    fn cli() -> Command {
        let system = |name: &'static str| {
            Command::new(name)
                .arg(
                    Arg::new("profile")
                        .long("profile")
                        .env("TEST_PROFILE_NEVER_SET"),
                )
                .arg(Arg::new("queue").long("queue"))
        };
        Command::new("tessera").subcommand(
            Command::new("jobqueue")
                .subcommand(system("slurm"))
                .subcommand(system("sge")),
        )
    }

    fn apply(text: &str, words: &[&str]) -> Result<Vec<String>, ConfigError> {
        let file = ConfigFile::parse(text, Path::new("/cfg/t.toml")).expect("toml");
        let argv = words.iter().map(OsString::from).collect();
        apply_config_file(argv, &cli(), &file)
            .map(|v| v.iter().map(|s| s.to_string_lossy().into_owned()).collect())
    }

    const FILE: &str = "[jobqueue.slurm]\nqueue = \"batch\"\n[jobqueue.gpu]\nqueue = \"gpu\"\n";

    #[test]
    fn a_profile_replaces_the_system_table() {
        let plain = apply(FILE, &["tessera", "jobqueue", "slurm"]).expect("plain");
        assert_eq!(plain, ["tessera", "jobqueue", "slurm", "--queue=batch"]);
        for words in [
            &["tessera", "jobqueue", "slurm", "--profile", "gpu"][..],
            &["tessera", "jobqueue", "sge", "--profile=gpu"][..],
        ] {
            let argv = apply(FILE, words).expect("profile");
            assert!(argv.contains(&"--queue=gpu".to_owned()), "{argv:?}");
            assert!(!argv.contains(&"--queue=batch".to_owned()), "{argv:?}");
        }
    }

    #[test]
    fn unknown_profiles_and_keys_name_the_table() {
        let e = apply(FILE, &["tessera", "jobqueue", "slurm", "--profile", "cpu"]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "config file /cfg/t.toml: --profile cpu: no table [jobqueue.cpu]; profiles there: gpu"
        );
        let e = apply(
            "[jobqueue.gpu]\nqueu = 1\n",
            &["tessera", "jobqueue", "slurm"],
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("config file /cfg/t.toml: unknown key `queu` in [jobqueue.gpu]"),
            "{e}"
        );
        let none = ConfigFile::empty();
        let argv = ["tessera", "jobqueue", "slurm", "--profile", "gpu"]
            .map(OsString::from)
            .to_vec();
        let e = apply_config_file(argv, &cli(), &none).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("--profile gpu reads the table [jobqueue.gpu]"),
            "{e}"
        );
    }
}
