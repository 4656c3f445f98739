//! `pretext bench analysis`: t-SNE, UMAP, HNSW, PCA-50 and k-means on Fashion-MNIST
//! (70k × 784 raw pixels), timed and scored, then the same data exported to `.npy` and run
//! through openTSNE, umap-learn, hnswlib and scikit-learn by `bench/peers.py` in the same
//! run, and a ratio table printed.

use std::path::PathBuf;
use std::time::Instant;

use crate::analysis::index::{IndexParams, Metric, NeighborIndex};
use crate::analysis::quality::trustworthiness;
use crate::analysis::tsne::{tsne, TsneParams};
use crate::analysis::init::{pca_2d, LayoutInit};
use crate::analysis::umap::{umap, UmapParams};
use crate::analysis::pca::{PcaModel, PcaSolver};
use crate::analysis::{kmeans, Matrix};
use crate::error::{PretextError, Result};
use super::analysis_data::{exact_ground_truth, load_fashion, write_npy, write_npy_u32};
pub use super::analysis_data::recall_at;
use super::sysinfo::{load_average, process_cpu_secs};

/// Command-line flags for `pretext bench analysis` (ready for the CLI's subcommand enum).
#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    /// Folder with the Fashion-MNIST IDX files.
    #[arg(long, default_value = "/usr/share/datasets/fashion-mnist")]
    pub data: PathBuf,
    /// Where the .npy exports and peers.json go.
    #[arg(long, default_value = "target/bench-analysis")]
    pub out: PathBuf,
    /// Use only the first N of the 70k rows (quick runs).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Comma-separated parts: tsne, umap, hnsw, pca, kmeans.
    #[arg(long, default_value = "tsne,umap,hnsw,pca,kmeans")]
    pub parts: String,
    /// Skip the Python reference tools.
    #[arg(long)]
    pub no_peers: bool,
    /// Threads for our side (a rayon pool) and for each Python tool (hnswlib
    /// `set_num_threads`, `n_jobs`, OpenMP/BLAS/Numba).
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Build and query the HNSW index this many times on each side and keep the best
    /// figures (on a shared machine a single run may be caught by someone else's burst).
    #[arg(long, default_value_t = 1)]
    pub repeat: usize,
}

impl From<BenchArgs> for BenchOptions {
    fn from(a: BenchArgs) -> Self {
        Self {
            data_dir: a.data,
            out_dir: a.out,
            limit: a.limit,
            parts: a.parts.split(',').map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect(),
            peers: !a.no_peers,
            threads: a.threads,
            repeat: a.repeat,
            ..Self::default()
        }
    }
}

#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Folder with the four Fashion-MNIST IDX files.
    pub data_dir: PathBuf,
    /// Where the `.npy` exports and the peers' results go.
    pub out_dir: PathBuf,
    /// Use only the first `n` rows (quick runs); `None` = all 70k.
    pub limit: Option<usize>,
    /// Which parts to run: any of "tsne", "umap", "hnsw", "pca", "kmeans".
    pub parts: Vec<String>,
    /// Run `bench/peers.py` too.
    pub peers: bool,
    /// Threads on both sides: our rayon pool and the Python tools.
    pub threads: usize,
    /// HNSW runs per side; the best figures are kept.
    pub repeat: usize,
    pub peers_script: PathBuf,
    pub python: String,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("/usr/share/datasets/fashion-mnist"),
            out_dir: PathBuf::from("target/bench-analysis"),
            limit: None,
            parts: ["tsne", "umap", "hnsw", "pca", "kmeans"].map(String::from).to_vec(),
            peers: true,
            threads: 2,
            repeat: 1,
            peers_script: PathBuf::from("bench/peers.py"),
            python: "python3".into(),
        }
    }
}

/// One measured figure: seconds plus an optional quality value (trustworthiness, recall…).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Figure {
    pub name: String,
    pub seconds: f64,
    pub quality: Option<f64>,
    pub quality_name: String,
    /// Queries per second, for the index.
    pub rate: Option<f64>,
    /// CPU time of the timed part, all threads (for the index: its build). On a shared
    /// machine wall time includes waiting for a core; this does not.
    #[serde(default)]
    pub cpu_seconds: Option<f64>,
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    pub ours: Vec<Figure>,
    pub peers: Vec<Figure>,
    pub peers_note: Option<String>,
    /// 1-minute load average just before our figures and just before the peers'.
    pub load: (Option<f64>, Option<f64>),
    pub threads: usize,
    /// HNSW runs per side (best kept).
    pub repeat: usize,
}

