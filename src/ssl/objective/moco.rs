//! MoCo (He et al. 2020; v2 recipe, Chen et al. 2020): queries from the student, keys from a
//! momentum teacher, and a queue of the keys of recent batches as negatives, so a CPU-sized
//! batch still contrasts against thousands of items. Symmetric over the two views (as MoCo v3).

use std::collections::HashMap;
use std::sync::Mutex;

use candle_core::{Device, Result, Tensor};
use candle_nn::VarMap;

use super::teacher::Teacher;
use super::{l2_normalise, mean_over_pairs, project_views, split_views, stacked_views, Batch, Objective};
use crate::ssl::config::ObjectiveKind;
use crate::ssl::encoder::SslModel;

const QUEUE_KEY: &str = "moco.queue";
const HEAD_KEY: &str = "moco.head";

pub struct MoCo {
    teacher: Teacher,
    temperature: f32,
    /// (queue of unit keys, queue_size × dim; keys of the last step, waiting to be enqueued).
    state: Mutex<QueueState>,
}

struct QueueState {
    queue: Tensor,
    /// Next row to overwrite (the queue is a ring).
    head: usize,
    pending: Option<Tensor>,
}

impl MoCo {
    /// The queue starts with random unit vectors, as MoCo's does.
    pub fn new(teacher: Teacher, queue_size: usize, dim: usize, temperature: f32, seed: u64, device: &Device) -> crate::Result<Self> {
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed ^ 0x4D6F_436F);
        let random: Vec<f32> = (0..queue_size * dim).map(|_| rand_distr::Distribution::sample(&rand_distr::StandardNormal, &mut rng)).collect();
        let queue = l2_normalise(&Tensor::from_vec(random, (queue_size, dim), device)?)?;
        Ok(Self { teacher, temperature, state: Mutex::new(QueueState { queue, head: 0, pending: None }) })
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, QueueState>> {
        self.state.lock().map_err(|_| candle_core::Error::Msg("the MoCo queue is poisoned".into()))
    }
}

impl Objective for MoCo {
    fn kind(&self) -> ObjectiveKind {
        ObjectiveKind::Moco
    }

    fn loss(&self, model: &SslModel, batch: &Batch, device: &Device) -> Result<Tensor> {
        let q = project_views(model, batch, device)?;
        let (_, k) = self.teacher.forward(&stacked_views(batch, device)?)?;
        let k = split_views(&l2_normalise(&k)?, batch.n)?;
        let mut state = self.lock()?;
        let queue = &state.queue;
        let loss = mean_over_pairs(q.len(), |i, j| {
            (info_nce(&q[i], &k[j], queue, self.temperature)? + info_nce(&q[j], &k[i], queue, self.temperature)?)? * 0.5
        })?;
        state.pending = Some(k[0].clone());
        Ok(loss)
    }

    fn teacher(&self) -> Option<&Teacher> {
        Some(&self.teacher)
    }

    fn state(&self) -> Result<Vec<(String, Tensor)>> {
        let state = self.lock()?;
        let head = Tensor::new(&[state.head as i64], state.queue.device())?;
        Ok(vec![(QUEUE_KEY.to_string(), state.queue.clone()), (HEAD_KEY.to_string(), head)])
    }

    fn restore_state(&self, saved: &HashMap<String, Tensor>) -> Result<()> {
        let (Some(queue), Some(head)) = (saved.get(QUEUE_KEY), saved.get(HEAD_KEY)) else { return Ok(()) };
        let mut state = self.lock()?;
        if queue.dims() != state.queue.dims() {
            candle_core::bail!("the saved MoCo queue is {:?} but this run's is {:?}", queue.dims(), state.queue.dims());
        }
        let head = head.flatten_all()?.to_vec1::<i64>()?.first().map_or(0, |&h| h.max(0) as usize);
        state.head = head % state.queue.dim(0)?.max(1);
        state.queue = queue.to_dtype(state.queue.dtype())?.to_device(state.queue.device())?;
        state.pending = None;
        Ok(())
    }

    fn after_step(&self, student: &VarMap, progress: f64) -> Result<()> {
        self.teacher.update(student, self.teacher.momentum(progress))?;
        let mut state = self.lock()?;
        if let Some(keys) = state.pending.take() {
            enqueue(&mut state, &keys)?;
        }
        Ok(())
    }
}

/// Writes `keys` over the oldest rows of the ring.
fn enqueue(state: &mut QueueState, keys: &Tensor) -> Result<()> {
    let size = state.queue.dim(0)?;
    let n = keys.dim(0)?.min(size);
    let dim = state.queue.dim(1)?;
    // Rows not overwritten keep their value: write the new keys over a copy (a few hundred
    // KiB per step, next to a step's tens of GFLOP).
    let mut flat = state.queue.flatten_all()?.to_vec1::<f32>()?;
    let new = keys.narrow(0, 0, n)?.flatten_all()?.to_vec1::<f32>()?;
    for (i, key) in new.chunks_exact(dim).enumerate() {
        let r = (state.head + i) % size;
        flat[r * dim..(r + 1) * dim].copy_from_slice(key);
    }
    state.queue = Tensor::from_vec(flat, (size, dim), keys.device())?;
    state.head = (state.head + n) % size;
    Ok(())
}

/// InfoNCE of queries `q` against their positive keys `k` (row i with row i) and the
/// queue's keys as negatives: mean over rows of −log softmax(q·[k_i, queue]ᵀ / T)₀. `q` is
/// L2-normalised here; `k` and the queue are unit rows already.
pub fn info_nce(q: &Tensor, k: &Tensor, queue: &Tensor, temperature: f32) -> Result<Tensor> {
    let q = l2_normalise(q)?;
    let positive = (&q * k)?.sum_keepdim(1)?;
    let negatives = q.matmul(&queue.t()?)?;
    let logits = (Tensor::cat(&[positive, negatives], 1)? / temperature as f64)?;
    let log_p = candle_nn::ops::log_softmax(&logits, 1)?;
    log_p.narrow(1, 0, 1)?.mean_all()?.neg()
}
