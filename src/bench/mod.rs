//! Benchmarks against the reference tools, printed as tables (`pretext bench ...`).

pub mod analysis;
pub mod analysis_peers;
