//! `tessera jobqueue …`: print job scripts, start a job-queue cluster (its manager runs in the
//! background or in this process), and talk to a running one (status, scale, adapt, down).

use crate::cli::stdout::outln;
use std::fmt::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};

use crate::cli::args::OutputFormat;
use crate::cli::jobqueue_args::{
    ClusterOptions, JobOptions, JobqueueArgs, JobqueueCommand, ManagerArgs, SystemAction,
    SystemArgs,
};
use crate::cli::signals::ShutdownSignal;
use crate::cli::UsageError;
use crate::deploy::jobqueue::cluster::spawn_manager;
use crate::deploy::jobqueue::control::ControlClient;
use crate::deploy::jobqueue::manager::{Manager, ManagerConfig};
use crate::deploy::jobqueue::{BatchSystem, JobSpec, LsfUnit, PbsFlavour, SystemOptions};
use crate::protocol::{ClusterReply, ClusterRequest, ClusterStatus, ScaleTarget};
use crate::units::ByteSize;

pub fn run(args: JobqueueArgs, signal: &ShutdownSignal) -> anyhow::Result<()> {
    // Submitted jobs must be cancelled on a signal.
    signal.watch();
    let (system, args) = match args.command {
        JobqueueCommand::Slurm(a) => (BatchSystem::Slurm, a),
        JobqueueCommand::Pbs(a) => (BatchSystem::Pbs, a),
        JobqueueCommand::Sge(a) => (BatchSystem::Sge, a),
        JobqueueCommand::Lsf(a) => (BatchSystem::Lsf, a),
        JobqueueCommand::Htcondor(a) => (BatchSystem::HtCondor, a),
        JobqueueCommand::Oar(a) => (BatchSystem::Oar, a),
        JobqueueCommand::Moab(a) => (BatchSystem::Moab, a),
        JobqueueCommand::Status(a) => return status(&a.manager, a.output),
        JobqueueCommand::Scale(a) => {
            let target = match (a.count, a.cores, a.memory) {
                (Some(n), _, _) if a.jobs => ScaleTarget::Jobs(n),
                (Some(n), _, _) => ScaleTarget::Workers(n),
                (None, Some(cores), _) => ScaleTarget::Cores(cores),
                (None, None, Some(memory)) => ScaleTarget::Memory(memory.0),
                (None, None, None) => bail!(UsageError(
                    "scale: give a worker count, --cores N or --memory SIZE".into()
                )),
            };
            return request(&a.manager, ClusterRequest::Scale(target));
        }
        JobqueueCommand::Adapt(a) => {
            if a.maximum < a.minimum {
                bail!(UsageError(format!(
                    "--maximum {} is below --minimum {}",
                    a.maximum, a.minimum
                )));
            }
            let target = ScaleTarget::Adaptive {
                minimum: a.minimum,
                maximum: a.maximum,
            };
            return request(&a.manager, ClusterRequest::Scale(target));
        }
        JobqueueCommand::Down(a) => return request(&a, ClusterRequest::Down),
        JobqueueCommand::Serve(a) => return serve(&a.manager_config, signal),
    };
    run_system(system, args, signal)
}

