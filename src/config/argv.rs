//! Applying a config file to a command line: find the subcommand being run (walking the clap
//! `Command` tree), check every key of the file against the options it names, and insert the
//! file's settings as `--key=value` after the subcommand's name where neither a flag nor an
//! environment variable already sets them.
//!
//! This module rewrites the argument vector only; it must not parse it into values (clap does
//! that afterwards, so the file's values get the same validation and messages as flags).
//! It never relies on clap letting a later occurrence of a flag override an earlier one: a flag
//! given on the command line is simply not inserted.

use std::collections::{BTreeMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use clap::{Arg, ArgAction, Command};
use toml::Value;

use super::file::{expand_tilde, ConfigFile};
use super::profile::{profile_command, requested_profile, PROFILE_FLAG};
use super::{ConfigError, CONFIG_FLAG};

/// The value of the last `--config <path>` / `--config=<path>` before any `--` in `argv`
/// (whose first element is the program name).
pub fn config_path_in_argv(argv: &[OsString]) -> Option<PathBuf> {
    last_flag_value(argv, CONFIG_FLAG).map(PathBuf::from)
}

/// The value of the last `--<long> <value>` / `--<long>=<value>` before any `--` in `argv`
/// (whose first element is the program name).
pub(super) fn last_flag_value(argv: &[OsString], long: &str) -> Option<OsString> {
    let flag = format!("--{long}");
    let with_equals = format!("{flag}=");
    let mut found = None;
    let mut tokens = argv.iter().skip(1);
    while let Some(token) = tokens.next() {
        let bytes = token.as_bytes();
        if bytes == b"--" {
            break;
        }
        if bytes == flag.as_bytes() {
            found = tokens.next().cloned();
        } else if let Some(value) = bytes.strip_prefix(with_equals.as_bytes()) {
            found = Some(OsStr::from_bytes(value).to_os_string());
        }
    }
    found
}

/// Insert the config file's settings into `argv` (program name first) for `command`.
///
/// For the subcommand being run (and the commands above it), every key of `[global]` and of the
/// subcommand's table (`[worker]`; `[a.b]` for `tessera a b`) that is a long option of it
/// becomes `--key=value` right after that command's name, unless the option was given on the
/// command line (by long name, alias or short flag) or its environment variable (clap's
/// `env = ...`) is set. A subcommand's table beats `[global]`. `true` gives `--flag`, `false`
/// nothing, a number for a counting flag repeats it, a list repeats an appending option, and a
/// leading `~/` in a string is expanded.
///
/// The whole file is checked first: a table that names no subcommand, a key that is not a long
/// option of its table's subcommand (or, in `[global]`, of any command), or a value of the
/// wrong kind is an error naming the file, table and key (and the valid keys).
pub fn apply_config_file(
    argv: Vec<OsString>,
    command: &Command,
    file: &ConfigFile,
) -> Result<Vec<OsString>, ConfigError> {
    apply_config_file_in(argv, command, file, &|name| std::env::var_os(name))
}

/// [`apply_config_file`] with the environment given as a lookup.
pub(super) fn apply_config_file_in(
    argv: Vec<OsString>,
    command: &Command,
    file: &ConfigFile,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Result<Vec<OsString>, ConfigError> {
    if argv.is_empty() {
        return Ok(argv);
    }
    // Built, so that global options are propagated to the subcommands.
    let mut root = command.clone();
    root.build();
    let walk = walk(&root, &argv);
    if file.is_empty() {
        // Nothing to apply, but a profile asked for must exist.
        let mut parent = String::new();
        for (cmd, _) in &walk.path[1..] {
            if let Some(name) = requested_profile(cmd, &argv, env) {
                let table = format!("{parent}{name}");
                return Err(ConfigError::NoFileForProfile { name, table });
            }
            parent.push_str(cmd.get_name());
            parent.push('.');
        }
        return Ok(argv);
    }
    check_file(&root, file, env)?;

    if walk
        .path
        .get(1)
        .is_some_and(|(cmd, _)| cmd.get_name() == HELP)
    {
        return Ok(argv);
    }
    // Settings by key, later tables overriding earlier ones: [global], then the path's tables.
    let mut settings: BTreeMap<&str, (String, &Value)> = BTreeMap::new();
    if let Some(global) = file.tables().get(GLOBAL).and_then(Value::as_table) {
        for (key, value) in global {
            settings.insert(key, (GLOBAL.to_string(), value));
        }
    }
    let mut table = Some(file.tables());
    let mut table_name = String::new();
    for (depth, (cmd, _)) in walk.path.iter().enumerate().skip(1) {
        // A profile replaces the command's own table with a sibling table of that name.
        let profile = requested_profile(cmd, &argv, env);
        let name = profile.as_deref().unwrap_or(cmd.get_name());
        let parent = table;
        table = parent.and_then(|t| t.get(name)).and_then(Value::as_table);
        if !table_name.is_empty() {
            table_name.push('.');
        }
        table_name.push_str(name);
        if let (Some(profile), None) = (&profile, table) {
            let parent_cmd = walk.path[depth - 1].0;
            let mut valid: Vec<&str> = parent
                .into_iter()
                .flatten()
                .filter(|(key, value)| value.is_table() && subcommand(parent_cmd, key).is_none())
                .map(|(key, _)| key.as_str())
                .collect();
            valid.sort_unstable();
            return Err(ConfigError::UnknownProfile {
                path: file.path().to_path_buf(),
                name: profile.clone(),
                table: table_name,
                valid: list(&valid),
            });
        }
        let Some(t) = table else { break };
        for (key, value) in t {
            if !(value.is_table() && subcommand(cmd, key).is_some()) {
                settings.insert(key, (table_name.clone(), value));
            }
        }
    }

    let mut inserts: BTreeMap<usize, Vec<OsString>> = BTreeMap::new();
    for (key, (table, value)) in settings {
        // The deepest command on the path that has this option.
        let Some((arg, position)) = walk
            .path
            .iter()
            .rev()
            .find_map(|(cmd, position)| settable_arg(cmd, key).map(|arg| (arg, *position)))
        else {
            continue;
        };
        if walk.given.contains(arg.get_id().as_str()) || env_is_set(arg, env) {
            continue;
        }
        let tokens = tokens_for(arg, value, env).map_err(|reason| ConfigError::BadValue {
            path: file.path().to_path_buf(),
            table,
            key: key.to_string(),
            reason,
        })?;
        inserts.entry(position).or_default().extend(tokens);
    }

    let mut out = Vec::with_capacity(argv.len() + inserts.values().map(Vec::len).sum::<usize>());
    for (i, token) in argv.into_iter().enumerate() {
        out.push(token);
        if let Some(extra) = inserts.remove(&i) {
            out.extend(extra);
        }
    }
    Ok(out)
}

const GLOBAL: &str = "global";
/// Clap's generated `help` subcommand: not a table, and nothing is applied under it.
const HELP: &str = "help";

/// A subcommand of `cmd` by name or alias, other than the generated `help`.
fn subcommand<'c>(cmd: &'c Command, name: &str) -> Option<&'c Command> {
    cmd.find_subcommand(name)
        .filter(|sub| sub.get_name() != HELP)
}

