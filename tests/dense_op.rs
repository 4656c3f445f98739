//! The fused linear (+ bias, + ReLU) and BatchNorm + ReLU ops against candle's reference
//! ops (forward values, every gradient, BatchNorm's running statistics) across odd sizes,
//! plus finite-difference checks that do not trust candle at all.

use candle_core::{DType, Device, Module, ModuleT, Tensor, Var};
use candle_nn::{BatchNorm, Linear, VarBuilder, VarMap};
use pretext::ssl::dense;

mod common;
use common::{assert_matches_finite_differences, flat, randn, rel_err};

/// Output and gradients (x, w, b) of `sum(layer(x) * probe)`, fused or with candle's ops.
fn linear_case(x: &Tensor, w: &Tensor, b: &Tensor, relu: bool, fused: bool, probe: &Tensor) -> [Vec<f32>; 4] {
    let (xv, wv, bv) = (Var::from_tensor(x).unwrap(), Var::from_tensor(w).unwrap(), Var::from_tensor(b).unwrap());
    let layer = Linear::new(wv.as_tensor().clone(), Some(bv.as_tensor().clone()));
    let y = if fused {
        dense::linear(xv.as_tensor(), &layer, relu).unwrap()
    } else {
        let y = xv.as_tensor().matmul(&wv.as_tensor().t().unwrap()).unwrap().broadcast_add(bv.as_tensor()).unwrap();
        if relu { y.relu().unwrap() } else { y }
    };
    let g = (&y * probe).unwrap().sum_all().unwrap().backward().unwrap();
    [flat(&y), flat(g.get(xv.as_tensor()).unwrap()), flat(g.get(wv.as_tensor()).unwrap()), flat(g.get(bv.as_tensor()).unwrap())]
}

#[test]
fn linear_forward_and_gradients_match_candle() {
    let mut cases = 0;
    // Odd sizes, single rows and columns, and sizes that split into several row blocks.
    for &n in &[1, 3, 17, 70, 300] {
        for &(k, o) in &[(1, 1), (5, 7), (33, 1), (64, 40), (130, 257)] {
            for relu in [false, true] {
                let seed = (n * 1000 + k * 10 + o) as u64;
                let (x, w, b) = (randn(&[n, k], seed), randn(&[o, k], seed + 1), randn(&[o], seed + 2));
                let probe = randn(&[n, o], seed + 3);
                let fused = linear_case(&x, &w, &b, relu, true, &probe);
                let reference = linear_case(&x, &w, &b, relu, false, &probe);
                for ((a, r), name) in fused.iter().zip(&reference).zip(["output", "x grad", "w grad", "bias grad"]) {
                    let e = rel_err(a, r);
                    assert!(e <= 2e-6, "{name} n{n} k{k} o{o} relu {relu}: {e}");
                }
                cases += 1;
            }
        }
    }
    assert_eq!(cases, 50);
}

#[test]
fn linear_gradients_match_finite_differences() {
    let (n, k, o) = (4, 3, 5);
    let (x, w, b, probe) = (randn(&[n, k], 1), randn(&[o, k], 2), randn(&[o], 3), randn(&[n, o], 4));
    for relu in [false, true] {
        let [_, gx, gw, gb] = linear_case(&x, &w, &b, relu, true, &probe);
        // loss(x, w, b) = Σ y·probe, in f64 from the op's own f32 output.
        let loss = |x: &[f32], w: &[f32], b: &[f32]| -> f64 {
            let t = |v: &[f32], s: &[usize]| Tensor::from_slice(v, s, &Device::Cpu).unwrap();
            let layer = Linear::new(t(w, &[o, k]), Some(t(b, &[o])));
            let y = flat(&dense::linear(&t(x, &[n, k]), &layer, relu).unwrap());
            y.iter().zip(flat(&probe)).map(|(a, p)| *a as f64 * p as f64).sum()
        };
        let (xs, ws, bs) = (flat(&x), flat(&w), flat(&b));
        let check = |name: &str, base: &[f32], grad: &[f32], at: &dyn Fn(&[f32]) -> f64| {
            assert_matches_finite_differences(&format!("{name} (relu {relu})"), base, grad, 1e-2, 1e-3, at)
        };
        check("x", &xs, &gx, &|v| loss(v, &ws, &bs));
        check("w", &ws, &gw, &|v| loss(&xs, v, &bs));
        check("b", &bs, &gb, &|v| loss(&xs, &ws, v));
    }
}