fn run_system(
    system: BatchSystem,
    args: SystemArgs,
    signal: &ShutdownSignal,
) -> anyhow::Result<()> {
    let scheduler_file = args.cluster.scheduler_file.clone();
    match args.action {
        SystemAction::Script => {
            let file = scheduler_file.unwrap_or_else(|| PathBuf::from("tessera-scheduler.json"));
            let spec = job_spec(&args.job, &file, None)?;
            if system != BatchSystem::HtCondor {
                crate::cli::stdout::print_text(&system.render_script(&spec)?);
                return Ok(());
            }
            // HTCondor submits a description that runs the script: print both, as `up` writes
            // them (job-N.sh.sub and job-N.sh in the job directory).
            let job = system.render_job(&spec, std::path::Path::new("tessera-worker.sh"))?;
            let mut text = String::new();
            for file in job.files.iter().rev() {
                let role = if file.path == job.submit_path {
                    format!(
                        "the submit description (condor_submit {})",
                        file.path.display()
                    )
                } else {
                    "the executable it runs".to_owned()
                };
                let _ = writeln!(text, "# ==> {}: {role} <==", file.path.display());
                text.push_str(&file.contents);
            }
            crate::cli::stdout::print_text(&text);
            Ok(())
        }
        SystemAction::Up => {
            let Some(file) = scheduler_file else {
                bail!(UsageError(
                    "`up` needs --scheduler-file PATH on a filesystem the jobs see (example: \
                     --scheduler-file ~/s.json)"
                        .into()
                ));
            };
            let file = absolute(file)?;
            let job_directory = match &args.cluster.job_directory {
                Some(d) => absolute(d.clone())?,
                None => file
                    .parent()
                    .map_or_else(|| PathBuf::from("tessera-jobs"), |p| p.join("tessera-jobs")),
            };
            let spec = job_spec(&args.job, &file, Some(&job_directory))?;
            let config = manager_config(system, spec, file, job_directory, &args.cluster)?;
            if args.cluster.foreground {
                let manager = Manager::start(config)?;
                eprintln!(
                    "tessera jobqueue: {system} cluster up, scheduler at {}; Ctrl-C cancels its jobs",
                    manager.scheduler_address()
                );
                let exit = manager.run(&|| signal.received());
                tracing::info!(?exit, "job-queue manager stopped");
                return Ok(());
            }
            let program = std::env::current_exe().context("cannot find this program")?;
            let (mut child, log) = spawn_manager(&config, &program, args.cluster.timeout)?;
            if args.cluster.attach {
                let mut control = ControlClient::from_scheduler_file(
                    &config.scheduler_file,
                    args.cluster.timeout,
                )?;
                control.request(ClusterRequest::Attach)?;
                eprintln!(
                    "tessera jobqueue: {system} cluster up (scheduler file {}, manager log {}); \
                     attached: Ctrl-C or killing this command cancels its jobs",
                    config.scheduler_file.display(),
                    log.display()
                );
                let interrupted =
                    super::wait_until(signal, || matches!(child.try_wait(), Ok(Some(_))));
                if interrupted {
                    let _ = control.request(ClusterRequest::Down);
                    let _ = child.wait();
                }
                return Ok(());
            }
            outln!(
                "{system} cluster up: manager pid {}, scheduler file {}, jobs and logs in {} \
                 (manager log {})",
                child.id(),
                config.scheduler_file.display(),
                config.job_directory.display(),
                log.display()
            );
            outln!(
                "stop it with: tessera jobqueue down --scheduler-file {}",
                config.scheduler_file.display()
            );
            Ok(())
        }
    }
}

fn absolute(path: PathBuf) -> anyhow::Result<PathBuf> {
    if path.is_absolute() {
        return Ok(path);
    }
    Ok(std::env::current_dir()
        .context("cannot read the current directory")?
        .join(path))
}

