//! The scheduler file: how workers and clients on a shared filesystem find a scheduler and
//! learn the secret that proves they belong to it.
//!
//! JSON with a format version; written atomically (a private temp file in the same directory,
//! created with mode 0600, fsynced, renamed over the target, directory fsynced); read back only if
//! it is ours and private; removed on clean exit only by the process that wrote it. This module
//! must not open network connections except to tell a live scheduler from a stale file
//! ([`SchedulerFile::check_alive`]).

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::host::{hostname, loopback_scope};
use crate::protocol::Secret;
use crate::transport::Address;

/// The format version this build writes and reads.
pub const SCHEDULER_FILE_VERSION: u32 = 1;

/// How long [`SchedulerFile::check_alive`] waits for a TCP connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// The scheduler file could not be used; every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum SchedulerFileError {
    /// The file exists but cannot be trusted or understood.
    #[error("scheduler file {path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
    /// [`SchedulerFile::wait`] gave up.
    #[error("scheduler file {path} did not appear within {waited:?}: is the scheduler running?")]
    Timeout { path: PathBuf, waited: Duration },
    /// The scheduler published a loopback address and this process is on another host.
    #[error(
        "scheduler file {path}: the scheduler on host {host}{elsewhere} published loopback address \
         {address}, which cannot be reached from here; start it with --interface NAME or \
         --advertise-host HOST"
    )]
    LoopbackElsewhere {
        path: PathBuf,
        host: String,
        /// Empty, or a note when the host name is this host's too (another network namespace).
        elsewhere: String,
        address: String,
    },
    /// The file describes a scheduler that is gone.
    #[error("scheduler file {path} is stale: {reason}")]
    Stale { path: PathBuf, reason: String },
    /// Reading or writing the file failed (`NotFound` when it does not exist).
    #[error("scheduler file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The contents of a scheduler file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SchedulerFile {
    /// The format version ([`SCHEDULER_FILE_VERSION`]).
    pub version: u32,
    /// Where clients and workers connect (`tcp://host:port`).
    pub address: String,
    /// Other services by name (dashboard, ...).
    #[serde(default)]
    pub services: BTreeMap<String, String>,
    /// Seconds since the Unix epoch when the scheduler started.
    pub started: f64,
    /// The scheduler's process id on `host`.
    pub pid: u32,
    /// The host the scheduler runs on (its `gethostname`).
    pub host: String,
    /// The cluster secret, 64 hex digits.
    pub secret: String,
    /// Which processes share the writer's loopback interface (see
    /// [`super::host::loopback_scope`]); empty in files of older versions.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub loopback_scope: String,
    /// The file this was read from (empty for one made by [`SchedulerFile::new`]); names the
    /// file in errors. Not part of the file's contents, nor of equality.
    #[serde(skip)]
    pub path: PathBuf,
}

impl PartialEq for SchedulerFile {
    fn eq(&self, other: &Self) -> bool {
        self.version == other.version
            && self.address == other.address
            && self.services == other.services
            && self.started == other.started
            && self.pid == other.pid
            && self.host == other.host
            && self.secret == other.secret
            && self.loopback_scope == other.loopback_scope
    }
}

impl SchedulerFile {
    /// Describe a scheduler listening at `address` (`tcp://host:port`) with the secret
    /// `secret_hex` (64 hex digits), started now by this process on this host.
    pub fn new(address: String, secret_hex: String) -> Self {
        let started = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            // Whole milliseconds, so the JSON text reads back as exactly the same number.
            .map(|d| (d.as_secs_f64() * 1000.0).round() / 1000.0)
            .unwrap_or(0.0);
        SchedulerFile {
            version: SCHEDULER_FILE_VERSION,
            address,
            services: BTreeMap::new(),
            started,
            pid: std::process::id(),
            host: hostname(),
            secret: secret_hex,
            loopback_scope: loopback_scope(),
            path: PathBuf::new(),
        }
    }

