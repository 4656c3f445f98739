//! `cargo run --release --example train_bench [steps] [models]`: the training-throughput
//! benchmark without the CLI (models: comma-separated cnn-candle, cnn-pretext, mlp, default-image, default-table).

use pretext::bench::train::{run, BenchModel, TrainBenchOptions};

fn main() -> pretext::Result<()> {
    pretext::ssl::ops::init_cpu_threads();
    let mut opts = TrainBenchOptions::default();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(steps) = args.first().and_then(|s| s.parse().ok()) {
        opts.steps = steps;
    }
    if let Some(models) = args.get(1) {
        opts.models = BenchModel::ALL.into_iter().filter(|m| models.split(',').any(|k| k == m.key())).collect();
    }
    if std::env::var_os("NO_PEERS").is_some() {
        opts.peers = None;
    }
    println!("{}", run(&opts)?);
    Ok(())
}
