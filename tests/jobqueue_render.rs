//! Job-script rendering per batch system: the directives that must be present or absent,
//! memory and walltime rounding, arrays, multi-node launch lines, the skip list, validation,
//! the command argv vectors, and `bash -n` over every rendered script.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use tessera::deploy::jobqueue::{
    BatchSystem, JobId, JobSpec, JobSpecError, LsfUnit, PbsFlavour, SystemOptions,
};

fn spec() -> JobSpec {
    JobSpec {
        cores: 8,
        processes: 2,
        memory: 32_000_000_000,
        walltime: Some(Duration::from_secs(5400)),
        queue: Some("batch".into()),
        account: Some("proj1".into()),
        log_directory: Some("/home/me/logs".into()),
        scheduler_file: Some("/home/me/sched.json".into()),
        ..JobSpec::default()
    }
}

fn render(system: BatchSystem, spec: &JobSpec) -> String {
    system
        .render_script(spec)
        .unwrap_or_else(|e| panic!("{system}: {e}"))
}

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

fn has_line(text: &str, line: &str) -> bool {
    text.lines().any(|l| l == line)
}

#[track_caller]
fn assert_has(text: &str, line: &str) {
    assert!(has_line(text, line), "missing line {line:?} in:\n{text}");
}

#[track_caller]
fn assert_lacks(text: &str, needle: &str) {
    assert!(!text.contains(needle), "unexpected {needle:?} in:\n{text}");
}

#[test]
fn slurm_directives_and_rounding() {
    let text = render(BatchSystem::Slurm, &spec());
    assert_eq!(lines(&text)[0], "#!/usr/bin/env bash");
    for line in [
        "#SBATCH -J tessera-worker",
        "#SBATCH -o /home/me/logs/tessera-worker-%j.out",
        "#SBATCH -e /home/me/logs/tessera-worker-%j.err",
        "#SBATCH -p batch",
        "#SBATCH -A proj1",
        "#SBATCH -N 1",
        "#SBATCH -n 2",
        "#SBATCH --ntasks-per-node=2",
        "#SBATCH --cpus-per-task=4",
        // 32e9 bytes = 30517.58 MiB, rounded up.
        "#SBATCH --mem=30518M",
        "#SBATCH -t 01:30:00",
    ] {
        assert_has(&text, line);
    }
    assert_lacks(&text, "--array");
    let long = JobSpec {
        walltime: Some(Duration::from_secs(2 * 86_400 + 1)),
        ..spec()
    };
    assert_has(&render(BatchSystem::Slurm, &long), "#SBATCH -t 2-00:00:01");
}

#[test]
fn slurm_arrays_and_launch_lines() {
    let array = JobSpec {
        array_size: Some(4),
        ..spec()
    };
    let text = render(BatchSystem::Slurm, &array);
    assert_has(&text, "#SBATCH --array=0-3");
    assert_has(&text, "#SBATCH -o /home/me/logs/tessera-worker-%A_%a.out");
    let single = JobSpec {
        array_size: Some(1),
        ..spec()
    };
    assert_lacks(&render(BatchSystem::Slurm, &single), "--array");

    let multi = JobSpec { nodes: 3, ..spec() };
    let text = render(BatchSystem::Slurm, &multi);
    assert_has(&text, "#SBATCH -N 3");
    assert_has(&text, "#SBATCH -n 6");
    let launch = text
        .lines()
        .find(|l| l.starts_with("srun "))
        .expect("srun line");
    assert!(
        launch.starts_with(
            "srun --ntasks=6 --ntasks-per-node=2 --cpus-per-task=4 tessera worker \
             --scheduler-file /home/me/sched.json --nthreads 4 --memory-limit 16000000000"
        ),
        "{launch}"
    );
    // Lifetime: 90 min minus min(5 min, 9 min).
    assert!(launch.ends_with("--lifetime 5100s"), "{launch}");

    let one = JobSpec {
        cores: 4,
        processes: 1,
        ..spec()
    };
    let text = render(BatchSystem::Slurm, &one);
    assert_lacks(&text, "srun");
    assert!(
        text.lines().any(|l| l.starts_with("tessera worker ")),
        "{text}"
    );
}

