//! Where an MLP training step's wall time goes: forward, loss, backward and optimiser step
//! of the plain reference MLP and of the default table model, at batch 256 (x2 views), in the
//! 2-thread rayon pool the bench uses. `cargo run --release --example mlp_profile`.
//! Median of 30 steps per phase after 5 warm-up steps.

use std::time::Instant;

use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::{Optimizer, ParamsAdamW, VarBuilder, VarMap};
use pretext::bench::train::{nt_xent, Mlp};
use pretext::data::Modality;
use pretext::ssl::encoder::SslModel;
use pretext::ssl::objective::{nt_xent as trainer_nt_xent, Batch};
use pretext::ssl::optim::AdamW;
use pretext::ssl::TrainConfig;

const STEPS: usize = 35;
const WARMUP: usize = 5;

struct Phases(Vec<[f64; 4]>);

impl Phases {
    fn report(&self, name: &str) {
        let med = |i: usize| {
            let mut v: Vec<f64> = self.0[WARMUP..].iter().map(|p| p[i]).collect();
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let (f, l, b, o) = (med(0), med(1), med(2), med(3));
        println!("{name:<24} forward {f:>6.2}  loss {l:>6.2}  backward {b:>6.2}  adamw {o:>6.2}  total {:>6.2} ms", f + l + b + o);
    }
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// Times `steps` SimCLR steps: `embed` returns both views' projections, `loss` scores them.
fn profile_steps(
    name: &str,
    steps: usize,
    opt: &mut AdamW,
    mut embed: impl FnMut() -> Result<(Tensor, Tensor)>,
    loss: impl Fn(&Tensor, &Tensor) -> Result<Tensor>,
) -> Result<()> {
    let mut phases = Phases(Vec::new());
    for _ in 0..steps {
        let t = Instant::now();
        let (z1, z2) = embed()?;
        let f = ms(t);
        let t = Instant::now();
        let value = loss(&z1, &z2)?;
        let l = ms(t);
        let t = Instant::now();
        let grads = value.backward()?;
        let b = ms(t);
        let t = Instant::now();
        opt.step(&grads)?;
        phases.0.push([f, l, b, ms(t)]);
    }
    phases.report(name);
    Ok(())
}

fn main() -> Result<()> {
    pretext::ssl::ops::init_cpu_runtime();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().map_err(candle_core::Error::wrap)?;
    pool.install(run)
}

fn run() -> Result<()> {
    let dev = Device::Cpu;
    let n = 256;
    let params = ParamsAdamW { lr: 2e-3, weight_decay: 1e-4, ..Default::default() };

    // The plain reference MLP, two forward passes as in the bench and in PyTorch.
    let varmap = VarMap::new();
    let mlp = Mlp::new(VarBuilder::from_varmap(&varmap, DType::F32, &dev))?;
    let mut opt = AdamW::new(varmap.all_vars(), params.clone())?;
    let (x1, x2) = (Tensor::rand(0f32, 1., (n, 784), &dev)?, Tensor::rand(0f32, 1., (n, 784), &dev)?);
    profile_steps("plain mlp", STEPS, &mut opt, || Ok((mlp.forward(&x1)?, mlp.forward(&x2)?)), |a, b| nt_xent(a, b, 0.5))?;

    if std::env::var("CNN").is_ok() {
        let varmap = VarMap::new();
        let cnn = pretext::bench::train::Cnn::new(VarBuilder::from_varmap(&varmap, DType::F32, &dev), pretext::bench::train::ConvImpl::Pretext)?;
        let mut opt = AdamW::new(varmap.all_vars(), params.clone())?;
        let (x1, x2) = (Tensor::rand(0f32, 1., (n, 1, 28, 28), &dev)?, Tensor::rand(0f32, 1., (n, 1, 28, 28), &dev)?);
        profile_steps("plain cnn", 12, &mut opt, || Ok((cnn.forward(&x1)?, cnn.forward(&x2)?)), |a, b| nt_xent(a, b, 0.5))?;
    }

    // The default table model, as the trainer runs it.
    let modality = Modality::Table { columns: (0..784).map(|i| format!("f{i}")).collect() };
    let cfg = TrainConfig { batch_size: n, ..TrainConfig::default() };
    let (varmap, model) = SslModel::build(&modality, &cfg).map_err(candle_core::Error::wrap)?;
    let mut opt = AdamW::new(varmap.all_vars(), params)?;
    let views: Vec<f32> = Tensor::rand(0f32, 1., 2 * n * 784, &dev)?.to_vec1()?;
    let batch = Batch { n, views: vec![views[..n * 784].to_vec(), views[n * 784..].to_vec()], target: None, mask: None };
    let embed = || {
        let both = Tensor::cat(&[Tensor::from_slice(&batch.views[0], (n, 784), &dev)?, Tensor::from_slice(&batch.views[1], (n, 784), &dev)?], 0)?;
        let z = model.head.forward_t(&model.embed(&both, true)?, true)?;
        Ok((z.narrow(0, 0, n)?, z.narrow(0, n, n)?))
    };
    profile_steps("default table (bn mlp)", STEPS, &mut opt, embed, |a, b| trainer_nt_xent(a, b, cfg.temperature))?;

    // Single layers at the table model's sizes.
    for (k, o) in [(784usize, 256usize), (256, 256), (256, 128)] {
        let w = candle_core::Var::from_tensor(&Tensor::randn(0f32, 0.05, (o, k), &dev)?)?;
        let b = candle_core::Var::from_tensor(&Tensor::zeros(o, DType::F32, &dev)?)?;
        let layer = candle_nn::Linear::new(w.as_tensor().clone(), Some(b.as_tensor().clone()));
        let x = candle_core::Var::from_tensor(&Tensor::randn(0f32, 1., (2 * n, k), &dev)?)?;
        let probe = Tensor::randn(0f32, 1., (2 * n, o), &dev)?;
        let mut phases = Phases(Vec::new());
        for _ in 0..STEPS {
            let t = Instant::now();
            let y = pretext::ssl::dense::linear(x.as_tensor(), &layer, false)?;
            let f = ms(t);
            let loss = (y * &probe)?.sum_all()?;
            let t = Instant::now();
            let _g = loss.backward()?;
            phases.0.push([f, 0.0, ms(t), 0.0]);
        }
        phases.report(&format!("linear {k}->{o}"));
    }
    let vm = VarMap::new();
    let bn = candle_nn::batch_norm(256, candle_nn::BatchNormConfig::default(), VarBuilder::from_varmap(&vm, DType::F32, &dev))?;
    let z = candle_core::Var::from_tensor(&Tensor::randn(0f32, 1., (2 * n, 256), &dev)?)?;
    let probe = Tensor::randn(0f32, 1., (2 * n, 256), &dev)?;
    let mut phases = Phases(Vec::new());
    for _ in 0..STEPS {
        let t = Instant::now();
        let y = pretext::ssl::dense::batch_norm_relu(z.as_tensor(), &bn, true)?;
        let f = ms(t);
        let loss = (y * &probe)?.sum_all()?;
        let t = Instant::now();
        let _g = loss.backward()?;
        phases.0.push([f, 0.0, ms(t), 0.0]);
    }
    phases.report("bn+relu 256");

    // The loss alone, on a 512 × 128 / 512 × 64 variable.
    for d in [64usize, 128] {
        let z = candle_core::Var::from_tensor(&Tensor::randn(0f32, 1., (2 * n, d), &dev)?)?;
        let mut phases = Phases(Vec::new());
        for _ in 0..STEPS {
            let t = Instant::now();
            let loss = trainer_nt_xent(&z.narrow(0, 0, n)?, &z.narrow(0, n, n)?, 0.5)?;
            let l = ms(t);
            let t = Instant::now();
            let _g = loss.backward()?;
            phases.0.push([0.0, l, ms(t), 0.0]);
        }
        phases.report(&format!("nt-xent alone, d {d}"));
    }
    Ok(())
}
