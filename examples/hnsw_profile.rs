//! Build and query time of the HNSW index on Fashion-MNIST alone (no peers, ground truth
//! cached in target/), for profiling and tuning: `perf record` around it sees only the index.
//!
//! `cargo run --release --example hnsw_profile -- [fashion-mnist dir] [threads]`

use std::path::PathBuf;
use std::time::Instant;

use pretext::analysis::index::{IndexParams, Metric, NeighborIndex};
use pretext::analysis::Matrix;
use pretext::data::idx::read_idx;

fn load(path: PathBuf) -> Matrix {
    let a = read_idx(&path).expect("IDX file");
    let width: usize = a.dims.iter().skip(1).product();
    Matrix::new(a.data.iter().map(|&v| v as f32 / 255.0).collect(), a.data.len() / width, width)
}

/// CPU seconds this process has used (all threads): steadier than wall time on a shared machine.
fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes the struct we pass.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    tv(u.ru_utime) + tv(u.ru_stime)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().map_or_else(|| PathBuf::from("/usr/share/datasets/fashion-mnist"), PathBuf::from);
    let threads: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(2);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("thread pool");
    let train = load(dir.join("train-images-idx3-ubyte.gz"));
    let queries = load(dir.join("t10k-images-idx3-ubyte.gz"));
    let gt_path = PathBuf::from("target/hnsw_profile_gt.bin");
    let gt: Vec<u32> = match std::fs::read(&gt_path) {
        Ok(b) => b.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
        Err(_) => {
            let exact = NeighborIndex::build(&train, Metric::Euclidean, IndexParams { exact_threshold: usize::MAX, ..Default::default() }).expect("exact");
            let q = queries.select_rows(&(0..1000).collect::<Vec<_>>());
            let gt: Vec<u32> = exact.search_batch(&q, 10).into_iter().flatten().map(|p| p.0 as u32).collect();
            std::fs::write(&gt_path, gt.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>()).expect("write ground truth");
            gt
        }
    };
    pool.install(|| {
        let (t, c) = (Instant::now(), cpu_seconds());
        let index = NeighborIndex::build(&train, Metric::Euclidean, IndexParams { exact_threshold: 0, ..Default::default() }).expect("index");
        let build = t.elapsed().as_secs_f64();
        let build_cpu = cpu_seconds() - c;
        let (t, c) = (Instant::now(), cpu_seconds());
        let found = index.search_batch(&queries, 10);
        let qps = queries.rows as f64 / t.elapsed().as_secs_f64();
        let query_cpu = cpu_seconds() - c;
        let hits: usize = found.iter().zip(gt.chunks(10)).map(|(f, g)| f.iter().filter(|p| g.contains(&(p.0 as u32))).count()).sum();
        println!(
            "build {build:.2} s (cpu {build_cpu:.2} s), {qps:.0} q/s (cpu {:.0} µs/query), recall@10 {:.4} ({threads} threads)",
            query_cpu * 1e6 / queries.rows as f64,
            hits as f64 / gt.len() as f64
        );
    });
}
