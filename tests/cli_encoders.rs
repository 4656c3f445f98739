//! The field's encoders on the command line: train a ResNet on an IDX set resized at load,
//! write its weights in torchvision's names, embed with them without training, and refuse a
//! checkpoint that does not fit in one line.

use std::process::Command;

fn pretext(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pretext")).args(args).output().expect("run pretext");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn embeddings(run: &std::path::Path) -> pretext::analysis::Matrix {
    pretext::export::read_npy_matrix(&run.join("embeddings.npy")).expect("the run's embeddings")
}

#[test]
fn train_export_and_embed_a_resnet() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let data = dir.path().join("idx");
    std::fs::create_dir_all(&data).expect("a folder");
    common::write_idx_set(&data, "train", 24, false);
    common::write_idx_set(&data, "t10k", 8, false);
    let data = data.to_str().expect("a path");
    let run = dir.path().join("run");
    let common_args = ["--data", data, "--image-size", "12", "--encoder", "resnet18-cifar"];
    let mut args = vec!["train", "--epochs", "2", "--batch", "8", "--out", run.to_str().expect("a path")];
    args.extend(common_args);
    let (ok, _, err) = pretext(&args);
    assert!(ok, "{err}");
    assert!(err.contains("ResNet-18, CIFAR stem"), "{err}");
    let config: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(run.join("config.json")).expect("config")).expect("json");
    assert_eq!(config["train"]["encoder"], "resnet18-cifar");
    assert_eq!(config["dataset"]["modality"]["Image"]["width"], 12, "4×3 images resized to 12 px at load: {}", config["dataset"]);
    let steps = config["step"].as_i64().expect("a step count");
    assert!(steps > 0);

    // Out in torchvision's names, with BatchNorm's counters.
    let weights = dir.path().join("resnet18.safetensors");
    let (ok, _, err) = pretext(&["export-weights", run.to_str().expect("a path"), "--out", weights.to_str().expect("a path")]);
    assert!(ok, "{err}");
    let tensors = candle_core::safetensors::load(&weights, &candle_core::Device::Cpu).expect("safetensors");
    assert_eq!(tensors["conv1.weight"].dims(), &[64, 3, 3, 3]);
    assert_eq!(tensors["layer4.1.bn2.running_var"].dims(), &[512]);
    let counter = tensors["layer2.0.downsample.1.num_batches_tracked"].to_scalar::<i64>().expect("an i64 counter");
    assert_eq!(counter, steps);
    assert!(!tensors.keys().any(|k| k.starts_with("encoder.") || k.starts_with("head.")), "only the backbone, in its own names");

    // Back in without training: from the exported file and from the run folder alike.
    let from_file = dir.path().join("embedded-file");
    let from_run = dir.path().join("embedded-run");
    for (init, out) in [(weights.to_str().expect("a path"), &from_file), (run.to_str().expect("a path"), &from_run)] {
        let mut args = vec!["embed", "--init", init, "--out", out.to_str().expect("a path")];
        args.extend(common_args);
        let (ok, _, err) = pretext(&args);
        assert!(ok, "{err}");
        assert!(out.join("embeddings.parquet").is_file() && out.join("evaluation.json").is_file());
    }
    let (a, b) = (embeddings(&from_file), embeddings(&from_run));
    assert_eq!((a.rows, a.cols), (32, 512));
    assert_eq!(a.data, b.data, "the exported weights are the run's weights");
    let (ok, _, err) = pretext(&["eval", "--run", from_file.to_str().expect("a path")]);
    assert!(ok, "an embedded run opens like a trained one: {err}");

    // A ResNet-18 checkpoint into the small CNN: one line naming what does not fit.
    let (ok, _, err) = pretext(&["embed", "--data", data, "--image-size", "12", "--init", weights.to_str().expect("a path"), "--out", dir.path().join("bad").to_str().expect("a path")]);
    assert!(!ok);
    let last = err.trim().lines().last().unwrap_or_default();
    assert!(last.contains("not a checkpoint of this encoder") && last.contains("missing ("), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn an_encoder_for_other_data_is_refused() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let csv = dir.path().join("t.csv");
    std::fs::write(&csv, "a,b\n1,2\n3,4\n5,6\n7,8\n9,10\n").expect("a table");
    let (ok, _, err) = pretext(&["train", "--data", csv.to_str().expect("a path"), "--encoder", "vit-tiny", "--out", dir.path().join("r").to_str().expect("a path")]);
    assert!(!ok);
    assert!(err.contains("the vit-tiny encoder reads images"), "{err}");
}

mod common;