fn job_spec(
    job: &JobOptions,
    scheduler_file: &std::path::Path,
    job_directory: Option<&std::path::Path>,
) -> anyhow::Result<JobSpec> {
    let mut environment = Vec::new();
    for pair in &job.environment {
        let Some((name, value)) = pair.split_once('=') else {
            bail!(UsageError(format!(
                "--env {pair:?}: write NAME=VALUE (example: --env OMP_NUM_THREADS=1)"
            )));
        };
        environment.push((name.to_owned(), value.to_owned()));
    }
    let pbs_flavour = match job.pbs_flavour.to_ascii_lowercase().as_str() {
        "pro" | "openpbs" => PbsFlavour::Pro,
        "torque" => PbsFlavour::Torque,
        "slurm-wrappers" | "slurm" => PbsFlavour::SlurmTorqueWrappers,
        other => bail!(UsageError(format!(
            "--pbs-flavour {other:?}: expected pro, torque or slurm-wrappers"
        ))),
    };
    let lsf_unit = match job.lsf_unit.to_ascii_lowercase().as_str() {
        "kb" => LsfUnit::Kb,
        "mb" => LsfUnit::Mb,
        "gb" => LsfUnit::Gb,
        "tb" => LsfUnit::Tb,
        other => bail!(UsageError(format!(
            "--lsf-unit {other:?}: expected kb, mb, gb or tb (LSF_UNIT_FOR_LIMITS in lsf.conf)"
        ))),
    };
    let words = |flag: &str, text: &str| -> anyhow::Result<Vec<String>> {
        let words: Vec<String> = text.split_whitespace().map(str::to_owned).collect();
        if words.is_empty() {
            bail!(UsageError(format!(
                "{flag} is empty: give a program and its arguments"
            )));
        }
        Ok(words)
    };
    let worker_command = match &job.worker_command {
        Some(text) => Some(words("--worker-command", text)?),
        None => None,
    };
    let worker_program = match &job.worker_program {
        Some(p) => p.clone(),
        None => std::env::current_exe()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "tessera".into()),
    };
    let log_directory = job
        .log_directory
        .clone()
        .or_else(|| job_directory.map(|d| d.to_string_lossy().into_owned()));
    let spec = JobSpec {
        cores: job.cores,
        memory: job.memory.0,
        processes: job.processes,
        nodes: job.nodes,
        queue: job.queue.clone(),
        account: job.account.clone(),
        walltime: Some(job.walltime),
        job_name: job.job_name.clone(),
        log_directory,
        local_directory: job.local_directory.clone(),
        interface: job.worker_interface.clone(),
        extra_directives: job.job_directive.clone(),
        directives_skip: job.directive_skip.clone(),
        prologue: job.prologue.clone(),
        epilogue: job.epilogue.clone(),
        shebang: job.shebang.clone(),
        worker_command,
        extra_worker_args: job.worker_arg.clone(),
        worker_program,
        scheduler_file: Some(scheduler_file.to_string_lossy().into_owned()),
        lifetime_margin: Some(job.lifetime_margin),
        environment,
        system_options: SystemOptions {
            pbs_flavour,
            sge_parallel_environment: job.sge_parallel_environment.clone(),
            sge_memory_resource: job.sge_memory_resource.clone(),
            sge_shell: Some(job.sge_shell.clone()).filter(|s| !s.is_empty()),
            sge_export_environment: job.sge_export_environment,
            lsf_unit,
            lsf_memory_per_slot: job.lsf_memory_per_slot,
            lsf_submit_on_stdin: job.lsf_submit_on_stdin,
            submit_command_extra: job.submit_command_extra.clone(),
            cancel_command_extra: job.cancel_command_extra.clone(),
            mpirun: words("--mpirun", &job.mpirun)?,
        },
        ..JobSpec::default()
    };
    spec.validate()?;
    Ok(spec)
}

fn manager_config(
    system: BatchSystem,
    spec: JobSpec,
    scheduler_file: PathBuf,
    job_directory: PathBuf,
    cluster: &ClusterOptions,
) -> anyhow::Result<ManagerConfig> {
    let mut config = ManagerConfig::new(system, spec, scheduler_file, job_directory);
    config.initial = if cluster.adapt {
        if cluster.maximum < cluster.minimum {
            bail!(UsageError(format!(
                "--maximum {} is below --minimum {}",
                cluster.maximum, cluster.minimum
            )));
        }
        ScaleTarget::Adaptive {
            minimum: cluster.minimum,
            maximum: cluster.maximum,
        }
    } else if let Some(jobs) = cluster.jobs {
        ScaleTarget::Jobs(jobs)
    } else {
        ScaleTarget::Workers(cluster.workers.unwrap_or(0))
    };
    config.listen_host = cluster.host.clone();
    config.interface = cluster.interface.clone().filter(|name| !name.is_empty());
    config.port = cluster.port;
    if let Some(name) = &config.interface {
        // An interface that does not exist is a mistake in the command line (exit 2).
        crate::transport::interface_address(name)
            .map_err(|e| UsageError(format!("--interface {name}: {e}")))?;
    }
    if let Some(host) = &cluster.advertise_host {
        // refused here, before a manager process starts: one line, exit 2
        crate::transport::check_resolves("--advertise-host", host)?;
    }
    config.advertise_host = cluster.advertise_host.clone();
    config.bin_dir = cluster.bin_dir.clone();
    config.max_pending_jobs = cluster.max_pending_jobs;
    config.interval = cluster.interval;
    config.wait_count = cluster.wait_count;
    config.target_duration = cluster.target_duration;
    config.poll_interval = cluster.poll_interval;
    config.max_consecutive_failures = cluster.max_failures;
    config.retire_timeout = cluster.retire_timeout;
    config.owner_pid = cluster.owner_pid;
    config.dashboard = cluster.dashboard.choice();
    Ok(config)
}

