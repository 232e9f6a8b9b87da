//! Criterion benchmark of the scheduler core alone (filled in with the core).
fn main() {}
