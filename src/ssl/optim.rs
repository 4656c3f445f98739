//! AdamW (Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization") as one pass
//! over each parameter's raw f32 values.
//!
//! Why not candle-nn's `AdamW`: it takes about ten tensor ops per parameter per step, each a
//! full pass that allocates its result (measured at a quarter of an MLP step). Here the
//! moments are plain buffers and every parameter is updated in place, element by element,
//! spread over the rayon pool. The arithmetic is candle-nn 0.11's, operation for operation
//! and in the same f32 rounding, so both give bit-identical parameters (tests/optimizer.rs).
//!
//! Parameters that are not f32 on the CPU (a GPU's) take the same update as tensor ops on
//! their own device, moments kept beside them there; its state is saved and restored as the
//! fused path's is.

use std::collections::HashMap;
use std::sync::Mutex;

use candle_core::backprop::GradStore;
use candle_core::{CpuStorage, InplaceOp2, Layout, Result, Tensor, Var};
use candle_nn::{Optimizer, ParamsAdamW};
use rayon::prelude::*;

use crate::ssl::cpu::{f32_slice, f32_slice_mut, is_cpu_f32};

/// Values per rayon task: enough that scheduling costs vanish next to the arithmetic.
const CHUNK: usize = 1 << 14;

pub struct AdamW {
    params: ParamsAdamW,
    step_t: usize,
    /// (parameter, first moment, second moment) for CPU f32 parameters.
    slots: Vec<(Var, Mutex<Moments>)>,
    /// Everything else (other devices or dtypes): (parameter, (m, v) once it has stepped).
    others: Vec<(Var, Mutex<Option<(Tensor, Tensor)>>)>,
}

#[derive(Default)]
struct Moments {
    m: Vec<f32>,
    v: Vec<f32>,
}

/// The scalars of one step, in the f32 values candle-nn's tensor ops round them to.
#[derive(Clone, Copy)]
struct Coeffs {
    beta1: f32,
    one_minus_beta1: f32,
    beta2: f32,
    one_minus_beta2: f32,
    scale_m: f32,
    scale_v: f32,
    decay: f32,
    lr: f32,
    eps: f32,
}

impl Coeffs {
    fn new(p: &ParamsAdamW, t: usize) -> Self {
        // Computed in f64 as candle-nn does, then rounded once each (candle's `affine`).
        Self {
            beta1: p.beta1 as f32,
            one_minus_beta1: (1.0 - p.beta1) as f32,
            beta2: p.beta2 as f32,
            one_minus_beta2: (1.0 - p.beta2) as f32,
            scale_m: (1.0 / (1.0 - p.beta1.powi(t as i32))) as f32,
            scale_v: (1.0 / (1.0 - p.beta2.powi(t as i32))) as f32,
            decay: (1.0 - p.lr * p.weight_decay) as f32,
            lr: p.lr as f32,
            eps: p.eps as f32,
        }
    }

    /// One element. Each `x * a + 0.0` mirrors candle's `affine(a, 0)`: the `+ 0.0` is no
    /// no-op in IEEE arithmetic (it turns −0 into +0), and keeping it keeps bit-equality.
    #[inline(always)]
    fn update(&self, theta: &mut f32, m: &mut f32, v: &mut f32, g: f32) {
        let next_m = (*m * self.beta1 + 0.0) + (g * self.one_minus_beta1 + 0.0);
        let next_v = (*v * self.beta2 + 0.0) + ((g * g) * self.one_minus_beta2 + 0.0);
        let m_hat = next_m * self.scale_m + 0.0;
        let v_hat = next_v * self.scale_v + 0.0;
        let decayed = *theta * self.decay + 0.0;
        let step = m_hat / (v_hat.sqrt() * 1.0 + self.eps);
        *theta = decayed - (step * self.lr + 0.0);
        *m = next_m;
        *v = next_v;
    }
}

