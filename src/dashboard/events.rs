//! The dashboard's data: the JSON view (`/api/view`) and the server-sent event stream
//! (`/api/events`) that sends each open page the latest view plus the task events and
//! memory samples it has not seen, every update interval. Must not buffer for a slow
//! client: a write that does not complete within the write timeout drops it.

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde::Serialize;

use crate::runtime::scheduler_view::{
    MemorySample, SchedulerView, SchedulerViewReader, TaskEvent, MEMORY_SAMPLES_KEPT,
};

use super::http;
use super::Shared;

/// Most task events sent in one update (the newest when more arrived).
const EVENTS_PER_UPDATE: usize = 5_000;

#[derive(Serialize)]
struct Update {
    view: Arc<SchedulerView>,
    /// Task events since the previous update (the newest [`EVENTS_PER_UPDATE`]).
    events: Vec<TaskEvent>,
    /// Number of the task event after the last one in `events` (events are numbered from
    /// 0 since the scheduler started; a page skips any it has seen).
    events_next: u64,
    /// Memory samples since the previous update.
    memory: Vec<Arc<MemorySample>>,
    memory_next: u64,
    /// Panels of other parts of the scheduler's process (the job-queue manager's jobs).
    panels: std::collections::BTreeMap<String, Arc<serde_json::Value>>,
}

/// Sequence numbers of what a client has seen.
#[derive(Default)]
struct Seen {
    events: u64,
    memory: u64,
}

fn update(view: &SchedulerViewReader, seen: &mut Seen) -> Vec<u8> {
    let (events, next_events) = view.task_events_since(seen.events, EVENTS_PER_UPDATE);
    let (memory, next_memory) = view.memory_since(seen.memory, MEMORY_SAMPLES_KEPT);
    seen.events = next_events;
    seen.memory = next_memory;
    let update = Update {
        view: view.latest(),
        events,
        events_next: next_events,
        memory,
        memory_next: next_memory,
        panels: view.panels(),
    };
    serde_json::to_vec(&update).unwrap_or_else(|_| b"{}".to_vec())
}

/// The view, with the recent task events and memory samples when `rings`, as JSON.
pub(super) fn snapshot_json(view: &SchedulerViewReader, rings: bool) -> Vec<u8> {
    let mut seen = Seen::default();
    if !rings {
        seen.events = u64::MAX;
        seen.memory = u64::MAX;
    }
    update(view, &mut seen)
}

/// Send updates until the client leaves, is too slow, or the dashboard stops.
pub(super) fn stream(mut stream: TcpStream, shared: &Shared, with_body: bool) {
    let mut head = http::head(200, "text/event-stream");
    head.push_str("Connection: close\r\n\r\n");
    if stream.write_all(head.as_bytes()).is_err() || !with_body {
        return;
    }
    let mut seen = Seen::default();
    let mut message = b"retry: 2000\n\n".to_vec();
    loop {
        if shared.stopping.load(Ordering::Relaxed) {
            return;
        }
        message.extend_from_slice(b"event: update\ndata: ");
        message.extend_from_slice(&update(&shared.view, &mut seen));
        message.extend_from_slice(b"\n\n");
        if let Err(e) = stream.write_all(&message).and_then(|()| stream.flush()) {
            tracing::debug!(error = %e, "dashboard: event stream closed (client left or too slow)");
            return;
        }
        message.clear();
        std::thread::sleep(shared.config.update_interval);
    }
}
