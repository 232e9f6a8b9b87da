//! File-name patterns for multi-file inputs: `*`, `?` and `[...]` classes in the last path
//! component (`data/era5_*.nc`, `run/day_[0-3]?.h5`), matched files sorted by name — the
//! order `cdo mergetime` and xarray's `open_mfdataset` take for date-stamped names.
//!
//! This module must not open files beyond listing one directory.

use std::path::{Path, PathBuf};

use crate::io::error::IoError;

/// True when `path` contains a wildcard.
pub fn is_pattern(path: &str) -> bool {
    path.contains(['*', '?', '['])
}

/// The files matching `pattern`, sorted; an error when none match.
///
/// ```no_run
/// let files = tessera::io::expand_glob("data/day_*.nc").unwrap();
/// ```
pub fn expand_glob(pattern: &str) -> Result<Vec<PathBuf>, IoError> {
    let path = Path::new(pattern);
    let file_pat = path
        .file_name()
        .and_then(|f| f.to_str())
        .ok_or_else(|| IoError::NoFiles {
            pattern: pattern.into(),
        })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if is_pattern(&dir.display().to_string()) {
        return Err(IoError::Invalid(format!(
            "{pattern}: wildcards are allowed in the file name only, not in directories"
        )));
    }
    let entries = std::fs::read_dir(&dir)
        .map_err(|e| IoError::from_os(&dir.display().to_string(), &e, "list directory"))?;
    let pat: Vec<char> = file_pat.chars().collect();
    let mut out: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_string();
            let chars: Vec<char> = name.chars().collect();
            (!name.starts_with('.') && matches(&pat, &chars)).then(|| {
                if path.parent().is_some_and(|p| !p.as_os_str().is_empty()) {
                    dir.join(&name)
                } else {
                    PathBuf::from(&name)
                }
            })
        })
        .collect();
    out.sort();
    if out.is_empty() {
        return Err(IoError::NoFiles {
            pattern: pattern.into(),
        });
    }
    Ok(out)
}

/// Glob matching of one name (iterative, with backtracking over the last `*`).
fn matches(pat: &[char], name: &[char]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if p < pat.len() {
            match pat[p] {
                '*' => {
                    star = Some((p, n));
                    p += 1;
                    continue;
                }
                '?' => {
                    p += 1;
                    n += 1;
                    continue;
                }
                '[' => {
                    if let Some((ok, next)) = class(&pat[p..], name[n]) {
                        if ok {
                            p += next;
                            n += 1;
                            continue;
                        }
                    } else if name[n] == '[' {
                        p += 1;
                        n += 1;
                        continue;
                    }
                }
                c if c == name[n] => {
                    p += 1;
                    n += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, sn)) => {
                p = sp + 1;
                n = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    pat[p..].iter().all(|&c| c == '*')
}

/// Matches `c` against the class starting at `pat[0] == '['`: (matched, class length), or
/// `None` when the class is not closed.
fn class(pat: &[char], c: char) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(pat.get(1), Some('!') | Some('^'));
    if negate {
        i += 1;
    }
    let mut found = false;
    let mut first = true;
    while i < pat.len() {
        if pat[i] == ']' && !first {
            return Some((found != negate, i + 1));
        }
        first = false;
        if i + 2 < pat.len() && pat[i + 1] == '-' && pat[i + 2] != ']' {
            if pat[i] <= c && c <= pat[i + 2] {
                found = true;
            }
            i += 3;
        } else {
            if pat[i] == c {
                found = true;
            }
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, n: &str) -> bool {
        matches(
            &p.chars().collect::<Vec<_>>(),
            &n.chars().collect::<Vec<_>>(),
        )
    }

    #[test]
    fn wildcards_and_classes() {
        assert!(m("day_*.nc", "day_001.nc"));
        assert!(!m("day_*.nc", "day_001.h5"));
        assert!(m("day_??.nc", "day_01.nc"));
        assert!(!m("day_??.nc", "day_1.nc"));
        assert!(m("d[0-2]x", "d1x"));
        assert!(!m("d[!0-2]x", "d1x"));
        assert!(m("*a*b*", "xxaxxbxx"));
        assert!(!m("*a*b", "xxaxxbxxc"));
        assert!(m("*", ""));
    }

    #[test]
    fn expansion_is_sorted_and_empty_matches_are_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        for n in ["b_2.nc", "b_1.nc", "c.nc", "b_3.h5"] {
            std::fs::write(dir.path().join(n), b"").expect("write");
        }
        let pat = format!("{}/b_*.nc", dir.path().display());
        let files = expand_glob(&pat).expect("glob");
        let names: Vec<_> = files
            .iter()
            .filter_map(|f| f.file_name()?.to_str())
            .collect();
        assert_eq!(names, ["b_1.nc", "b_2.nc"]);
        let none = format!("{}/z_*.nc", dir.path().display());
        assert!(matches!(expand_glob(&none), Err(IoError::NoFiles { .. })));
    }
}
