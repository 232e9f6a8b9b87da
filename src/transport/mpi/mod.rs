//! The MPI transport kind: `mpi://<world>/<rank>` listeners and connections between ranks of
//! one MPI world, carried as MPI point-to-point messages by this process's progress thread
//! ([`endpoint`]). On InfiniBand, Omni-Path or Slingshot clusters those messages take the
//! fabric's RDMA path; between ranks of one node, shared memory.
//!
//! A connection is opened with an HMAC proof of the cluster secret (so, as over TCP, only
//! peers that know the secret get in), then frames flow as an envelope plus raw payload
//! messages, never re-encoded. One listener per rank. This module must not interpret
//! messages.

pub(crate) mod endpoint;
mod progress;
mod receive_buffers;
mod wire;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::protocol::{AuthError, Frame, Secret};

use super::{Address, TransportError};
use endpoint::{AcceptedParts, Command, Endpoint, ListenerEvent};

/// First and largest pause between connection attempts while nothing listens yet.
const FIRST_RETRY_PAUSE: Duration = Duration::from_millis(1);
const LARGEST_RETRY_PAUSE: Duration = Duration::from_millis(100);

/// The MPI world id of this process, while its MPI transport runs.
pub(super) fn local_world() -> Option<u64> {
    endpoint::current().map(|e| e.facts.world_id)
}

fn running_endpoint(address: &Address) -> Result<Arc<Endpoint>, TransportError> {
    endpoint::current().ok_or_else(|| TransportError::BadAddress {
        address: address.to_string(),
        reason: "MPI is not running in this process (start it with `tessera mpi` or \
                 tessera::mpi::run under mpirun)"
            .into(),
    })
}

fn check_world(endpoint: &Endpoint, address: &Address, world: u64) -> Result<(), TransportError> {
    if world == endpoint.facts.world_id {
        Ok(())
    } else {
        Err(TransportError::BadAddress {
            address: address.to_string(),
            reason: format!(
                "it belongs to another MPI world than this process ({:016x})",
                endpoint.facts.world_id
            ),
        })
    }
}

/// This rank's MPI listener.
pub(super) struct MpiListener {
    endpoint: Arc<Endpoint>,
    address: Address,
    generation: u64,
    events: Mutex<Receiver<ListenerEvent>>,
    wake: Sender<ListenerEvent>,
    closed: Arc<AtomicBool>,
}

/// Wakes a blocked [`MpiListener::accept`].
#[derive(Clone)]
pub(super) struct MpiListenerCloser {
    wake: Sender<ListenerEvent>,
    closed: Arc<AtomicBool>,
}

impl MpiListenerCloser {
    pub(super) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        let _ = self.wake.send(ListenerEvent::Wake);
    }
}

impl MpiListener {
    /// Listen on `address`, which must name this process's own rank and world.
    pub(super) fn bind(
        address: &Address,
        world: u64,
        rank: u32,
        secret: Secret,
    ) -> Result<MpiListener, TransportError> {
        let endpoint = running_endpoint(address)?;
        check_world(&endpoint, address, world)?;
        if rank != endpoint.facts.rank {
            return Err(TransportError::BadAddress {
                address: address.to_string(),
                reason: format!(
                    "this process is rank {} and can only listen as that rank",
                    endpoint.facts.rank
                ),
            });
        }
        let (events_tx, events_rx) = mpsc::channel();
        let (reply, answer) = mpsc::sync_channel(1);
        let stopped = || TransportError::Bind {
            address: address.to_string(),
            source: std::io::Error::other("MPI has been finalized"),
        };
        endpoint
            .commands
            .send(Command::Listen {
                secret,
                events: events_tx.clone(),
                reply,
            })
            .map_err(|_| stopped())?;
        let generation =
            answer
                .recv()
                .map_err(|_| stopped())?
                .map_err(|reason| TransportError::Bind {
                    address: address.to_string(),
                    source: std::io::Error::new(std::io::ErrorKind::AddrInUse, reason),
                })?;
        Ok(MpiListener {
            endpoint,
            address: address.clone(),
            generation,
            events: Mutex::new(events_rx),
            wake: events_tx,
            closed: Arc::new(AtomicBool::new(false)),
        })
    }

    pub(super) fn local_address(&self) -> Address {
        self.address.clone()
    }

    pub(super) fn closer(&self) -> MpiListenerCloser {
        MpiListenerCloser {
            wake: self.wake.clone(),
            closed: Arc::clone(&self.closed),
        }
    }

    /// Wait for the next connection (already authenticated by the progress thread).
    pub(super) fn accept(&self) -> Result<MpiConnection, TransportError> {
        let events = self.events.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if self.closed.load(Ordering::Acquire) {
                return Err(TransportError::Closed);
            }
            match events.recv().map_err(|_| TransportError::Closed)? {
                ListenerEvent::Connection(parts) => {
                    let connection = MpiConnection::new(self.endpoint.clone(), parts);
                    if self.closed.load(Ordering::Acquire) {
                        return Err(TransportError::Closed);
                    }
                    return Ok(connection);
                }
                ListenerEvent::Refused { peer_rank } => {
                    return Err(TransportError::Refused {
                        peer: format!("MPI rank {peer_rank}"),
                        source: AuthError::BadSecret,
                    })
                }
                ListenerEvent::Wake => {}
            }
        }
    }
}

impl Drop for MpiListener {
    fn drop(&mut self) {
        let _ = self.endpoint.commands.send(Command::StopListening {
            generation: self.generation,
        });
    }
}

