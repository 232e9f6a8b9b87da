//! Cached connections to workers' data servers, used by workers (to fetch task inputs from
//! peers) and clients (to gather results and scatter data).
//!
//! One connection per remote data address, used request/response under a lock. A failed
//! connection is dropped and re-opened on the next request. A data address listing several
//! routes (`tcp://…,mpi://…`) is reached by the route this process prefers
//! ([`crate::transport::preferred_route`]: MPI within the same MPI world, else TCP). This module must not decide
//! where data lives (the scheduler says that).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;

use crate::core::TaskKey;
use crate::protocol::{Frame, Message, Secret};
use crate::transport::{preferred_route, Connection, FrameReceiver, FrameSender, TransportError};

struct PeerConnection {
    sender: FrameSender,
    receiver: FrameReceiver,
}

/// Connections to data servers, by address.
pub struct PeerPool {
    secret: Secret,
    connect_timeout: Duration,
    peers: Mutex<HashMap<String, Arc<Mutex<Option<PeerConnection>>>>>,
}

impl PeerPool {
    /// A pool authenticating with `secret`.
    pub fn new(secret: Secret, connect_timeout: Duration) -> Self {
        PeerPool {
            secret,
            connect_timeout,
            peers: Mutex::new(HashMap::new()),
        }
    }

    fn slot(&self, address: &str) -> Arc<Mutex<Option<PeerConnection>>> {
        let mut peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
        peers.entry(address.to_string()).or_default().clone()
    }

    /// Send `frame` to the data server at `address` and return its reply frame.
    pub fn request(&self, address: &str, frame: Frame) -> Result<Frame, TransportError> {
        let slot = self.slot(address);
        let mut guard = slot.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            let addr = preferred_route(address)?;
            let conn = Connection::connect(&addr, &self.secret, self.connect_timeout)?;
            let (sender, receiver) = conn.split();
            *guard = Some(PeerConnection { sender, receiver });
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
        let peers = std::mem::take(&mut *self.peers.lock().unwrap_or_else(|e| e.into_inner()));
        for slot in peers.values() {
            if let Some(conn) = slot.lock().unwrap_or_else(|e| e.into_inner()).take() {
                conn.sender.close();
            }
        }
    }
}
