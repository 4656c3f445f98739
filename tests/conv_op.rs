//! The fast conv2d / max-pool ops against candle's reference ops: forward values and both
//! gradients, across strides, paddings, channel counts, odd sizes and batch sizes, plus a
//! finite-difference check that does not trust candle at all.

use candle_core::{DType, Device, Tensor, Var};
use pretext::ssl::conv;

mod common;
use common::{flat, randn, rel_err};

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.dims(), b.dims(), "shapes differ");
    (a - b).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap()
}

/// Forward output and gradients w.r.t. x and w of `sum(conv(x, w) * probe)`, or None when
/// candle's own conv2d backward cannot handle the case (it derives conv_transpose2d's output
/// padding from the height only, so some non-square strided inputs fail).
fn conv_and_grads(
    x: &Tensor,
    w: &Tensor,
    pad: usize,
    stride: usize,
    fast: bool,
    probe: &[f32],
) -> Option<(Vec<f32>, Vec<f32>, Vec<f32>)> {
    let (xv, wv) = (Var::from_tensor(x).unwrap(), Var::from_tensor(w).unwrap());
    let y = if fast {
        conv::conv2d(xv.as_tensor(), wv.as_tensor(), pad, stride).unwrap()
    } else {
        xv.as_tensor().conv2d(wv.as_tensor(), pad, stride, 1, 1).unwrap()
    };
    let probe = Tensor::from_slice(probe, y.dims(), &Device::Cpu).unwrap();
    let grads = (&y * &probe).unwrap().sum_all().unwrap().backward().ok()?;
    Some((flat(&y), flat(grads.get(xv.as_tensor()).unwrap()), flat(grads.get(wv.as_tensor()).unwrap())))
}

/// Direct-loop reference in f64: the output, and the gradients of sum(conv(x, w) * probe).
struct Reference {
    y: Vec<f32>,
    gx: Vec<f32>,
    gw: Vec<f32>,
}

fn reference(x: &[f32], xd: [usize; 4], w: &[f32], wd: [usize; 4], pad: usize, stride: usize, probe: &[f32]) -> Reference {
    let [n, c, h, wi] = xd;
    let [o, _, k, _] = wd;
    let ho = (h + 2 * pad - k) / stride + 1;
    let wo = (wi + 2 * pad - k) / stride + 1;
    let mut y = vec![0f64; n * o * ho * wo];
    let mut gx = vec![0f64; x.len()];
    let mut gw = vec![0f64; w.len()];
    for b in 0..n {
        for oc in 0..o {
            for oy in 0..ho {
                for ox in 0..wo {
                    let yi = ((b * o + oc) * ho + oy) * wo + ox;
                    for ci in 0..c {
                        for ky in 0..k {
                            for kx in 0..k {
                                let (iy, ix) = ((oy * stride + ky) as isize - pad as isize, (ox * stride + kx) as isize - pad as isize);
                                if iy < 0 || ix < 0 || iy >= h as isize || ix >= wi as isize {
                                    continue;
                                }
                                let xi = ((b * c + ci) * h + iy as usize) * wi + ix as usize;
                                let wj = ((oc * c + ci) * k + ky) * k + kx;
                                y[yi] += x[xi] as f64 * w[wj] as f64;
                                gx[xi] += probe[yi] as f64 * w[wj] as f64;
                                gw[wj] += probe[yi] as f64 * x[xi] as f64;
                            }
                        }
                    }
                }
            }
        }
    }
    let f = |v: Vec<f64>| v.into_iter().map(|v| v as f32).collect();
    Reference { y: f(y), gx: f(gx), gw: f(gw) }
}

