//! The encoder settings in the window: a backbone of the field started from a checkpoint,
//! "Embed only" writes a run from those weights without training and shows it on the map.

mod common;
mod gui_support;

use egui_kittest::kittest::Queryable;
use gui_support::{harness_on, step_until, tiny_settings};
use pretext::data::Modality;
use pretext::ssl::encoder::SslModel;
use pretext::ssl::{EncoderKind, TrainConfig};

#[test]
fn embed_only_shows_a_checkpoints_embedding_on_the_map() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let data = dir.path().join("idx");
    std::fs::create_dir_all(&data).expect("a folder");
    common::write_idx_set(&data, "train", 30, false);
    common::write_idx_set(&data, "t10k", 10, false);
    // A ResNet-18 (CIFAR stem) checkpoint in torchvision's names, made here.
    let modality = Modality::Image { channels: 1, height: 4, width: 3 };
    let cfg = TrainConfig { encoder: EncoderKind::Resnet18Cifar, seed: 11, ..TrainConfig::default() };
    let (weights, model) = SslModel::build(&modality, &cfg).expect("a model");
    let ckpt = dir.path().join("resnet18.safetensors");
    pretext::ssl::checkpoint::export_encoder(&weights, 0, &ckpt).expect("export");

    let mut h = harness_on(tiny_settings(), Some(data));
    step_until(&mut h, "the dataset to load", |a| a.data.is_some() && !a.busy());
    assert!(h.query_by_label("Start from…").is_some() && h.query_by_label("Backbone").is_some());
    assert!(h.query_all_by_label("Width").next().is_some(), "the small CNN's width is shown for it");
    // What the Backbone choice and the Start from… dialog set.
    let run = dir.path().join("embedded");
    {
        let app = h.state_mut();
        app.settings.train.encoder = EncoderKind::Resnet18Cifar;
        app.settings.train.init = Some(ckpt.clone());
        app.settings.run_dir = run.display().to_string();
    }
    h.step();
    h.step();
    assert!(h.query_all_by_label("Width").next().is_none(), "the ResNet has no width setting");
    h.get_by_label("Embed only").click();
    step_until(&mut h, "the embedded run to open", |a| a.training.trainer.is_some() && a.shell.status.starts_with("run opened") && !a.busy());
    assert!(run.join("embeddings.parquet").is_file());
    let app = h.state();
    assert!(app.shell.errors.is_empty(), "errors: {:?}", app.shell.errors);
    let space = app.space.as_ref().expect("an embedding on the map");
    assert_eq!(space.matrix.cols, 512);
    let data = app.data.as_ref().expect("data");
    // The map holds the checkpoint's embedding of each item.
    for (row, &item) in data.map_indices.iter().enumerate().take(5) {
        let want = pretext::ssl::evaluate::embed_items(&model, &data.dataset.global_item(item), modality.item_len()).expect("embed").data;
        let got = space.matrix.row(row);
        let diff = want.iter().zip(got).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(diff < 1e-5, "map row {row} (item {item}) differs by {diff}");
    }
}