#[test]
fn linear_skips_the_gradient_of_a_plain_input_and_rejects_bad_shapes() {
    let wv = Var::from_tensor(&randn(&[4, 3], 1)).unwrap();
    let bv = Var::from_tensor(&randn(&[4], 2)).unwrap();
    let layer = Linear::new(wv.as_tensor().clone(), Some(bv.as_tensor().clone()));
    let x = randn(&[6, 3], 3);
    let g = dense::linear(&x, &layer, true).unwrap().sum_all().unwrap().backward().unwrap();
    assert!(g.get(&x).is_none());
    assert!(g.get(wv.as_tensor()).is_some() && g.get(bv.as_tensor()).is_some());
    assert!(dense::linear(&randn(&[6, 5], 4), &layer, false).is_err());
    // An empty batch gives an empty output (candle's layer does it).
    let empty = dense::linear(&Tensor::zeros((0, 3), DType::F32, &Device::Cpu).unwrap(), &layer, false).unwrap();
    assert_eq!(empty.dims(), &[0, 4]);
    // Without a bias, candle-nn's own layer.
    let plain = Linear::new(wv.as_tensor().clone(), None);
    let y = dense::linear(&x, &plain, false).unwrap();
    assert!(rel_err(&flat(&y), &flat(&plain.forward(&x).unwrap())) == 0.0);
}

fn batch_norm(c: usize) -> (VarMap, BatchNorm) {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    let bn = candle_nn::batch_norm(c, candle_nn::BatchNormConfig::default(), vb).unwrap();
    let (gamma, beta) = bn.weight_and_bias().unwrap();
    gamma.slice_set(&randn(&[c], 21), 0, 0).unwrap();
    beta.slice_set(&(randn(&[c], 22) * 0.5).unwrap(), 0, 0).unwrap();
    bn.running_mean().slice_set(&(randn(&[c], 23) * 0.1).unwrap(), 0, 0).unwrap();
    (varmap, bn)
}

/// Output, gradients (z, γ, β) and running statistics after one training-mode call.
fn bn_case(z: &Tensor, fused: bool, probe: &Tensor) -> [Vec<f32>; 6] {
    let (_vm, bn) = batch_norm(z.dim(1).unwrap());
    let zv = Var::from_tensor(z).unwrap();
    let y = if fused {
        dense::batch_norm_relu(zv.as_tensor(), &bn, true).unwrap()
    } else {
        bn.forward_t(zv.as_tensor(), true).unwrap().relu().unwrap()
    };
    let g = (&y * probe).unwrap().sum_all().unwrap().backward().unwrap();
    let (gamma, beta) = bn.weight_and_bias().unwrap();
    [
        flat(&y),
        flat(g.get(zv.as_tensor()).unwrap()),
        flat(g.get(gamma).unwrap()),
        flat(g.get(beta).unwrap()),
        flat(bn.running_mean()),
        flat(bn.running_var()),
    ]
}

#[test]
fn batch_norm_relu_matches_candle_with_running_statistics() {
    for &(n, c) in &[(2, 1), (3, 5), (17, 9), (100, 33), (512, 256)] {
        // An offset so the statistics are far from 0 and 1.
        let z = ((randn(&[n, c], (n * c) as u64) * 3.0).unwrap() + 0.7).unwrap();
        let probe = randn(&[n, c], 5);
        let fused = bn_case(&z, true, &probe);
        let reference = bn_case(&z, false, &probe);
        let names = ["output", "z grad", "gamma grad", "beta grad", "running mean", "running var"];
        for ((a, r), name) in fused.iter().zip(&reference).zip(names) {
            let e = rel_err(a, r);
            assert!(e <= 1e-4, "{name} {n}x{c}: {e}");
        }
    }
}

#[test]
fn batch_norm_relu_gradients_match_finite_differences() {
    let (n, c) = (5, 3);
    let z = (randn(&[n, c], 7) * 2.0).unwrap();
    let probe = randn(&[n, c], 8);
    let [_, gz, gg, gb, ..] = bn_case(&z, true, &probe);
    let (_vm, bn) = batch_norm(c);
    let (gamma, beta) = bn.weight_and_bias().unwrap();
    let (zs, gs, bs) = (flat(&z), flat(gamma), flat(beta));
    let loss = |z: &[f32], g: &[f32], b: &[f32]| -> f64 {
        gamma.slice_set(&Tensor::from_slice(g, c, &Device::Cpu).unwrap(), 0, 0).unwrap();
        beta.slice_set(&Tensor::from_slice(b, c, &Device::Cpu).unwrap(), 0, 0).unwrap();
        let y = flat(&dense::batch_norm_relu(&Tensor::from_slice(z, (n, c), &Device::Cpu).unwrap(), &bn, true).unwrap());
        y.iter().zip(flat(&probe)).map(|(a, p)| *a as f64 * p as f64).sum()
    };
    assert_matches_finite_differences("z", &zs, &gz, 1e-3, 5e-3, &|v| loss(v, &gs, &bs));
    assert_matches_finite_differences("gamma", &gs, &gg, 1e-3, 5e-3, &|v| loss(&zs, v, &bs));
    assert_matches_finite_differences("beta", &bs, &gb, 1e-3, 5e-3, &|v| loss(&zs, &gs, v));
}

#[test]
fn batch_norm_relu_in_eval_mode_is_candles_layer() {
    let (_vm, bn) = batch_norm(6);
    let z = randn(&[9, 6], 11);
    let fused = dense::batch_norm_relu(&z, &bn, false).unwrap();
    let reference = bn.forward_t(&z, false).unwrap().relu().unwrap();
    assert_eq!(flat(&fused), flat(&reference));
}
