//! The MPI endpoint: the one thread of a process that calls MPI, and the handle other threads
//! use to reach it.
//!
//! OpenMPI's handles are not `Send`, and MPI needs someone to keep calling it for large
//! transfers to progress. So one thread initialises MPI (`MPI_THREAD_FUNNELED`: this thread
//! is MPI's main thread), owns the world and a duplicate of it for the transport, and serves a
//! channel of [`Command`]s from every other thread: collectives at start-up, connection set-up,
//! frames to send (the serving loop is [`super::progress`]). It ends with `MPI_Finalize` (or
//! `MPI_Abort`) when asked.
//!
//! This module must not interpret messages beyond the transport's own envelopes.

use std::os::raw::{c_int, c_void};
use std::sync::atomic::AtomicU64;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use ::mpi::ffi;
use ::mpi::topology::Communicator;
use ::mpi::Threading;
use bytes::Bytes;

use crate::protocol::{Frame, Secret};

use super::progress::Progress;

/// What MPI told this process about itself at start-up.
#[derive(Clone, Debug)]
pub(crate) struct WorldFacts {
    pub rank: u32,
    pub size: u32,
    /// Ranks on this node (size of the `MPI_COMM_TYPE_SHARED` split).
    pub ranks_on_node: u32,
    /// This rank's index among the ranks on its node.
    pub node_rank: u32,
    /// An id all ranks of the world agree on (chosen by rank 0).
    pub world_id: u64,
    /// `MPI_Get_library_version`, first line.
    pub library_version: String,
    /// `MPI_Get_processor_name`.
    pub processor_name: String,
}

/// An accepted connection's parts, from the progress thread to a listener.
pub(super) struct AcceptedParts {
    pub local: u32,
    pub peer_rank: u32,
    pub peer_conn: u32,
    pub inbox: Receiver<Frame>,
}

/// What a listener receives.
pub(super) enum ListenerEvent {
    Connection(AcceptedParts),
    /// A connector from this rank presented a wrong proof.
    Refused {
        peer_rank: u32,
    },
    /// Sent by a closer so a blocked accept looks at the closed flag.
    Wake,
}

/// A refused connection attempt.
pub(super) struct Refusal {
    pub reason: String,
    /// Nothing listened yet: try again.
    pub retry: bool,
}

/// Requests to the progress thread.
pub(super) enum Command {
    Broadcast {
        root: u32,
        data: Vec<u8>,
        reply: SyncSender<Vec<u8>>,
    },
    Gather {
        root: u32,
        data: Box<[u8; GATHER_RECORD]>,
        reply: SyncSender<Vec<[u8; GATHER_RECORD]>>,
    },
    Listen {
        secret: Secret,
        events: Sender<ListenerEvent>,
        reply: SyncSender<Result<u64, String>>,
    },
    StopListening {
        generation: u64,
    },
    Connect {
        rank: u32,
        proof: Vec<u8>,
        reply: Sender<Result<AcceptedParts, Refusal>>,
    },
    Send {
        rank: u32,
        head: Vec<u8>,
        payloads: Vec<Bytes>,
    },
    /// Our side of a connection closed sending (`to` is the peer's id).
    Close {
        rank: u32,
        to: u32,
    },
    /// Our receiving half of connection `local` was dropped.
    Forget {
        local: u32,
    },
    Finalize {
        reply: SyncSender<()>,
    },
    Abort {
        code: i32,
    },
}