    /// Write atomically with mode 0600, creating the parent directory if needed.
    ///
    /// The contents go to `.{name}.{pid}.tmp` beside `path`, created private (never widened
    /// or narrowed afterwards), fsynced, then renamed over `path`; the directory is then fsynced
    /// (best effort: some network filesystems refuse to fsync a directory). Readers therefore
    /// see the old file or the new one, never a part.
    pub fn write(&self, path: &Path) -> Result<(), SchedulerFileError> {
        let io_error = |source| SchedulerFileError::Io {
            path: path.to_path_buf(),
            source,
        };
        let invalid = |reason: String| SchedulerFileError::Invalid {
            path: path.to_path_buf(),
            reason,
        };
        self.validate()
            .map_err(|r| invalid(format!("refusing to write: {r}")))?;
        let name = path
            .file_name()
            .ok_or_else(|| invalid("is not a file name".into()))?;
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&dir).map_err(|e| {
            io_error(io::Error::new(
                e.kind(),
                format!("cannot create directory {}: {e}", dir.display()),
            ))
        })?;
        warn_if_directory_is_open(path);
        let mut contents = serde_json::to_vec_pretty(self)
            .map_err(|e| invalid(format!("cannot encode as JSON: {e}")))?;
        contents.push(b'\n');

        let tmp = dir.join(format!(
            ".{}.{}.tmp",
            name.to_string_lossy(),
            std::process::id()
        ));
        // A leftover from a crashed process that had our pid; create_new below must not reuse
        // a file whose permissions we did not set.
        let _ = fs::remove_file(&tmp);
        let written = (|| -> io::Result<()> {
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            file.write_all(&contents)?;
            file.sync_all()?;
            drop(file);
            fs::rename(&tmp, path)
        })();
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(io_error(e));
        }
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// Read and validate: it must be ours, private (no group/other permission bits), valid
    /// JSON of a known version with every field present and well formed.
    pub fn read(path: &Path) -> Result<Self, SchedulerFileError> {
        Self::read_with_metadata(path).map(|(file, _)| file)
    }

    /// [`SchedulerFile::read`], also returning the metadata of the file that was read.
    fn read_with_metadata(path: &Path) -> Result<(Self, fs::Metadata), SchedulerFileError> {
        let io_error = |source| SchedulerFileError::Io {
            path: path.to_path_buf(),
            source,
        };
        let invalid = |reason: String| SchedulerFileError::Invalid {
            path: path.to_path_buf(),
            reason,
        };
        // Type and owner are checked before opening: opening a FIFO blocks until a writer
        // comes (anyone can put one at a predictable path in /tmp), a device may act on open.
        warn_if_directory_is_open(path);
        let (checked, via_link) = checked_metadata(path).map_err(|e| match e {
            Refusal::Io(source) => io_error(source),
            Refusal::Invalid(reason) => invalid(reason),
        })?;
        let mut file = open_checked(path, via_link).map_err(io_error)?;
        // Check the file we opened (fstat), not whatever the path names a moment later.
        let meta = file.metadata().map_err(io_error)?;
        if (meta.dev(), meta.ino()) != (checked.dev(), checked.ino()) || !meta.is_file() {
            return Err(invalid(
                "was replaced while being opened; not reading it".into(),
            ));
        }
        let mode = meta.mode() & 0o7777;
        if mode & 0o077 != 0 {
            let how = if mode & 0o044 != 0 {
                "readable"
            } else {
                "writable"
            };
            return Err(invalid(format!(
                "is {how} by other users (mode {mode:04o}); it holds the cluster secret: \
                 chmod 600 it"
            )));
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io_error)?;
        let text = String::from_utf8(bytes)
            .map_err(|_| invalid("not valid JSON: not UTF-8 text".into()))?;
        let mut parsed = parse(&text).map_err(invalid)?;
        parsed.path = path.to_path_buf();
        Ok((parsed, meta))
    }

    /// Wait until the file exists and is valid, up to `timeout`.
    ///
    /// Polls every 20 ms, backing off to 200 ms. A missing file (or directory) means "not yet";
    /// an invalid one is retried too (a new scheduler may be about to replace an old file), and
    /// its error is reported if it is still invalid at the deadline. Other I/O errors (e.g.
    /// permission denied) are reported at once.
    pub fn wait(path: &Path, timeout: Duration) -> Result<Self, SchedulerFileError> {
        const FIRST_DELAY: Duration = Duration::from_millis(20);
        const MAX_DELAY: Duration = Duration::from_millis(200);
        let start = Instant::now();
        let mut delay = FIRST_DELAY;
        loop {
            let last = match Self::read(path) {
                Ok(file) => return Ok(file),
                Err(SchedulerFileError::Io { source, .. })
                    if source.kind() == io::ErrorKind::NotFound =>
                {
                    None
                }
                Err(e @ SchedulerFileError::Invalid { .. }) => Some(e),
                Err(e) => return Err(e),
            };
            let elapsed = start.elapsed();
            if elapsed >= timeout {
                return Err(last.unwrap_or(SchedulerFileError::Timeout {
                    path: path.to_path_buf(),
                    waited: timeout,
                }));
            }
            std::thread::sleep(delay.min(timeout - elapsed));
            delay = (delay * 2).min(MAX_DELAY);
        }
    }

    /// The scheduler's address; refused when it is loopback and the scheduler runs on
    /// another host (or in another network namespace), so that nobody calls it stale.
    pub fn address(&self) -> Result<Address, SchedulerFileError> {
        let address = self
            .address
            .parse::<Address>()
            .map_err(|e| SchedulerFileError::Invalid {
                path: self.path.clone(),
                reason: format!("field `address`: {e}"),
            })?;
        self.check_reachable()?;
        Ok(address)
    }

    /// Refuse a loopback address published on another host (or in another network namespace).
    fn check_reachable(&self) -> Result<(), SchedulerFileError> {
        if !self.is_loopback_elsewhere() {
            return Ok(());
        }
        Err(SchedulerFileError::LoopbackElsewhere {
            path: self.path.clone(),
            host: self.host.clone(),
            elsewhere: if self.host == hostname() {
                " (another network namespace)".into()
            } else {
                String::new()
            },
            address: self.address.clone(),
        })
    }

    /// The address is loopback (here) and the writer does not share this process's loopback.
    fn is_loopback_elsewhere(&self) -> bool {
        let same_scope = if self.loopback_scope.is_empty() {
            self.host == hostname()
        } else {
            self.loopback_scope == loopback_scope()
        };
        if same_scope {
            return false;
        }
        let Some((host, port)) = tcp_host_port(&self.address) else {
            return false;
        };
        match host.parse::<std::net::IpAddr>() {
            Ok(ip) => ip.is_loopback(),
            Err(_) => (host, port)
                .to_socket_addrs()
                .map(|addrs| {
                    let ips: Vec<_> = addrs.map(|a| a.ip()).collect();
                    !ips.is_empty() && ips.iter().all(|ip| ip.is_loopback())
                })
                .unwrap_or(false),
        }
    }

    /// The secret.
    pub fn secret(&self) -> Result<Secret, SchedulerFileError> {
        Secret::from_hex(&self.secret).ok_or_else(|| SchedulerFileError::Invalid {
            path: self.path.clone(),
            reason: "field `secret` must be 64 hex digits".into(),
        })
    }

    /// Tell a live scheduler from a stale file.
    ///
    /// Stale when the file was written on this host by a process that no longer exists, or
    /// when the address refuses TCP connections (every resolved address answers "connection
    /// refused" within 1 s). Anything less certain (a timeout, an unresolvable host, a non-TCP
    /// address) counts as alive: the real connection will report the problem. The probe
    /// connection is closed at once without a handshake.
    pub fn check_alive(&self) -> Result<(), SchedulerFileError> {
        let stale = |reason: String| SchedulerFileError::Stale {
            path: self.path.clone(),
            reason,
        };
        self.check_reachable()?;
        if self.host == hostname() && process_is_gone(self.pid) {
            return Err(stale(format!(
                "written by pid {} on host {} at {}, and that process is gone",
                self.pid,
                self.host,
                format_utc(self.started)
            )));
        }
        let Some((host, port)) = tcp_host_port(&self.address) else {
            return Ok(());
        };
        let Ok(addrs) = (host, port).to_socket_addrs() else {
            return Ok(());
        };
        let mut refused = false;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => refused = true,
                Err(_) => return Ok(()),
            }
        }
        if refused {
            return Err(stale(format!(
                "scheduler at {} is not answering (connection refused)",
                self.address
            )));
        }
        Ok(())
    }

    /// Remove the file at `path` if this process wrote it (same pid and host, and it is still
    /// the very file that was checked); returns whether it was removed. A missing file is
    /// `Ok(false)`. So an old scheduler shutting down never deletes a new scheduler's file.
    pub fn remove(path: &Path) -> Result<bool, SchedulerFileError> {
        let (file, meta) = match Self::read_with_metadata(path) {
            Ok(found) => found,
            Err(SchedulerFileError::Io { source, .. })
                if source.kind() == io::ErrorKind::NotFound =>
            {
                return Ok(false)
            }
            Err(e) => return Err(e),
        };
        if file.pid != std::process::id() || file.host != hostname() {
            return Ok(false);
        }
        // Narrow the window in which another scheduler could have replaced the file.
        match fs::symlink_metadata(path) {
            Ok(now) if now.dev() == meta.dev() && now.ino() == meta.ino() => {}
            Ok(_) => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(source) => {
                return Err(SchedulerFileError::Io {
                    path: path.to_path_buf(),
                    source,
                })
            }
        }
        match fs::remove_file(path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(SchedulerFileError::Io {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Check every field; `Err` names the field at fault (never quoting the secret).
    fn validate(&self) -> Result<(), String> {
        check_version(u64::from(self.version))?;
        check_address(&self.address)?;
        if self.host.trim().is_empty() {
            return Err("field `host` must not be empty".into());
        }
        if self.pid == 0 || self.pid > i32::MAX as u32 {
            return Err(format!(
                "field `pid` must be a process id, found {}",
                self.pid
            ));
        }
        if !(self.started.is_finite() && self.started >= 0.0) {
            return Err(format!(
                "field `started` must be seconds since the epoch, found {}",
                self.started
            ));
        }
        if self.secret.len() != 64 || !self.secret.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(format!(
                "field `secret` must be 64 hex digits (found {} characters{})",
                self.secret.chars().count(),
                if self.secret.bytes().all(|c| c.is_ascii_hexdigit()) {
                    ""
                } else {
                    ", not all hex"
                }
            ));
        }
        for (name, address) in &self.services {
            if address.is_empty() {
                return Err(format!("field `services`: service {name:?} has no address"));
            }
        }
        Ok(())
    }
}

/// Parse the JSON text of a scheduler file; `Err` holds the reason.
/// Warn (once per process) when the scheduler file's directory lets anyone replace the file:
/// writable by others without the sticky bit (mode 0777 instead of /tmp's 1777).
fn warn_if_directory_is_open(path: &Path) {
    static WARNED: std::sync::Once = std::sync::Once::new();
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let Ok(meta) = fs::metadata(dir) else {
        return;
    };
    let mode = meta.mode() & 0o7777;
    if mode & 0o002 != 0 && mode & 0o1000 == 0 {
        WARNED.call_once(|| {
            tracing::warn!(
                "directory {} of the scheduler file is writable by everyone without the sticky \
                 bit (mode {mode:04o}): any user can replace the file; use a private directory \
                 or chmod +t it",
                dir.display()
            )
        });
    }
}

/// Why a scheduler file is not opened.
enum Refusal {
    Io(io::Error),
    Invalid(String),
}

/// The metadata of the file `path` names, checked before it is opened: a symbolic link is
/// followed only when it is ours (then `true`), and the file must be a regular file of ours.
fn checked_metadata(path: &Path) -> Result<(fs::Metadata, bool), Refusal> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    let not_ours = |what: &str, uid: u32| {
        Refusal::Invalid(format!("{what}owned by uid {uid}, not you (uid {me})"))
    };
    let link = fs::symlink_metadata(path).map_err(Refusal::Io)?;
    let via_link = link.file_type().is_symlink();
    let meta = if via_link {
        if link.uid() != me {
            return Err(not_ours("is a symbolic link ", link.uid()));
        }
        fs::metadata(path).map_err(Refusal::Io)?
    } else {
        link
    };
    if !meta.is_file() {
        return Err(Refusal::Invalid(format!(
            "is not a regular file (a {})",
            file_kind(&meta)
        )));
    }
    if meta.uid() != me {
        return Err(not_ours("", meta.uid()));
    }
    Ok((meta, via_link))
}

fn file_kind(meta: &fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_fifo() {
        "FIFO"
    } else if t.is_socket() {
        "socket"
    } else if t.is_dir() {
        "directory"
    } else if t.is_char_device() || t.is_block_device() {
        "device"
    } else {
        "special file"
    }
}

/// Open what [`checked_metadata`] checked, without blocking (a FIFO swapped in meanwhile
/// opens at once and is refused by the caller's fstat comparison) and without following a
/// link the check did not see.
fn open_checked(path: &Path, via_link: bool) -> io::Result<File> {
    let mut flags = libc::O_NONBLOCK | libc::O_CLOEXEC;
    if !via_link {
        flags |= libc::O_NOFOLLOW;
    }
    OpenOptions::new().read(true).custom_flags(flags).open(path)
}

fn parse(text: &str) -> Result<SchedulerFile, String> {
    if text.trim().is_empty() {
        return Err("not valid JSON: the file is empty".into());
    }
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let Value::Object(obj) = value else {
        return Err("not valid JSON for a scheduler file: expected an object {...}".into());
    };
    let version = field(&obj, "version")?
        .as_u64()
        .ok_or("field `version` must be a whole number")?;
    check_version(version)?;
    let services = match obj.get("services") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(name, v)| match v {
                Value::String(s) => Ok((name.clone(), s.clone())),
                _ => Err(format!(
                    "field `services`: service {name:?} must be an address string"
                )),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("field `services` must be an object of name: address".into()),
    };
    let pid = field(&obj, "pid")?
        .as_u64()
        .filter(|p| *p <= u64::from(u32::MAX))
        .ok_or("field `pid` must be a process id")?;
    let file = SchedulerFile {
        version: SCHEDULER_FILE_VERSION,
        address: string_field(&obj, "address")?,
        services,
        started: field(&obj, "started")?
            .as_f64()
            .ok_or("field `started` must be a number (seconds since the epoch)")?,
        pid: pid as u32,
        host: string_field(&obj, "host")?,
        secret: string_field(&obj, "secret")?,
        loopback_scope: match obj.get("loopback_scope") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(scope)) => scope.clone(),
            Some(_) => return Err("field `loopback_scope` must be a string".into()),
        },
        path: PathBuf::new(),
    };
    file.validate()?;
    Ok(file)
}