#[test]
fn skip_list_drops_generated_lines_but_not_extras() {
    let custom = JobSpec {
        directives_skip: vec!["--mem".into(), "-A ".into()],
        extra_directives: vec!["--mem-per-cpu=2G".into(), "#SBATCH --exclusive".into()],
        ..spec()
    };
    let text = render(BatchSystem::Slurm, &custom);
    assert_lacks(&text, "--mem=");
    assert_lacks(&text, "-A proj1");
    assert_has(&text, "#SBATCH --mem-per-cpu=2G");
    assert_has(&text, "#SBATCH --exclusive");
    // Extra directives come after the generated ones and before the first command.
    let extra = text.find("--mem-per-cpu").expect("extra");
    assert!(text.find("#SBATCH -t").expect("time") < extra);
    assert!(extra < text.find("tessera worker").expect("worker"));
}

#[test]
fn prologue_environment_and_epilogue_surround_the_workers() {
    let custom = JobSpec {
        prologue: vec!["module load tessera/1.0".into()],
        epilogue: vec!["echo bye".into()],
        environment: vec![("SPILL".into(), "$TMPDIR/spill dir".into())],
        shebang: "#!/bin/bash -l".into(),
        ..spec()
    };
    let text = render(BatchSystem::Sge, &custom);
    assert_eq!(lines(&text)[0], "#!/bin/bash -l");
    let export = text
        .find("export SPILL=\"$TMPDIR/spill dir\"")
        .expect("export");
    let module = text.find("module load tessera/1.0").expect("prologue");
    let worker = text.find("tessera worker").expect("worker");
    let bye = text.find("echo bye").expect("epilogue");
    assert!(export < module && module < worker && worker < bye, "{text}");
}

#[test]
fn pbs_flavours() {
    let pro = render(BatchSystem::Pbs, &spec());
    for line in [
        "#PBS -N tessera-worker",
        "#PBS -q batch",
        "#PBS -A proj1",
        "#PBS -l select=1:ncpus=8:mpiprocs=2:mem=30518mb",
        "#PBS -l walltime=01:30:00",
        "#PBS -o /home/me/logs/",
        "#PBS -e /home/me/logs/",
        "cd \"${PBS_O_WORKDIR:-.}\"",
    ] {
        assert_has(&pro, line);
    }

    let mut torque = JobSpec {
        nodes: 2,
        memory: 4 << 30,
        array_size: Some(3),
        ..spec()
    };
    torque.system_options.pbs_flavour = PbsFlavour::Torque;
    let text = render(BatchSystem::Pbs, &torque);
    assert_has(&text, "#PBS -l nodes=2:ppn=8");
    assert_has(&text, "#PBS -l mem=8gb");
    assert_has(&text, "#PBS -t 0-2");
    assert_lacks(&text, "select=");
    assert!(
        text.lines()
            .any(|l| l.starts_with("mpirun -np 4 --map-by ppr:2:node tessera worker")),
        "{text}"
    );

    let mut wrappers = JobSpec {
        memory: 1 << 30,
        walltime: Some(Duration::from_secs(300)),
        array_size: Some(2),
        ..spec()
    };
    wrappers.system_options.pbs_flavour = PbsFlavour::SlurmTorqueWrappers;
    let text = render(BatchSystem::Pbs, &wrappers);
    assert_has(&text, "#PBS -l select=1:ncpus=8:mpiprocs=2:mem=1gb");
    // Never a bare number: SLURM's #PBS reader takes `walltime=300` as minutes.
    assert_has(&text, "#PBS -l walltime=00:05:00");
    assert_has(&text, "#PBS -J 0-1");
    assert_has(&text, "#PBS -o /home/me/logs/tessera-worker-%A_%a.out");
}