fn serve(path: &std::path::Path, signal: &ShutdownSignal) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read manager config {}", path.display()))?;
    let config: ManagerConfig = serde_json::from_str(&text)
        .with_context(|| format!("manager config {} is not valid", path.display()))?;
    let manager = Manager::start(config)?;
    tracing::info!(
        address = manager.scheduler_address(),
        "job-queue manager running"
    );
    let exit = manager.run(&|| signal.received());
    tracing::info!(?exit, "job-queue manager stopped");
    Ok(())
}

fn request(args: &ManagerArgs, request: ClusterRequest) -> anyhow::Result<()> {
    let mut control = ControlClient::from_scheduler_file(&args.scheduler_file, args.timeout)?;
    match control.request(request)? {
        ClusterReply::Ok | ClusterReply::Status(_) => Ok(()),
        ClusterReply::Error(e) => bail!("{e}"),
    }
}

fn status(args: &ManagerArgs, output: OutputFormat) -> anyhow::Result<()> {
    let mut control = ControlClient::from_scheduler_file(&args.scheduler_file, args.timeout)?;
    let ClusterReply::Status(status) = control.request(ClusterRequest::Status)? else {
        bail!("the job-queue manager did not send a status");
    };
    match output {
        OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(&status)?),
        OutputFormat::Human => crate::cli::stdout::print_text(&render_status(&status)),
    }
    Ok(())
}

/// `tessera jobqueue status` as text.
fn render_status(s: &ClusterStatus) -> String {
    let mut out = String::new();
    let target = match s.target {
        ScaleTarget::Workers(n) => format!("{n} workers"),
        ScaleTarget::Jobs(n) => format!("{n} jobs"),
        ScaleTarget::Cores(n) => format!("workers for {n} cores"),
        ScaleTarget::Memory(n) => format!("workers for {} of memory", ByteSize(n)),
        ScaleTarget::Adaptive { minimum, maximum } => {
            format!("adaptive, {minimum} to {maximum} workers")
        }
    };
    let _ = writeln!(
        out,
        "{} cluster  scheduler {}  manager pid {} on {}",
        s.system, s.scheduler_address, s.manager_pid, s.manager_host
    );
    let _ = writeln!(
        out,
        "Target     {target} (now {} jobs)  submitted {}  jobs in {}",
        s.desired_jobs, s.submitted_total, s.job_directory
    );
    let _ = writeln!(out, "Workers    {} ({} threads)", s.workers, s.threads);
    if !s.jobs.is_empty() {
        let _ = writeln!(
            out,
            "  {:<16} {:<10} {:>7} {:>8}",
            "JOB", "STATE", "WORKERS", "AGE"
        );
        for j in &s.jobs {
            let _ = writeln!(
                out,
                "  {:<16} {:<10} {:>7} {:>7}s",
                j.id, j.state, j.workers, j.age_secs
            );
        }
    }
    let tasks: Vec<String> = s.tasks.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let _ = writeln!(out, "Tasks      {}", tasks.join("  "));
    if let Some(why) = &s.gave_up {
        let _ = writeln!(out, "STOPPED SUBMITTING: {why}");
    }
    for m in &s.messages {
        let _ = writeln!(out, "warning: {m}");
    }
    out
}