fn field<'a>(obj: &'a Map<String, Value>, name: &str) -> Result<&'a Value, String> {
    obj.get(name)
        .ok_or_else(|| format!("missing field `{name}`"))
}

fn string_field(obj: &Map<String, Value>, name: &str) -> Result<String, String> {
    field(obj, name)?
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("field `{name}` must be a string"))
}

fn check_version(version: u64) -> Result<(), String> {
    let ours = SCHEDULER_FILE_VERSION;
    if version > u64::from(ours) {
        Err(format!(
            "written by a newer Tessera (format version {version}, this build reads {ours})"
        ))
    } else if version < u64::from(ours) {
        Err(format!(
            "unknown format version {version} (this build reads {ours})"
        ))
    } else {
        Ok(())
    }
}

/// `tcp://host:port` → (host without IPv6 brackets, port); `None` for other schemes or forms.
fn tcp_host_port(address: &str) -> Option<(&str, u16)> {
    let rest = address.strip_prefix("tcp://")?;
    let (host, port) = rest.rsplit_once(':')?;
    let host = match host.strip_prefix('[') {
        Some(h) => h.strip_suffix(']')?,
        None => host,
    };
    let port = port.parse::<u16>().ok().filter(|p| *p != 0)?;
    (!host.is_empty()).then_some((host, port))
}