/// Whether a config file may set `arg`: a long option that stores, appends or counts (not
/// `--help`, `--version` or `--config`).
fn is_settable(arg: &Arg) -> bool {
    arg.get_long()
        .is_some_and(|long| long != CONFIG_FLAG && long != PROFILE_FLAG)
        && matches!(
            arg.get_action(),
            ArgAction::Set
                | ArgAction::Append
                | ArgAction::SetTrue
                | ArgAction::SetFalse
                | ArgAction::Count
        )
}

/// The settable option of `cmd` whose long name or alias is `key`.
fn settable_arg<'c>(cmd: &'c Command, key: &str) -> Option<&'c Arg> {
    cmd.get_arguments().find(|arg| {
        is_settable(arg)
            && (arg.get_long() == Some(key)
                || arg
                    .get_all_aliases()
                    .is_some_and(|aliases| aliases.contains(&key)))
    })
}

/// The keys valid in `cmd`'s table, sorted.
fn valid_keys(cmd: &Command) -> Vec<&str> {
    let mut keys: Vec<&str> = cmd
        .get_arguments()
        .filter(|arg| is_settable(arg))
        .filter_map(Arg::get_long)
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// Every command of the tree except the generated `help`, depth first.
fn all_commands(root: &Command) -> Vec<&Command> {
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        let cmd = out[i];
        out.extend(cmd.get_subcommands().filter(|sub| sub.get_name() != HELP));
        i += 1;
    }
    out
}

