//! The field's encoders and their checkpoints: weights written in the architecture's own
//! names load back into a fresh encoder and give the same embeddings, from a bare state
//! dict or under the prefixes lightly, solo-learn and Lightning use; a checkpoint of
//! another architecture is refused in one line naming what does not fit; frozen stages do
//! not move in training.

use std::collections::HashMap;

use candle_core::{Device, Tensor};
use pretext::data::Modality;
use pretext::ssl::checkpoint::{encoder_tensors, export_encoder, load_encoder};
use pretext::ssl::encoder::SslModel;
use pretext::ssl::{EncoderKind, TokenPool, TrainConfig};

fn config(encoder: EncoderKind, seed: u64) -> TrainConfig {
    TrainConfig { encoder, seed, batch_size: 4, ..TrainConfig::default() }
}

fn images(n: usize, modality: &Modality, seed: u64) -> Vec<f32> {
    let len = modality.item_len();
    (0..n * len).map(|i| (((i as u64 * 2654435761 + seed * 97) % 1000) as f32) / 1000.0).collect()
}

fn embed(model: &SslModel, x: &[f32], modality: &Modality) -> Vec<f32> {
    pretext::ssl::evaluate::embed_items(model, x, modality.item_len()).expect("embedding").data
}

fn max_rel(a: &[f32], b: &[f32]) -> f32 {
    let scale = b.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-12);
    a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs())) / scale
}

/// Writes `tensors` as safetensors, each name with `prefix` in front, plus `extra`.
fn write_with_prefix(path: &std::path::Path, tensors: &std::collections::BTreeMap<String, Tensor>, prefix: &str, extra: &[(&str, Tensor)]) {
    let mut out: HashMap<String, Tensor> = tensors.iter().map(|(k, v)| (format!("{prefix}{k}"), v.clone())).collect();
    for (k, v) in extra {
        out.insert(k.to_string(), v.clone());
    }
    candle_core::safetensors::save(&out, path).expect("writing the fixture");
}

#[test]
fn exported_weights_load_back_under_every_prefix() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let cases = [
        (EncoderKind::Resnet18Cifar, Modality::Image { channels: 1, height: 12, width: 12 }),
        (EncoderKind::Resnet18, Modality::Image { channels: 3, height: 32, width: 32 }),
        (EncoderKind::VitTiny, Modality::Image { channels: 3, height: 16, width: 16 }),
    ];
    for (kind, modality) in cases {
        let (source_vars, source) = SslModel::build(&modality, &config(kind, 1)).expect("a model");
        let x = images(3, &modality, 5);
        let want = embed(&source, &x, &modality);
        let names = encoder_tensors(&source_vars, 3).expect("the encoder's tensors");
        // torchvision's names, BatchNorm counters beside the running statistics.
        if kind.resnet().is_some() {
            for name in ["conv1.weight", "bn1.running_var", "bn1.num_batches_tracked", "layer2.0.downsample.0.weight", "layer4.1.bn2.bias"] {
                assert!(names.contains_key(name), "{kind}: no {name} in {:?}", names.keys().take(8).collect::<Vec<_>>());
            }
        } else {
            for name in ["patch_embed.proj.weight", "cls_token", "pos_embed", "blocks.11.attn.qkv.weight", "norm.weight"] {
                assert!(names.contains_key(name), "{kind}: no {name}");
            }
        }
        let head = Tensor::zeros((10, 5), candle_core::DType::F32, &Device::Cpu).expect("a tensor");
        for (prefix, extra) in [("", vec![("fc.weight", head.clone())]), ("backbone.", vec![("projection_head.layers.0.weight", head.clone())]), ("module.", vec![])] {
            let path = dir.path().join(format!("{}-{}.safetensors", kind.key(), prefix.trim_end_matches('.')));
            write_with_prefix(&path, &names, prefix, &extra);
            let (vars, fresh) = SslModel::build(&modality, &config(kind, 2)).expect("a model");
            assert!(max_rel(&embed(&fresh, &x, &modality), &want) > 1e-3, "{kind}: a differently seeded model should differ");
            let report = load_encoder(&vars, &path).expect("the checkpoint loads");
            assert_eq!(report.prefix, prefix);
            let got = embed(&fresh, &x, &modality);
            assert!(max_rel(&got, &want) < 1e-6, "{kind} under '{prefix}': {}", max_rel(&got, &want));
        }
    }
}

#[test]
fn a_checkpoint_of_another_architecture_is_refused_in_one_line() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let small = Modality::Image { channels: 3, height: 16, width: 16 };
    let (imagenet, _) = SslModel::build(&small, &config(EncoderKind::Resnet18, 1)).expect("a model");
    let path = dir.path().join("resnet18.safetensors");
    export_encoder(&imagenet, 0, &path).expect("export");
    // The ImageNet stem's 7×7 conv into the CIFAR stem's 3×3.
    let (cifar, _) = SslModel::build(&small, &config(EncoderKind::Resnet18Cifar, 1)).expect("a model");
    let err = load_encoder(&cifar, &path).expect_err("a mis-shaped stem").to_string();
    assert!(err.contains("1 mis-shaped (conv1.weight [64, 3, 7, 7]"), "{err}");
    assert!(!err.contains('\n'), "one line: {err}");
    // ResNet-18's basic blocks into ResNet-50's bottlenecks: missing and unexpected tensors.
    let (r50, _) = SslModel::build(&small, &config(EncoderKind::Resnet50, 1)).expect("a model");
    let err = load_encoder(&r50, &path).expect_err("another depth").to_string();
    assert!(err.contains("missing (") && err.contains("mis-shaped ("), "{err}");
    // Not a weights file at all.
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "hello").expect("a file");
    let err = load_encoder(&cifar, &text).expect_err("not weights").to_string();
    assert!(err.contains("unknown weights format"), "{err}");
}

