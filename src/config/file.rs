//! The config file: where it is (explicit path, `TESSERA_CONFIG`, or the XDG default) and its
//! TOML tables.
//!
//! Reading and shape-checking only (keys outside tables are errors); this module must not
//! decide which keys are valid: that depends on the command line ([`super::argv`]).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::{ConfigError, CONFIG_ENV};

/// A parsed config file: TOML tables `[global]`, `[<subcommand>]`, `[<subcommand>.<nested>]`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConfigFile {
    path: PathBuf,
    tables: toml::Table,
}

impl ConfigFile {
    /// No file: nothing to apply.
    pub fn empty() -> Self {
        ConfigFile::default()
    }

    /// Parse TOML `text` read from `path` (which names the file in errors).
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let tables: toml::Table = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: describe_toml_error(text, &e),
        })?;
        if let Some((key, _)) = tables.iter().find(|(_, v)| !v.is_table()) {
            return Err(ConfigError::NotATable {
                path: path.to_path_buf(),
                key: key.clone(),
            });
        }
        Ok(ConfigFile {
            path: path.to_path_buf(),
            tables,
        })
    }

    /// The file this came from (empty for [`ConfigFile::empty`]).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether there is nothing to apply.
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }

    /// The top-level tables by name.
    pub fn tables(&self) -> &toml::Table {
        &self.tables
    }
}

/// One line: the parser's message and where (`line 3, column 7`).
fn describe_toml_error(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim().replace('\n', " ");
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("{message} (line {line}, column {column})")
        }
        None => message,
    }
}

/// `$XDG_CONFIG_HOME/tessera/tessera.toml`, or `$HOME/.config/tessera/tessera.toml`; `None`
/// when neither variable is usable. The file need not exist.
pub fn default_config_path() -> Option<PathBuf> {
    default_config_path_in(&|name| std::env::var_os(name))
}