/// The handle the rest of the process holds on the progress thread.
pub(crate) struct Endpoint {
    pub(super) commands: Sender<Command>,
    pub(crate) facts: WorldFacts,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// Payload bytes this process received over MPI (for benchmarks and tests).
pub(crate) static PAYLOAD_BYTES_RECEIVED: AtomicU64 = AtomicU64::new(0);

/// The progress thread of this process, while it runs.
static CURRENT: Mutex<Option<Arc<Endpoint>>> = Mutex::new(None);

/// The running endpoint, if MPI was started in this process and not finalized yet.
pub(crate) fn current() -> Option<Arc<Endpoint>> {
    CURRENT
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

impl Endpoint {
    /// Initialise MPI on a new progress thread and learn the world's facts. Fails when MPI
    /// was already initialised in this process (it can be only once) or the thread cannot start.
    pub(crate) fn start() -> Result<Arc<Endpoint>, String> {
        let mut slot = CURRENT.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.is_some() {
            return Err("MPI is already running in this process".into());
        }
        let (commands_tx, commands_rx) = mpsc::channel();
        let (facts_tx, facts_rx) = mpsc::sync_channel(1);
        let thread = std::thread::Builder::new()
            .name("tessera-mpi".into())
            .spawn(move || progress_thread(commands_rx, facts_tx))
            .map_err(|e| format!("cannot start the MPI progress thread: {e}"))?;
        let facts = match facts_rx.recv() {
            Ok(Ok(facts)) => facts,
            Ok(Err(reason)) => {
                let _ = thread.join();
                return Err(reason);
            }
            Err(_) => {
                let _ = thread.join();
                return Err("the MPI progress thread stopped during MPI_Init".into());
            }
        };
        let endpoint = Arc::new(Endpoint {
            commands: commands_tx,
            facts,
            thread: Mutex::new(Some(thread)),
        });
        *slot = Some(endpoint.clone());
        Ok(endpoint)
    }

    /// `MPI_Bcast` of a byte string from `root` (whose `data` counts; the others' is ignored).
    /// Every rank must call it, in the same order as the other collectives.
    pub(crate) fn broadcast(&self, root: u32, data: Vec<u8>) -> Result<Vec<u8>, String> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.commands
            .send(Command::Broadcast { root, data, reply })
            .map_err(|_| "MPI has been finalized".to_string())?;
        answer
            .recv()
            .map_err(|_| "the MPI progress thread stopped during a broadcast".to_string())
    }

    /// `MPI_Gather` of one fixed-size record per rank to `root`: `root` gets every rank's
    /// record in rank order, the others an empty list. Every rank must call it, in the same
    /// order as the other collectives.
    pub(crate) fn gather(
        &self,
        root: u32,
        data: [u8; GATHER_RECORD],
    ) -> Result<Vec<[u8; GATHER_RECORD]>, String> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.commands
            .send(Command::Gather {
                root,
                data: Box::new(data),
                reply,
            })
            .map_err(|_| "MPI has been finalized".to_string())?;
        answer
            .recv()
            .map_err(|_| "the MPI progress thread stopped during a gather".to_string())
    }

    /// Finish sends in flight (for a few seconds at most), then `MPI_Finalize`. After this the
    /// process cannot use MPI again. Idempotent.
    pub(crate) fn finalize(&self) {
        let (reply, done) = mpsc::sync_channel(1);
        if self.commands.send(Command::Finalize { reply }).is_ok() {
            let _ = done.recv();
        }
        if let Some(thread) = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            let _ = thread.join();
        }
        let mut slot = CURRENT.lock().unwrap_or_else(PoisonError::into_inner);
        if slot
            .as_ref()
            .is_some_and(|e| std::ptr::eq(e.as_ref(), self))
        {
            *slot = None;
        }
    }

    /// `MPI_Abort` on the world: the launcher ends every rank with `code`. Does not return;
    /// if the progress thread cannot do it within 5 s, the process exits with `code`.
    pub(crate) fn abort(&self, code: i32) -> ! {
        let _ = self.commands.send(Command::Abort { code });
        std::thread::sleep(Duration::from_secs(5));
        std::process::exit(code)
    }
}

