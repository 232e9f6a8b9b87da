//! Which rank does what. `tessera mpi`: one scheduler rank (0 unless `--scheduler-rank`), every
//! other rank a worker. Batch mode (`tessera::mpi::run`): the scheduler rank, then the first
//! other rank runs the user's closure as the client, the rest are workers. A world too small
//! for its layout is refused with a message that says how to start it.
//!
//! Pure arithmetic; this module must not call MPI.

/// What one rank does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Scheduler,
    /// Runs the user's closure with a connected client (batch mode only).
    Client,
    Worker,
}

/// The roles of every rank of a world.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    pub size: u32,
    pub scheduler: u32,
    /// The batch client's rank (`None` for `tessera mpi`).
    pub client: Option<u32>,
}

/// The world does not fit the layout.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    #[error(
        "the MPI world has {size} rank{s}, but {what} needs at least {needed} ({roles}); start \
         it with at least {needed} ranks, as in `{example}`",
        s = if *size == 1 { "" } else { "s" }
    )]
    WorldTooSmall {
        size: u32,
        needed: u32,
        what: &'static str,
        roles: &'static str,
        example: &'static str,
    },
    #[error("--scheduler-rank {rank} does not exist: the MPI world has ranks 0 to {last}")]
    SchedulerRankOutOfRange { rank: u32, last: u32 },
}

impl Layout {
    /// `tessera mpi`: a scheduler and at least one worker.
    ///
    /// ```
    /// use tessera::mpi::layout::{Layout, Role};
    /// let layout = Layout::cluster(4, 0).unwrap();
    /// assert_eq!(layout.role(0), Role::Scheduler);
    /// assert_eq!(layout.workers(), 3);
    /// assert!(Layout::cluster(1, 0).unwrap_err().to_string().contains("at least 2"));
    /// ```
    pub fn cluster(size: u32, scheduler: u32) -> Result<Layout, LayoutError> {
        check_rank(size, scheduler)?;
        if size < 2 {
            return Err(LayoutError::WorldTooSmall {
                size,
                needed: 2,
                what: "`tessera mpi`",
                roles: "1 scheduler and at least 1 worker",
                example: "mpirun -np 4 tessera mpi --scheduler-file ~/scheduler.json",
            });
        }
        Ok(Layout {
            size,
            scheduler,
            client: None,
        })
    }

    /// Batch mode: a scheduler, the client running the program's closure, at least one worker.
    ///
    /// ```
    /// use tessera::mpi::layout::{Layout, Role};
    /// let layout = Layout::batch(4, 0).unwrap();
    /// assert_eq!((layout.role(0), layout.role(1), layout.role(2)),
    ///            (Role::Scheduler, Role::Client, Role::Worker));
    /// assert_eq!(layout.workers(), 2);
    /// assert!(Layout::batch(2, 0).is_err());
    /// ```
    pub fn batch(size: u32, scheduler: u32) -> Result<Layout, LayoutError> {
        check_rank(size, scheduler)?;
        if size < 3 {
            return Err(LayoutError::WorldTooSmall {
                size,
                needed: 3,
                what: "an MPI batch program",
                roles: "1 scheduler, 1 client running the program and at least 1 worker",
                example: "mpirun -np 4 ./my_analysis",
            });
        }
        let client = if scheduler == 0 { 1 } else { 0 };
        Ok(Layout {
            size,
            scheduler,
            client: Some(client),
        })
    }

    /// The role of `rank`.
    pub fn role(&self, rank: u32) -> Role {
        if rank == self.scheduler {
            Role::Scheduler
        } else if Some(rank) == self.client {
            Role::Client
        } else {
            Role::Worker
        }
    }

    /// How many ranks are workers.
    pub fn workers(&self) -> u32 {
        self.size - 1 - u32::from(self.client.is_some())
    }
}

fn check_rank(size: u32, rank: u32) -> Result<(), LayoutError> {
    if rank >= size.max(1) {
        return Err(LayoutError::SchedulerRankOutOfRange {
            rank,
            last: size.saturating_sub(1),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rank_has_exactly_one_role() {
        for size in 3..9 {
            for scheduler in 0..size {
                let layout = Layout::batch(size, scheduler).unwrap();
                let roles: Vec<Role> = (0..size).map(|r| layout.role(r)).collect();
                assert_eq!(roles.iter().filter(|r| **r == Role::Scheduler).count(), 1);
                assert_eq!(roles.iter().filter(|r| **r == Role::Client).count(), 1);
                let workers = roles.iter().filter(|r| **r == Role::Worker).count();
                assert_eq!(workers as u32, layout.workers());
                let cluster = Layout::cluster(size, scheduler).unwrap();
                assert_eq!(cluster.workers(), size - 1);
                assert!((0..size).all(|r| cluster.role(r) != Role::Client));
            }
        }
    }

    #[test]
    fn too_small_worlds_say_how_to_start() {
        let e = Layout::batch(2, 0).unwrap_err().to_string();
        assert!(e.contains("2 ranks") && e.contains("at least 3"), "{e}");
        assert!(e.contains("mpirun -np 4"), "{e}");
        let e = Layout::cluster(1, 0).unwrap_err().to_string();
        assert!(e.contains("1 rank,") && e.contains("at least 2"), "{e}");
    }

    #[test]
    fn scheduler_rank_must_exist() {
        let e = Layout::cluster(4, 4).unwrap_err();
        assert_eq!(e, LayoutError::SchedulerRankOutOfRange { rank: 4, last: 3 });
        assert!(e.to_string().contains("--scheduler-rank 4"));
    }
}
