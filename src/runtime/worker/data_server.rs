//! The worker's data server: peers and clients fetch results (`GetData`) and clients scatter
//! data (`PutData`) here, never through the scheduler.
//!
//! Spilled chunks are sent from disk without being read back into memory for good
//! ([`crate::store::ChunkStore::read`]), and no lock but the store's is held while reading,
//! so a spilling worker keeps serving. This module must not change task state; it only reads
//! and adds data.

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
        for message in &frame.messages {
            match message {
                Message::GetData { keys } => {
                    for key in keys {
                        match state.store.read(key) {
                            Ok(v) => {
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
                    return;
                }
            }
        }
        if sender.send(reply).is_err() {
            return;
        }
    }
}
