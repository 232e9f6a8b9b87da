//! How a job script starts its workers: one worker directly, several on one node as background
//! processes, several across nodes through the system's launcher (`srun`) or `mpirun`.
//!
//! Returns shell lines only; this module must not add directives or environment.

use super::shell_quote;
use super::spec::JobSpec;
use super::worker_command::{worker_argv, worker_command_line};

/// The launcher a batch system offers for starting many processes in one job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Launcher {
    /// SLURM's `srun` (used whenever a job has more than one worker).
    Srun,
    /// `system_options.mpirun` across nodes; several workers on a single node are started as
    /// background processes of the script.
    Mpirun,
}

/// The shell lines that start every worker of the job and wait for them.
///
/// ```
/// use tessera::deploy::jobqueue::{launch::{launch_lines, Launcher}, JobSpec};
/// let spec = JobSpec {
///     cores: 4,
///     processes: 2,
///     nodes: 2,
///     walltime: None,
///     scheduler_file: Some("s.json".into()),
///     ..JobSpec::default()
/// };
/// let lines = launch_lines(&spec, Launcher::Srun);
/// assert!(lines[0].starts_with("srun --ntasks=4 --ntasks-per-node=2 --cpus-per-task=2 tessera worker"));
/// ```
pub fn launch_lines(spec: &JobSpec, launcher: Launcher) -> Vec<String> {
    let command = worker_command_line(spec);
    let workers = spec.workers_per_job();
    if workers <= 1 {
        return vec![command];
    }
    match launcher {
        Launcher::Srun => vec![format!(
            "srun --ntasks={workers} --ntasks-per-node={} --cpus-per-task={} {command}",
            spec.processes,
            spec.threads_per_worker()
        )],
        Launcher::Mpirun if spec.nodes <= 1 => vec![
            format!("for tessera_worker in $(seq 1 {workers}); do"),
            format!("    {command} &"),
            "done".to_owned(),
            "wait".to_owned(),
        ],
        Launcher::Mpirun => {
            let mut words: Vec<String> = spec
                .system_options
                .mpirun
                .iter()
                .map(|w| {
                    w.replace("{np}", &workers.to_string())
                        .replace("{ppn}", &spec.processes.to_string())
                })
                .collect();
            words.extend(worker_argv(spec).iter().map(|w| shell_quote::quote(w)));
            vec![words.join(" ")]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(processes: u32, nodes: u32) -> JobSpec {
        JobSpec {
            cores: 4,
            processes,
            nodes,
            walltime: None,
            scheduler_file: Some("s.json".into()),
            ..JobSpec::default()
        }
    }

    #[test]
    fn one_worker_runs_directly() {
        for launcher in [Launcher::Srun, Launcher::Mpirun] {
            let lines = launch_lines(&spec(1, 1), launcher);
            assert_eq!(lines.len(), 1);
            assert!(lines[0].starts_with("tessera worker "), "{lines:?}");
        }
    }

    #[test]
    fn several_on_one_node_run_in_background() {
        let lines = launch_lines(&spec(2, 1), Launcher::Mpirun);
        assert_eq!(lines[0], "for tessera_worker in $(seq 1 2); do");
        assert!(lines[1].ends_with(" &"));
        assert_eq!(lines.last().map(String::as_str), Some("wait"));
    }

    #[test]
    fn several_nodes_use_mpirun_template() {
        let lines = launch_lines(&spec(2, 3), Launcher::Mpirun);
        assert!(
            lines[0].starts_with("mpirun -np 6 --map-by ppr:2:node tessera worker"),
            "{lines:?}"
        );
    }
}
