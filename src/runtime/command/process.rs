//! Running one command task's program: files opened, environment set, the program started in
//! its own process group (pinned to its CPUs on request), waited for under its time limit,
//! and its process group killed when the limit passes or the program ends (nothing it started
//! outlives the task). Runs on an executor thread, never on the worker's control thread.
//! This module must not decide where or when tasks run.

use std::fs::File;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::placeholders::{expand, PlaceholderValues};
use super::spec::CommandSpec;
use super::stderr_tail::{file_tail, keep_tail, last_lines};
use crate::runtime::kernel::RunPlace;

/// How a command ended when it did not succeed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CommandFailure {
    #[error("{0}")]
    Setup(String),
    #[error("`{program}` exited with code {code}{}", stderr_suffix(.stderr))]
    Exit {
        program: String,
        code: i32,
        stderr: String,
    },
    #[error("`{program}` was killed by signal {signal}{}", stderr_suffix(.stderr))]
    Signal {
        program: String,
        signal: i32,
        stderr: String,
    },
    #[error("`{program}` was stopped: the task was cancelled")]
    Cancelled { program: String },
    #[error("`{program}` exceeded its time limit of {limit:?}: its process group was killed{}", stderr_suffix(.stderr))]
    TimeLimit {
        program: String,
        limit: Duration,
        stderr: String,
    },
}

fn stderr_suffix(stderr: &str) -> String {
    if stderr.is_empty() {
        String::new()
    } else {
        format!("; last lines of stderr:\n{stderr}")
    }
}

/// Run the program of `spec` to its end. `Ok(())` when it exited with code 0.
pub fn run_command(spec: &CommandSpec, place: &RunPlace) -> Result<(), CommandFailure> {
    let values = PlaceholderValues {
        job_id: spec.job_id,
        task_id: spec.task_id,
        array_index: spec.array_index,
        entry: spec.entry.as_deref(),
        worker: &place.worker,
    };
    let fill = |t: &str| expand(t, &values).map_err(|e| CommandFailure::Setup(e.to_string()));
    let argv = spec
        .argv
        .iter()
        .map(|a| fill(a))
        .collect::<Result<Vec<_>, _>>()?;
    let Some((program, args)) = argv.split_first() else {
        return Err(CommandFailure::Setup(
            "command task without a program".into(),
        ));
    };
    let cwd = spec.cwd.as_deref().map(Path::new);
    let resolve = |p: &str| match cwd {
        Some(dir) if Path::new(p).is_relative() => dir.join(p),
        _ => PathBuf::from(p),
    };
    let mut cmd = Command::new(if program.contains('/') {
        resolve(program)
    } else {
        PathBuf::from(program)
    });
    cmd.args(args);
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    cmd.envs(spec.env.iter().map(|(k, v)| (k, v)));
    set_task_environment(&mut cmd, spec, place);
    cmd.stdin(match &spec.stdin {
        Some(t) => Stdio::from(open_input(&resolve(&fill(t)?))?),
        None => Stdio::null(),
    });
    cmd.stdout(match &spec.stdout {
        Some(t) => Stdio::from(create_output(&resolve(&fill(t)?), "stdout")?),
        None => Stdio::null(),
    });
    let stderr_file = match &spec.stderr {
        Some(t) => Some(resolve(&fill(t)?)),
        None => None,
    };
    cmd.stderr(match &stderr_file {
        Some(path) => Stdio::from(create_output(path, "stderr")?),
        None => Stdio::piped(),
    });
    cmd.process_group(0);
    die_with_worker(&mut cmd);
    if place.pin && !place.cpus.is_empty() {
        pin_to(&mut cmd, place.cpus.clone());
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| CommandFailure::Setup(format!("cannot start `{program}`: {e}")))?;
    let tail_reader = child.stderr.take().map(|pipe| {
        std::thread::Builder::new()
            .name("tessera-stderr".into())
            .spawn(move || keep_tail(pipe))
    });
    let waited = wait_with_limit(&mut child, spec.time_limit(), place.cancel.as_deref());
    // The task is over: whatever it left running in its group goes with it.
    kill_group(child.id());
    let stderr_tail = match (tail_reader, &stderr_file) {
        (Some(Ok(reader)), _) => reader.join().unwrap_or_default(),
        (_, Some(path)) => file_tail(path),
        _ => Vec::new(),
    };
    let stderr = last_lines(&stderr_tail);
    let program = program.clone();
    match waited {
        Err(e) => Err(CommandFailure::Setup(format!(
            "cannot wait for `{program}`: {e}"
        ))),
        Ok(None)
            if place
                .cancel
                .as_ref()
                .is_some_and(|c| c.load(Ordering::Relaxed)) =>
        {
            Err(CommandFailure::Cancelled { program })
        }
        Ok(None) => Err(CommandFailure::TimeLimit {
            program,
            limit: spec.time_limit().unwrap_or_default(),
            stderr,
        }),
        Ok(Some(status)) => outcome(program, status, stderr),
    }
}

