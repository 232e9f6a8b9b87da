//! Shared pieces of the integration tests. Each test binary uses only some of them.
#![allow(dead_code)]

pub mod arbitrary_frames;
pub mod simulation;
