//! The fused conv ops against their candle-ops paths (what a GPU runs), forward and
//! gradients, on small shapes.

use candle_core::{Device, Tensor, Var};
use candle_nn::BatchNorm;

use crate::ssl::cpu::{reference_ops_agree, with_reference_ops};

/// A deterministic, non-repeating variable (no ties for max-pool to break differently).
fn var(dims: &[usize], seed: f32) -> Var {
    let n: usize = dims.iter().product();
    let v: Vec<f32> = (0..n).map(|i| ((i as f32 * 0.618 + seed) * 12.9898).sin() * 0.8 + (i as f32) * 1e-4).collect();
    Var::from_vec(v, dims, &Device::Cpu).expect("a variable")
}

/// A BatchNorm over `c` channels with the given affine parameters and its own running stats.
fn batch_norm(gamma: &Var, beta: &Var) -> BatchNorm {
    let c = gamma.elem_count();
    let mean = Tensor::from_vec((0..c).map(|i| 0.1 * i as f32).collect::<Vec<_>>(), c, &Device::Cpu).expect("mean");
    let var = Tensor::from_vec((0..c).map(|i| 1.0 + 0.2 * i as f32).collect::<Vec<_>>(), c, &Device::Cpu).expect("var");
    BatchNorm::new_with_momentum(c, mean, var, gamma.as_tensor().clone(), beta.as_tensor().clone(), 1e-5, 0.1).expect("a batch norm")
}

fn values(t: &Tensor) -> Vec<f32> {
    t.flatten_all().and_then(|t| t.to_vec1()).expect("values")
}

#[test]
fn conv2d_matches_candle_conv2d() {
    // Strided only on a square input: candle's own conv2d backward fails on some non-square
    // strided ones (the encoder's convolutions have stride 1).
    for (dims, padding, stride) in [([2, 3, 7, 6], 1, 1), ([2, 3, 7, 7], 0, 2)] {
        let (x, w) = (var(&dims, 0.1), var(&[4, 3, 3, 3], 0.7));
        let run = || super::conv2d(x.as_tensor(), w.as_tensor(), padding, stride);
        let (fused, reference) = (run().expect("fused"), with_reference_ops(run).expect("reference"));
        reference_ops_agree(&fused, &reference, &[&x, &w], 1e-4);
    }
}

#[test]
fn max_pool_matches_candle_pooling_on_sizes_with_a_remainder() {
    // 7×5 by 2: the last row and column fill no window.
    let x = var(&[2, 3, 7, 5], 0.3);
    let run = || super::max_pool2d(x.as_tensor(), 2);
    let (fused, reference) = (run().expect("fused"), with_reference_ops(run).expect("reference"));
    assert_eq!(fused.dims(), &[2, 3, 3, 2]);
    reference_ops_agree(&fused, &reference, &[&x], 1e-6);
}

#[test]
fn conv_bn_relu_pool_in_training_matches_candle_ops_and_running_stats() {
    let (x, w) = (var(&[3, 2, 7, 7], 0.2), var(&[4, 2, 3, 3], 0.9));
    let (gamma, beta) = (var(&[4], 1.3), var(&[4], 2.1));
    let (bn_fused, bn_ref) = (batch_norm(&gamma, &beta), batch_norm(&gamma, &beta));
    let fused = super::conv_bn_relu_pool(x.as_tensor(), w.as_tensor(), &bn_fused, true, 1, 2).expect("fused");
    let reference = with_reference_ops(|| super::conv_bn_relu_pool(x.as_tensor(), w.as_tensor(), &bn_ref, true, 1, 2)).expect("reference");
    reference_ops_agree(&fused, &reference, &[&x, &w, &gamma, &beta], 1e-4);
    for (a, b) in [(bn_fused.running_mean(), bn_ref.running_mean()), (bn_fused.running_var(), bn_ref.running_var())] {
        let (a, b) = (values(a), values(b));
        assert!(a.iter().zip(&b).all(|(p, q)| (p - q).abs() < 1e-5), "running statistics differ: {a:?} vs {b:?}");
    }
    assert_ne!(values(bn_fused.running_mean()), values(batch_norm(&gamma, &beta).running_mean()), "the statistics did not move");
}

#[test]
fn conv_bn_relu_pool_in_eval_mode_matches_candle_ops() {
    // Eval mode folds the BatchNorm into the conv (fused) or applies it as a layer (candle).
    let (x, w) = (var(&[2, 2, 6, 6], 0.4), var(&[3, 2, 3, 3], 0.5));
    let (gamma, beta) = (var(&[3], 1.1), var(&[3], 0.6));
    let bn = batch_norm(&gamma, &beta);
    let run = || super::conv_bn_relu_pool(x.as_tensor(), w.as_tensor(), &bn, false, 1, 2);
    let (fused, reference) = (run().expect("fused"), with_reference_ops(run).expect("reference"));
    reference_ops_agree(&fused, &reference, &[&x, &w, &gamma, &beta], 1e-4);
}

#[test]
fn conv_bias_relu_pool_matches_candle_ops() {
    let (x, w, bias) = (var(&[2, 3, 5, 5], 0.8), var(&[4, 3, 3, 3], 0.15), var(&[4], 0.45));
    let run = || super::conv_bias_relu_pool(x.as_tensor(), w.as_tensor(), bias.as_tensor(), 1, 2);
    let (fused, reference) = (run().expect("fused"), with_reference_ops(run).expect("reference"));
    reference_ops_agree(&fused, &reference, &[&x, &w, &bias], 1e-4);
}