pub(super) fn default_config_path_in(env: &dyn Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let xdg = env("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute());
    let base = match xdg {
        Some(dir) => dir,
        None => PathBuf::from(env("HOME").filter(|h| !h.is_empty())?).join(".config"),
    };
    Some(base.join("tessera").join("tessera.toml"))
}

/// Load the config file: `path` if given (from `--config`), else `$TESSERA_CONFIG` if set;
/// a file named either way must exist. Otherwise the default file
/// ([`default_config_path`]) if it exists, else an empty configuration.
pub fn load_config_file(path: Option<&Path>) -> Result<ConfigFile, ConfigError> {
    load_config_file_in(path, &|name| std::env::var_os(name))
}

pub(super) fn load_config_file_in(
    path: Option<&Path>,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Result<ConfigFile, ConfigError> {
    let explicit = path
        .map(Path::to_path_buf)
        .or_else(|| env(CONFIG_ENV).filter(|v| !v.is_empty()).map(PathBuf::from));
    if let Some(path) = explicit {
        let path = PathBuf::from(expand_tilde(&path.to_string_lossy(), env));
        return match std::fs::read_to_string(&path) {
            Ok(text) => ConfigFile::parse(&text, &path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(ConfigError::Missing { path })
            }
            Err(source) => Err(ConfigError::Read { path, source }),
        };
    }
    let Some(path) = default_config_path_in(env) else {
        return Ok(ConfigFile::empty());
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => ConfigFile::parse(&text, &path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ConfigFile::empty()),
        // Nobody asked for this file: an unreadable home (a batch job under another uid, a
        // home directory not mounted on the node) must not make every command fail.
        Err(e) => {
            eprintln!(
                "warning: cannot read the config file {}: {e}; going on without it",
                path.display()
            );
            Ok(ConfigFile::empty())
        }
    }
}

/// Replace a leading `~/` (or a lone `~`) with `$HOME`; anything else is returned unchanged.
pub(super) fn expand_tilde(value: &str, env: &dyn Fn(&str) -> Option<OsString>) -> String {
    let rest = match value.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
        _ => return value.to_string(),
    };
    match env("HOME").filter(|h| !h.is_empty()) {
        Some(home) => format!("{}{rest}", home.to_string_lossy().trim_end_matches('/')),
        None => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let map: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn explicit_file_must_exist() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("missing.toml");
        let e = load_config_file_in(Some(&path), &env_of(&[])).expect_err("missing");
        assert!(matches!(e, ConfigError::Missing { .. }));
        assert_eq!(
            e.to_string(),
            format!("config file {} not found", path.display())
        );
        let via_env = path.to_string_lossy().to_string();
        let e = load_config_file_in(None, &env_of(&[(CONFIG_ENV, &via_env)])).expect_err("env");
        assert!(e.to_string().contains("missing.toml"), "{e}");
    }

    #[test]
    fn explicit_file_is_parsed_and_flag_beats_env() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.toml");
        std::fs::write(&path, "[worker]\nnthreads = 4\n").expect("write");
        let env = env_of(&[(CONFIG_ENV, "/nonexistent/other.toml")]);
        let file = load_config_file_in(Some(&path), &env).expect("load");
        assert_eq!(file.path(), path);
        assert_eq!(file.tables()["worker"]["nthreads"].as_integer(), Some(4));
    }

    #[test]
    fn default_file_is_used_only_if_present() {
        let dir = tempfile::tempdir().expect("tempdir");
        let xdg = dir.path().to_string_lossy().to_string();
        let env = env_of(&[("XDG_CONFIG_HOME", &xdg), ("HOME", "/nonexistent")]);
        assert!(load_config_file_in(None, &env).expect("absent").is_empty());

        let path = dir.path().join("tessera").join("tessera.toml");
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, "[global]\nlog-level = \"debug\"\n").expect("write");
        let file = load_config_file_in(None, &env).expect("present");
        assert_eq!(file.path(), path);
        assert!(!file.is_empty());
    }

    #[test]
    fn default_path_falls_back_to_home() {
        assert_eq!(
            default_config_path_in(&env_of(&[("HOME", "/home/ada")])),
            Some(PathBuf::from("/home/ada/.config/tessera/tessera.toml"))
        );
        assert_eq!(
            default_config_path_in(&env_of(&[
                ("HOME", "/home/ada"),
                ("XDG_CONFIG_HOME", "rel")
            ])),
            Some(PathBuf::from("/home/ada/.config/tessera/tessera.toml"))
        );
        assert_eq!(
            default_config_path_in(&env_of(&[("XDG_CONFIG_HOME", "/xdg")])),
            Some(PathBuf::from("/xdg/tessera/tessera.toml"))
        );
        assert_eq!(default_config_path_in(&env_of(&[])), None);
    }

    #[test]
    fn keys_outside_tables_and_bad_toml_are_errors() {
        let path = Path::new("/etc/t.toml");
        let e = ConfigFile::parse("nthreads = 4\n", path).expect_err("top-level key");
        assert!(matches!(&e, ConfigError::NotATable { key, .. } if key == "nthreads"));
        let e = ConfigFile::parse("[worker]\nnthreads = \n", path).expect_err("bad toml");
        let text = e.to_string();
        assert!(
            text.starts_with("config file /etc/t.toml: not valid TOML: "),
            "{text}"
        );
        assert!(text.contains("line 2"), "{text}");
        assert!(!text.contains('\n'), "{text}");
    }

    #[test]
    fn tilde_expands_only_at_the_start() {
        let env = env_of(&[("HOME", "/home/ada/")]);
        assert_eq!(expand_tilde("~/s.json", &env), "/home/ada/s.json");
        assert_eq!(expand_tilde("~", &env), "/home/ada");
        assert_eq!(expand_tilde("~bob/s.json", &env), "~bob/s.json");
        assert_eq!(expand_tilde("a/~/b", &env), "a/~/b");
        assert_eq!(expand_tilde("~/s.json", &env_of(&[])), "~/s.json");
    }
}
