//! Launcher mismatch: a program built against one MPI (say Open MPI) but started by another
//! MPI's launcher (MPICH's `mpiexec`, or `srun` with the wrong `--mpi` plugin) runs N copies
//! that each see a world of size 1. Each launcher leaves its own environment variables, so a
//! world of 1 beside a launcher that reports more ranks gives it away.
//!
//! Pure functions of the world size and an environment lookup; this module must not read the
//! process environment itself nor call MPI.

use std::fmt;

/// Variables launchers set to the number of ranks they started, most specific first.
const SIZE_VARIABLES: [&str; 5] = [
    "OMPI_COMM_WORLD_SIZE", // Open MPI's mpirun / orted
    "PMI_SIZE",             // MPICH's Hydra, Intel MPI, MVAPICH, srun --mpi=pmi2
    "PMIX_SIZE",            // some PMIx launchers
    "MV2_COMM_WORLD_SIZE",  // MVAPICH2's mpirun_rsh
    "SLURM_STEP_NUM_TASKS", // srun (inside a job step)
];

/// Variables launchers set to this process's rank, most specific first.
const RANK_VARIABLES: [&str; 5] = [
    "OMPI_COMM_WORLD_RANK",
    "PMI_RANK",
    "PMIX_RANK",
    "MV2_COMM_WORLD_RANK",
    "SLURM_PROCID",
];

/// The launcher started more ranks than MPI connected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LauncherMismatch {
    /// The variable that gave it away.
    pub variable: &'static str,
    /// Ranks the launcher started.
    pub launcher_size: u32,
    /// The MPI library this program uses (`MPI_Get_library_version`, first line).
    pub library: String,
}

impl fmt::Display for LauncherMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.launcher_size;
        write!(
            f,
            "this program uses {library}, but its launcher started {n} ranks ({var}={n}) and \
             MPI connected none of them: each of the {n} copies sees a world of 1 rank. ",
            library = self.library,
            var = self.variable
        )?;
        let hint = match self.variable {
            "OMPI_COMM_WORLD_SIZE" => {
                "Open MPI's mpirun started it: use the mpiexec of the MPI this program was \
                 built with, or rebuild it against Open MPI (MPI_PKG_CONFIG=ompi, then \
                 `cargo clean -p mpi-sys` and build again)"
            }
            "SLURM_STEP_NUM_TASKS" => {
                "srun started it without a matching PMI plugin: use `srun --mpi=pmix` for \
                 Open MPI or `srun --mpi=pmi2` for MPICH (`srun --mpi=list` shows the \
                 choices), or run mpirun inside the allocation"
            }
            _ => {
                "a PMI launcher (MPICH's Hydra mpiexec, Intel MPI, MVAPICH, or srun \
                 --mpi=pmi2) started it: use the mpirun/mpiexec of the MPI this program was \
                 built with, or rebuild it against that launcher's MPI (MPI_PKG_CONFIG=mpich \
                 or MPICC=mpicc.mpich, then `cargo clean -p mpi-sys`)"
            }
        };
        f.write_str(hint)
    }
}

impl std::error::Error for LauncherMismatch {}

fn number(env: &impl Fn(&str) -> Option<String>, variable: &str) -> Option<u32> {
    env(variable).and_then(|v| v.trim().parse::<u32>().ok())
}

/// Check that the launcher and MPI agree: a world of 1 while a launcher variable reports
/// more ranks is a mismatch. `library` names this program's MPI for the message.
///
/// ```
/// use tessera::mpi::launcher::check_launcher;
/// let env = |name: &str| (name == "PMI_SIZE").then(|| "4".to_string());
/// let error = check_launcher(1, "Open MPI v4.1.4", env).unwrap_err();
/// assert_eq!(error.launcher_size, 4);
/// assert!(error.to_string().contains("PMI_SIZE=4"));
/// assert!(check_launcher(4, "Open MPI v4.1.4", env).is_ok());
/// ```
pub fn check_launcher(
    world_size: u32,
    library: &str,
    env: impl Fn(&str) -> Option<String>,
) -> Result<(), LauncherMismatch> {
    if world_size != 1 {
        return Ok(());
    }
    for variable in SIZE_VARIABLES {
        if let Some(n) = number(&env, variable) {
            if n > 1 {
                return Err(LauncherMismatch {
                    variable,
                    launcher_size: n,
                    library: library.to_string(),
                });
            }
            // The most specific launcher says 1: trust it over the ones further down.
            return Ok(());
        }
    }
    Ok(())
}