/// The same update as tensor ops on the parameter's own device (the path a GPU takes),
/// scalar for scalar `Coeffs::update`, each product by a scalar a candle `affine`.
fn tensor_update(c: &Coeffs, theta: &Var, moments: &Mutex<Option<(Tensor, Tensor)>>, g: &Tensor) -> Result<()> {
    let mut guard = moments.lock().map_err(|_| poisoned())?;
    let (m, v) = match guard.take() {
        Some(mv) => mv,
        None => (theta.zeros_like()?, theta.zeros_like()?),
    };
    let scale = |t: &Tensor, a: f32| t.affine(a as f64, 0.0);
    let next_m = (scale(&m, c.beta1)? + scale(g, c.one_minus_beta1)?)?;
    let next_v = (scale(&v, c.beta2)? + scale(&g.sqr()?, c.one_minus_beta2)?)?;
    let m_hat = scale(&next_m, c.scale_m)?;
    let v_hat = scale(&next_v, c.scale_v)?;
    let decayed = scale(theta.as_tensor(), c.decay)?;
    let step = (m_hat / (v_hat.sqrt()?.affine(1.0, c.eps as f64))?)?;
    theta.set(&(decayed - scale(&step, c.lr)?)?)?;
    *guard = Some((next_m, next_v));
    Ok(())
}

/// A parameter's moments whose lock a panicking step left behind.
fn poisoned() -> candle_core::Error {
    candle_core::Error::Msg("adamw state poisoned".into())
}

/// The in-place update of one parameter from its gradient.
struct Update<'a> {
    coeffs: Coeffs,
    moments: &'a Mutex<Moments>,
}

impl InplaceOp2 for Update<'_> {
    fn name(&self) -> &'static str {
        "pretext-adamw"
    }

    fn cpu_fwd(&self, s1: &mut CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<()> {
        let theta = f32_slice_mut(s1, l1)?;
        let grad = f32_slice(s2, l2)?;
        if grad.len() != theta.len() {
            candle_core::bail!("adamw: gradient of {} values for a parameter of {}", grad.len(), theta.len());
        }
        let mut guard = self.moments.lock().map_err(|_| poisoned())?;
        let Moments { m, v } = &mut *guard;
        if m.len() != theta.len() {
            // First step: the moments start at zero, as candle-nn's do.
            *m = vec![0.0; theta.len()];
            *v = vec![0.0; theta.len()];
        }
        let c = self.coeffs;
        let run = |t: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32]| {
            for (((t, m), v), &g) in t.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(g) {
                c.update(t, m, v, g);
            }
        };
        if theta.len() <= CHUNK {
            run(theta, m, v, grad);
        } else {
            theta
                .par_chunks_mut(CHUNK)
                .zip(m.par_chunks_mut(CHUNK))
                .zip(v.par_chunks_mut(CHUNK))
                .zip(grad.par_chunks(CHUNK))
                .for_each(|(((t, m), v), g)| run(t, m, v, g));
        }
        Ok(())
    }
}

/// Names of the step counter and of each parameter's moments in a saved optimizer state.
const STEP_KEY: &str = "adamw.step";
fn moment_keys(name: &str) -> (String, String) {
    (format!("adamw.m.{name}"), format!("adamw.v.{name}"))
}