const TRUST_SAMPLE: usize = 5_000;
const GT_QUERIES: usize = 1_000;
/// k-means seeds timed on both sides (bench/peers.py uses the same count).
const KMEANS_SEEDS: u64 = 5;

pub fn run(opts: &BenchOptions) -> Result<Report> {
    let (x, n_train) = load_fashion(&opts.data_dir, opts.limit)?;
    std::fs::create_dir_all(&opts.out_dir).map_err(|e| PretextError::io(&opts.out_dir, e))?;
    let sample: Vec<usize> = {
        let step = (x.rows as f64 / TRUST_SAMPLE.min(x.rows) as f64).max(1.0);
        (0..TRUST_SAMPLE.min(x.rows)).map(|i| (i as f64 * step) as usize).collect()
    };
    let sub = x.select_rows(&sample);
    let train = x.select_rows(&(0..n_train).collect::<Vec<_>>());
    let queries = x.select_rows(&(n_train..x.rows).collect::<Vec<_>>());
    let gt_count = GT_QUERIES.min(queries.rows);
    let gt = exact_ground_truth(&train, &queries, gt_count, 10)?;
    write_npy(&opts.out_dir.join("x.npy"), &x)?;
    write_npy_u32(&opts.out_dir.join("sample.npy"), &sample.iter().map(|&i| i as u32).collect::<Vec<_>>(), sample.len(), 1)?;
    write_npy_u32(&opts.out_dir.join("gt.npy"), &gt.iter().flatten().map(|&i| i as u32).collect::<Vec<_>>(), gt_count, 10)?;
    let meta = opts.out_dir.join("meta.json");
    std::fs::write(&meta, format!("{{\"n_train\": {n_train}}}")).map_err(|e| PretextError::io(&meta, e))?;
    println!("data: {} × {} (train {}, queries {}), exported to {}", x.rows, x.cols, n_train, queries.rows, opts.out_dir.display());

    // ndarray's matrixmultiply (linfa's PCA and LOBPCG) keeps a thread pool of its own, sized
    // from MATMUL_NUM_THREADS when it first multiplies: the same count as everything else.
    std::env::set_var("MATMUL_NUM_THREADS", opts.threads.max(1).to_string());
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads.max(1))
        .build()
        .map_err(|e| PretextError::InvalidConfig(format!("thread pool: {e}")))?;
    let mut report = Report { threads: opts.threads.max(1), repeat: opts.repeat.max(1), ..Report::default() };
    report.load.0 = load_average();
    pool.install(|| run_ours(opts, &x, &train, &queries, &gt, &sample, &sub, &mut report))?;

    if opts.peers {
        report.load.1 = load_average();
        match super::analysis_peers::run_peers(opts, &x) {
            Ok(figures) => report.peers = figures,
            Err(note) => report.peers_note = Some(note),
        }
    }
    print!("{}", super::analysis_peers::ratio_table(&report));
    Ok(report)
}

