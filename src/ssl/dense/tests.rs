//! The fused dense ops against their candle-ops paths (what a GPU runs), forward and
//! gradients, on small shapes.

use candle_core::{Device, Tensor, Var};
use candle_nn::{BatchNorm, Linear};

use crate::ssl::cpu::{reference_ops_agree, with_reference_ops};

fn var(dims: &[usize], seed: f32) -> Var {
    let n: usize = dims.iter().product();
    let v: Vec<f32> = (0..n).map(|i| ((i as f32 * 0.618 + seed) * 12.9898).sin()).collect();
    Var::from_vec(v, dims, &Device::Cpu).expect("a variable")
}

#[test]
fn linear_matches_candle_ops_with_and_without_relu() {
    let (x, w, b) = (var(&[19, 6], 0.1), var(&[5, 6], 0.4), var(&[5], 0.9));
    let layer = Linear::new(w.as_tensor().clone(), Some(b.as_tensor().clone()));
    for relu in [false, true] {
        let run = || super::linear(x.as_tensor(), &layer, relu);
        let (fused, reference) = (run().expect("fused"), with_reference_ops(run).expect("reference"));
        reference_ops_agree(&fused, &reference, &[&x, &w, &b], 1e-5);
    }
}

#[test]
fn batch_norm_relu_matches_candle_ops_and_running_stats() {
    let (z, gamma, beta) = (var(&[23, 7], 0.3), var(&[7], 1.7), var(&[7], 0.2));
    let make = || {
        let (mean, var) = (Tensor::zeros(7, candle_core::DType::F32, &Device::Cpu), Tensor::ones(7, candle_core::DType::F32, &Device::Cpu));
        BatchNorm::new_with_momentum(7, mean.expect("mean"), var.expect("var"), gamma.as_tensor().clone(), beta.as_tensor().clone(), 1e-5, 0.1)
            .expect("a batch norm")
    };
    for train in [true, false] {
        let (bn_fused, bn_ref) = (make(), make());
        let fused = super::batch_norm_relu(z.as_tensor(), &bn_fused, train).expect("fused");
        let reference = with_reference_ops(|| super::batch_norm_relu(z.as_tensor(), &bn_ref, train)).expect("reference");
        reference_ops_agree(&fused, &reference, &[&z, &gamma, &beta], 1e-4);
        let stats = |bn: &BatchNorm| -> Vec<f32> {
            [bn.running_mean(), bn.running_var()].iter().flat_map(|t| t.to_vec1::<f32>().expect("stats")).collect()
        };
        let (a, b) = (stats(&bn_fused), stats(&bn_ref));
        assert!(a.iter().zip(&b).all(|(p, q)| (p - q).abs() < 1e-5), "running statistics differ (train {train}): {a:?} vs {b:?}");
    }
}
