//! The file formats Tessera reads and writes, and output targets as the command line writes
//! them: `out.h5:/group/dset`, `out.nc:var`.
//!
//! This module must not open files.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::io::error::IoError;

/// A file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Format {
    /// HDF5 (`.h5`, `.hdf5`, `.he5`, `.hdf`).
    Hdf5,
    /// NetCDF-4 (`.nc`, `.nc4`, `.cdf`, `.netcdf`); reading also accepts classic files.
    NetCdf,
}

const HDF5_EXT: &[&str] = &["h5", "hdf5", "he5", "hdf"];
const NETCDF_EXT: &[&str] = &["nc", "nc4", "cdf", "netcdf"];

impl Format {
    /// The format a file name's extension names.
    pub fn from_extension(path: &str) -> Option<Format> {
        let ext = path.rsplit_once('.')?.1.to_ascii_lowercase();
        if HDF5_EXT.contains(&ext.as_str()) {
            Some(Format::Hdf5)
        } else if NETCDF_EXT.contains(&ext.as_str()) {
            Some(Format::NetCdf)
        } else {
            None
        }
    }

    /// "HDF5" or "NetCDF".
    pub fn name(self) -> &'static str {
        match self {
            Format::Hdf5 => "HDF5",
            Format::NetCdf => "NetCDF",
        }
    }

    /// What the format calls its arrays.
    pub(crate) fn item(self) -> &'static str {
        match self {
            Format::Hdf5 => "dataset",
            Format::NetCdf => "variable",
        }
    }

    /// The dataset path inside the HDF5 container for variable/dataset `name`.
    pub(crate) fn hdf5_path(self, name: &str) -> String {
        if name.starts_with('/') {
            name.to_string()
        } else {
            format!("/{name}")
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where one output goes: a file, its format, and the dataset or variable name in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputTarget {
    /// The final file name.
    pub path: PathBuf,
    /// The file format.
    pub format: Format,
    /// Dataset path (HDF5) or variable name (NetCDF); `None` takes the array's name.
    pub name: Option<String>,
}

impl OutputTarget {
    /// Parses `file.h5:/dset`, `file.nc:var`, `file.nc:/group/var` (a variable in a NetCDF-4
    /// group), or a bare `file.h5`/`file.nc`.
    ///
    /// ```
    /// use tessera::io::{Format, OutputTarget};
    /// let t = OutputTarget::parse("out/mean.h5:/t2m/mean").unwrap();
    /// assert_eq!(t.format, Format::Hdf5);
    /// assert_eq!(t.name.as_deref(), Some("/t2m/mean"));
    /// assert_eq!(OutputTarget::parse("m.nc").unwrap().name, None);
    /// assert_eq!(OutputTarget::parse("m.nc:/g/v").unwrap().name.as_deref(), Some("/g/v"));
    /// assert!(OutputTarget::parse("m.nc:/g//v").is_err());
    /// assert!(OutputTarget::parse("m.txt:x").is_err());
    /// ```
    pub fn parse(spec: &str) -> Result<OutputTarget, IoError> {
        let (path, name) = match spec.rsplit_once(':') {
            Some((p, n)) if Format::from_extension(p).is_some() => (p, Some(n)),
            _ => (spec, None),
        };
        let format = Format::from_extension(path).ok_or_else(|| {
            IoError::Invalid(format!(
                "output {spec}: the file name must end in .h5/.hdf5 (HDF5) or .nc/.nc4 (NetCDF), \
                 optionally followed by :dataset or :variable"
            ))
        })?;
        let name = match name {
            Some("") => {
                return Err(IoError::Invalid(format!(
                    "output {spec}: empty {} name after ':'",
                    format.item()
                )))
            }
            Some(n) => {
                if n.trim_start_matches('/').split('/').any(str::is_empty) {
                    return Err(IoError::Invalid(format!(
                        "output {spec}: empty group or {} name in {n:?}",
                        format.item()
                    )));
                }
                Some(n.to_string())
            }
            None => None,
        };
        Ok(OutputTarget {
            path: PathBuf::from(path),
            format,
            name,
        })
    }
}
