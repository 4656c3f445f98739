//! Runs the analysis benchmark until `pretext bench analysis` is wired into the CLI:
//! `cargo run --release --example bench_analysis -- [--limit N] [--parts tsne,umap,...] [--no-peers] [--out DIR]`

fn main() {
    let mut opts = pretext::bench::analysis::BenchOptions::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--limit" => opts.limit = args.next().and_then(|v| v.parse().ok()),
            "--parts" => opts.parts = args.next().unwrap_or_default().split(',').map(String::from).collect(),
            "--no-peers" => opts.peers = false,
            "--out" => opts.out_dir = args.next().unwrap_or_default().into(),
            "--data" => opts.data_dir = args.next().unwrap_or_default().into(),
            other => {
                eprintln!("unknown argument {other}");
                std::process::exit(2);
            }
        }
    }
    if let Err(e) = pretext::bench::analysis::run(&opts) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
