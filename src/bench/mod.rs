//! Benchmarks behind `pretext bench`.

pub mod train;
