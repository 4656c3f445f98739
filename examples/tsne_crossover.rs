//! Barnes-Hut against FFT repulsion on Fashion-MNIST subsets: seconds and trustworthiness,
//! to place `tsne::BH_MAX_POINTS`.
//! `cargo run --release --example tsne_crossover [-- DIR]` (default: the Debian package's path)
use std::time::Instant;

use pretext::analysis::quality::trustworthiness;
use pretext::analysis::tsne::{tsne, Repulsion, TsneParams};
use pretext::analysis::Matrix;
use pretext::data::load_dataset;

fn main() -> anyhow::Result<()> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "/usr/share/datasets/fashion-mnist".into());
    let ds = load_dataset(std::path::Path::new(&dir), &Default::default())?;
    let d = ds.item_len();
    for n in [2_000usize, 5_000, 10_000, 20_000].into_iter().filter(|&n| n <= ds.train.len) {
        let x = Matrix::new(ds.train.x[..n * d].to_vec(), n, d);
        let sample: Vec<usize> = (0..n.min(5_000)).collect();
        for repulsion in [Repulsion::BarnesHut { theta: 0.5 }, Repulsion::Fft] {
            let t = Instant::now();
            let layout = tsne(&x, &TsneParams { repulsion, ..TsneParams::default() }, |_, _| true)?;
            let seconds = t.elapsed().as_secs_f64();
            let trust = trustworthiness(&x.select_rows(&sample), &layout.select_rows(&sample), 10)?;
            println!("n {n:>6}  {repulsion:?}: {seconds:.2} s, trustworthiness {trust:.4}");
        }
    }
    Ok(())
}
