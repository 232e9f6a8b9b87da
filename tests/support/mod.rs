//! Shared code of the integration tests: the deterministic cluster simulator.

pub mod simulation;
