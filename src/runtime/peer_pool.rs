//! Cached connections to workers' data servers, used by workers (to fetch task inputs from
//! peers) and clients (to gather results and scatter data).
//!
//! One connection per remote data address, used request/response under a lock. A failed
//! connection is dropped and re-opened on the next request. A data address listing several
//! routes (`tcp://…,mpi://…`) is reached by the route this process prefers
//! ([`crate::transport::preferred_route`]: MPI within the same MPI world, else TCP).
//!
//! A hung peer (stopped, swapping, its node frozen) must not hold a request forever: a TCP
//! reply that sends no byte for [`PEER_IDLE_TIMEOUT`] fails, and [`PeerPool::forget`] (the
//! scheduler dropped that peer) ends a request waiting on it at once and refuses new ones
//! until [`PeerPool::revive`]. This module must not decide where data lives (the scheduler
//! says that).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;

use crate::core::TaskKey;
use crate::protocol::{Frame, Message, Secret};
use crate::transport::{
    preferred_route, Connection, FrameReceiver, FrameSender, ReceiveAborter, TransportError,
};

/// A request to a data server fails when its reply stalls this long (no byte received).
/// Serving a chunk waits at most a few seconds for memory, so a longer silence means the
/// peer is hung.
pub const PEER_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

struct PeerConnection {
    sender: FrameSender,
    receiver: FrameReceiver,
}

/// Peers the scheduler dropped, and how to interrupt the open connections.
#[derive(Default)]
struct Liveness {
    gone: HashSet<String>,
    aborters: HashMap<String, ReceiveAborter>,
}

/// Connections to data servers, by address.
pub struct PeerPool {
    secret: Secret,
    connect_timeout: Duration,
    idle_timeout: Duration,
    peers: Mutex<HashMap<String, Arc<Mutex<Option<PeerConnection>>>>>,
    liveness: Mutex<Liveness>,
}

fn gone_error(address: &str) -> TransportError {
    TransportError::Connect {
        address: address.to_string(),
        reason: "the scheduler dropped this worker (no heartbeat or disconnected)".into(),
    }
}

impl PeerPool {
    /// A pool authenticating with `secret`.
    pub fn new(secret: Secret, connect_timeout: Duration) -> Self {
        PeerPool {
            secret,
            connect_timeout,
            idle_timeout: PEER_IDLE_TIMEOUT,
            peers: Mutex::new(HashMap::new()),
            liveness: Mutex::new(Liveness::default()),
        }
    }

    /// The same pool with another idle timeout (see [`PEER_IDLE_TIMEOUT`]).
    pub fn with_idle_timeout(mut self, idle_timeout: Duration) -> Self {
        self.idle_timeout = idle_timeout;
        self
    }

    fn liveness(&self) -> std::sync::MutexGuard<'_, Liveness> {
        self.liveness.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The scheduler dropped the worker at `address`: end a request waiting on it now and
    /// refuse new ones (until [`PeerPool::revive`]).
    pub fn forget(&self, address: &str) {
        let mut liveness = self.liveness();
        liveness.gone.insert(address.to_string());
        if let Some(aborter) = liveness.aborters.remove(address) {
            aborter.abort();
        }
    }

    /// The scheduler names `address` as a holder again (the worker came back at that
    /// address): requests to it are allowed again.
    pub fn revive(&self, address: &str) {
        let mut liveness = self.liveness();
        if !liveness.gone.is_empty() {
            liveness.gone.remove(address);
        }
    }

    fn connect(&self, address: &str) -> Result<PeerConnection, TransportError> {
        if self.liveness().gone.contains(address) {
            return Err(gone_error(address));
        }
        let addr = preferred_route(address)?;
        let conn = Connection::connect(&addr, &self.secret, self.connect_timeout)?;
        let (sender, receiver) = conn.split();
        receiver.set_idle_timeout(Some(self.idle_timeout))?;
        let mut liveness = self.liveness();
        if liveness.gone.contains(address) {
            sender.close();
            return Err(gone_error(address));
        }
        if let Some(aborter) = receiver.aborter() {
            liveness.aborters.insert(address.to_string(), aborter);
        }
        Ok(PeerConnection { sender, receiver })
    }

    fn slot(&self, address: &str) -> Arc<Mutex<Option<PeerConnection>>> {
        let mut peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
        peers.entry(address.to_string()).or_default().clone()
    }

    /// Send `frame` to the data server at `address` and return its reply frame.
    pub fn request(&self, address: &str, frame: Frame) -> Result<Frame, TransportError> {
        let slot = self.slot(address);
        let mut guard = slot.lock().unwrap_or_else(|e| e.into_inner());
        if self.liveness().gone.contains(address) {
            if let Some(conn) = guard.take() {
                conn.sender.close();
            }
            return Err(gone_error(address));
        }
        if guard.is_none() {
            *guard = Some(self.connect(address)?);
        }
        let result = {
            let Some(conn) = guard.as_mut() else {
                return Err(TransportError::Closed);
            };
            conn.sender
                .send(frame)
                .and_then(|_| conn.receiver.recv()?.ok_or(TransportError::Closed))
        };
        if result.is_err() {
            if let Some(conn) = guard.take() {
                conn.sender.close();
            }
            self.liveness().aborters.remove(address);
            if self.liveness().gone.contains(address) {
                return Err(gone_error(address));
            }
        }
        result
    }

    /// Fetch `keys` from the data server at `address`. Keys it does not hold come back `None`.
    pub fn get(
        &self,
        address: &str,
        keys: &[TaskKey],
    ) -> Result<HashMap<TaskKey, Option<Bytes>>, TransportError> {
        let reply = self.request(
            address,
            Frame::single(Message::GetData {
                keys: keys.to_vec(),
            }),
        )?;
        let mut out = HashMap::with_capacity(keys.len());
        for msg in &reply.messages {
            match msg {
                Message::Data { key, payload } => {
                    out.insert(key.clone(), Some(reply.payload(*payload)?.clone()));
                }
                Message::DataMissing { key } => {
                    out.insert(key.clone(), None);
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// Store `values` on the data server at `address`; returns the sizes it acknowledged.
    pub fn put(
        &self,
        address: &str,
        values: Vec<(TaskKey, Bytes)>,
    ) -> Result<Vec<(TaskKey, u64)>, TransportError> {
        let mut frame = Frame::new();
        for (key, bytes) in values {
            let payload = frame.push_payload(bytes);
            frame.push(Message::PutData { key, payload });
        }
        let reply = self.request(address, frame)?;
        Ok(reply
            .messages
            .into_iter()
            .filter_map(|m| match m {
                Message::PutDataAck { key, nbytes } => Some((key, nbytes)),
                _ => None,
            })
            .collect())
    }

    /// Drop every connection.
    pub fn close(&self) {
        self.liveness().aborters.clear();
        let peers = std::mem::take(&mut *self.peers.lock().unwrap_or_else(|e| e.into_inner()));
        for slot in peers.values() {
            if let Some(conn) = slot.lock().unwrap_or_else(|e| e.into_inner()).take() {
                conn.sender.close();
            }
        }
    }
}