/// Accept `tcp://host:port` and, for transports to come, any `scheme://rest`.
fn check_address(address: &str) -> Result<(), String> {
    let well_formed = match address.split_once("://") {
        Some(("tcp", _)) => tcp_host_port(address).is_some(),
        Some((scheme, rest)) => {
            !scheme.is_empty()
                && scheme.bytes().all(|c| c.is_ascii_alphanumeric())
                && !rest.is_empty()
        }
        None => false,
    };
    if well_formed {
        Ok(())
    } else {
        Err(format!(
            "field `address` must look like tcp://host:port, found {address:?}"
        ))
    }
}

/// Whether no process `pid` exists on this host (`kill(pid, 0)` fails with ESRCH).
fn process_is_gone(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 performs the existence and permission checks only; nothing is sent.
    let rc = unsafe { libc::kill(pid, 0) };
    rc != 0 && io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}

/// Seconds since the epoch as `YYYY-MM-DD HH:MM:SS UTC`.
fn format_utc(epoch: f64) -> String {
    if !(epoch.is_finite() && epoch >= 0.0) {
        return format!("{epoch} s after the epoch");
    }
    let secs = epoch as i64;
    let (days, of_day) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::os::unix::fs::PermissionsExt;

    const SECRET: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    fn sample() -> SchedulerFile {
        SchedulerFile::new("tcp://127.0.0.1:8786".into(), SECRET.into())
    }

    /// Write `text` to `path` with exactly `mode`.
    fn write_raw(path: &Path, text: &str, mode: u32) {
        fs::write(path, text).expect("write test file");
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod test file");
    }

    fn invalid_reason(result: Result<SchedulerFile, SchedulerFileError>) -> String {
        match result {
            Err(SchedulerFileError::Invalid { reason, .. }) => reason,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    /// The sample as JSON, with `edit` applied to the object.
    fn json_with(edit: impl FnOnce(&mut Map<String, Value>)) -> String {
        let mut value = serde_json::to_value(sample()).expect("encode");
        if let Value::Object(obj) = &mut value {
            edit(obj);
        }
        value.to_string()
    }

    #[test]
    fn write_is_atomic_private_and_reads_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("not-yet").join("scheduler.json");
        let file = sample();
        file.write(&path).expect("write");

        let mode = fs::metadata(&path).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let back = SchedulerFile::read(&path).expect("read");
        assert_eq!(back, file);
        assert_eq!(back.path, path);
        let names: Vec<_> = fs::read_dir(path.parent().expect("parent"))
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("scheduler.json")]);
    }

    #[test]
    fn write_replaces_a_wider_file_with_a_private_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.json");
        write_raw(&path, "old", 0o644);
        let mut file = sample();
        file.services
            .insert("dashboard".into(), "http://x:8787".into());
        file.write(&path).expect("write");
        assert_eq!(
            fs::metadata(&path).expect("stat").permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(SchedulerFile::read(&path).expect("read"), file);
    }

    #[test]
    fn write_refuses_a_bad_secret() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.json");
        let file = SchedulerFile::new("tcp://127.0.0.1:1".into(), "nothex".into());
        let e = file.write(&path).expect_err("bad secret");
        assert!(e.to_string().contains("field `secret`"), "{e}");
        assert!(!path.exists());
    }

    #[test]
    fn read_missing_file_is_not_found_naming_the_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("absent.json");
        match SchedulerFile::read(&path) {
            Err(e @ SchedulerFileError::Io { .. }) => {
                assert!(e.to_string().contains(&path.display().to_string()));
                let SchedulerFileError::Io { source, .. } = e else {
                    unreachable!()
                };
                assert_eq!(source.kind(), io::ErrorKind::NotFound);
            }
            other => panic!("expected Io, got {other:?}"),
        }
    }

    #[test]
    fn read_rejects_bad_contents_naming_the_problem() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.json");
        let cases: Vec<(String, &str)> = vec![
            (String::new(), "not valid JSON: the file is empty"),
            ("{\"version\": 1,".into(), "not valid JSON: "),
            ("[1, 2]".into(), "expected an object"),
            (
                json_with(|o| {
                    o.insert("version".into(), 7.into());
                }),
                "written by a newer Tessera (format version 7, this build reads 1)",
            ),
            (
                json_with(|o| {
                    o.insert("version".into(), 0.into());
                }),
                "unknown format version 0",
            ),
            (
                json_with(|o| {
                    o.remove("secret");
                }),
                "missing field `secret`",
            ),
            (
                json_with(|o| {
                    o.insert("pid".into(), "twelve".into());
                }),
                "field `pid`",
            ),
            (
                json_with(|o| {
                    o.insert("secret".into(), "abc".into());
                }),
                "field `secret` must be 64 hex digits",
            ),
            (
                json_with(|o| {
                    o.insert("address".into(), "localhost:8786".into());
                }),
                "field `address`",
            ),
            (
                json_with(|o| {
                    o.insert("started".into(), "yesterday".into());
                }),
                "field `started`",
            ),
        ];
        for (text, expected) in cases {
            write_raw(&path, &text, 0o600);
            let reason = invalid_reason(SchedulerFile::read(&path));
            assert!(reason.contains(expected), "{text:?}: {reason}");
        }
    }

    #[test]
    fn read_rejects_a_file_others_can_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.json");
        sample().write(&path).expect("write");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        assert_eq!(
            invalid_reason(SchedulerFile::read(&path)),
            "is readable by other users (mode 0644); it holds the cluster secret: chmod 600 it"
        );
        fs::set_permissions(&path, fs::Permissions::from_mode(0o620)).expect("chmod");
        assert!(invalid_reason(SchedulerFile::read(&path)).contains("writable by other users"));
    }

    #[test]
    fn read_rejects_a_file_owned_by_someone_else() {
        // SAFETY: geteuid cannot fail.
        let me = unsafe { libc::geteuid() };
        let dir = tempfile::tempdir().expect("tempdir");
        let (path, owner) = if me == 0 {
            let path = dir.path().join("s.json");
            sample().write(&path).expect("write");
            let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("cstr");
            // SAFETY: a valid NUL-terminated path; we are root, so chown succeeds.
            assert_eq!(unsafe { libc::chown(c.as_ptr(), 65534, 65534) }, 0);
            (path, 65534)
        } else {
            // Not root: any root-owned file will do.
            (PathBuf::from("/etc/passwd"), 0)
        };
        let reason = invalid_reason(SchedulerFile::read(&path));
        assert!(
            reason.starts_with(&format!("owned by uid {owner}, not you")),
            "{reason}"
        );
    }

    #[test]
    fn wait_sees_a_file_written_later_and_tolerates_garbage_meanwhile() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("later").join("s.json");
        let file = sample();
        let writer = {
            let (path, file) = (path.clone(), file.clone());
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(50));
                fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
                write_raw(&path, "{not json", 0o600);
                std::thread::sleep(Duration::from_millis(50));
                file.write(&path).expect("write");
            })
        };
        let found = SchedulerFile::wait(&path, Duration::from_secs(30)).expect("wait");
        writer.join().expect("writer thread");
        assert_eq!(found, file);
    }

    #[test]
    fn wait_times_out_naming_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("never.json");
        let start = Instant::now();
        let timeout = Duration::from_millis(150);
        match SchedulerFile::wait(&path, timeout) {
            Err(e @ SchedulerFileError::Timeout { .. }) => {
                assert!(e.to_string().contains("never.json"), "{e}");
                assert!(e.to_string().contains("is the scheduler running?"), "{e}");
            }
            other => panic!("expected Timeout, got {other:?}"),
        }
        assert!(start.elapsed() >= timeout);
    }

    #[test]
    fn wait_reports_the_last_error_of_a_file_that_stays_invalid() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.json");
        write_raw(
            &path,
            &json_with(|o| {
                o.insert("version".into(), 7.into());
            }),
            0o600,
        );
        let reason = invalid_reason(SchedulerFile::wait(&path, Duration::from_millis(100)));
        assert!(reason.contains("newer Tessera"), "{reason}");
    }

    #[test]
    fn a_file_of_a_dead_process_is_stale() {
        let mut child = std::process::Command::new("true")
            .spawn()
            .expect("spawn true");
        let pid = child.id();
        child.wait().expect("wait for true");
        let mut file = sample();
        file.pid = pid;
        file.path = PathBuf::from("/somewhere/s.json");
        match file.check_alive() {
            Err(SchedulerFileError::Stale { path, reason }) => {
                assert_eq!(path, PathBuf::from("/somewhere/s.json"));
                assert!(
                    reason.starts_with(&format!("written by pid {pid} on host {} at ", hostname())),
                    "{reason}"
                );
                assert!(reason.ends_with("and that process is gone"), "{reason}");
            }
            other => panic!("expected Stale, got {other:?}"),
        }
    }

    #[test]
    fn loopback_from_another_host_is_named_not_stale() {
        let mut file = sample();
        file.path = PathBuf::from("/shared/s.json");
        file.address().expect("our own loopback is fine");
        file.host = "login1".into();
        file.loopback_scope = "another-boot/net:[1]".into();
        let expected = "scheduler file /shared/s.json: the scheduler on host login1 published \
                        loopback address tcp://127.0.0.1:8786, which cannot be reached from \
                        here; start it with --interface NAME or --advertise-host HOST";
        assert_eq!(file.address().unwrap_err().to_string(), expected);
        assert_eq!(file.check_alive().unwrap_err().to_string(), expected);
        file.host = hostname();
        let text = file.address().unwrap_err().to_string();
        assert!(text.contains("(another network namespace)"), "{text}");
        file.address = "tcp://10.1.0.1:8786".into();
        file.address()
            .expect("a routable address from elsewhere is fine");
        // Files without a scope (older writers) fall back to the host name.
        file.address = "tcp://127.0.0.1:8786".into();
        file.loopback_scope.clear();
        file.address().expect("same host name, no scope: local");
        file.host = "login1".into();
        assert!(file.address().is_err());
    }

    #[test]
    fn loopback_scope_survives_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.json");
        let file = sample();
        file.write(&path).expect("write");
        let back = SchedulerFile::read(&path).expect("read");
        assert_eq!(back.loopback_scope, loopback_scope());
        assert_eq!(back, file);
    }

    #[test]
    fn a_closed_port_is_stale_and_an_open_one_alive() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("local addr").port();
        let file = SchedulerFile::new(format!("tcp://127.0.0.1:{port}"), SECRET.into());
        file.check_alive().expect("listening scheduler is alive");
        drop(listener);
        match file.check_alive() {
            Err(SchedulerFileError::Stale { reason, .. }) => assert_eq!(
                reason,
                format!(
                    "scheduler at tcp://127.0.0.1:{port} is not answering (connection refused)"
                )
            ),
            other => panic!("expected Stale, got {other:?}"),
        }
    }

    #[test]
    fn remove_deletes_only_our_own_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.json");
        sample().write(&path).expect("write");
        assert!(SchedulerFile::remove(&path).expect("remove own"));
        assert!(!path.exists());
        assert!(!SchedulerFile::remove(&path).expect("remove missing"));

        let mut theirs = sample();
        theirs.pid = std::process::id() + 1;
        theirs.write(&path).expect("write");
        assert!(!SchedulerFile::remove(&path).expect("remove theirs"));
        assert_eq!(SchedulerFile::read(&path).expect("still there"), theirs);
    }

    #[test]
    fn addresses_are_checked() {
        assert_eq!(tcp_host_port("tcp://node1:8786"), Some(("node1", 8786)));
        assert_eq!(tcp_host_port("tcp://[::1]:8786"), Some(("::1", 8786)));
        assert_eq!(tcp_host_port("tcp://node1"), None);
        assert_eq!(tcp_host_port("tcp://:8786"), None);
        assert_eq!(tcp_host_port("tcp://node1:0"), None);
        assert!(check_address("inproc://cluster").is_ok());
        assert!(check_address("tcp://node1:99999").is_err());
        assert!(check_address("node1:8786").is_err());
    }

    proptest::proptest! {
        #[test]
        fn start_times_in_whole_milliseconds_survive_json(ms in 0u64..10_000_000_000_000) {
            let mut file = sample();
            file.started = ms as f64 / 1000.0;
            let text = serde_json::to_string(&file).expect("encode");
            let back = parse(&text).expect("parse");
            proptest::prop_assert_eq!(back.started, file.started);
        }
    }

    #[test]
    fn times_print_as_utc_dates() {
        assert_eq!(format_utc(0.0), "1970-01-01 00:00:00 UTC");
        // 2000-02-29 is day 11016 after the epoch; 2024-12-31 23:59:59 is 1735689599.
        assert_eq!(format_utc(11_016.0 * 86_400.0), "2000-02-29 00:00:00 UTC");
        assert_eq!(format_utc(1_735_689_599.5), "2024-12-31 23:59:59 UTC");
    }
}
