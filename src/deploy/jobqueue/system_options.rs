//! Site conventions that differ between installations of the same batch system: PBS dialect,
//! SGE parallel environment and memory resource, LSF's memory unit, how multi-node workers are
//! launched, extra arguments of the submit and cancel commands. They live beside the [`JobSpec`](super::JobSpec) because one site uses one set.
//!
//! Plain data with defaults that match the most common setup; this module must not render.

use serde::{Deserialize, Serialize};

use super::resources::{GIB, KIB, MIB, TIB};

/// Which PBS a site runs; they differ in resource syntax, arrays and log paths.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PbsFlavour {
    /// PBS Pro / OpenPBS: `-l select=N:ncpus=C:mpiprocs=P:mem=…`, arrays `-J`, log paths are
    /// directories (`-o logs/`).
    #[default]
    Pro,
    /// Torque: `-l nodes=N:ppn=C` and `-l mem=` (whole job), arrays `-t`, log paths are
    /// directories.
    Torque,
    /// SLURM's `slurm-wlm-torque` compatibility layer (`#PBS` lines read by `sbatch`): PBS Pro
    /// resource syntax, arrays `-J`, but log paths must be files, so they carry SLURM's `%j`.
    SlurmTorqueWrappers,
}

/// The unit LSF reads bare memory numbers in (`LSF_UNIT_FOR_LIMITS` in `lsf.conf`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum LsfUnit {
    /// Kilobytes (LSF's built-in default).
    Kb,
    /// Megabytes (what most sites configure).
    #[default]
    Mb,
    /// Gigabytes.
    Gb,
    /// Terabytes.
    Tb,
}

impl LsfUnit {
    /// Bytes in one unit (LSF units are powers of 1024).
    pub fn bytes(self) -> u64 {
        match self {
            LsfUnit::Kb => KIB,
            LsfUnit::Mb => MIB,
            LsfUnit::Gb => GIB,
            LsfUnit::Tb => TIB,
        }
    }
}

/// Per-site conventions used when rendering job scripts and commands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemOptions {
    /// The PBS dialect (default PBS Pro).
    pub pbs_flavour: PbsFlavour,
    /// SGE parallel environment used for multi-slot jobs (default `smp`; multi-node jobs need
    /// a PE whose allocation rule places `cores` slots per host).
    pub sge_parallel_environment: String,
    /// SGE resource carrying the per-slot memory request (default `h_vmem`; some sites use
    /// `mem_free` or `m_mem_free`).
    pub sge_memory_resource: String,
    /// SGE `-S` shell (default `/bin/bash`, so a queue in POSIX mode does not run the script
    /// with csh). `None` leaves the queue's choice.
    pub sge_shell: Option<String>,
    /// SGE `-V`: export the submitting shell's whole environment to the job (default off).
    pub sge_export_environment: bool,
    /// LSF's `LSF_UNIT_FOR_LIMITS` (default MB).
    pub lsf_unit: LsfUnit,
    /// LSF `rusage[mem=]` per slot (memory / cores) instead of per host (default per host).
    pub lsf_memory_per_slot: bool,
    /// Submit with `bsub < script` (LSF before 10.1 reads `#BSUB` lines only from stdin).
    pub lsf_submit_on_stdin: bool,
    /// Arguments added to the submit command before the script (dask-jobqueue's
    /// `submit_command_extra`), e.g. `["--reservation=r1"]` for `sbatch --reservation=r1 S`.
    #[serde(default)]
    pub submit_command_extra: Vec<String>,
    /// Arguments added to the cancel command before the job ids (`cancel_command_extra`),
    /// e.g. `["--signal=TERM"]` for `scancel --signal=TERM ID…`.
    #[serde(default)]
    pub cancel_command_extra: Vec<String>,
    /// The launcher for several workers across nodes where the system has no own launcher
    /// (all but SLURM): shell words, `{np}` replaced by the number of workers in the job and
    /// `{ppn}` by workers per node. Default `mpirun -np {np} --map-by ppr:{ppn}:node`
    /// (Open MPI; for MPICH/Intel MPI use `mpirun -np {np} -ppn {ppn}`).
    pub mpirun: Vec<String>,
}

impl Default for SystemOptions {
    fn default() -> Self {
        SystemOptions {
            pbs_flavour: PbsFlavour::default(),
            sge_parallel_environment: "smp".to_owned(),
            sge_memory_resource: "h_vmem".to_owned(),
            sge_shell: Some("/bin/bash".to_owned()),
            sge_export_environment: false,
            lsf_unit: LsfUnit::default(),
            lsf_memory_per_slot: false,
            lsf_submit_on_stdin: false,
            submit_command_extra: Vec::new(),
            cancel_command_extra: Vec::new(),
            mpirun: ["mpirun", "-np", "{np}", "--map-by", "ppr:{ppn}:node"]
                .map(str::to_owned)
                .to_vec(),
        }
    }
}