impl AdamW {
    /// The step counter and both moments of every parameter that has taken a step, keyed by
    /// the parameter's name in `names` (a VarMap's), so a resumed run continues the same
    /// trajectory instead of restarting the moments at zero.
    /// The tensors are on the CPU whatever device the parameters are on.
    pub fn state(&self, names: &HashMap<String, Var>) -> Result<HashMap<String, Tensor>> {
        let device = candle_core::Device::Cpu;
        let mut out = HashMap::new();
        out.insert(STEP_KEY.to_string(), Tensor::new(&[self.step_t as i64], &device)?);
        for (name, var) in names {
            let (m_key, v_key) = moment_keys(name);
            if let Some((_, slot)) = self.slots.iter().find(|(v, _)| v.as_tensor().id() == var.as_tensor().id()) {
                let guard = slot.lock().map_err(|_| poisoned())?;
                if guard.m.is_empty() {
                    continue; // no step yet: the moments are zero
                }
                out.insert(m_key, Tensor::from_slice(&guard.m, guard.m.len(), &device)?);
                out.insert(v_key, Tensor::from_slice(&guard.v, guard.v.len(), &device)?);
            } else if let Some((_, slot)) = self.others.iter().find(|(v, _)| v.as_tensor().id() == var.as_tensor().id()) {
                let guard = slot.lock().map_err(|_| poisoned())?;
                let Some((m, v)) = guard.as_ref() else { continue };
                out.insert(m_key, m.flatten_all()?.to_device(&device)?);
                out.insert(v_key, v.flatten_all()?.to_device(&device)?);
            }
        }
        Ok(out)
    }

    /// Restores what [`AdamW::state`] saved. Parameters it does not name keep zero moments.
    pub fn restore(&mut self, names: &HashMap<String, Var>, state: &HashMap<String, Tensor>) -> Result<()> {
        let step = state.get(STEP_KEY).ok_or_else(|| candle_core::Error::Msg("the optimizer state has no step counter".into()))?;
        self.step_t = step.flatten_all()?.to_vec1::<i64>()?.first().map_or(0, |&t| t.max(0) as usize);
        for (name, var) in names {
            let (m_key, v_key) = moment_keys(name);
            let (Some(m), Some(v)) = (state.get(&m_key), state.get(&v_key)) else { continue };
            if m.elem_count() != var.elem_count() || v.elem_count() != var.elem_count() {
                candle_core::bail!("the saved optimizer moments of '{name}' have {} values for a parameter of {}", m.elem_count(), var.elem_count());
            }
            let same = |s: &Var| s.as_tensor().id() == var.as_tensor().id();
            if let Some((_, slot)) = self.slots.iter().find(|(s, _)| same(s)) {
                let (m, v) = (m.flatten_all()?.to_vec1::<f32>()?, v.flatten_all()?.to_vec1::<f32>()?);
                *slot.lock().map_err(|_| poisoned())? = Moments { m, v };
            } else if let Some((_, slot)) = self.others.iter().find(|(s, _)| same(s)) {
                let onto = |t: &Tensor| t.to_dtype(var.dtype())?.to_device(var.device())?.reshape(var.shape());
                *slot.lock().map_err(|_| poisoned())? = Some((onto(m)?, onto(v)?));
            }
        }
        Ok(())
    }
}

impl Optimizer for AdamW {
    type Config = ParamsAdamW;

    fn new(vars: Vec<Var>, params: ParamsAdamW) -> Result<Self> {
        let (mine, theirs): (Vec<Var>, Vec<Var>) =
            vars.into_iter().filter(|v| v.dtype().is_float()).partition(|v| is_cpu_f32(v.as_tensor()));
        let slots = mine.into_iter().map(|v| (v, Mutex::new(Moments::default()))).collect();
        let others = theirs.into_iter().map(|v| (v, Mutex::new(None))).collect();
        Ok(Self { others, params, step_t: 0, slots })
    }

    fn step(&mut self, grads: &GradStore) -> Result<()> {
        self.step_t += 1;
        let coeffs = Coeffs::new(&self.params, self.step_t);
        // Parameters in parallel too: most are small (biases, BatchNorm), and one task each
        // keeps both cores busy through them.
        self.slots.par_iter().try_for_each(|(var, moments)| {
            let Some(g) = grads.get(var.as_tensor()) else { return Ok(()) };
            let g: Tensor = g.contiguous()?;
            if !is_cpu_f32(&g) || !var.is_contiguous() {
                candle_core::bail!("adamw: parameter or gradient is not a contiguous CPU f32 tensor");
            }
            var.as_tensor().inplace_op2(&g, &Update { coeffs, moments })
        })?;
        for (var, moments) in &self.others {
            if let Some(g) = grads.get(var.as_tensor()) {
                tensor_update(&coeffs, var, moments, g)?;
            }
        }
        Ok(())
    }