/// Our side of the benchmark, run inside the `--threads` pool.
#[allow(clippy::too_many_arguments)]
fn run_ours(opts: &BenchOptions, x: &Matrix, train: &Matrix, queries: &Matrix, gt: &[Vec<usize>], sample: &[usize], sub: &Matrix, report: &mut Report) -> Result<()> {
    let want = |p: &str| opts.parts.iter().any(|q| q == p);
    let gt_count = gt.len();
    let pca_init = pca_2d(x, UmapParams::default().seed);
    write_npy(&opts.out_dir.join("init_pca.npy"), &pca_init)?;
    let mut push = |f: Figure| {
        println!("  ours  {:<12} {:>8.2} s  {}", f.name, f.seconds, describe(&f));
        report.ours.push(f);
    };
    if want("tsne") {
        let t = Instant::now();
        let layout = tsne(x, &TsneParams::default(), |_, _| true)?;
        let seconds = t.elapsed().as_secs_f64();
        let trust = trustworthiness(sub, &layout.select_rows(sample), 10)?;
        push(Figure { name: "t-SNE".into(), seconds, quality: Some(trust), quality_name: "trust".into(), rate: None, cpu_seconds: None });
        write_npy(&opts.out_dir.join("ours_tsne.npy"), &layout)?;
    }
    if want("umap") {
        // Row 1: both sides start from the same PCA layout (init_pca.npy, given to umap-learn
        // as its `init` array), computed before either timer. Row 2: each side's own
        // spectral initialisation, inside the timer.
        let rows = [("UMAP (same PCA init)", LayoutInit::Given(pca_init.clone()), "umap_pca"), ("UMAP (spectral init)", LayoutInit::Spectral, "umap_spectral")];
        for (name, init, file) in rows {
            let t = Instant::now();
            let layout = umap(x, &UmapParams { init, ..UmapParams::default() }, |_, _| true)?;
            let seconds = t.elapsed().as_secs_f64();
            let trust = trustworthiness(sub, &layout.select_rows(sample), 10)?;
            push(Figure { name: name.into(), seconds, quality: Some(trust), quality_name: "trust".into(), rate: None, cpu_seconds: None });
            write_npy(&opts.out_dir.join(format!("ours_{file}.npy")), &layout)?;
        }
    }
    if want("hnsw") {
        let mut runs = Vec::new();
        for _ in 0..opts.repeat.max(1) {
            let (t, cpu) = (Instant::now(), process_cpu_secs());
            let index = NeighborIndex::build(train, Metric::Euclidean, IndexParams { exact_threshold: 0, ..IndexParams::default() })?;
            let build = t.elapsed().as_secs_f64();
            let cpu_seconds = process_cpu_secs().zip(cpu).map(|(b, a)| b - a);
            let t = Instant::now();
            let found = index.search_batch(queries, 10);
            let qps = queries.rows as f64 / t.elapsed().as_secs_f64();
            let recall = recall_at(&found[..gt_count], gt);
            runs.push(Figure { name: "HNSW".into(), seconds: build, quality: Some(recall), quality_name: "recall@10".into(), rate: Some(qps), cpu_seconds });
        }
        if let Some(best) = best_of(&runs) {
            push(best);
        }
    }
    let mut reduced = None;
    if want("pca") || want("kmeans") {
        let t = Instant::now();
        let model = PcaModel::fit(x, 50)?;
        let r = model.transform(x);
        let seconds = t.elapsed().as_secs_f64();
        if want("pca") {
            let explained = model.explained_variance_ratio().iter().map(|&v| v as f64).sum();
            push(Figure { name: "PCA-50".into(), seconds, quality: Some(explained), quality_name: "var".into(), rate: None, cpu_seconds: None });
            // linfa-reduction's LOBPCG on the same data, for the record (Auto picks the
            // covariance route for data this tall, as scikit-learn's auto solver does).
            let t = Instant::now();
            let linfa = PcaModel::fit_with(x, 50, PcaSolver::Lobpcg)?;
            linfa.transform(x);
            let seconds = t.elapsed().as_secs_f64();
            let explained = linfa.explained_variance_ratio().iter().map(|&v| v as f64).sum();
            push(Figure { name: "PCA-50 (LOBPCG)".into(), seconds, quality: Some(explained), quality_name: "var".into(), rate: None, cpu_seconds: None });
        }
        reduced = Some(r);
    }
    if let (true, Some(r)) = (want("kmeans"), reduced.as_ref()) {
        // Lloyd's iteration count swings with the seed (17–86 for scikit-learn on this data),
        // so both sides report the median time over the same seeds.
        let mut runs = Vec::new();
        for seed in 0..KMEANS_SEEDS {
            let t = Instant::now();
            let assignments = kmeans::fit(r, 10, seed)?;
            runs.push((t.elapsed().as_secs_f64(), kmeans::inertia(r, &assignments, 10)));
        }
        runs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (seconds, inertia) = runs[runs.len() / 2];
        push(Figure { name: "k-means".into(), seconds, quality: Some(inertia), quality_name: "inertia".into(), rate: None, cpu_seconds: None });
    }
    Ok(())
}

/// Best of repeated runs, as peers.py combines its own: lowest time, highest rate and lowest
/// CPU time, each over all runs, and the lowest quality (the parallel build is not
/// deterministic, so recall varies a little from run to run).
fn best_of(runs: &[Figure]) -> Option<Figure> {
    let mut best = runs.first()?.clone();
    for r in &runs[1..] {
        best.seconds = best.seconds.min(r.seconds);
        best.rate = best.rate.zip(r.rate).map(|(a, b)| a.max(b));
        best.cpu_seconds = best.cpu_seconds.zip(r.cpu_seconds).map(|(a, b)| a.min(b));
        best.quality = best.quality.zip(r.quality).map(|(a, b)| a.min(b));
    }
    Some(best)
}

fn describe(f: &Figure) -> String {
    let mut s = String::new();
    if let Some(q) = f.quality {
        s += &format!("{} {:.4}", f.quality_name, q);
    }
    if let Some(r) = f.rate {
        s += &format!("  {:.0} q/s", r);
    }
    if let Some(c) = f.cpu_seconds {
        s += &format!("  (build cpu {c:.2} s)");
    }
    s
}