#[test]
fn vit_mean_pooling_uses_timms_fc_norm() {
    let modality = Modality::Image { channels: 3, height: 16, width: 16 };
    let cfg = TrainConfig { token_pool: TokenPool::Mean, ..config(EncoderKind::VitTiny, 1) };
    let (vars, model) = SslModel::build(&modality, &cfg).expect("a model");
    let names = encoder_tensors(&vars, 0).expect("tensors");
    assert!(names.contains_key("fc_norm.weight") && !names.contains_key("norm.weight"));
    assert_eq!(model.embed_dim, 192);
    // Patch 4 at 16 px: 16 patches and the class token.
    assert_eq!(names["pos_embed"].dims(), &[1, 17, 192]);
}

#[test]
fn frozen_stages_keep_their_weights_while_the_rest_trains() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let ds = std::sync::Arc::new(pretext::data::synthetic::shapes_dataset(4, 12, 3));
    let modality = ds.modality.clone();
    let (start, _) = SslModel::build(&modality, &config(EncoderKind::Resnet18Cifar, 9)).expect("a model");
    let init = dir.path().join("start.safetensors");
    export_encoder(&start, 0, &init).expect("export");
    let before = encoder_tensors(&start, 0).expect("tensors");
    let cfg = TrainConfig { init: Some(init), freeze: 2, epochs: 1.0, eval_every: 1000, map_items: 16, ..config(EncoderKind::Resnet18Cifar, 4) };
    let trainer = pretext::ssl::Trainer::spawn(ds, cfg, None).expect("a trainer");
    trainer.send(pretext::ssl::TrainCommand::Start);
    let events = common::collect_until_finished(&trainer);
    assert!(!common::losses(&events).is_empty(), "no step trained: {events:?}");
    let run = dir.path().join("run");
    trainer.send(pretext::ssl::TrainCommand::Save(run.clone()));
    while !matches!(trainer.recv_timeout(std::time::Duration::from_secs(120)), Some(pretext::ssl::TrainEvent::Saved(_)) | None) {}
    drop(trainer);
    let (after_vars, _) = SslModel::build(&modality, &config(EncoderKind::Resnet18Cifar, 0)).expect("a model");
    load_encoder(&after_vars, &run).expect("the run's weights");
    let after = encoder_tensors(&after_vars, 0).expect("tensors");
    let moved = |name: &str| max_rel(&common::flat(&after[name]), &common::flat(&before[name])) > 0.0;
    // Stem and layer1 frozen (their weights; BatchNorm statistics still follow the data).
    for name in ["conv1.weight", "bn1.weight", "layer1.0.conv1.weight", "layer1.1.bn2.bias"] {
        assert!(!moved(name), "{name} moved although frozen");
    }
    for name in ["layer2.0.conv1.weight", "layer4.1.conv2.weight"] {
        assert!(moved(name), "{name} did not train");
    }
}

/// Every weight of the field's image encoders gets a gradient while training (a fused op
/// without a backward pass would cut the layers beneath it off), and the training-time
/// LayerNorm computes what the eval one does.
#[test]
fn every_encoder_weight_gets_a_gradient_and_training_norms_match_eval() {
    let modality = Modality::Image { channels: 3, height: 8, width: 8 };
    for (encoder, pool) in [(EncoderKind::VitTiny, TokenPool::Cls), (EncoderKind::VitTiny, TokenPool::Mean), (EncoderKind::Resnet18Cifar, TokenPool::Cls)] {
        let cfg = TrainConfig { token_pool: pool, ..config(encoder, 3) };
        let (varmap, model) = SslModel::build(&modality, &cfg).expect("a model");
        let x = Tensor::from_vec(images(4, &modality, 1), (4, modality.item_len()), &Device::Cpu).expect("inputs");
        let trained = model.embed(&x, true).expect("forward");
        let grads = trained.sqr().and_then(|t| t.sum_all()).and_then(|l| l.backward()).expect("backward");
        let data = varmap.data().lock().expect("weights");
        let cut_off: Vec<&String> = data
            .iter()
            .filter(|(name, _)| name.starts_with("encoder.") && !name.contains("running_"))
            .filter(|(_, var)| grads.get(var.as_tensor()).is_none_or(|g| common::flat(g).iter().all(|v| *v == 0.0)))
            .map(|(name, _)| name)
            .collect();
        assert!(cut_off.is_empty(), "{encoder} {pool:?}: no gradient reaches {cut_off:?}");
        if encoder.vit().is_some() {
            let eval = model.embed(&x, false).expect("eval forward");
            let err = max_rel(&common::flat(&trained), &common::flat(&eval));
            assert!(err < 1e-5, "{encoder} {pool:?}: training-time LayerNorm differs from eval by {err}");
        }
    }
}

mod common;