fn outcome(program: String, status: ExitStatus, stderr: String) -> Result<(), CommandFailure> {
    match (status.code(), status.signal()) {
        (Some(0), _) => Ok(()),
        (Some(code), _) => Err(CommandFailure::Exit {
            program,
            code,
            stderr,
        }),
        (None, Some(signal)) => Err(CommandFailure::Signal {
            program,
            signal,
            stderr,
        }),
        (None, None) => Err(CommandFailure::Setup(format!(
            "`{program}` ended without an exit code"
        ))),
    }
}

fn set_task_environment(cmd: &mut Command, spec: &CommandSpec, place: &RunPlace) {
    let cpus = if place.cpus.is_empty() {
        spec.cpus.max(1) as usize
    } else {
        place.cpus.len()
    };
    cmd.env("TESSERA_JOB_ID", spec.job_id.to_string())
        .env("TESSERA_TASK_ID", spec.task_id.to_string())
        .env("TESSERA_CPUS", cpus.to_string())
        .env("TESSERA_WORKER", &place.worker);
    if let Some(i) = spec.array_index {
        cmd.env("TESSERA_ARRAY_INDEX", i.to_string());
    }
    if let Some(entry) = &spec.entry {
        cmd.env("TESSERA_ENTRY", entry);
    }
    if !place.cpus.is_empty() {
        cmd.env("TESSERA_CPU_LIST", join_indices(&place.cpus));
    }
    for (name, indices) in &place.generic {
        let list = join_indices(indices);
        let var = format!(
            "TESSERA_RESOURCE_{}",
            name.to_ascii_uppercase()
                .replace(|c: char| !c.is_ascii_alphanumeric(), "_")
        );
        if name == "gpus" {
            cmd.env("CUDA_VISIBLE_DEVICES", &list);
        }
        cmd.env(var, list);
    }
}

fn join_indices(indices: &[u32]) -> String {
    indices
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn open_input(path: &Path) -> Result<File, CommandFailure> {
    File::open(path).map_err(|e| {
        CommandFailure::Setup(format!("cannot open stdin file {}: {e}", path.display()))
    })
}

/// Create (truncate) an output file, with its parent directories.
fn create_output(path: &Path, what: &str) -> Result<File, CommandFailure> {
    let fail = |e: std::io::Error| {
        CommandFailure::Setup(format!("cannot write {what} file {}: {e}", path.display()))
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(fail)?;
    }
    File::create(path).map_err(fail)
}

/// The program gets SIGKILL when the worker dies (a killed worker's tasks are run again
/// elsewhere; they must not go on here).
fn die_with_worker(cmd: &mut Command) {
    // SAFETY: prctl is async-signal-safe; runs in the child before exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

fn pin_to(cmd: &mut Command, cpus: Vec<u32>) {
    // SAFETY: the closure runs in the forked child before exec and only calls
    // async-signal-safe libc functions on a stack-allocated set.
    unsafe {
        cmd.pre_exec(move || {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            for &c in &cpus {
                libc::CPU_SET(c as usize, &mut set);
            }
            if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Wait for the child; `Ok(None)` when `limit` passed or `cancel` was set first (the group
/// is then killed).
fn wait_with_limit(
    child: &mut Child,
    limit: Option<Duration>,
    cancel: Option<&AtomicBool>,
) -> std::io::Result<Option<ExitStatus>> {
    if limit.is_none() && cancel.is_none() {
        return child.wait().map(Some);
    }
    let deadline = limit.and_then(|l| Instant::now().checked_add(l));
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        let now = Instant::now();
        let expired = deadline.is_some_and(|d| now >= d);
        if expired || cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            kill_group(child.id());
            child.wait()?;
            return Ok(None);
        }
        let left = deadline.map_or(pause, |d| d - now);
        std::thread::sleep(pause.min(left));
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// SIGKILL to the process group led by `pid` (absent members are fine).
fn kill_group(pid: u32) {
    if let Ok(pgid) = libc::pid_t::try_from(pid) {
        // SAFETY: plain syscall; a group that no longer exists yields ESRCH.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    }
}
