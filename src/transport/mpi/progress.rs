//! The serving loop of the MPI progress thread: commands from other threads in, envelopes
//! found with `MPI_Iprobe`, requests completed with `MPI_Testsome`.
//!
//! Sends are non-blocking (`MPI_Isend` straight from the payload's memory, kept alive until
//! done); a frame's payloads are received with `MPI_Irecv` into one buffer each and handed on
//! as `Bytes` without copying, in arrival order per source rank. The loop spins while transfers
//! are in flight and backs off to sleeping waits when idle. This module must not interpret
//! messages beyond the transport's own envelopes, and runs only on the progress thread.

use std::collections::{HashMap, VecDeque};
use std::os::raw::{c_int, c_void};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender, TryRecvError};
use std::time::{Duration, Instant};

use ::mpi::ffi;
use bytes::Bytes;

use crate::protocol::{Frame, Message, Secret};

use super::endpoint::{
    bcast_bytes, gather_records, AcceptedParts, Command, ListenerEvent, Refusal,
    PAYLOAD_BYTES_RECEIVED,
};
use super::receive_buffers;
use super::wire::{self, Envelope, PIECE_LEN, TAG_ENVELOPE, TAG_PAYLOAD};

/// Spin (yielding) this long after the last activity before sleeping between polls.
const SPIN: Duration = Duration::from_millis(1);
/// Sleep between polls while recently active.
const SHORT_NAP: Duration = Duration::from_micros(100);
/// Sleep between polls after a long idle spell.
const LONG_NAP: Duration = Duration::from_millis(1);
/// Idle this long before taking long naps.
const LONG_IDLE: Duration = Duration::from_millis(50);
/// At finalisation, wait this long for sends still in flight.
const FINALIZE_GRACE: Duration = Duration::from_secs(5);

