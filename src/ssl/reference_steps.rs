//! Whole training steps on the candle-ops path (the one a GPU runs) against the fused CPU
//! path: model, objective (teacher and queue included) and optimiser together, on tiny
//! models, so the off-CPU path is exercised end to end on a machine without a GPU.

use candle_core::{Tensor, Var};
use candle_nn::Optimizer;

use crate::data::Modality;
use crate::ssl::config::{ObjectiveKind, TrainConfig};
use crate::ssl::cpu::with_reference_ops;
use crate::ssl::encoder::SslModel;
use crate::ssl::objective::{build_objective, Batch};
use crate::ssl::optim::AdamW;

/// (loss of step 1, every gradient of step 1 by parameter name, loss of step 2).
fn two_steps(modality: &Modality, cfg: &TrainConfig, batch: &Batch) -> (f32, Vec<(String, Vec<f32>)>, f32) {
    let (varmap, model) = SslModel::build(modality, cfg).expect("a model");
    let objective = build_objective(cfg, modality, &varmap).expect("an objective");
    let params = candle_nn::ParamsAdamW { lr: cfg.learning_rate, weight_decay: cfg.weight_decay, ..Default::default() };
    let mut opt = AdamW::new(varmap.all_vars(), params).expect("an optimiser");
    let loss = objective.loss(&model, batch, model.device()).expect("a loss");
    let grads = loss.backward().expect("gradients");
    let mut named: Vec<(String, Var)> = varmap.data().lock().expect("weights").iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    let values = |t: &Tensor| t.flatten_all().and_then(|t| t.to_vec1::<f32>()).expect("values");
    let gradients = named.iter().filter_map(|(k, v)| grads.get(v.as_tensor()).map(|g| (k.clone(), values(g)))).collect();
    opt.step(&grads).expect("a step");
    objective.after_step(&varmap, 0.1).expect("the teacher update");
    let second = objective.loss(&model, batch, model.device()).expect("a loss");
    let scalar = |t: &Tensor| t.to_scalar::<f32>().expect("a scalar");
    (scalar(&loss), gradients, scalar(&second))
}

fn assert_paths_agree(modality: Modality, cfg: TrainConfig, batch: Batch) {
    let (loss, grads, second) = two_steps(&modality, &cfg, &batch);
    let (ref_loss, ref_grads, ref_second) = with_reference_ops(|| two_steps(&modality, &cfg, &batch));
    let what = format!("{:?} on {}", cfg.objective, modality.describe());
    assert!((loss - ref_loss).abs() <= 1e-4 * ref_loss.abs().max(1.0), "{what}: loss {loss} vs {ref_loss}");
    assert_eq!(grads.len(), ref_grads.len(), "{what}: different parameters got gradients");
    assert!(!grads.is_empty(), "{what}: no gradients");
    // A bias right before a BatchNorm has a zero gradient in exact arithmetic (the
    // normalisation removes it): both paths give rounding noise there, so each parameter's
    // scale is at least a tenth of the largest gradient of the model.
    let largest = ref_grads.iter().flat_map(|(_, g)| g.iter()).fold(0f32, |m, v| m.max(v.abs()));
    for ((name, a), (_, b)) in grads.iter().zip(&ref_grads) {
        let scale = b.iter().fold(0.1 * largest, |m, v| m.max(v.abs()));
        let diff = a.iter().zip(b).map(|(p, q)| (p - q).abs()).fold(0f32, f32::max);
        assert!(diff <= 1e-3 * scale, "{what}: gradient of {name} differs by {diff} (scale {scale})");
    }
    assert!((second - ref_second).abs() <= 1e-3 * ref_second.abs().max(1.0), "{what}: second loss {second} vs {ref_second}");
    assert_ne!(loss, second, "{what}: the step changed nothing");
}

/// `views` deterministic views of `n` items of `len` values in [0, 1).
fn batch(n: usize, len: usize, views: usize) -> Batch {
    let view = |v: usize| (0..n * len).map(|i| ((i * 7 + v * 13) as f32 * 0.618).sin() * 0.5 + 0.5).collect();
    Batch { n, views: (0..views).map(view).collect(), target: None, mask: None }
}

fn config(modality: &Modality, objective: ObjectiveKind) -> TrainConfig {
    TrainConfig { objective, width: 4, embed_dim: 8, proj_dim: 8, ..TrainConfig::for_modality(modality) }
}

#[test]
fn a_cnn_simclr_step_on_candle_ops_matches_the_fused_step() {
    let modality = Modality::Image { channels: 1, height: 12, width: 12 };
    assert_paths_agree(modality.clone(), config(&modality, ObjectiveKind::Simclr), batch(6, 144, 2));
}

#[test]
fn an_mlp_moco_step_on_candle_ops_matches_the_fused_step() {
    let modality = Modality::Table { columns: (0..5).map(|i| format!("c{i}")).collect() };
    let mut cfg = config(&modality, ObjectiveKind::Moco);
    cfg.objective_params.queue_size = 16;
    assert_paths_agree(modality, cfg, batch(8, 5, 2));
}

#[test]
fn a_text_bag_step_on_candle_ops_matches_the_fused_step() {
    let modality = Modality::Text { max_len: 24 };
    let cfg = TrainConfig { width: 1, ..config(&modality, ObjectiveKind::Simclr) };
    // Byte codes (byte + 1) of short lower-case words separated by spaces.
    let codes = |v: usize| -> Vec<f32> {
        (0..4 * 24).map(|i| if (i + v) % 5 == 4 { 33.0 } else { (98 + (i * 3 + v) % 20) as f32 }).collect()
    };
    let batch = Batch { n: 4, views: vec![codes(0), codes(1)], target: None, mask: None };
    assert_paths_agree(modality, cfg, batch);
}