#[test]
fn conv2d_forward_and_gradients_match_candle_and_direct_loops() {
    let (mut cases, mut vs_candle) = (0, 0);
    for &(c, o) in &[(1, 4), (3, 5), (5, 3), (32, 8)] {
        for &(h, w) in &[(7, 9), (8, 8), (5, 6)] {
            // 7 images: several groups of batched GEMMs, the last one partial.
            for &n in &[1, 3, 7] {
                for stride in 1..=2 {
                    for pad in 0..=2 {
                        for &k in &[3, 1] {
                            if h + 2 * pad < k || w + 2 * pad < k {
                                continue;
                            }
                            let seed = (cases * 7 + 1) as u64;
                            let x = randn(&[n, c, h, w], seed);
                            let wt = randn(&[o, c, k, k], seed + 1);
                            let (ho, wo) = ((h + 2 * pad - k) / stride + 1, (w + 2 * pad - k) / stride + 1);
                            let probe = randn(&[n, o, ho, wo], seed + 2).flatten_all().unwrap().to_vec1::<f32>().unwrap();
                            let what = format!("n{n} c{c} o{o} {h}x{w} k{k} pad{pad} stride{stride}");
                            let Some((y, gx, gw)) = conv_and_grads(&x, &wt, pad, stride, true, &probe) else {
                                panic!("fast conv backward failed: {what}");
                            };
                            let xs = x.flatten_all().unwrap().to_vec1::<f32>().unwrap();
                            let ws = wt.flatten_all().unwrap().to_vec1::<f32>().unwrap();
                            let r = reference(&xs, [n, c, h, w], &ws, [o, c, k, k], pad, stride, &probe);
                            let tol = 1e-5;
                            assert!(rel_err(&y, &r.y) <= tol, "forward vs loops: {what}");
                            assert!(rel_err(&gx, &r.gx) <= tol, "input grad vs loops: {what}");
                            assert!(rel_err(&gw, &r.gw) <= tol, "kernel grad vs loops: {what}");
                            if let Some((y0, gx0, gw0)) = conv_and_grads(&x, &wt, pad, stride, false, &probe) {
                                assert!(rel_err(&y, &y0) <= tol, "forward vs candle: {what}");
                                assert!(rel_err(&gx, &gx0) <= tol, "input grad vs candle: {what}");
                                assert!(rel_err(&gw, &gw0) <= tol, "kernel grad vs candle: {what}");
                                vs_candle += 1;
                            }
                            cases += 1;
                        }
                    }
                }
            }
        }
    }
    assert!(cases > 250 && vs_candle > 200, "only {cases} cases, {vs_candle} against candle");
}

#[test]
fn conv2d_gradients_match_finite_differences() {
    // Double-precision central differences of sum(conv(x, w) * probe) on a tiny case, with
    // the loss evaluated by a plain loop, so neither side relies on candle's conv.
    let (n, c, h, w, o, k, pad, stride) = (2, 2, 5, 4, 3, 3, 1, 2);
    let x = randn(&[n, c, h, w], 11);
    let wt = randn(&[o, c, k, k], 12);
    let (ho, wo) = ((h + 2 * pad - k) / stride + 1, (w + 2 * pad - k) / stride + 1);
    let probe32 = randn(&[n, o, ho, wo], 13).flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let probe: Vec<f64> = probe32.iter().map(|&v| v as f64).collect();
    let (_, gxs, gws) = conv_and_grads(&x, &wt, pad, stride, true, &probe32).unwrap();
    let (gxs, gws): (Vec<f64>, Vec<f64>) = (gxs.iter().map(|&v| v as f64).collect(), gws.iter().map(|&v| v as f64).collect());
    let loss = |xs: &[f64], ws: &[f64]| -> f64 {
        let mut total = 0.0;
        for b in 0..n {
            for oc in 0..o {
                for oy in 0..ho {
                    for ox in 0..wo {
                        let mut acc = 0.0;
                        for ci in 0..c {
                            for ky in 0..k {
                                for kx in 0..k {
                                    let iy = (oy * stride + ky) as isize - pad as isize;
                                    let ix = (ox * stride + kx) as isize - pad as isize;
                                    if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                                        continue;
                                    }
                                    let xi = ((b * c + ci) * h + iy as usize) * w + ix as usize;
                                    acc += xs[xi] * ws[((oc * c + ci) * k + ky) * k + kx];
                                }
                            }
                        }
                        total += acc * probe[((b * o + oc) * ho + oy) * wo + ox];
                    }
                }
            }
        }
        total
    };
    let to64 = |t: &Tensor| -> Vec<f64> { t.flatten_all().unwrap().to_vec1::<f32>().unwrap().iter().map(|&v| v as f64).collect() };
    let (xs, ws) = (to64(&x), to64(&wt));
    let eps = 1e-4;
    for i in 0..xs.len() {
        let (mut up, mut down) = (xs.clone(), xs.clone());
        up[i] += eps;
        down[i] -= eps;
        let fd = (loss(&up, &ws) - loss(&down, &ws)) / (2.0 * eps);
        assert!((fd - gxs[i]).abs() < 1e-4, "dx[{i}]: finite diff {fd} vs op {}", gxs[i]);
    }
    for i in 0..ws.len() {
        let (mut up, mut down) = (ws.clone(), ws.clone());
        up[i] += eps;
        down[i] -= eps;
        let fd = (loss(&xs, &up) - loss(&xs, &down)) / (2.0 * eps);
        assert!((fd - gws[i]).abs() < 1e-4, "dw[{i}]: finite diff {fd} vs op {}", gws[i]);
    }
}

