//! Embeds the lines of a text file with the BERT-family encoder started from a checkpoint
//! and writes the embeddings as NPY: pretext's side of `bench/checkpoints_bert.py`, which
//! compares them with transformers' (mean-pooled as sentence-transformers does).
//!
//! `cargo run --release --example bert_parity -- INIT TEXTS.txt OUT.npy [TEXT_MODEL_DIR]`;
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
    if args.len() < 3 {
        return Err("usage: bert_parity INIT TEXTS.txt OUT.npy [TEXT_MODEL_DIR]".into());
    }
    let init = PathBuf::from(&args[0]);
    let text = std::fs::read_to_string(&args[1])?;
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let max_len = pretext::data::text::DEFAULT_MAX_LEN;
    let modality = pretext::data::Modality::Text { max_len };
    let cfg = pretext::ssl::TrainConfig {
        encoder: pretext::ssl::EncoderKind::Bert,
        init: Some(init.clone()),
        text_model: args.get(3).map(PathBuf::from),
        ..pretext::ssl::TrainConfig::for_modality(&modality)
    };
    let (varmap, model) = pretext::ssl::encoder::SslModel::build(&modality, &cfg)?;
    let report = pretext::ssl::checkpoint::load_encoder(&varmap, &init)?;
    eprintln!("{}: {} tensors under '{}', {} left out", init.display(), report.loaded, report.prefix, report.ignored);
    let mut codes = vec![0f32; lines.len() * max_len];
    for (line, row) in lines.iter().zip(codes.chunks_mut(max_len)) {
        pretext::data::text::encode(line, row);
    }
    let emb = pretext::ssl::evaluate::embed_items(&model, &codes, max_len)?;
    pretext::export::write_npy_matrix(&PathBuf::from(&args[2]), &emb)?;
    if let Some(out) = std::env::var_os("PRETEXT_PARITY_EXPORT") {
        pretext::ssl::checkpoint::export_encoder(&varmap, 0, &PathBuf::from(out))?;
    }
    Ok(())
}
