//! Writes a colour image folder in which colour carries no class information: a greyscale set
//! (default: the bundled Fashion-MNIST sample) with every image tinted by a random ink colour
//! on a random paper colour (`synthetic::colourise`), as `OUT/<class>/<n>.png`.
//!
//! `cargo run --release --example colour_folder -- OUT [SOURCE] [ITEMS]`, then e.g.
//! `pretext baseline --data OUT` and `pretext train --data OUT --minutes 4 --out RUN`.

use std::path::PathBuf;

use anyhow::{bail, Context};
use pretext::data::synthetic::colourise;
use pretext::data::{load_dataset, LoadOptions, Modality};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(out) = args.first().map(PathBuf::from) else {
        bail!("usage: colour_folder OUT [SOURCE] [ITEMS]");
    };
    let source = args.get(1).map_or_else(|| PathBuf::from("sample_data/fashion-mnist"), PathBuf::from);
    let limit: usize = args.get(2).map(|s| s.parse()).transpose().context("ITEMS must be a number")?.unwrap_or(usize::MAX);
    let grey = load_dataset(&source, &LoadOptions::default())?;
    let ds = colourise(&grey, 17);
    let Modality::Image { channels: 3, height, width } = ds.modality else {
        bail!("{} is not a greyscale image set", source.display());
    };
    let plane = height * width;
    let n = ds.len().min(limit);
    for i in 0..n {
        let class = ds.global_label(i).map_or_else(|| "unlabelled".to_string(), |l| ds.class_name(l).replace('/', "-"));
        let dir = out.join(&class);
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let item = ds.global_item(i);
        let mut rgb = Vec::with_capacity(3 * plane);
        for p in 0..plane {
            rgb.extend((0..3).map(|c| (item[c * plane + p] * 255.0).round().clamp(0.0, 255.0) as u8));
        }
        let path = dir.join(format!("{i:05}.png"));
        image::save_buffer(&path, &rgb, width as u32, height as u32, image::ColorType::Rgb8)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    println!("wrote {n} colour images ({width}×{height}) to {}", out.display());
    Ok(())
}