#[test]
fn conv2d_skips_gradient_of_a_plain_input() {
    // The network input is no variable: its gradient must not be computed at all.
    let x = randn(&[2, 3, 6, 6], 3);
    let wv = Var::from_tensor(&randn(&[4, 3, 3, 3], 4)).unwrap();
    let y = conv::conv2d(&x, wv.as_tensor(), 1, 1).unwrap();
    let grads = y.sum_all().unwrap().backward().unwrap();
    assert!(grads.get(&x).is_none());
    assert!(grads.get(wv.as_tensor()).is_some());
}

#[test]
fn conv2d_falls_back_for_other_dtypes_and_rejects_bad_shapes() {
    let x = randn(&[1, 2, 5, 5], 5).to_dtype(DType::F64).unwrap();
    let w = randn(&[3, 2, 3, 3], 6).to_dtype(DType::F64).unwrap();
    let fast = conv::conv2d(&x, &w, 1, 1).unwrap();
    let reference = x.conv2d(&w, 1, 1, 1, 1).unwrap();
    assert_eq!(fast.dtype(), DType::F64);
    let diff = (fast - reference).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap();
    assert!(diff.to_scalar::<f64>().unwrap() < 1e-12);

    let x = randn(&[1, 2, 5, 5], 7);
    assert!(conv::conv2d(&x, &randn(&[3, 4, 3, 3], 8), 1, 1).is_err(), "channel mismatch");
    assert!(conv::conv2d(&x, &randn(&[3, 2, 7, 7], 8), 0, 1).is_err(), "kernel larger than input");
    assert!(conv::conv2d(&x, &randn(&[3, 2, 3, 3], 8), 1, 0).is_err(), "stride 0");
}

#[test]
fn max_pool_forward_matches_candle_and_gradient_routes_to_the_maximum() {
    // candle 0.11's own max-pool gradient is not a usable reference: it multiplies the
    // gradient by the window's fraction of maxima (1/4 for a unique maximum) instead of
    // dividing by their count. So the gradient is checked against a direct loop.
    for &(n, c, h, w) in &[(1, 1, 4, 4), (3, 5, 8, 6), (2, 32, 28, 28), (2, 3, 7, 7)] {
        let xv = Var::from_tensor(&randn(&[n, c, h, w], (h * w) as u64)).unwrap();
        let (ho, wo) = (h / 2, w / 2);
        let probe = randn(&[n, c, ho, wo], 99);
        let y = conv::max_pool2d(xv.as_tensor(), 2).unwrap();
        if h % 2 == 0 && w % 2 == 0 {
            assert_eq!(max_abs_diff(&xv.as_tensor().max_pool2d(2).unwrap(), &y), 0.0);
        }
        let g = (&y * &probe).unwrap().sum_all().unwrap().backward().unwrap();
        let g = g.get(xv.as_tensor()).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let xs = xv.as_tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let (ys, ps) = (y.flatten_all().unwrap().to_vec1::<f32>().unwrap(), probe.flatten_all().unwrap().to_vec1::<f32>().unwrap());
        let mut expected = vec![0f32; xs.len()];
        for plane in 0..n * c {
            for oy in 0..ho {
                for ox in 0..wo {
                    let cells = [(0, 0), (0, 1), (1, 0), (1, 1)].map(|(dy, dx)| (plane * h + oy * 2 + dy) * w + ox * 2 + dx);
                    let best = cells.into_iter().fold(cells[0], |b, i| if xs[i] > xs[b] { i } else { b });
                    let yi = (plane * ho + oy) * wo + ox;
                    assert_eq!(ys[yi], xs[best], "forward {n}x{c}x{h}x{w}");
                    expected[best] = ps[yi];
                }
            }
        }
        assert_eq!(g, expected, "gradient {n}x{c}x{h}x{w}");
    }
}