    fn learning_rate(&self) -> f64 {
        self.params.lr
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.params.lr = lr;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssl::cpu::with_reference_ops;
    use candle_core::Device;

    /// A small regression trained `steps` steps (with a learning-rate change); the optimiser
    /// and its parameters, by name.
    fn train(steps: usize, resume_from: Option<&HashMap<String, Tensor>>) -> (AdamW, HashMap<String, Var>) {
        let make = |dims: &[usize], seed: f32| {
            let n: usize = dims.iter().product();
            let v: Vec<f32> = (0..n).map(|i| ((i as f32 * 0.618 + seed) * 12.9898).sin() * 0.3).collect();
            Var::from_vec(v, dims, &Device::Cpu).expect("a parameter")
        };
        let (w, b) = (make(&[4, 3], 0.1), make(&[4], 0.5));
        let names: HashMap<String, Var> = [("w".to_string(), w.clone()), ("b".to_string(), b.clone())].into();
        let params = ParamsAdamW { lr: 1e-2, weight_decay: 0.05, ..Default::default() };
        let mut opt = AdamW::new(vec![w.clone(), b.clone()], params).expect("an optimiser");
        if let Some(state) = resume_from {
            opt.restore(&names, state).expect("a restore");
        }
        for step in 0..steps {
            let x = make(&[8, 3], step as f32).as_tensor().clone();
            let y = x.matmul(&w.as_tensor().t().expect("t")).and_then(|y| y.broadcast_add(b.as_tensor())).expect("forward");
            let loss = y.sqr().and_then(|l| l.mean_all()).expect("loss");
            if step == 2 {
                opt.set_learning_rate(3e-3);
            }
            opt.backward_step(&loss).expect("a step");
        }
        (opt, names)
    }

    fn values(names: &HashMap<String, Var>) -> Vec<f32> {
        ["w", "b"].iter().flat_map(|n| names[*n].as_tensor().flatten_all().and_then(|t| t.to_vec1()).expect("values")).collect()
    }

    #[test]
    fn the_tensor_op_step_matches_the_fused_step() {
        let (_, fused) = train(5, None);
        let (opt, reference) = with_reference_ops(|| train(5, None));
        assert!(opt.slots.is_empty() && opt.others.len() == 2, "the reference run used the fused step");
        let (a, b) = (values(&fused), values(&reference));
        let worst = a.iter().zip(&b).map(|(p, q)| (p - q).abs()).fold(0f32, f32::max);
        assert!(worst <= 1e-6, "parameters differ by {worst}");
        assert_ne!(a, values(&train(0, None).1), "the parameters did not move");
    }

    #[test]
    fn the_tensor_op_path_saves_and_restores_its_moments() {
        // Saved by the tensor path after 3 steps, restored into the fused path (and back):
        // both continue as one uninterrupted run of the other path would.
        let (opt, names) = with_reference_ops(|| train(3, None));
        let state = opt.state(&names).expect("a state");
        assert!(state.contains_key("adamw.m.w") && state.values().all(|t| t.device().is_cpu()));
        let (fused_opt, fused_names) = train(3, None);
        let fused_state = fused_opt.state(&fused_names).expect("a state");
        for key in ["adamw.m.w", "adamw.v.b"] {
            let (a, b) = (state[key].to_vec1::<f32>().expect("m"), fused_state[key].to_vec1::<f32>().expect("m"));
            assert!(a.iter().zip(&b).all(|(p, q)| (p - q).abs() <= 1e-7), "{key} differs between the paths");
        }
        let (restored, restored_names) = with_reference_ops(|| train(0, Some(&fused_state)));
        let again = restored.state(&restored_names).expect("a state");
        assert_eq!(again["adamw.v.w"].to_vec1::<f32>().ok(), fused_state["adamw.v.w"].to_vec1::<f32>().ok());
    }
}
