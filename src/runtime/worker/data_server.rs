//! The worker's data server: peers and clients fetch results (`GetData`) and clients scatter
//! data (`PutData`) here, never through the scheduler.
//!
//! Spilled chunks are sent from disk without being read back into memory for good
//! ([`crate::store::ChunkStore::read`]), and no lock but the store's is held while reading,
//! so a spilling worker keeps serving. Reading one waits (at most
//! [`super::memory_monitor::ROOM_WAIT`]) while other transient buffers would take the worker
//! above its pause threshold (a task reading a spilled input at the same time took a worker to
//! 0.96 of its limit), and counts as transient memory until it is sent. This module must not
//! change task state; it only reads and adds data.

use std::sync::Arc;

use crate::protocol::{Frame, Message};
use crate::transport::{Connection, Listener, TransportError};

use super::memory_monitor::MemoryMonitor;
use super::state::WorkerState;

/// Accept connections until the listener is closed; one thread per connection.
pub fn run_data_server(listener: Listener, state: Arc<WorkerState>, monitor: Arc<MemoryMonitor>) {
    loop {
        match listener.accept_incoming() {
            Ok(incoming) => {
                let (state, monitor) = (state.clone(), monitor.clone());
                let spawned = std::thread::Builder::new()
                    .name("tessera-data-conn".into())
                    .spawn(move || match incoming.authenticate() {
                        Ok(conn) => serve_connection(conn, &state, &monitor),
                        Err(e) => tracing::warn!(error = %e, "refused a data connection"),
                    });
                if let Err(e) = spawned {
                    tracing::warn!(error = %e, "cannot start a data connection thread");
                }
            }
            Err(TransportError::Closed) => return,
            Err(TransportError::Refused { peer, source }) => {
                tracing::warn!(%peer, reason = %source, "refused a data connection");
            }
            Err(e) => tracing::debug!(error = %e, "data server accept failed"),
        }
    }
}

fn serve_connection(conn: Connection, state: &WorkerState, monitor: &MemoryMonitor) {
    let (sender, mut receiver) = conn.split();
    while let Ok(Some(frame)) = receiver.recv() {
        let mut reply = Frame::new();
        let mut transient = 0u64;
        for message in &frame.messages {
            match message {
                Message::GetData { keys } => {
                    for key in keys {
                        if let Some(nbytes) = state.store.spilled_len(key) {
                            monitor.wait_for_room(nbytes, transient);
                            monitor.transient_read(nbytes);
                            transient += nbytes;
                        }
                        match state.store.read(key) {
                            Ok(v) => {
                                tracing::debug!(%key, nbytes = v.len(), "serving a chunk");
                                let payload = reply.push_payload(v);
                                reply.push(Message::Data {
                                    key: key.clone(),
                                    payload,
                                });
                            }
                            Err(e) => {
                                if !matches!(e, crate::store::StoreError::Missing(_)) {
                                    tracing::error!(error = %e, "cannot serve a chunk");
                                }
                                reply.push(Message::DataMissing { key: key.clone() });
                            }
                        }
                    }
                }
                Message::PutData { key, payload } => {
                    let Ok(value) = frame.payload(*payload) else {
                        monitor.transient_released(transient);
                        return;
                    };
                    let nbytes = value.len() as u64;
                    state.data().insert_owned(key.clone(), value.clone());
                    monitor.poke();
                    reply.push(Message::PutDataAck {
                        key: key.clone(),
                        nbytes,
                    });
                }
                other => {
                    tracing::debug!(?other, "unexpected message on a data connection");
                    monitor.transient_released(transient);
                    return;
                }
            }
        }
        let sent = sender.send(reply);
        monitor.transient_released(transient);
        if sent.is_err() {
            return;
        }
    }
}
