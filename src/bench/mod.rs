//! Benchmarks behind `pretext bench`, printed as tables against the reference tools.

pub mod analysis;
pub mod app;
pub mod map;
pub mod quality;
pub mod stream;
pub mod analysis_data;
pub mod analysis_peers;
pub mod sysinfo;
pub mod train;
