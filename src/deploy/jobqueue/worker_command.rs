//! The command line of one worker: `tessera worker --scheduler-file F --nthreads T
//! --memory-limit M [--local-directory D] [--interface I] [--lifetime L] [extra args]`.
//!
//! Derived from the [`JobSpec`] alone; this module must not know how many copies are started
//! or by which launcher (that is `launch`).

use super::resources::seconds_ceil;
use super::shell_quote;
use super::spec::JobSpec;

/// The worker's words, unquoted.
///
/// ```
/// use tessera::deploy::jobqueue::{worker_command::worker_argv, JobSpec};
/// let spec = JobSpec {
///     cores: 4,
///     memory: 8 << 30,
///     walltime: None,
///     scheduler_file: Some("/home/me/s.json".into()),
///     ..JobSpec::default()
/// };
/// assert_eq!(
///     worker_argv(&spec).join(" "),
///     "tessera worker --scheduler-file /home/me/s.json --nthreads 4 --memory-limit 8589934592"
/// );
/// ```
pub fn worker_argv(spec: &JobSpec) -> Vec<String> {
    let mut words = match &spec.worker_command {
        Some(words) => words.clone(),
        None => {
            let mut words = vec![spec.worker_program.clone(), "worker".to_owned()];
            if let Some(file) = &spec.scheduler_file {
                words.extend(["--scheduler-file".to_owned(), file.clone()]);
            }
            words.extend([
                "--nthreads".to_owned(),
                spec.threads_per_worker().to_string(),
                "--memory-limit".to_owned(),
                spec.worker_memory_limit().to_string(),
            ]);
            if let Some(dir) = &spec.local_directory {
                words.extend(["--local-directory".to_owned(), dir.clone()]);
            }
            if let Some(interface) = &spec.interface {
                words.extend(["--interface".to_owned(), interface.clone()]);
            }
            if let Some(lifetime) = spec.worker_lifetime() {
                words.extend([
                    "--lifetime".to_owned(),
                    format!("{}s", seconds_ceil(lifetime)),
                ]);
            }
            words
        }
    };
    words.extend(spec.extra_worker_args.iter().cloned());
    words
}

/// The worker's command line, quoted for the shell (see [`shell_quote`]).
pub fn worker_command_line(spec: &JobSpec) -> String {
    shell_quote::join(&worker_argv(spec))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn optional_arguments_appear_when_set() {
        let spec = JobSpec {
            cores: 6,
            processes: 3,
            memory: 3_000_000_000,
            walltime: Some(Duration::from_secs(3600)),
            local_directory: Some("$TMPDIR/tessera".into()),
            interface: Some("ib0".into()),
            scheduler_file: Some("/home/me/my sched.json".into()),
            extra_worker_args: vec!["--name-prefix".into(), "x".into()],
            ..JobSpec::default()
        };
        assert_eq!(
            worker_command_line(&spec),
            "tessera worker --scheduler-file \"/home/me/my sched.json\" --nthreads 2 \
             --memory-limit 1000000000 --local-directory \"$TMPDIR/tessera\" --interface ib0 \
             --lifetime 3300s --name-prefix x"
        );
    }

    #[test]
    fn custom_command_keeps_extra_args_only() {
        let spec = JobSpec {
            worker_command: Some(vec!["/opt/tessera".into(), "worker".into()]),
            extra_worker_args: vec!["--verbose".into()],
            ..JobSpec::default()
        };
        assert_eq!(worker_argv(&spec), ["/opt/tessera", "worker", "--verbose"]);
    }
}