/// Keeps the memory of a send alive until MPI is done with it.
enum Pending {
    SendOwned(#[allow(dead_code)] Vec<u8>),
    SendShared(#[allow(dead_code)] Bytes),
    /// A payload piece of inbound item `seq` from `source`.
    Piece {
        source: c_int,
        seq: u64,
    },
    Done,
}

/// Something from a source rank that must be delivered in arrival order.
struct Inbound {
    seq: u64,
    pieces_left: usize,
    item: InboundItem,
}

enum InboundItem {
    Frame {
        to: u32,
        messages: Vec<Message>,
        /// Receive buffers, allocated with capacity `lens[i]`, filled by MPI.
        buffers: Vec<Vec<u8>>,
        lens: Vec<usize>,
    },
    Close {
        to: u32,
    },
}

struct ListenerSlot {
    secret: Secret,
    events: Sender<ListenerEvent>,
    generation: u64,
}

struct Connecting {
    rank: u32,
    inbox: (Sender<Frame>, Receiver<Frame>),
    reply: Sender<Result<AcceptedParts, Refusal>>,
}

pub(super) struct Progress {
    comm: ffi::MPI_Comm,
    world_comm: ffi::MPI_Comm,
    rank: u32,
    world_id: u64,
    listener: Option<ListenerSlot>,
    next_generation: u64,
    /// Inboxes of open connections, by local id.
    conns: HashMap<u32, Sender<Frame>>,
    connecting: HashMap<u32, Connecting>,
    next_local: u32,
    /// Outstanding MPI requests and what each keeps alive (parallel vectors).
    requests: Vec<ffi::MPI_Request>,
    pending: Vec<Pending>,
    indices: Vec<c_int>,
    /// Per source rank: items waiting for payload pieces, in arrival order.
    inbound: HashMap<c_int, VecDeque<Inbound>>,
    next_seq: u64,
}

impl Progress {
    /// The state of a progress thread serving `comm` (a duplicate of the world) as `rank`.
    pub(super) fn new(
        comm: ffi::MPI_Comm,
        world_comm: ffi::MPI_Comm,
        rank: u32,
        world_id: u64,
    ) -> Progress {
        Progress {
            comm,
            world_comm,
            rank,
            world_id,
            listener: None,
            next_generation: 0,
            conns: HashMap::new(),
            connecting: HashMap::new(),
            next_local: 1,
            requests: Vec::new(),
            pending: Vec::new(),
            indices: Vec::new(),
            inbound: HashMap::new(),
            next_seq: 0,
        }
    }

    /// Free the transport's communicator (after [`Progress::drain_for_finalize`]).
    pub(super) fn free_communicator(&mut self) {
        // SAFETY: the duplicate communicator is ours and no request on it remains.
        unsafe { ffi::MPI_Comm_free(&mut self.comm) };
    }

    /// Serve until finalization is asked (its reply returned) or every handle is gone.
    pub(super) fn serve(&mut self, commands: &Receiver<Command>) -> Option<SyncSender<()>> {
        let mut last_active = Instant::now();
        loop {
            let mut active = false;
            loop {
                match commands.try_recv() {
                    Ok(Command::Finalize { reply }) => return Some(reply),
                    Ok(command) => {
                        self.handle(command);
                        active = true;
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => return None,
                }
            }
            for _ in 0..64 {
                if !self.receive_one_envelope() {
                    break;
                }
                active = true;
            }
            if !self.requests.is_empty() && self.test_requests() {
                active = true;
            }
            if active {
                last_active = Instant::now();
                continue;
            }
            let idle = last_active.elapsed();
            if !self.requests.is_empty() || idle < SPIN {
                std::thread::yield_now();
                continue;
            }
            let nap = if idle < LONG_IDLE {
                SHORT_NAP
            } else {
                LONG_NAP
            };
            match commands.recv_timeout(nap) {
                Ok(Command::Finalize { reply }) => return Some(reply),
                Ok(command) => {
                    self.handle(command);
                    last_active = Instant::now();
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    fn handle(&mut self, command: Command) {
        match command {
            Command::Broadcast { root, data, reply } => {
                let _ = reply.send(bcast_bytes(self.world_comm, root, self.rank, data));
            }
            Command::Gather { root, data, reply } => {
                let mut size: c_int = 0;
                // SAFETY: a valid communicator and an out-pointer to a c_int.
                unsafe { ffi::MPI_Comm_size(self.world_comm, &mut size) };
                let size = size.max(0) as u32;
                let _ = reply.send(gather_records(
                    self.world_comm,
                    root,
                    self.rank,
                    size,
                    *data,
                ));
            }
            Command::Listen {
                secret,
                events,
                reply,
            } => {
                if self.listener.is_some() {
                    let _ = reply.send(Err(format!(
                        "rank {} already has an MPI listener",
                        self.rank
                    )));
                    return;
                }
                self.next_generation += 1;
                let generation = self.next_generation;
                self.listener = Some(ListenerSlot {
                    secret,
                    events,
                    generation,
                });
                let _ = reply.send(Ok(generation));
            }
            Command::StopListening { generation } => {
                if self
                    .listener
                    .as_ref()
                    .is_some_and(|l| l.generation == generation)
                {
                    self.listener = None;
                }
            }
            Command::Connect { rank, proof, reply } => {
                let local = self.allocate_local();
                self.connecting.insert(
                    local,
                    Connecting {
                        rank,
                        inbox: mpsc::channel(),
                        reply,
                    },
                );
                self.send_envelope(rank, &Envelope::Connect { from: local, proof });
            }
            Command::Send {
                rank,
                head,
                payloads,
            } => {
                self.isend_owned(rank, TAG_ENVELOPE, head);
                for payload in payloads {
                    for piece in wire::pieces(payload.len()) {
                        let bytes = payload.slice(piece);
                        self.isend_shared(rank, bytes);
                    }
                }
            }
            Command::Close { rank, to } => self.send_envelope(rank, &Envelope::Close { to }),
            Command::Forget { local } => {
                self.conns.remove(&local);
            }
            Command::Abort { code } => {
                // SAFETY: MPI is initialised; MPI_Abort does not return normally.
                unsafe { ffi::MPI_Abort(self.world_comm, code as c_int) };
                std::process::exit(code);
            }
            Command::Finalize { .. } => unreachable!("handled by serve"),
        }
    }

    fn allocate_local(&mut self) -> u32 {
        let local = self.next_local;
        self.next_local = self.next_local.wrapping_add(1).max(1);
        local
    }

    fn send_envelope(&mut self, rank: u32, envelope: &Envelope) {
        match envelope.encode() {
            Ok(bytes) => self.isend_owned(rank, TAG_ENVELOPE, bytes),
            Err(e) => tracing::error!(rank, error = %e, "cannot encode an MPI envelope"),
        }
    }

    fn isend_owned(&mut self, rank: u32, tag: c_int, bytes: Vec<u8>) {
        let mut request = unsafe { ffi::RSMPI_REQUEST_NULL };
        // SAFETY: the buffer stays alive in `pending` until the request completes; its heap
        // memory does not move when the Vec is moved.
        unsafe {
            ffi::MPI_Isend(
                bytes.as_ptr().cast::<c_void>(),
                bytes.len() as c_int,
                ffi::RSMPI_UINT8_T,
                rank as c_int,
                tag,
                self.comm,
                &mut request,
            )
        };
        self.requests.push(request);
        self.pending.push(Pending::SendOwned(bytes));
    }

    fn isend_shared(&mut self, rank: u32, bytes: Bytes) {
        debug_assert!(bytes.len() <= PIECE_LEN);
        let mut request = unsafe { ffi::RSMPI_REQUEST_NULL };
        // SAFETY: `bytes` (a reference-counted view) stays alive in `pending` until done.
        unsafe {
            ffi::MPI_Isend(
                bytes.as_ptr().cast::<c_void>(),
                bytes.len() as c_int,
                ffi::RSMPI_UINT8_T,
                rank as c_int,
                TAG_PAYLOAD,
                self.comm,
                &mut request,
            )
        };
        self.requests.push(request);
        self.pending.push(Pending::SendShared(bytes));
    }

    /// Receive one waiting envelope, if any; true when one was handled.
    fn receive_one_envelope(&mut self) -> bool {
        let mut flag: c_int = 0;
        // SAFETY: MPI_Status is a plain C struct; zero is a valid initial value.
        let mut status: ffi::MPI_Status = unsafe { std::mem::zeroed() };
        unsafe {
            ffi::MPI_Iprobe(
                ffi::RSMPI_ANY_SOURCE,
                TAG_ENVELOPE,
                self.comm,
                &mut flag,
                &mut status,
            )
        };
        if flag == 0 {
            return false;
        }
        let mut count: c_int = 0;
        unsafe { ffi::MPI_Get_count(&status, ffi::RSMPI_UINT8_T, &mut count) };
        let source = status.MPI_SOURCE;
        let mut buffer = vec![0u8; usize::try_from(count).unwrap_or(0)];
        // SAFETY: the probed message from `source` on this tag is the next one to match; the
        // buffer holds `count` bytes.
        unsafe {
            ffi::MPI_Recv(
                buffer.as_mut_ptr().cast::<c_void>(),
                count,
                ffi::RSMPI_UINT8_T,
                source,
                TAG_ENVELOPE,
                self.comm,
                ffi::RSMPI_STATUS_IGNORE,
            )
        };
        match Envelope::decode(&buffer) {
            Ok(envelope) => self.on_envelope(source, envelope),
            Err(e) => tracing::warn!(source, error = %e, "dropped a malformed MPI envelope"),
        }
        true
    }

    fn on_envelope(&mut self, source: c_int, envelope: Envelope) {
        let source_rank = source as u32;
        match envelope {
            Envelope::Connect { from, proof } => self.on_connect(source_rank, from, &proof),
            Envelope::Accepted { to, from } => {
                if let Some(c) = self.connecting.remove(&to) {
                    let parts = AcceptedParts {
                        local: to,
                        peer_rank: c.rank,
                        peer_conn: from,
                        inbox: c.inbox.1,
                    };
                    self.conns.insert(to, c.inbox.0);
                    if c.reply.send(Ok(parts)).is_err() {
                        // The connector gave up meanwhile.
                        self.conns.remove(&to);
                        self.send_envelope(source_rank, &Envelope::Close { to: from });
                    }
                }
            }
            Envelope::Refused { to, reason, retry } => {
                if let Some(c) = self.connecting.remove(&to) {
                    let _ = c.reply.send(Err(Refusal { reason, retry }));
                }
            }
            Envelope::Frame {
                to,
                payload_lens,
                messages,
            } => {
                let seq = self.next_seq;
                self.next_seq += 1;
                let lens: Vec<usize> = payload_lens
                    .iter()
                    .map(|l| usize::try_from(*l).unwrap_or(usize::MAX))
                    .collect();
                let mut buffers: Vec<Vec<u8>> = Vec::with_capacity(lens.len());
                let mut pieces_left = 0;
                for &len in &lens {
                    let mut buffer = receive_buffers::allocate(len);
                    for piece in wire::pieces(len) {
                        let mut request = unsafe { ffi::RSMPI_REQUEST_NULL };
                        // SAFETY: the buffer has capacity `len`; the piece lies inside it, and
                        // the buffer lives (unmoved on the heap) in `inbound` until every piece
                        // has completed.
                        unsafe {
                            ffi::MPI_Irecv(
                                buffer.as_mut_ptr().add(piece.start).cast::<c_void>(),
                                piece.len() as c_int,
                                ffi::RSMPI_UINT8_T,
                                source,
                                TAG_PAYLOAD,
                                self.comm,
                                &mut request,
                            )
                        };
                        self.requests.push(request);
                        self.pending.push(Pending::Piece { source, seq });
                        pieces_left += 1;
                    }
                    buffers.push(buffer);
                }
                self.inbound.entry(source).or_default().push_back(Inbound {
                    seq,
                    pieces_left,
                    item: InboundItem::Frame {
                        to,
                        messages,
                        buffers,
                        lens,
                    },
                });
                self.deliver_ready(source);
            }
            Envelope::Close { to } => {
                let seq = self.next_seq;
                self.next_seq += 1;
                self.inbound.entry(source).or_default().push_back(Inbound {
                    seq,
                    pieces_left: 0,
                    item: InboundItem::Close { to },
                });
                self.deliver_ready(source);
            }
        }
    }

    fn on_connect(&mut self, source_rank: u32, from: u32, proof: &[u8]) {
        let refusal = match &self.listener {
            None => Some((format!("nothing listens on rank {} yet", self.rank), true)),
            Some(l)
                if !wire::proof_is_valid(
                    proof,
                    &l.secret,
                    self.world_id,
                    source_rank,
                    self.rank,
                ) =>
            {
                let _ = l.events.send(ListenerEvent::Refused {
                    peer_rank: source_rank,
                });
                Some(("authentication failed".to_string(), false))
            }
            Some(_) => None,
        };
        if let Some((reason, retry)) = refusal {
            self.send_envelope(
                source_rank,
                &Envelope::Refused {
                    to: from,
                    reason,
                    retry,
                },
            );
            return;
        }
        let local = self.allocate_local();
        let (inbox_tx, inbox_rx) = mpsc::channel();
        let parts = AcceptedParts {
            local,
            peer_rank: source_rank,
            peer_conn: from,
            inbox: inbox_rx,
        };
        let delivered = self
            .listener
            .as_ref()
            .is_some_and(|l| l.events.send(ListenerEvent::Connection(parts)).is_ok());
        if delivered {
            self.conns.insert(local, inbox_tx);
            self.send_envelope(
                source_rank,
                &Envelope::Accepted {
                    to: from,
                    from: local,
                },
            );
        } else {
            self.listener = None;
            self.send_envelope(
                source_rank,
                &Envelope::Refused {
                    to: from,
                    reason: format!("the listener of rank {} has closed", self.rank),
                    retry: true,
                },
            );
        }
    }

    /// Deliver, in order, the items of `source` whose payloads are complete.
    fn deliver_ready(&mut self, source: c_int) {
        let Some(queue) = self.inbound.get_mut(&source) else {
            return;
        };
        while queue.front().is_some_and(|f| f.pieces_left == 0) {
            let Some(done) = queue.pop_front() else { break };
            match done.item {
                InboundItem::Frame {
                    to,
                    messages,
                    buffers,
                    lens,
                } => {
                    let payloads = buffers
                        .into_iter()
                        .zip(lens)
                        .map(|(mut buffer, len)| {
                            // SAFETY: every piece of this buffer completed, so MPI wrote all
                            // `len` bytes (a sender sends exactly the lengths it announced).
                            unsafe { buffer.set_len(len) };
                            PAYLOAD_BYTES_RECEIVED.fetch_add(len as u64, Ordering::Relaxed);
                            receive_buffers::into_bytes(buffer)
                        })
                        .collect();
                    if let Some(inbox) = self.conns.get(&to) {
                        if inbox.send(Frame { messages, payloads }).is_err() {
                            self.conns.remove(&to);
                        }
                    }
                }
                InboundItem::Close { to } => {
                    self.conns.remove(&to);
                }
            }
        }
        if queue.is_empty() {
            self.inbound.remove(&source);
        }
    }

    /// Test outstanding requests; true when any completed.
    fn test_requests(&mut self) -> bool {
        let n = self.requests.len();
        self.indices.resize(n, 0);
        let mut completed: c_int = 0;
        // SAFETY: `requests` and `indices` hold `n` elements; statuses are ignored.
        unsafe {
            ffi::MPI_Testsome(
                n as c_int,
                self.requests.as_mut_ptr(),
                &mut completed,
                self.indices.as_mut_ptr(),
                ffi::RSMPI_STATUSES_IGNORE,
            )
        };
        if completed <= 0 {
            return false;
        }
        let mut touched: Vec<c_int> = Vec::new();
        for &i in &self.indices[..completed as usize] {
            let Some(slot) = self.pending.get_mut(i as usize) else {
                continue;
            };
            if let Pending::Piece { source, seq } = std::mem::replace(slot, Pending::Done) {
                if let Some(item) = self
                    .inbound
                    .get_mut(&source)
                    .and_then(|q| q.iter_mut().find(|f| f.seq == seq))
                {
                    item.pieces_left = item.pieces_left.saturating_sub(1);
                }
                if !touched.contains(&source) {
                    touched.push(source);
                }
            }
        }
        // Compact both vectors in step, dropping finished entries (and their buffers).
        let mut keep = 0;
        for i in 0..n {
            if matches!(self.pending[i], Pending::Done) {
                continue;
            }
            self.requests.swap(keep, i);
            self.pending.swap(keep, i);
            keep += 1;
        }
        self.requests.truncate(keep);
        self.pending.truncate(keep);
        for source in touched {
            self.deliver_ready(source);
        }
        true
    }

    /// Before `MPI_Finalize`: let sends in flight finish (bounded), keep answering envelopes
    /// meanwhile, then cancel whatever is left.
    pub(super) fn drain_for_finalize(&mut self) {
        self.listener = None;
        let deadline = Instant::now() + FINALIZE_GRACE;
        loop {
            while self.receive_one_envelope() {}
            if !self.requests.is_empty() {
                self.test_requests();
            }
            let sends_left = self
                .pending
                .iter()
                .any(|p| matches!(p, Pending::SendOwned(_) | Pending::SendShared(_)));
            if !sends_left || Instant::now() >= deadline {
                break;
            }
            std::thread::yield_now();
        }
        if !self.requests.is_empty() {
            tracing::debug!(
                left = self.requests.len(),
                "cancelling MPI transfers still in flight at finalization"
            );
        }
        for request in &mut self.requests {
            // SAFETY: each request is active or null; cancel then free releases it.
            unsafe {
                if *request != ffi::RSMPI_REQUEST_NULL {
                    ffi::MPI_Cancel(request);
                    ffi::MPI_Request_free(request);
                }
            }
        }
        self.requests.clear();
        self.pending.clear();
        self.inbound.clear();
        self.conns.clear();
        self.connecting.clear();
    }
}