#[test]
fn sge_memory_is_per_slot_and_pe_is_configurable() {
    let text = render(BatchSystem::Sge, &spec());
    for line in [
        "#$ -N tessera-worker",
        "#$ -S /bin/bash",
        "#$ -cwd",
        "#$ -j y",
        "#$ -o /home/me/logs/tessera-worker.$JOB_ID.out",
        "#$ -q batch",
        "#$ -P proj1",
        "#$ -pe smp 8",
        // 32e9 / 8 slots = 4e9 bytes = 3814.7 MiB, rounded up.
        "#$ -l h_vmem=3815M",
        "#$ -l h_rt=01:30:00",
    ] {
        assert_has(&text, line);
    }
    assert_lacks(&text, "#$ -V");
    assert_lacks(&text, "#$ -t");

    let mut custom = JobSpec {
        cores: 1,
        processes: 1,
        array_size: Some(5),
        ..spec()
    };
    custom.system_options = SystemOptions {
        sge_parallel_environment: "mpi".into(),
        sge_memory_resource: "mem_free".into(),
        sge_export_environment: true,
        sge_shell: None,
        ..SystemOptions::default()
    };
    let text = render(BatchSystem::Sge, &custom);
    assert_lacks(&text, "-pe ");
    assert_lacks(&text, "-S ");
    assert_has(&text, "#$ -l mem_free=30518M");
    assert_has(&text, "#$ -V");
    assert_has(&text, "#$ -t 1-5");
    assert_has(
        &text,
        "#$ -o /home/me/logs/tessera-worker.$JOB_ID.$TASK_ID.out",
    );

    let multi = JobSpec {
        nodes: 2,
        system_options: custom.system_options.clone(),
        ..spec()
    };
    assert_has(&render(BatchSystem::Sge, &multi), "#$ -pe mpi 16");
}

#[test]
fn lsf_units_and_spans() {
    let text = render(BatchSystem::Lsf, &spec());
    for line in [
        "#BSUB -J tessera-worker",
        "#BSUB -o /home/me/logs/tessera-worker.%J.out",
        "#BSUB -e /home/me/logs/tessera-worker.%J.err",
        "#BSUB -q batch",
        "#BSUB -P proj1",
        "#BSUB -n 8",
        "#BSUB -R \"span[hosts=1]\"",
        "#BSUB -M 30518",
        "#BSUB -R \"rusage[mem=30518]\"",
        "#BSUB -W 01:30",
    ] {
        assert_has(&text, line);
    }
    let mut custom = JobSpec {
        nodes: 2,
        walltime: Some(Duration::from_secs(3601)),
        array_size: Some(4),
        ..spec()
    };
    custom.system_options.lsf_unit = LsfUnit::Kb;
    custom.system_options.lsf_memory_per_slot = true;
    let text = render(BatchSystem::Lsf, &custom);
    assert_has(&text, "#BSUB -J \"tessera-worker[1-4]\"");
    assert_has(&text, "#BSUB -o /home/me/logs/tessera-worker.%J_%I.out");
    assert_has(&text, "#BSUB -n 16");
    assert_has(&text, "#BSUB -R \"span[ptile=8]\"");
    // 32e9 bytes = 31250000 KiB exactly; per slot 4e9 bytes = 3906250 KiB.
    assert_has(&text, "#BSUB -M 31250000");
    assert_has(&text, "#BSUB -R \"rusage[mem=3906250]\"");
    // 3601 s rounds up to 61 minutes.
    assert_has(&text, "#BSUB -W 01:01");
}

