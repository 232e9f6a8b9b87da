//! The wire protocol: versioned handshake with challenge-response authentication,
//! length-framed messages, compact control encoding and raw payload frames.
//!
//! This module turns bytes into [`Frame`]s and back, and proves identities; it must not own
//! sockets or threads (that is `transport/`) nor interpret messages (that is `runtime/`).

pub mod auth;
pub mod cluster_control;
pub mod frame;
pub mod frame_codec;
pub mod job_control;
pub mod message;

pub use auth::{AuthError, Secret};
pub use cluster_control::{ClusterReply, ClusterRequest, ClusterStatus, JobLine, ScaleTarget};
pub use frame::{Frame, FrameError};
pub use frame_codec::{decode_frame, encode_frame, read_frame, write_frame};
pub use message::{
    ClusterInfo, ComputeTask, MemoryThresholds, Message, PayloadIndex, WorkerInfo, WorkerMetrics,
    WorkerRegistration,
};

/// Version of the wire protocol; peers with another version are refused at the handshake.
///
/// 2: worker registrations carry the remaining lifetime, `TaskFinished` the compute time, and
/// workers report spilled results (`ResidencyChanged`).
/// 3: tasks carry resource requests, workers offer generic resources, jobs of command tasks
/// (`JobRequest`, `JobReply`);
/// registrations carry the memory thresholds, heartbeats the CPU time, `TaskFinished` the
/// executor thread, the time spent reading spilled inputs and fetching inputs from peers
/// (the dashboard's task stream);
/// the scheduler tells workers about a dropped peer (`PeerGone`) and clients about a
/// cluster left without workers (`NoWorkers`, `WorkersBack`).
pub const PROTOCOL_VERSION: u32 = 3;
