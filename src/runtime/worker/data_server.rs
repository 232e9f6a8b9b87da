//! The worker's data server: peers and clients fetch results (`GetData`) and clients scatter
//! data (`PutData`) here, never through the scheduler.
//!
//! This module must not change task state; it only reads and adds data.

use std::sync::Arc;

use crate::protocol::{Frame, Message};
use crate::transport::{Connection, Listener, TransportError};

use super::state::WorkerState;

/// Accept connections until the listener is closed; one thread per connection.
pub fn run_data_server(listener: Listener, state: Arc<WorkerState>) {
    loop {
        match listener.accept_incoming() {
            Ok(incoming) => {
                let state = state.clone();
                let spawned = std::thread::Builder::new()
                    .name("tessera-data-conn".into())
                    .spawn(move || match incoming.authenticate() {
                        Ok(conn) => serve_connection(conn, state),
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

fn serve_connection(conn: Connection, state: Arc<WorkerState>) {
    let (sender, mut receiver) = conn.split();
    while let Ok(Some(frame)) = receiver.recv() {
        let mut reply = Frame::new();
        for message in &frame.messages {
            match message {
                Message::GetData { keys } => {
                    let data = state.data();
                    for key in keys {
                        match data.get(key) {
                            Some(v) => {
                                let payload = reply.push_payload(v.clone());
                                reply.push(Message::Data {
                                    key: key.clone(),
                                    payload,
                                });
                            }
                            None => reply.push(Message::DataMissing { key: key.clone() }),
                        }
                    }
                }
                Message::PutData { key, payload } => {
                    let Ok(value) = frame.payload(*payload) else {
                        return;
                    };
                    let nbytes = value.len() as u64;
                    state.data().insert_owned(key.clone(), value.clone());
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