#[test]
fn htcondor_submit_description_and_limits() {
    let condor = JobSpec {
        queue: None,
        array_size: Some(3),
        extra_directives: vec!["requirements = (OpSysMajorVer == 9)".into()],
        ..spec()
    };
    let job = BatchSystem::HtCondor
        .render_job(&condor, Path::new("/home/me/job.sh"))
        .expect("renders");
    let description = &job.files[1].contents;
    for line in [
        "universe = vanilla",
        "executable = /home/me/job.sh",
        "batch_name = tessera-worker",
        "request_cpus = 8",
        "request_memory = 30518MB",
        "+MaxRuntime = 5400",
        "accounting_group = proj1",
        "output = /home/me/logs/tessera-worker.$(Cluster).$(Process).out",
        "error = /home/me/logs/tessera-worker.$(Cluster).$(Process).err",
        "log = /home/me/logs/tessera-worker.$(Cluster).log",
        "requirements = (OpSysMajorVer == 9)",
    ] {
        assert_has(description, line);
    }
    assert_eq!(description.lines().last(), Some("queue 3"));
    assert!(job.files[0].contents.contains("tessera worker"));
    assert!(job.files[0].executable && !job.files[1].executable);

    let err = BatchSystem::HtCondor.render_script(&spec()).unwrap_err();
    assert!(
        matches!(err, JobSpecError::Unsupported { field: "queue", .. }),
        "{err}"
    );
    let multi = JobSpec {
        queue: None,
        nodes: 2,
        ..spec()
    };
    let err = BatchSystem::HtCondor.render_script(&multi).unwrap_err();
    assert!(err.to_string().contains("nodes"), "{err}");
}

#[test]
fn oar_has_no_memory_directive() {
    let text = render(BatchSystem::Oar, &spec());
    for line in [
        "#OAR -n tessera-worker",
        "#OAR -q batch",
        "#OAR --project proj1",
        "#OAR -l /nodes=1/core=8,walltime=01:30:00",
        "#OAR -O /home/me/logs/tessera-worker.%jobid%.out",
        "#OAR -E /home/me/logs/tessera-worker.%jobid%.err",
    ] {
        assert_has(&text, line);
    }
    assert!(
        !text
            .lines()
            .any(|l| l.starts_with("#OAR") && l.contains("mem")),
        "{text}"
    );
    // ...but the workers still get their limit.
    assert!(text.contains("--memory-limit 16000000000"), "{text}");
    let array = JobSpec {
        array_size: Some(2),
        ..spec()
    };
    let err = BatchSystem::Oar.render_script(&array).unwrap_err();
    assert!(err.to_string().contains("array_size"), "{err}");
}

#[test]
fn moab_resource_list() {
    let array = JobSpec {
        array_size: Some(2),
        ..spec()
    };
    let text = render(BatchSystem::Moab, &array);
    assert_has(&text, "#MSUB -N tessera-worker");
    assert_has(
        &text,
        "#MSUB -l nodes=1:ppn=8,walltime=01:30:00,pmem=3815mb",
    );
    assert_has(&text, "#MSUB -t tessera-worker[0-1]");
}

#[test]
fn rendering_validates_the_spec() {
    let bad = JobSpec {
        cores: 10,
        processes: 4,
        ..spec()
    };
    for system in BatchSystem::ALL {
        let err = system.render_script(&bad).unwrap_err();
        assert_eq!(
            err,
            JobSpecError::CoresNotDivisible {
                cores: 10,
                processes: 4
            }
        );
    }
    let missing = JobSpec {
        scheduler_file: None,
        ..spec()
    };
    assert_eq!(
        BatchSystem::Slurm.render_script(&missing),
        Err(JobSpecError::MissingSchedulerFile)
    );
}