fn env_is_set(arg: &Arg, env: &dyn Fn(&str) -> Option<OsString>) -> bool {
    arg.get_env()
        .and_then(OsStr::to_str)
        .is_some_and(|name| env(name).is_some())
}

/// Check every table and key of the file against the command tree.
fn check_file(
    root: &Command,
    file: &ConfigFile,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Result<(), ConfigError> {
    let path = || file.path().to_path_buf();
    for (name, value) in file.tables() {
        let Some(table) = value.as_table() else {
            return Err(ConfigError::NotATable {
                path: path(),
                key: name.clone(),
            });
        };
        if name == GLOBAL {
            let commands = all_commands(root);
            for (key, value) in table {
                let Some(arg) = commands.iter().find_map(|cmd| settable_arg(cmd, key)) else {
                    let mut valid: Vec<&str> =
                        commands.iter().flat_map(|cmd| valid_keys(cmd)).collect();
                    valid.sort_unstable();
                    valid.dedup();
                    return Err(ConfigError::UnknownKey {
                        path: path(),
                        table: GLOBAL.into(),
                        key: key.clone(),
                        valid: list(&valid),
                    });
                };
                tokens_for(arg, value, env).map_err(|reason| ConfigError::BadValue {
                    path: path(),
                    table: GLOBAL.into(),
                    key: key.clone(),
                    reason,
                })?;
            }
        } else {
            let Some(cmd) = subcommand(root, name) else {
                let mut valid = vec![format!("[{GLOBAL}]")];
                valid.extend(
                    root.get_subcommands()
                        .filter(|sub| sub.get_name() != HELP)
                        .map(|sub| format!("[{}]", sub.get_name())),
                );
                return Err(ConfigError::UnknownTable {
                    path: path(),
                    table: name.clone(),
                    valid: valid.join(", "),
                });
            };
            check_table(cmd, name, table, file, env)?;
        }
    }
    Ok(())
}

/// Check the table `table_name` of subcommand `cmd` (and its nested subcommand tables).
fn check_table(
    cmd: &Command,
    table_name: &str,
    table: &toml::Table,
    file: &ConfigFile,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Result<(), ConfigError> {
    for (key, value) in table {
        if let (Some(sub), Some(nested)) = (subcommand(cmd, key), value.as_table()) {
            check_table(sub, &format!("{table_name}.{key}"), nested, file, env)?;
            continue;
        }
        // A table naming no subcommand is a profile of the subcommands taking --profile.
        if let (Some(sub), Some(nested)) = (profile_command(cmd), value.as_table()) {
            check_table(sub, &format!("{table_name}.{key}"), nested, file, env)?;
            continue;
        }
        let Some(arg) = settable_arg(cmd, key) else {
            return Err(ConfigError::UnknownKey {
                path: file.path().to_path_buf(),
                table: table_name.to_string(),
                key: key.clone(),
                valid: list(&valid_keys(cmd)),
            });
        };
        tokens_for(arg, value, env).map_err(|reason| ConfigError::BadValue {
            path: file.path().to_path_buf(),
            table: table_name.to_string(),
            key: key.clone(),
            reason,
        })?;
    }
    Ok(())
}

fn list(keys: &[&str]) -> String {
    if keys.is_empty() {
        "(none)".into()
    } else {
        keys.join(", ")
    }
}

/// The command-line tokens that set `arg` to `value`; `Err` says why the value does not fit.
fn tokens_for(
    arg: &Arg,
    value: &Value,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Result<Vec<OsString>, String> {
    let long = arg.get_long().unwrap_or_default();
    let flag = || OsString::from(format!("--{long}"));
    let with_value = |v: String| OsString::from(format!("--{long}={v}"));
    match arg.get_action() {
        ArgAction::SetTrue | ArgAction::SetFalse => match value {
            Value::Boolean(true) => Ok(vec![flag()]),
            Value::Boolean(false) => Ok(vec![]),
            other => Err(format!(
                "is a switch: write true or false, not a {}",
                other.type_str()
            )),
        },
        ArgAction::Count => match value {
            Value::Boolean(on) => Ok(if *on { vec![flag()] } else { vec![] }),
            Value::Integer(n) if (0..=255).contains(n) => Ok(vec![flag(); *n as usize]),
            other => Err(format!(
                "counts repetitions: write a number from 0 to 255 (or true/false), not {}",
                match other {
                    Value::Integer(n) => n.to_string(),
                    other => format!("a {}", other.type_str()),
                }
            )),
        },
        ArgAction::Append => match value {
            Value::Array(items) => items
                .iter()
                .map(|item| scalar(item, env).map(with_value))
                .collect(),
            other => Ok(vec![with_value(scalar(other, env)?)]),
        },
        _ => match value {
            Value::Array(_) => Err("takes one value, not a list".into()),
            other => Ok(vec![with_value(scalar(other, env)?)]),
        },
    }
}

/// A single TOML value as command-line text.
fn scalar(value: &Value, env: &dyn Fn(&str) -> Option<OsString>) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(expand_tilde(s, env)),
        Value::Integer(n) => Ok(n.to_string()),
        Value::Float(f) => Ok(f.to_string()),
        Value::Boolean(b) => Ok(b.to_string()),
        Value::Datetime(d) => Ok(d.to_string()),
        Value::Array(_) => Err("takes single values, not nested lists".into()),
        Value::Table(_) => Err("takes a value, not a table".into()),
    }
}

/// The commands being run and the options already on the command line.
struct Walk<'c> {
    /// The root, then each subcommand named in `argv`, with the index of its name in `argv`
    /// (0 for the root, i.e. the program name).
    path: Vec<(&'c Command, usize)>,
    /// Ids of the options given on the command line.
    given: HashSet<String>,
}

/// Follow `argv` through the command tree the way clap will, skipping option values.
fn walk<'c>(root: &'c Command, argv: &[OsString]) -> Walk<'c> {
    let mut path = vec![(root, 0)];
    let mut given = HashSet::new();
    let mut i = 1;
    while i < argv.len() {
        let cmd = path[path.len() - 1].0;
        let token = argv[i].as_bytes();
        if token == b"--" {
            break;
        }
        if let Some(long) = token.strip_prefix(b"--") {
            let (name, attached) = match long.iter().position(|b| *b == b'=') {
                Some(p) => (&long[..p], true),
                None => (long, false),
            };
            if let Some(arg) = find_long(cmd, name) {
                given.insert(arg.get_id().to_string());
                if !attached {
                    i += values_after(arg, argv, i + 1);
                }
            }
        } else if token.len() > 1 && token[0] == b'-' {
            let shorts: Vec<char> = String::from_utf8_lossy(&token[1..]).chars().collect();
            for (j, c) in shorts.iter().enumerate() {
                let Some(arg) = find_short(cmd, *c) else {
                    break;
                };
                given.insert(arg.get_id().to_string());
                if arg.get_action().takes_values() {
                    if j + 1 == shorts.len() {
                        i += values_after(arg, argv, i + 1);
                    }
                    break;
                }
            }
        } else if let Some(sub) = std::str::from_utf8(token)
            .ok()
            .and_then(|name| cmd.find_subcommand(name))
        {
            path.push((sub, i));
        }
        i += 1;
    }
    Walk { path, given }
}