/// The number of ranks the launcher started (`None` when no launcher variable is set): tells
/// a command started by `mpirun -np N` (N > 1) from a plain run.
pub fn launcher_size(env: impl Fn(&str) -> Option<String>) -> Option<u32> {
    SIZE_VARIABLES.iter().find_map(|v| number(&env, v))
}

/// This process's rank as the launcher numbered it (`None` when no launcher variable is set).
/// Used to let only one of N mismatched copies report the problem.
pub fn launcher_rank(env: impl Fn(&str) -> Option<String>) -> Option<u32> {
    RANK_VARIABLES.iter().find_map(|v| number(&env, v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mpi::tests::lookup as env;

    #[test]
    fn every_launcher_is_recognised() {
        for variable in SIZE_VARIABLES {
            let e = check_launcher(1, "MPICH 4.0.2", env(&[(variable, "8")])).expect_err(variable);
            assert_eq!(e.variable, variable);
            assert_eq!(e.launcher_size, 8);
            let text = e.to_string();
            assert!(text.contains(&format!("{variable}=8")), "{text}");
            assert!(text.contains("MPICH 4.0.2"), "{text}");
        }
    }

    #[test]
    fn hints_fit_the_launcher() {
        let ompi = check_launcher(1, "x", env(&[("OMPI_COMM_WORLD_SIZE", "2")])).unwrap_err();
        assert!(ompi.to_string().contains("Open MPI's mpirun"), "{ompi}");
        let srun = check_launcher(1, "x", env(&[("SLURM_STEP_NUM_TASKS", "2")])).unwrap_err();
        assert!(srun.to_string().contains("srun --mpi=pmix"), "{srun}");
        let hydra = check_launcher(1, "x", env(&[("PMI_SIZE", "2")])).unwrap_err();
        assert!(hydra.to_string().contains("Hydra"), "{hydra}");
    }

    #[test]
    fn agreeing_or_absent_launchers_pass() {
        assert!(check_launcher(1, "x", env(&[])).is_ok());
        assert!(check_launcher(1, "x", env(&[("OMPI_COMM_WORLD_SIZE", "1")])).is_ok());
        assert!(check_launcher(4, "x", env(&[("OMPI_COMM_WORLD_SIZE", "4")])).is_ok());
        // mpirun -np 2 inside `sbatch -n 4`: the batch step's variables do not count
        assert!(check_launcher(
            2,
            "x",
            env(&[("OMPI_COMM_WORLD_SIZE", "2"), ("SLURM_STEP_NUM_TASKS", "4")])
        )
        .is_ok());
        // a singleton run under mpirun -np 1 inside a 4-task step
        assert!(check_launcher(
            1,
            "x",
            env(&[("OMPI_COMM_WORLD_SIZE", "1"), ("SLURM_STEP_NUM_TASKS", "4")])
        )
        .is_ok());
        assert!(check_launcher(1, "x", env(&[("PMI_SIZE", "garbage")])).is_ok());
    }

    #[test]
    fn launcher_rank_reads_the_first_variable_set() {
        assert_eq!(launcher_rank(env(&[])), None);
        assert_eq!(launcher_rank(env(&[("PMI_RANK", "3")])), Some(3));
        assert_eq!(
            launcher_rank(env(&[("SLURM_PROCID", "5"), ("OMPI_COMM_WORLD_RANK", "2")])),
            Some(2)
        );
    }
}