#[test]
fn command_vectors() {
    let options = SystemOptions::default();
    let path = Path::new("/w/job.sh");
    let ids = [JobId::new("12"), JobId::new("13")];
    let expect = |system: BatchSystem, submit: &[&str], status: &[&str], cancel: &[&str]| {
        assert_eq!(system.submit_command(path, &options), submit, "{system}");
        assert_eq!(system.status_command(&ids, &options), status, "{system}");
        assert_eq!(
            system.cancel_command(&ids, &SystemOptions::default()),
            cancel,
            "{system}"
        );
    };
    expect(
        BatchSystem::Slurm,
        &["sbatch", "--parsable", "/w/job.sh"],
        &["squeue", "-h", "-t", "all", "-j", "12,13", "-o", "%i %T"],
        &["scancel", "12", "13"],
    );
    expect(
        BatchSystem::Pbs,
        &["qsub", "/w/job.sh"],
        &["qstat", "-x", "-f", "12", "13"],
        &["qdel", "12", "13"],
    );
    expect(
        BatchSystem::Sge,
        &["qsub", "-terse", "/w/job.sh"],
        &["qstat"],
        &["qdel", "12", "13"],
    );
    expect(
        BatchSystem::Lsf,
        &["bsub", "/w/job.sh"],
        &["bjobs", "-a", "-noheader", "-o", "jobid stat", "12", "13"],
        &["bkill", "12", "13"],
    );
    expect(
        BatchSystem::HtCondor,
        &["condor_submit", "/w/job.sh"],
        &["condor_q", "12", "13", "-af", "ClusterId", "JobStatus"],
        &["condor_rm", "12", "13"],
    );
    expect(
        BatchSystem::Oar,
        &["oarsub", "-S", "/w/job.sh"],
        &["oarstat", "-s", "-j", "12", "-j", "13"],
        &["oardel", "12", "13"],
    );
    expect(
        BatchSystem::Moab,
        &["msub", "/w/job.sh"],
        &["showq"],
        &["canceljob", "12", "13"],
    );

    let torque = SystemOptions {
        pbs_flavour: PbsFlavour::Torque,
        lsf_submit_on_stdin: true,
        ..SystemOptions::default()
    };
    assert_eq!(
        BatchSystem::Pbs.status_command(&ids, &torque),
        ["qstat", "-f", "12", "13"]
    );
    assert_eq!(
        BatchSystem::Lsf.submit_command(path, &torque),
        ["sh", "-c", "bsub \"$@\" < \"$0\"", "/w/job.sh"]
    );
}

/// `bash -n` accepts every script (all systems, single and multi-node, several workers,
/// awkward paths and environment values).
#[test]
fn rendered_scripts_are_valid_bash() {
    let awkward = JobSpec {
        local_directory: Some("/scratch/$USER/my \"spill\" dir".into()),
        environment: vec![("X".into(), "a`b`c\\d".into())],
        extra_worker_args: vec!["--name".into(), "it's".into()],
        prologue: vec!["module load tessera".into()],
        ..spec()
    };
    let mut checked = 0;
    for system in BatchSystem::ALL {
        for base in [spec(), awkward.clone()] {
            for (nodes, processes) in [(1, 1), (1, 2), (2, 2)] {
                let mut candidate = JobSpec {
                    nodes,
                    processes,
                    queue: if system == BatchSystem::HtCondor {
                        None
                    } else {
                        base.queue.clone()
                    },
                    ..base.clone()
                };
                // Several nodes need an SGE parallel environment that spans hosts.
                candidate.system_options.sge_parallel_environment = "mpi".into();
                let Ok(script) = system.render_script(&candidate) else {
                    assert!(system == BatchSystem::HtCondor && nodes > 1);
                    continue;
                };
                let mut child = Command::new("bash")
                    .arg("-n")
                    .stdin(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("bash runs");
                child
                    .stdin
                    .take()
                    .expect("stdin")
                    .write_all(script.as_bytes())
                    .expect("write script");
                let out = child.wait_with_output().expect("bash finishes");
                assert!(
                    out.status.success(),
                    "{system}: bash -n rejected:\n{script}\n{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 40, "only {checked} scripts checked");
}

/// The quoting keeps awkward values intact: run the rendered environment export and worker
/// argv through bash and compare what arrives.
#[test]
fn quoted_words_reach_the_program_intact() {
    let value = "a b \"c\" `d` \\e $HOME-free";
    let custom = JobSpec {
        worker_command: Some(vec!["printf".into(), "[%s]\\n".into()]),
        extra_worker_args: vec![value.into(), "it's".into()],
        environment: vec![("HOME".into(), "/h".into())],
        // One worker: the script runs it directly (no srun).
        processes: 1,
        ..spec()
    };
    let script = render(BatchSystem::Slurm, &custom);
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .env("HOME", "/original")
        .output()
        .expect("bash runs");
    assert!(out.status.success(), "{script}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "[a b \"c\" `d` \\e /h-free]\n[it's]\n"
    );
}
