//! `tessera submit`: a job of command tasks on a running cluster. Everything that can be
//! checked here is checked before anything is submitted (array spec, placeholders, the
//! program, output directories, the entry file or pattern); the scheduler refuses resource
//! requests no worker can satisfy. Any of these: one line, exit code 2, no task started.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::cli::args::OutputFormat;
use crate::cli::job_args::SubmitArgs;
use crate::cli::stdout::outln;
use crate::cli::UsageError;
use crate::core::ResourceRequest;
use crate::jobs::parse_array;
use crate::protocol::job_control::{JobEntries, JobSubmission};
use crate::runtime::command::placeholders::{expand, PlaceholderValues};
use crate::runtime::command::CommandSpec;
use crate::runtime::{Client, ClientError};

pub fn run(args: SubmitArgs) -> anyhow::Result<()> {
    let submission = build(&args)?;
    let client = Client::from_scheduler_file(&args.connect.scheduler_file, args.connect.timeout)?;
    let tasks = submission.entries.len();
    let job = match client.submit_command(submission) {
        Ok(job) => job,
        Err(ClientError::Refused(why)) => return Err(UsageError(why).into()),
        Err(e) => return Err(e.into()),
    };
    match args.output {
        OutputFormat::Json if !args.wait => {
            outln!("{}", serde_json::json!({ "job": job, "tasks": tasks }))
        }
        OutputFormat::Human => outln!("job {job} submitted: {tasks} tasks"),
        OutputFormat::Json => {}
    }
    if args.wait {
        return super::job::wait_for(&client, &[job], args.output);
    }
    client.close();
    Ok(())
}

fn usage(message: String) -> anyhow::Error {
    UsageError(message).into()
}

/// The job, checked.
fn build(args: &SubmitArgs) -> anyhow::Result<JobSubmission> {
    let cwd = match &args.cwd {
        Some(dir) => dir.clone(),
        None => std::env::current_dir().context("cannot read the current directory")?,
    };
    let cwd = std::path::absolute(&cwd).unwrap_or(cwd);
    if !cwd.is_dir() {
        return Err(usage(format!("--cwd {}: not a directory", cwd.display())));
    }
    let entries = entries(args, &cwd)?;
    let mut command = CommandSpec::new(args.command.iter().cloned());
    command.cwd = Some(cwd.display().to_string());
    command.stdout = Some(args.stdout.clone());
    command.stderr = Some(args.stderr.clone());
    command.stdin = args.stdin.clone();
    command.env = args.env.clone();
    command.time_limit_ms = args.time_limit.map(|d| d.as_millis() as u64);
    command.cpus = args.cpus;
    command.validate().map_err(|e| usage(e.to_string()))?;
    check_program(&args.command[0], &cwd)?;
    let (array_index, entry) = entries.task(0);
    let values = PlaceholderValues {
        job_id: 0,
        task_id: 0,
        array_index,
        entry,
        worker: "worker",
    };
    for (flag, template) in [("--stdout", &args.stdout), ("--stderr", &args.stderr)] {
        let path = cwd.join(expand(template, &values).map_err(|e| usage(e.to_string()))?);
        check_writable(flag, &path)?;
    }
    if let Some(stdin) = &args.stdin {
        let path = cwd.join(expand(stdin, &values).map_err(|e| usage(e.to_string()))?);
        if !stdin.contains("%{") && std::fs::File::open(&path).is_err() {
            return Err(usage(format!("--stdin {}: cannot be read", path.display())));
        }
    }
    let mut resources = ResourceRequest::cpus(args.cpus);
    resources.pin = args.pin;
    resources.time_request = args.time_request;
    if let Some(memory) = &args.memory {
        let bytes: crate::units::ByteSize = memory
            .parse()
            .map_err(|e| usage(format!("--memory: {e}")))?;
        resources = resources.with_memory(bytes.0);
    }
    for (name, amount) in &args.resources {
        resources = resources.with_generic(name, *amount);
    }
    let name = args.name.clone().unwrap_or_else(|| {
        Path::new(&args.command[0])
            .file_name()
            .map_or_else(|| args.command[0].clone(), |n| n.to_string_lossy().into())
    });
    Ok(JobSubmission {
        name,
        command,
        entries,
        resources,
        max_fails: args.max_fails,
        after: args.after.clone(),
    })
}

fn entries(args: &SubmitArgs, cwd: &Path) -> anyhow::Result<JobEntries> {
    if let Some(spec) = &args.array {
        return parse_array(spec).map_err(|e| usage(e.to_string()));
    }
    if let Some(file) = &args.each_line {
        let path = cwd.join(file);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| usage(format!("--each-line {}: {e}", path.display())))?;
        let lines: Vec<String> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect();
        if lines.is_empty() {
            return Err(usage(format!("--each-line {}: no lines", path.display())));
        }
        return Ok(JobEntries::Lines(lines));
    }
    if let Some(pattern) = &args.each_file {
        return each_file(pattern, cwd);
    }
    Ok(JobEntries::Single)
}

#[cfg(feature = "io")]
fn each_file(pattern: &str, cwd: &Path) -> anyhow::Result<JobEntries> {
    let absolute = cwd.join(pattern);
    let files = crate::io::expand_glob(&absolute.display().to_string())
        .map_err(|e| usage(format!("--each-file {pattern}: {e}")))?;
    Ok(JobEntries::Files(
        files.iter().map(|f| f.display().to_string()).collect(),
    ))
}

#[cfg(not(feature = "io"))]
fn each_file(pattern: &str, _cwd: &Path) -> anyhow::Result<JobEntries> {
    Err(usage(format!(
        "--each-file {pattern}: this tessera was built without the io feature"
    )))
}

/// The program exists and may be executed (a name without `/` is looked up in `PATH`).
fn check_program(program: &str, cwd: &Path) -> anyhow::Result<()> {
    if program.contains("%{") {
        return Ok(());
    }
    let candidates: Vec<PathBuf> = if program.contains('/') {
        vec![cwd.join(program)]
    } else {
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|dir| dir.join(program))
            .collect()
    };
    let mut found_not_executable = None;
    for path in candidates {
        if let Ok(meta) = std::fs::metadata(&path) {
            if meta.is_file() && meta.permissions().mode() & 0o111 != 0 {
                return Ok(());
            }
            found_not_executable.get_or_insert(path);
        }
    }
    Err(usage(match found_not_executable {
        Some(path) => format!("program {}: not executable", path.display()),
        None if program.contains('/') => {
            format!("program {}: no such file", cwd.join(program).display())
        }
        None => format!("program {program}: not found in PATH"),
    }))
}

/// A file can be created at `path` (its nearest existing ancestor is a writable directory).
fn check_writable(flag: &str, path: &Path) -> anyhow::Result<()> {
    let mut dir = path.parent();
    while let Some(d) = dir {
        if d.exists() {
            let writable = d.is_dir() && {
                let c = std::ffi::CString::new(d.as_os_str().as_encoded_bytes()).ok();
                // SAFETY: access(2) on a NUL-terminated path.
                c.is_some_and(|c| unsafe { libc::access(c.as_ptr(), libc::W_OK) } == 0)
            };
            if writable {
                return Ok(());
            }
            return Err(usage(format!(
                "{flag} {}: {} is not a writable directory",
                path.display(),
                d.display()
            )));
        }
        dir = d.parent();
    }
    Err(usage(format!("{flag} {}: no directory", path.display())))
}
