//! Embeds a float32 NPY of images (N × C·H·W, values in [0, 1]) with an encoder started
//! from a checkpoint, and writes the embeddings as NPY: pretext's side of
//! `bench/checkpoints.py`, which compares them with PyTorch's on the same inputs.
//!
//! `cargo run --release --example checkpoint_parity -- ENCODER INIT INPUTS.npy C H W OUT.npy [patch] [pool]`;
//! with `PRETEXT_PARITY_EXPORT=FILE` it also writes the loaded weights back out.
use std::path::PathBuf;

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    pretext::ssl::ops::init_cpu_runtime();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 7 {
        return Err("usage: checkpoint_parity ENCODER INIT INPUTS.npy C H W OUT.npy [patch] [pool]".into());
    }
    let encoder: pretext::ssl::EncoderKind = args[0].parse()?;
    let init = PathBuf::from(&args[1]);
    let inputs = pretext::export::read_npy_matrix(&PathBuf::from(&args[2]))?;
    let (channels, height, width): (usize, usize, usize) = (args[3].parse()?, args[4].parse()?, args[5].parse()?);
    let modality = pretext::data::Modality::Image { channels, height, width };
    let mut cfg = pretext::ssl::TrainConfig { encoder, ..pretext::ssl::TrainConfig::for_modality(&modality) };
    if let Some(p) = args.get(7) {
        cfg.patch_size = p.parse()?;
    }
    if let Some(p) = args.get(8) {
        cfg.token_pool = p.parse()?;
    }
    let (varmap, model) = pretext::ssl::encoder::SslModel::build(&modality, &cfg)?;
    let report = pretext::ssl::checkpoint::load_encoder(&varmap, &init)?;
    eprintln!("{}: {} tensors under '{}', {} left out", init.display(), report.loaded, report.prefix, report.ignored);
    let emb = pretext::ssl::evaluate::embed_items(&model, &inputs.data, inputs.cols)?;
    pretext::export::write_npy_matrix(&PathBuf::from(&args[6]), &emb)?;
    // The weights written back in the architecture's names, as `pretext export-weights` does.
    if let Some(out) = std::env::var_os("PRETEXT_PARITY_EXPORT") {
        pretext::ssl::checkpoint::export_encoder(&varmap, 7, &PathBuf::from(out))?;
    }
    Ok(())
}
