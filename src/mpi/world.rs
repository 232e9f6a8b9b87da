//! One process's membership in the MPI world: start-up checks (launcher, layout), the
//! broadcast that tells every rank where the scheduler is and what the secret is, the final
//! agreement on the exit code, and the two ways out — `MPI_Finalize` when every rank is alive
//! and agrees, `MPI_Abort` when one may be dead or stuck.
//!
//! The collectives run on the MPI progress thread (`transport::mpi::endpoint`). This module
//! must not start scheduler, worker or client roles.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::transport::mpi::endpoint::{Endpoint, WorldFacts, GATHER_RECORD};

use super::launcher::{check_launcher, launcher_rank};
use super::layout::{Layout, LayoutError};
use super::reach::RankHost;
use super::MpiError;

/// What the scheduler rank tells every other rank at start-up, over `MPI_Bcast` (never
/// through a file).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct Announcement {
    /// The scheduler's TCP address.
    pub address: String,
    /// The cluster secret, hex.
    pub secret: String,
}

/// This process's place in the MPI world; finalizes MPI when dropped.
pub(super) struct MpiWorld {
    endpoint: Arc<Endpoint>,
}

impl MpiWorld {
    /// Initialise MPI (on its progress thread) and learn rank, size and node.
    pub fn start() -> Result<MpiWorld, MpiError> {
        let endpoint = Endpoint::start().map_err(MpiError::Start)?;
        Ok(MpiWorld { endpoint })
    }

    pub fn facts(&self) -> &WorldFacts {
        &self.endpoint.facts
    }

    pub fn rank(&self) -> u32 {
        self.endpoint.facts.rank
    }

    /// Fail when the launcher started more ranks than MPI connected. Only the copy the
    /// launcher numbered 0 gets the full error; the others get a quiet one.
    pub fn check_launcher(&self) -> Result<(), MpiError> {
        let env = |name: &str| std::env::var(name).ok();
        let facts = self.facts();
        match check_launcher(facts.size, &facts.library_version, env) {
            Ok(()) => Ok(()),
            Err(mismatch) => {
                if launcher_rank(env).unwrap_or(0) == 0 {
                    Err(MpiError::Launcher(mismatch))
                } else {
                    Err(MpiError::ReportedElsewhere { code: 2 })
                }
            }
        }
    }

    /// Accept `layout` or turn its error into one report (rank 0) and quiet errors elsewhere.
    pub fn accept_layout(&self, layout: Result<Layout, LayoutError>) -> Result<Layout, MpiError> {
        layout.map_err(|e| {
            if self.rank() == 0 {
                MpiError::Layout(e)
            } else {
                // Exit quietly with 0: a rank leaving non-zero first makes mpirun kill the job,
                // rank 0's explanation with it; rank 0's exit code 2 becomes the job's.
                MpiError::ReportedElsewhere { code: 0 }
            }
        })
    }

    /// Broadcast the scheduler's announcement (or why it could not start) from `root`.
    /// Every rank must call this once, at the same point of start-up.
    pub fn announce(
        &self,
        root: u32,
        announcement: Option<Result<Announcement, String>>,
    ) -> Result<Announcement, String> {
        let bytes = announcement
            .map(|a| serde_json::to_vec(&a).unwrap_or_default())
            .unwrap_or_default();
        let received = self.endpoint.broadcast(root, bytes)?;
        serde_json::from_slice::<Result<Announcement, String>>(&received)
            .map_err(|e| format!("garbled start-up broadcast from rank {root}: {e}"))?
    }

    /// Every rank sends `root` where it runs; `root` gets every rank's host in rank order,
    /// the others an empty list. Every rank must call this once, before [`Self::announce`].
    pub fn gather_hosts(&self, root: u32) -> Vec<RankHost> {
        let record = RankHost::here().to_record::<GATHER_RECORD>();
        self.endpoint
            .gather(root, record)
            .unwrap_or_default()
            .iter()
            .map(|r| RankHost::from_record(r))
            .collect()
    }

    /// Every rank learns `root`'s exit code (the job's), so all ranks exit alike.
    pub fn agree_exit_code(&self, root: u32, code: u8) -> u8 {
        match self.endpoint.broadcast(root, vec![code]) {
            Ok(bytes) => bytes.first().copied().unwrap_or(1),
            Err(_) => code,
        }
    }

    /// Print `message` once (from this rank) and end every rank of the world with `code`.
    pub fn fail(&self, message: impl std::fmt::Display, code: u8) -> ! {
        eprintln!("tessera: MPI rank {}: {message}", self.rank());
        self.endpoint.abort(i32::from(code.max(1)))
    }
}

impl Drop for MpiWorld {
    fn drop(&mut self) {
        self.endpoint.finalize();
    }
}
