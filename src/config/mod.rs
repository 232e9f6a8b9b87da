//! (Placeholder contract until the config work lands.)
use std::ffi::OsString;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

#[derive(Debug, Default)]
pub struct ConfigFile;

pub fn load_config_file(_path: Option<&Path>) -> Result<ConfigFile, ConfigError> {
    todo!()
}

pub fn apply_config_file(
    _argv: Vec<OsString>,
    _command: &clap::Command,
    _file: &ConfigFile,
) -> Result<Vec<OsString>, ConfigError> {
    todo!()
}
