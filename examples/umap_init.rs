//! UMAP from PCA against spectral initialisation on Fashion-MNIST: seconds and
//! trustworthiness (k = 10, 5k subsample).
//! `cargo run --release --example umap_init [-- DIR [N]]`
use std::time::Instant;

use pretext::analysis::init::LayoutInit;
use pretext::analysis::quality::trustworthiness;
use pretext::analysis::umap::{umap, UmapParams};
use pretext::analysis::Matrix;
use pretext::data::load_dataset;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().unwrap_or_else(|| "/usr/share/datasets/fashion-mnist".into());
    let ds = load_dataset(std::path::Path::new(&dir), &Default::default())?;
    let d = ds.item_len();
    let mut data = ds.train.x.clone();
    data.extend_from_slice(&ds.test.x);
    let n = args.next().and_then(|v| v.parse().ok()).unwrap_or(data.len() / d).min(data.len() / d);
    let x = Matrix::new(data[..n * d].to_vec(), n, d);
    let step = (n / 5_000).max(1);
    let sample: Vec<usize> = (0..n).step_by(step).take(5_000).collect();
    for init in [LayoutInit::Spectral, LayoutInit::Pca] {
        let t = Instant::now();
        let layout = umap(&x, &UmapParams { init: init.clone(), ..UmapParams::default() }, |_, _| true)?;
        let seconds = t.elapsed().as_secs_f64();
        let trust = trustworthiness(&x.select_rows(&sample), &layout.select_rows(&sample), 10)?;
        println!("n {n}  {init:?}: {seconds:.2} s, trustworthiness {trust:.4}");
    }
    Ok(())
}