/// One end of an MPI connection, not yet split.
pub(super) struct MpiConnection {
    endpoint: Arc<Endpoint>,
    parts: AcceptedParts,
}

impl MpiConnection {
    fn new(endpoint: Arc<Endpoint>, parts: AcceptedParts) -> Self {
        MpiConnection { endpoint, parts }
    }

    /// Connect to the listener of `rank`, retrying while nothing listens there yet.
    pub(super) fn connect(
        address: &Address,
        world: u64,
        rank: u32,
        secret: &Secret,
        timeout: Duration,
    ) -> Result<MpiConnection, TransportError> {
        let endpoint = running_endpoint(address)?;
        check_world(&endpoint, address, world)?;
        if rank >= endpoint.facts.size {
            return Err(TransportError::BadAddress {
                address: address.to_string(),
                reason: format!("the MPI world has only {} ranks", endpoint.facts.size),
            });
        }
        let proof = wire::connect_proof(secret, world, endpoint.facts.rank, rank);
        let deadline = Instant::now() + timeout;
        let mut pause = FIRST_RETRY_PAUSE;
        loop {
            let (reply, answer) = mpsc::channel();
            endpoint
                .commands
                .send(Command::Connect {
                    rank,
                    proof: proof.clone(),
                    reply,
                })
                .map_err(|_| TransportError::Connect {
                    address: address.to_string(),
                    reason: "MPI has been finalized".into(),
                })?;
            let left = deadline.saturating_duration_since(Instant::now());
            let last_reason = match answer.recv_timeout(left.max(Duration::from_millis(1))) {
                Ok(Ok(parts)) => return Ok(MpiConnection::new(endpoint, parts)),
                Ok(Err(refusal)) if !refusal.retry => {
                    return Err(TransportError::Handshake {
                        peer: address.to_string(),
                        source: AuthError::Refused(refusal.reason),
                    })
                }
                Ok(Err(refusal)) => refusal.reason,
                Err(RecvTimeoutError::Timeout) => format!("rank {rank} did not answer"),
                Err(RecvTimeoutError::Disconnected) => "MPI has been finalized".into(),
            };
            let now = Instant::now();
            if now >= deadline {
                return Err(TransportError::Connect {
                    address: address.to_string(),
                    reason: format!("{last_reason} (gave up after {timeout:?})"),
                });
            }
            std::thread::sleep(pause.min(deadline - now));
            pause = (pause * 2).min(LARGEST_RETRY_PAUSE);
        }
    }

    pub(super) fn peer(&self) -> String {
        format!(
            "mpi://{:016x}/{}",
            self.endpoint.facts.world_id, self.parts.peer_rank
        )
    }

    pub(super) fn split(self) -> (MpiSender, MpiReceiver) {
        let commands = self.endpoint.commands.clone();
        (
            MpiSender {
                inner: Arc::new(SenderInner {
                    commands: commands.clone(),
                    peer_rank: self.parts.peer_rank,
                    peer_conn: self.parts.peer_conn,
                    closed: AtomicBool::new(false),
                }),
            },
            MpiReceiver {
                inbox: self.parts.inbox,
                local: self.parts.local,
                commands,
            },
        )
    }
}

/// Queues frames for the progress thread; clones share one sending side.
#[derive(Clone)]
pub(super) struct MpiSender {
    inner: Arc<SenderInner>,
}

struct SenderInner {
    commands: Sender<Command>,
    peer_rank: u32,
    peer_conn: u32,
    closed: AtomicBool,
}

impl SenderInner {
    fn close(&self) {
        if !self.closed.swap(true, Ordering::AcqRel) {
            let _ = self.commands.send(Command::Close {
                rank: self.peer_rank,
                to: self.peer_conn,
            });
        }
    }
}

impl Drop for SenderInner {
    fn drop(&mut self) {
        self.close();
    }
}

impl MpiSender {
    pub(super) fn send(&self, frame: Frame) -> Result<(), TransportError> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(TransportError::Closed);
        }
        let (head, payloads) = wire::encode_frame(self.inner.peer_conn, frame)?;
        self.inner
            .commands
            .send(Command::Send {
                rank: self.inner.peer_rank,
                head,
                payloads,
            })
            .map_err(|_| TransportError::Closed)
    }

    /// Queue the close after the frames already queued (the progress thread sends in order).
    pub(super) fn close(&self) {
        self.inner.close();
    }
}

/// Receives the frames the progress thread delivers for this connection.
pub(super) struct MpiReceiver {
    inbox: Receiver<Frame>,
    local: u32,
    commands: Sender<Command>,
}

impl MpiReceiver {
    pub(super) fn recv(&mut self) -> Result<Option<Frame>, TransportError> {
        Ok(self.inbox.recv().ok())
    }
}

impl Drop for MpiReceiver {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Forget { local: self.local });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::{Connection, Listener};

    #[test]
    fn without_mpi_running_mpi_addresses_are_refused_clearly() {
        let address = Address::Mpi { world: 7, rank: 1 };
        let secret = Secret::generate();
        let error = Connection::connect(&address, &secret, Duration::from_millis(10))
            .err()
            .expect("no MPI in a unit test process");
        let text = error.to_string();
        assert!(text.contains("mpi://0000000000000007/1"), "{text}");
        assert!(
            text.contains("MPI is not running in this process"),
            "{text}"
        );
        let error = Listener::bind(&address, secret)
            .err()
            .expect("cannot listen");
        assert!(error.to_string().contains("MPI is not running"), "{error}");
        assert_eq!(local_world(), None);
    }
}