fn find_long<'c>(cmd: &'c Command, name: &[u8]) -> Option<&'c Arg> {
    cmd.get_arguments().find(|arg| {
        arg.get_long().is_some_and(|l| l.as_bytes() == name)
            || arg
                .get_all_aliases()
                .is_some_and(|aliases| aliases.iter().any(|a| a.as_bytes() == name))
    })
}

fn find_short(cmd: &Command, c: char) -> Option<&Arg> {
    cmd.get_arguments().find(|arg| {
        arg.get_short() == Some(c)
            || arg
                .get_all_short_aliases()
                .is_some_and(|aliases| aliases.contains(&c))
    })
}

/// How many tokens from `argv[next]` on are values of `arg` given without `=`.
fn values_after(arg: &Arg, argv: &[OsString], next: usize) -> usize {
    if !arg.get_action().takes_values() {
        return 0;
    }
    let (min, max) = arg
        .get_num_args()
        .map_or((1, 1), |r| (r.min_values(), r.max_values()));
    let mut n = 0;
    while n < max && next + n < argv.len() {
        let token = argv[next + n].as_bytes();
        if n >= min && token.len() > 1 && token[0] == b'-' {
            break;
        }
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{value_parser, ArgMatches};
    use std::collections::HashMap;
    use std::path::Path;

    /// A small CLI shaped like Tessera's; `nthreads` reads the environment variable `nthreads_env`.
    fn cli(nthreads_env: &'static str) -> Command {
        Command::new("tessera")
            .arg(
                Arg::new("config")
                    .long("config")
                    .global(true)
                    .value_parser(value_parser!(PathBuf)),
            )
            .arg(
                Arg::new("log-level")
                    .long("log-level")
                    .global(true)
                    .default_value("info"),
            )
            .subcommand(
                Command::new("worker")
                    .arg(
                        Arg::new("nthreads")
                            .long("nthreads")
                            .short('n')
                            .env(nthreads_env)
                            .value_parser(value_parser!(u32))
                            .default_value("1"),
                    )
                    .arg(
                        Arg::new("memory-limit")
                            .long("memory-limit")
                            .default_value("auto"),
                    )
                    .arg(Arg::new("scheduler-file").long("scheduler-file"))
                    .arg(
                        Arg::new("resource")
                            .long("resource")
                            .action(ArgAction::Append),
                    )
                    .arg(Arg::new("nanny").long("nanny").action(ArgAction::SetTrue))
                    .arg(
                        Arg::new("verbose")
                            .long("verbose")
                            .short('v')
                            .action(ArgAction::Count),
                    ),
            )
            .subcommand(
                Command::new("scheduler")
                    .arg(Arg::new("port").long("port").default_value("8786"))
                    .subcommand(Command::new("inspect").arg(Arg::new("format").long("format"))),
            )
    }

    const UNSET_ENV: &str = "TESSERA_TEST_NTHREADS_NEVER_SET";

    fn no_env(_: &str) -> Option<OsString> {
        None
    }

    fn args(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    fn file(text: &str) -> ConfigFile {
        ConfigFile::parse(text, Path::new("/cfg/tessera.toml")).expect("valid TOML")
    }

    /// Apply `text` to `words` and parse with clap; returns the rewritten argv and the worker's
    /// matches.
    fn run(
        command: &Command,
        text: &str,
        words: &[&str],
        env: &dyn Fn(&str) -> Option<OsString>,
    ) -> (Vec<OsString>, ArgMatches) {
        let argv = apply_config_file_in(args(words), command, &file(text), env).expect("apply");
        let matches = command
            .clone()
            .try_get_matches_from(&argv)
            .unwrap_or_else(|e| panic!("clap rejected {argv:?}: {e}"));
        let (_, sub) = matches.subcommand().expect("a subcommand");
        (argv, sub.clone())
    }

    fn nthreads(m: &ArgMatches) -> u32 {
        *m.get_one::<u32>("nthreads")
            .expect("nthreads has a default")
    }

    fn string(m: &ArgMatches, id: &str) -> Option<String> {
        m.get_one::<String>(id).cloned()
    }

    #[test]
    fn defaults_when_the_file_is_empty() {
        let (argv, m) = run(&cli(UNSET_ENV), "", &["tessera", "worker"], &no_env);
        assert_eq!(argv, args(&["tessera", "worker"]));
        assert_eq!(nthreads(&m), 1);
        assert_eq!(string(&m, "memory-limit").as_deref(), Some("auto"));
    }

    #[test]
    fn file_overrides_defaults_right_after_the_subcommand() {
        let text = "[worker]\nnthreads = 4\nmemory-limit = \"4GiB\"\n";
        let (argv, m) = run(&cli(UNSET_ENV), text, &["tessera", "worker"], &no_env);
        assert_eq!(
            argv,
            args(&["tessera", "worker", "--memory-limit=4GiB", "--nthreads=4"])
        );
        assert_eq!(nthreads(&m), 4);
        assert_eq!(string(&m, "memory-limit").as_deref(), Some("4GiB"));
    }

    #[test]
    fn environment_overrides_the_file() {
        // A variable no other test reads, set before clap reads it (when the Arg is built).
        const ENV: &str = "TESSERA_TEST_NTHREADS_ENV_OVERRIDES_FILE";
        std::env::set_var(ENV, "8");
        let command = cli(ENV);
        let env = |name: &str| std::env::var_os(name);
        let (argv, m) = run(
            &command,
            "[worker]\nnthreads = 4\n",
            &["tessera", "worker"],
            &env,
        );
        assert_eq!(argv, args(&["tessera", "worker"]));
        assert_eq!(nthreads(&m), 8);

        // And a flag overrides the environment.
        let (_, m) = run(
            &command,
            "[worker]\nnthreads = 4\n",
            &["tessera", "worker", "--nthreads", "16"],
            &env,
        );
        assert_eq!(nthreads(&m), 16);
    }

    #[test]
    fn flags_override_the_file_in_every_spelling() {
        let command = cli(UNSET_ENV);
        let text = "[worker]\nnthreads = 4\nmemory-limit = \"4GiB\"\n";
        for given in [
            &["--nthreads", "16"][..],
            &["--nthreads=16"],
            &["-n", "16"],
            &["-n16"],
            &["-vn", "16"],
        ] {
            let mut words = vec!["tessera", "worker"];
            words.extend_from_slice(given);
            let (argv, m) = run(&command, text, &words, &no_env);
            assert_eq!(nthreads(&m), 16, "{given:?}");
            assert_eq!(string(&m, "memory-limit").as_deref(), Some("4GiB"));
            let inserted = argv
                .iter()
                .filter(|a| a.to_string_lossy().starts_with("--nthreads="))
                .count();
            assert_eq!(
                inserted,
                usize::from(given[0] == "--nthreads=16"),
                "{argv:?}"
            );
        }
    }

    #[test]
    fn option_values_are_not_mistaken_for_subcommands() {
        // `worker` here is the value of --log-level, and `scheduler` the subcommand.
        let text = "[worker]\nnthreads = 4\n[scheduler]\nport = 9000\n";
        let (argv, m) = run(
            &cli(UNSET_ENV),
            text,
            &["tessera", "--log-level", "worker", "scheduler"],
            &no_env,
        );
        assert_eq!(
            argv,
            args(&[
                "tessera",
                "--log-level",
                "worker",
                "scheduler",
                "--port=9000"
            ])
        );
        assert_eq!(string(&m, "port").as_deref(), Some("9000"));
    }

    #[test]
    fn global_table_applies_where_the_option_exists_and_loses_to_the_subcommand_table() {
        let command = cli(UNSET_ENV);
        let text = "[global]\nlog-level = \"debug\"\nnthreads = 2\n[worker]\nnthreads = 3\n";
        let (_, m) = run(&command, text, &["tessera", "worker"], &no_env);
        assert_eq!(string(&m, "log-level").as_deref(), Some("debug"));
        assert_eq!(nthreads(&m), 3);
        // `scheduler` has no --nthreads: the global key is simply not applied there.
        let (argv, m) = run(&command, text, &["tessera", "scheduler"], &no_env);
        assert_eq!(argv, args(&["tessera", "scheduler", "--log-level=debug"]));
        assert_eq!(string(&m, "log-level").as_deref(), Some("debug"));
    }

    #[test]
    fn nested_subcommand_tables() {
        let text = "[scheduler]\nport = 1\n[scheduler.inspect]\nformat = \"json\"\n";
        let words = ["tessera", "scheduler", "inspect"];
        let argv =
            apply_config_file_in(args(&words), &cli(UNSET_ENV), &file(text), &no_env).expect("ok");
        assert_eq!(
            argv,
            args(&[
                "tessera",
                "scheduler",
                "--port=1",
                "inspect",
                "--format=json"
            ])
        );
        let matches = cli(UNSET_ENV).try_get_matches_from(&argv).expect("clap");
        let (_, scheduler) = matches.subcommand().expect("scheduler");
        let (_, inspect) = scheduler.subcommand().expect("inspect");
        assert_eq!(string(inspect, "format").as_deref(), Some("json"));
    }

    #[test]
    fn switches_counts_and_lists() {
        let command = cli(UNSET_ENV);
        let text = "[worker]\nnanny = true\nverbose = 2\nresource = [\"GPU=2\", \"MEM=1\"]\n";
        let (_, m) = run(&command, text, &["tessera", "worker"], &no_env);
        assert!(m.get_flag("nanny"));
        assert_eq!(m.get_count("verbose"), 2);
        let resources: Vec<&String> = m.get_many("resource").expect("resources").collect();
        assert_eq!(resources, ["GPU=2", "MEM=1"]);

        let (argv, m) = run(
            &command,
            "[worker]\nnanny = false\n",
            &["tessera", "worker"],
            &no_env,
        );
        assert_eq!(argv, args(&["tessera", "worker"]));
        assert!(!m.get_flag("nanny"));
    }

    #[test]
    fn tilde_is_expanded_in_values() {
        let env = |name: &str| (name == "HOME").then(|| OsString::from("/home/ada"));
        let (_, m) = run(
            &cli(UNSET_ENV),
            "[worker]\nscheduler-file = \"~/s.json\"\n",
            &["tessera", "worker"],
            &env,
        );
        assert_eq!(
            string(&m, "scheduler-file").as_deref(),
            Some("/home/ada/s.json")
        );
    }

    fn apply_err(text: &str) -> ConfigError {
        apply_config_file_in(
            args(&["tessera", "worker"]),
            &cli(UNSET_ENV),
            &file(text),
            &no_env,
        )
        .expect_err("should be rejected")
    }

    #[test]
    fn unknown_keys_and_tables_are_errors_naming_file_table_and_key() {
        let e = apply_err("[worker]\nthreads = 4\n");
        assert_eq!(
            e.to_string(),
            "config file /cfg/tessera.toml: unknown key `threads` in [worker]; valid keys: \
             log-level, memory-limit, nanny, nthreads, resource, scheduler-file, verbose"
        );
        // Checked even for a subcommand that is not being run.
        let e = apply_err("[scheduler]\nnthreads = 4\n");
        assert!(
            matches!(&e, ConfigError::UnknownKey { table, key, .. } if table == "scheduler" && key == "nthreads"),
            "{e}"
        );
        let e = apply_err("[global]\ncolour = \"red\"\n");
        assert!(
            e.to_string().contains("unknown key `colour` in [global]"),
            "{e}"
        );
        let e = apply_err("[workers]\nnthreads = 4\n");
        assert_eq!(
            e.to_string(),
            "config file /cfg/tessera.toml: unknown table [workers]; valid tables: [global], \
             [worker], [scheduler]"
        );
        let e = apply_err("[global]\nconfig = \"/other.toml\"\n");
        assert!(
            matches!(&e, ConfigError::UnknownKey { key, .. } if key == "config"),
            "{e}"
        );
        let e = apply_err("[scheduler.inspect]\nport = 1\n");
        assert!(e.to_string().contains("in [scheduler.inspect]"), "{e}");
    }

    #[test]
    fn values_of_the_wrong_kind_are_errors() {
        for (text, reason) in [
            ("[worker]\nnanny = \"yes\"\n", "is a switch"),
            (
                "[worker]\nnthreads = [1, 2]\n",
                "takes one value, not a list",
            ),
            ("[worker]\nverbose = 1000\n", "counts repetitions"),
            ("[worker]\nmemory-limit = { a = 1 }\n", "not a table"),
        ] {
            let e = apply_err(text);
            assert!(
                matches!(&e, ConfigError::BadValue { reason: r, .. } if r.contains(reason)),
                "{text:?}: {e}"
            );
        }
    }

    #[test]
    fn nothing_is_applied_under_help() {
        let words = ["tessera", "help", "worker"];
        let argv = apply_config_file_in(
            args(&words),
            &cli(UNSET_ENV),
            &file("[worker]\nnthreads = 4\n"),
            &no_env,
        )
        .expect("ok");
        assert_eq!(argv, args(&words));
    }

    #[test]
    fn config_path_comes_from_the_last_flag_before_double_dash() {
        assert_eq!(config_path_in_argv(&args(&["tessera", "worker"])), None);
        assert_eq!(
            config_path_in_argv(&args(&["tessera", "--config", "a.toml", "worker"])),
            Some(PathBuf::from("a.toml"))
        );
        assert_eq!(
            config_path_in_argv(&args(&[
                "tessera",
                "--config=a.toml",
                "worker",
                "--config=b.toml",
                "--",
                "--config=c.toml"
            ])),
            Some(PathBuf::from("b.toml"))
        );
    }

    #[test]
    fn the_env_lookup_is_keyed_by_the_args_variable() {
        let vars: HashMap<&str, &str> = HashMap::from([("TESSERA_TEST_NTHREADS_SET", "2")]);
        let env = |name: &str| vars.get(name).map(OsString::from);
        let argv = apply_config_file_in(
            args(&["tessera", "worker"]),
            &cli("TESSERA_TEST_NTHREADS_SET"),
            &file("[worker]\nnthreads = 4\nnanny = true\n"),
            &env,
        )
        .expect("ok");
        assert_eq!(argv, args(&["tessera", "worker", "--nanny"]));
    }
}