/// Thread body: initialise, report the facts, serve commands, finalize.
fn progress_thread(commands: Receiver<Command>, facts_tx: SyncSender<Result<WorldFacts, String>>) {
    let Some((universe, threading)) = ::mpi::initialize_with_threading(Threading::Funneled) else {
        let _ = facts_tx.send(Err(
            "MPI was already initialised in this process and cannot be started again".into(),
        ));
        return;
    };
    if threading < Threading::Funneled {
        tracing::warn!(
            ?threading,
            "the MPI library gave less thread support than asked"
        );
    }
    let world = universe.world();
    let rank = world.rank() as u32;
    let size = world.size() as u32;
    let node = world.split_shared(world.rank());
    let (ranks_on_node, node_rank) = (node.size() as u32, node.rank() as u32);
    drop(node);
    let library_version = ::mpi::environment::library_version()
        .ok()
        .and_then(|v| v.lines().next().map(|l| l.trim().to_string()))
        .unwrap_or_else(|| "an unknown MPI library".into());
    let processor_name = ::mpi::environment::processor_name().unwrap_or_default();
    // SAFETY: MPI is initialised and this is its main thread; the world communicator is valid.
    let world_comm = unsafe { ffi::RSMPI_COMM_WORLD };
    let mut id = [0u8; 8];
    if rank == 0 {
        let _ = getrandom::fill(&mut id);
    }
    let id = bcast_bytes(world_comm, 0, rank, id.to_vec());
    let world_id = u64::from_le_bytes(id.as_slice().try_into().unwrap_or([0; 8]));
    let mut comm = unsafe { ffi::RSMPI_COMM_NULL };
    // SAFETY: a valid communicator and an out-pointer to a handle we own.
    unsafe { ffi::MPI_Comm_dup(world_comm, &mut comm) };
    let facts = WorldFacts {
        rank,
        size,
        ranks_on_node,
        node_rank,
        world_id,
        library_version,
        processor_name,
    };
    if facts_tx.send(Ok(facts)).is_err() {
        return;
    }
    let mut progress = Progress::new(comm, world_comm, rank, world_id);
    let finalize_reply = progress.serve(&commands);
    progress.drain_for_finalize();
    progress.free_communicator();
    drop(world);
    drop(universe); // MPI_Finalize
    if let Some(reply) = finalize_reply {
        let _ = reply.send(());
    }
}

/// `MPI_Bcast` a byte string of any (≤ 2 GiB) length from `root` over `comm`.
/// The size of one rank's record in [`Endpoint::gather`].
pub(crate) const GATHER_RECORD: usize = 256;

/// `MPI_Gather` of one [`GATHER_RECORD`]-byte record per rank to `root`.
pub(super) fn gather_records(
    comm: ffi::MPI_Comm,
    root: u32,
    rank: u32,
    size: u32,
    data: [u8; GATHER_RECORD],
) -> Vec<[u8; GATHER_RECORD]> {
    let mut all = if rank == root {
        vec![[0u8; GATHER_RECORD]; size as usize]
    } else {
        Vec::new()
    };
    let receive = if rank == root {
        all.as_mut_ptr().cast::<c_void>()
    } else {
        std::ptr::null_mut()
    };
    // SAFETY: every rank sends GATHER_RECORD bytes; the root's buffer holds `size` records.
    unsafe {
        ffi::MPI_Gather(
            data.as_ptr().cast::<c_void>(),
            GATHER_RECORD as c_int,
            ffi::RSMPI_UINT8_T,
            receive,
            GATHER_RECORD as c_int,
            ffi::RSMPI_UINT8_T,
            root as c_int,
            comm,
        )
    };
    all
}

pub(super) fn bcast_bytes(comm: ffi::MPI_Comm, root: u32, rank: u32, data: Vec<u8>) -> Vec<u8> {
    let mut len = data.len() as u64;
    // SAFETY: `len` is one u64; every rank passes the same root and communicator.
    unsafe {
        ffi::MPI_Bcast(
            (&mut len as *mut u64).cast::<c_void>(),
            1,
            ffi::RSMPI_UINT64_T,
            root as c_int,
            comm,
        )
    };
    let len = usize::try_from(len).unwrap_or(0).min(i32::MAX as usize);
    let mut buffer = if rank == root { data } else { vec![0u8; len] };
    buffer.resize(len, 0);
    // SAFETY: `buffer` holds `len` bytes on every rank.
    unsafe {
        ffi::MPI_Bcast(
            buffer.as_mut_ptr().cast::<c_void>(),
            len as c_int,
            ffi::RSMPI_UINT8_T,
            root as c_int,
            comm,
        )
    };
    buffer
}
