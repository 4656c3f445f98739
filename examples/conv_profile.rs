//! Per-op timing of one SimCLR step of the plain reference CNN at batch 256 (one view = 256 images;
//! a step runs every op twice). `cargo run --release --example conv_profile`.
//! Wall-clock minimum of a few repetitions, in the 2-thread rayon pool the bench uses.

use std::time::Instant;

use candle_core::{Device, Result, Tensor, Var};
use pretext::ssl::conv;

fn time<T>(name: &str, mut f: impl FnMut() -> Result<T>) -> Result<f64> {
    let mut best = f64::INFINITY;
    for _ in 0..4 {
        let t = Instant::now();
        std::hint::black_box(f()?);
        best = best.min(t.elapsed().as_secs_f64() * 1e3);
    }
    println!("{name:<48} {best:>8.1} ms");
    Ok(best)
}

fn main() -> Result<()> {
    pretext::ssl::ops::init_cpu_runtime();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().map_err(candle_core::Error::wrap)?;
    pool.install(run)
}

fn run() -> Result<()> {
    let dev = Device::Cpu;
    let n = 256;
    let layers = [(1usize, 32usize, 28usize), (32, 64, 14), (64, 128, 7)];
    let (mut candle_total, mut ours_total) = (0.0, 0.0);
    for (i, &(c, o, s)) in layers.iter().enumerate() {
        println!("-- conv{} {c}->{o} at {s}x{s}", i + 1);
        let x = Tensor::randn(0f32, 1., (n, c, s, s), &dev)?;
        let w = Tensor::randn(0f32, 0.1, (o, c, 3, 3), &dev)?;
        let g = Tensor::randn(0f32, 1., (n, o, s, s), &dev)?;
        candle_total += time("candle conv2d forward", || x.conv2d(&w, 1, 1, 1, 1))?;
        if i > 0 {
            candle_total += time("candle input grad (conv_transpose2d)", || g.conv_transpose2d(&w, 1, 0, 1, 1))?;
        } else {
            // candle computes it for the network input too, then throws it away.
            candle_total += time("candle input grad (wasted: input is no var)", || g.conv_transpose2d(&w, 1, 0, 1, 1))?;
        }
        candle_total += time("candle kernel grad (swapped conv2d)", || {
            x.transpose(0, 1)?.conv2d(&g.transpose(0, 1)?, 1, 1, 1, 1)?.transpose(0, 1)
        })?;
        let xv = Var::from_tensor(&x)?;
        let wv = Var::from_tensor(&w)?;
        ours_total += time("pretext conv2d forward", || conv::conv2d(&x, &w, 1, 1))?;
        let y = conv::conv2d(if i > 0 { xv.as_tensor() } else { &x }, wv.as_tensor(), 1, 1)?;
        let loss = (&y * &g)?.sum_all()?;
        let mul_sum = time("  (mul+sum+backward of them, overhead)", || (&y.detach() * &g)?.sum_all())?;
        ours_total += time("pretext conv2d backward (both grads)", || loss.backward())? - mul_sum;

        let b = Tensor::randn(0f32, 0.1, (1, o, 1, 1), &dev)?;
        let yb = y.detach();
        time("bias broadcast_add forward", || yb.broadcast_add(&b))?;
        time("bias grad (sum over n,h,w)", || g.sum_keepdim(0)?.sum_keepdim(2)?.sum_keepdim(3))?;
        time("relu forward", || yb.relu())?;
        time("relu backward (candle: ge, to_dtype, mul)", || &g * yb.ge(&yb.zeros_like()?)?.to_dtype(yb.dtype())?)?;
        time("candle max_pool2d forward", || yb.max_pool2d(2))?;
        let pooled = yb.max_pool2d(2)?;
        let gp = Tensor::randn(0f32, 1., pooled.dims(), &dev)?;
        time("candle max_pool2d backward (its formula)", || {
            let up = pooled.upsample_nearest2d(s, s)?;
            let mask = yb.eq(&up)?.to_dtype(yb.dtype())?;
            let avg = mask.avg_pool2d(2)?;
            (&gp * avg)?.upsample_nearest2d(s, s)? * mask
        })?;
        time("pretext max_pool2d forward", || conv::max_pool2d(&yb, 2))?;
        let yv = Var::from_tensor(&yb)?;
        let pl = (conv::max_pool2d(yv.as_tensor(), 2)? * &gp)?.sum_all()?;
        time("pretext max_pool2d backward (+mul/sum)", || pl.backward())?;

        // The encoder's whole block, conv → BatchNorm → ReLU → pool: candle's ops vs fused.
        let varmap = candle_nn::VarMap::new();
        let vb = candle_nn::VarBuilder::from_varmap(&varmap, candle_core::DType::F32, &dev);
        let bn = candle_nn::batch_norm(o, candle_nn::BatchNormConfig::default(), vb)?;
        let xin = if i > 0 { xv.as_tensor().clone() } else { x.clone() };
        let candle_block = || -> Result<Tensor> {
            use candle_core::ModuleT;
            bn.forward_t(&xin.conv2d(wv.as_tensor(), 1, 1, 1, 1)?, true)?.relu()?.max_pool2d(2)
        };
        time("block conv+bn+relu+pool forward, candle ops", candle_block)?;
        let lc = (candle_block()? * &gp)?.sum_all()?;
        time("block backward, candle ops (+mul/sum)", || lc.backward())?;
        time("block forward, pretext fused", || conv::conv_bn_relu_pool(&xin, wv.as_tensor(), &bn, true, 1, 2))?;
        let lf = (conv::conv_bn_relu_pool(&xin, wv.as_tensor(), &bn, true, 1, 2)? * &gp)?.sum_all()?;
        time("block backward, pretext fused (+mul/sum)", || lf.backward())?;
    }
    println!("conv fwd+bwd per view: candle {candle_total:.1} ms, pretext {ours_total:.1} ms");
    Ok(())
}