/// A BatchNorm over `c` channels with non-trivial scales and shifts, some negative, so the
/// pool's maximum is not always the conv output's.
fn scaled_batch_norm(c: usize) -> candle_nn::BatchNorm {
    let varmap = candle_nn::VarMap::new();
    let vb = candle_nn::VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    let bn = candle_nn::batch_norm(c, candle_nn::BatchNormConfig::default(), vb).unwrap();
    let (gamma, beta) = bn.weight_and_bias().unwrap();
    gamma.slice_set(&randn(&[c], 21), 0, 0).unwrap();
    beta.slice_set(&(randn(&[c], 22) * 0.5).unwrap(), 0, 0).unwrap();
    bn
}

/// Output, gradients (x, w, γ, β) and running statistics after one training step of
/// max_pool(relu(bn(conv(x, w)))), fused or as candle's conv2d, candle-nn's BatchNorm, ReLU and
/// our pool (candle's own max-pool gradient is off by the window size, see above).
fn bn_block(x: &Tensor, w: &Tensor, fused: bool, probe: &Tensor) -> [Vec<f32>; 7] {
    bn_layer(x, w, fused, probe, (1, 1, 2))
}

/// `bn_block` at any (padding, stride, pool); pool 1 is the ResNet layer `conv_bn_relu`.
fn bn_layer(x: &Tensor, w: &Tensor, fused: bool, probe: &Tensor, (pad, stride, pool): (usize, usize, usize)) -> [Vec<f32>; 7] {
    let bn = scaled_batch_norm(w.dim(0).unwrap());
    let (gamma, beta) = bn.weight_and_bias().unwrap();
    let (xv, wv) = (Var::from_tensor(x).unwrap(), Var::from_tensor(w).unwrap());
    let y = match (fused, pool) {
        (true, 1) => conv::conv_bn_relu(xv.as_tensor(), wv.as_tensor(), &bn, true, pad, stride).unwrap(),
        (true, _) => conv::conv_bn_relu_pool(xv.as_tensor(), wv.as_tensor(), &bn, true, pad, pool).unwrap(),
        (false, _) => {
            use candle_core::ModuleT;
            let z = xv.as_tensor().conv2d(wv.as_tensor(), pad, stride, 1, 1).unwrap();
            let y = bn.forward_t(&z, true).unwrap().relu().unwrap();
            if pool > 1 { conv::max_pool2d(&y, pool).unwrap() } else { y }
        }
    };
    let grads = (&y * probe).unwrap().sum_all().unwrap().backward().unwrap();
    [
        flat(&y),
        flat(grads.get(xv.as_tensor()).unwrap()),
        flat(grads.get(wv.as_tensor()).unwrap()),
        flat(grads.get(gamma).unwrap()),
        flat(grads.get(beta).unwrap()),
        flat(bn.running_mean()),
        flat(bn.running_var()),
    ]
}

#[test]
fn fused_conv_batch_norm_relu_pool_matches_the_separate_ops() {
    for &(n, c, o, h, w) in &[(4, 1, 3, 6, 6), (3, 5, 4, 7, 9), (8, 32, 16, 14, 14)] {
        // An offset per case so the statistics are far from 0 and 1.
        let x = (randn(&[n, c, h, w], (n * c * h) as u64) + 0.7).unwrap();
        let wt = randn(&[o, c, 3, 3], 3);
        let probe = randn(&[n, o, h / 2, w / 2], 5);
        let fused = bn_block(&x, &wt, true, &probe);
        let reference = bn_block(&x, &wt, false, &probe);
        let names = ["output", "x grad", "w grad", "gamma grad", "beta grad", "running mean", "running var"];
        for ((a, b), name) in fused.iter().zip(&reference).zip(names) {
            assert!(rel_err(a, b) <= 1e-4, "{name} {n}x{c}x{h}x{w}->{o}: {}", rel_err(a, b));
        }
    }
}

#[test]
fn fused_strided_conv_batch_norm_relu_matches_the_separate_ops() {
    use candle_core::ModuleT;
    // ResNet's layers: 3×3 at stride 1 and 2, the 7×7 stride-2 stem.
    for &(n, c, o, h, w, k, stride) in &[(4, 3, 8, 9, 9, 3, 2), (3, 5, 4, 8, 7, 3, 1), (2, 3, 6, 16, 16, 7, 2)] {
        let x = (randn(&[n, c, h, w], (n * c * h) as u64) + 0.7).unwrap();
        let wt = randn(&[o, c, k, k], 3);
        let pad = k / 2;
        let (ho, wo) = ((h + 2 * pad - k) / stride + 1, (w + 2 * pad - k) / stride + 1);
        let probe = randn(&[n, o, ho, wo], 5);
        let fused = bn_layer(&x, &wt, true, &probe, (pad, stride, 1));
        let reference = bn_layer(&x, &wt, false, &probe, (pad, stride, 1));
        let names = ["output", "x grad", "w grad", "gamma grad", "beta grad", "running mean", "running var"];
        for ((a, b), name) in fused.iter().zip(&reference).zip(names) {
            assert!(rel_err(a, b) <= 1e-4, "{name} {n}x{c}x{h}x{w}->{o}, {k}x{k} stride {stride}: {}", rel_err(a, b));
        }
        // Eval mode: folded into the conv's weights and a bias.
        let bn = scaled_batch_norm(o);
        bn.running_mean().slice_set(&(randn(&[o], 23) * 0.8).unwrap(), 0, 0).unwrap();
        bn.running_var().slice_set(&(randn(&[o], 24).abs().unwrap() + 0.3).unwrap(), 0, 0).unwrap();
        let folded = conv::conv_bn_relu(&x, &wt, &bn, false, pad, stride).unwrap();
        let separate = bn.forward_t(&x.conv2d(&wt, pad, stride, 1, 1).unwrap(), false).unwrap().relu().unwrap();
        assert!(rel_err(&flat(&folded), &flat(&separate)) <= 1e-5, "eval {k}x{k} stride {stride}");
    }
}

#[test]
fn fused_conv_bias_relu_pool_matches_the_separate_ops() {
    for &(n, c, o, h, w) in &[(2, 1, 4, 6, 6), (3, 5, 4, 7, 9), (4, 32, 16, 14, 14)] {
        let x = randn(&[n, c, h, w], (n * c * h) as u64);
        let probe = randn(&[n, o, h / 2, w / 2], 5);
        let run = |fused: bool| -> [Vec<f32>; 4] {
            let xv = Var::from_tensor(&x).unwrap();
            let wv = Var::from_tensor(&randn(&[o, c, 3, 3], 3)).unwrap();
            let bv = Var::from_tensor(&(randn(&[o], 4) * 0.3).unwrap()).unwrap();
            let (xt, wt, bt) = (xv.as_tensor(), wv.as_tensor(), bv.as_tensor());
            let y = if fused {
                conv::conv_bias_relu_pool(xt, wt, bt, 1, 2).unwrap()
            } else {
                let z = xt.conv2d(wt, 1, 1, 1, 1).unwrap().broadcast_add(&bt.reshape((1, o, 1, 1)).unwrap()).unwrap();
                conv::max_pool2d(&z.relu().unwrap(), 2).unwrap()
            };
            let g = (&y * &probe).unwrap().sum_all().unwrap().backward().unwrap();
            [flat(&y), flat(g.get(xt).unwrap()), flat(g.get(wt).unwrap()), flat(g.get(bt).unwrap())]
        };
        let (fused, reference) = (run(true), run(false));
        for ((a, b), name) in fused.iter().zip(&reference).zip(["output", "x grad", "w grad", "bias grad"]) {
            assert!(rel_err(a, b) <= 1e-5, "{name} {n}x{c}x{h}x{w}->{o}: {}", rel_err(a, b));
        }
    }
}

#[test]
fn eval_mode_conv_batch_norm_relu_pool_folds_to_the_separate_ops() {
    use candle_core::ModuleT;
    for &(n, c, o, h, w) in &[(3, 1, 4, 6, 6), (4, 32, 16, 14, 14)] {
        let bn = scaled_batch_norm(o);
        // Running statistics far from 0 and 1, as after training.
        bn.running_mean().slice_set(&(randn(&[o], 23) * 0.8).unwrap(), 0, 0).unwrap();
        bn.running_var().slice_set(&(randn(&[o], 24).abs().unwrap() + 0.3).unwrap(), 0, 0).unwrap();
        let x = randn(&[n, c, h, w], 9);
        let wt = randn(&[o, c, 3, 3], 3);
        let folded = conv::conv_bn_relu_pool(&x, &wt, &bn, false, 1, 2).unwrap();
        let z = x.conv2d(&wt, 1, 1, 1, 1).unwrap();
        let separate = conv::max_pool2d(&bn.forward_t(&z, false).unwrap().relu().unwrap(), 2).unwrap();
        let err = rel_err(&flat(&folded), &flat(&separate));
        assert!(err <= 1e-5, "{n}x{c}x{h}x{w}->{o}: {err}");
    }
}
