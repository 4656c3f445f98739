//! Self-supervised objectives behind one trait: how a batch is made from items and which
//! loss the model minimises on it. A new objective is one more file here (after solo-learn's
//! layout: the trainer owns the backbone and the optimiser; a method adds its heads, its loss
//! and its momentum updates).

mod byol;
mod data2vec;
mod generative;
mod moco;
mod redundancy;
mod simclr;
pub mod teacher;

use std::sync::Arc;

use candle_core::{Device, Result, Tensor};
use candle_nn::VarMap;
use rand::rngs::StdRng;

use crate::data::{augment, Dataset, Modality};
use crate::ssl::config::{ObjectiveKind, TrainConfig};
use crate::ssl::encoder::SslModel;

pub use byol::{byol_loss, Byol};
pub use data2vec::{normalised_target, Data2vec};
pub use generative::{masked_mse, DenoisingAutoencoder, MaskedAutoencoder};
pub use moco::{info_nce, MoCo};
pub use redundancy::{barlow_twins_loss, vicreg_terms, BarlowTwins, VicReg};
pub use simclr::{nt_xent, SimClr};

/// Plain buffers for one training step, made off the training thread.
pub struct Batch {
    pub n: usize,
    /// One or more views of the n items, each n × item_len.
    pub views: Vec<Vec<f32>>,
    /// Generative and predictive objectives: the clean items (or the teacher's input).
    pub target: Option<Vec<f32>>,
    /// Masked objectives: 1.0 where the input was hidden.
    pub mask: Option<Vec<f32>>,
}

impl Batch {
    /// Items the encoder processes in this step (each view counts).
    pub fn images(&self) -> usize {
        self.n * self.views.len()
    }
}

pub trait Objective: Send + Sync {
    fn kind(&self) -> ObjectiveKind;
    /// Runs on the batch producer's thread, ahead of the step. By default `cfg.views`
    /// augmented views of each item, the batch of every view-based objective.
    fn make_batch(&self, ds: &Dataset, items: &[usize], cfg: &TrainConfig, rng: &mut StdRng) -> Batch {
        augmented_views(ds, items, cfg, rng)
    }
    fn loss(&self, model: &SslModel, batch: &Batch, device: &Device) -> Result<Tensor>;
    /// The momentum teacher, for objectives that keep one.
    fn teacher(&self) -> Option<&teacher::Teacher> {
        None
    }
    /// After each optimiser step, with `progress` in [0, 1] through training: a momentum
    /// teacher follows the student (objectives with queues also take the new keys).
    fn after_step(&self, student: &VarMap, progress: f64) -> Result<()> {
        match self.teacher() {
            Some(t) => t.update(student, t.momentum(progress)),
            None => Ok(()),
        }
    }
    /// The teacher's EMA momentum at `progress`, for objectives that keep a teacher.
    fn teacher_momentum(&self, progress: f64) -> Option<f64> {
        self.teacher().map(|t| t.momentum(progress))
    }
    /// The teacher's weights, to save with a run (so a resumed run keeps its teacher).
    fn teacher_weights(&self) -> Option<&VarMap> {
        self.teacher().map(|t| t.weights())
    }
    /// State that lives beside the weights and shapes later steps (MoCo's queue of keys),
    /// saved with a run so a resumed run continues exactly. Names are the objective's own.
    fn state(&self) -> Result<Vec<(String, Tensor)>> {
        Ok(Vec::new())
    }
    /// Takes back what [`Objective::state`] saved.
    fn restore_state(&self, _state: &std::collections::HashMap<String, Tensor>) -> Result<()> {
        Ok(())
    }
    /// Generative objectives: writes the damaged copy of `src` the model learns to restore
    /// (`None` for objectives that do not reconstruct).
    fn damage(&self, _src: &[f32], _ds: &Dataset, _cfg: &TrainConfig, _rng: &mut StdRng, _out: &mut [f32]) -> Option<()> {
        None
    }
}

/// (damaged input, reconstruction) for each item, in eval mode; empty when the objective does
/// not reconstruct.
pub fn reconstructions(
    objective: &dyn Objective,
    model: &SslModel,
    ds: &Dataset,
    cfg: &TrainConfig,
    items: &[usize],
    seed: u64,
) -> Result<Vec<(Vec<f32>, Vec<f32>)>> {
    if let Some(&bad) = items.iter().find(|&&i| i >= ds.len()) {
        candle_core::bail!("item {bad} is not in the dataset ({} items)", ds.len());
    }
    let d = ds.item_len();
    let mut rng = <StdRng as rand::SeedableRng>::seed_from_u64(seed);
    let mut inputs = vec![0.0; items.len() * d];
    for (slot, &i) in inputs.chunks_mut(d).zip(items) {
        if objective.damage(&ds.global_item(i), ds, cfg, &mut rng, slot).is_none() {
            return Ok(Vec::new());
        }
    }
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let h = model.embed(&to_tensor(&inputs, items.len(), model.device())?, false)?;
    let recon = model.head.forward_t(&h, false)?.flatten_all()?.to_vec1::<f32>()?;
    Ok(inputs.chunks(d).zip(recon.chunks(d)).map(|(a, b)| (a.to_vec(), b.to_vec())).collect())
}

/// The objective `cfg` names, for a student whose weights are in `student` (teachers start
/// as copies of it).
pub fn build_objective(cfg: &TrainConfig, modality: &Modality, student: &VarMap) -> crate::Result<Arc<dyn Objective>> {
    let p = &cfg.objective_params;
    let teacher = || teacher::Teacher::new(modality, cfg, student);
    let device = crate::ssl::compute_device(cfg.device)?;
    Ok(match cfg.objective {
        ObjectiveKind::Simclr => Arc::new(SimClr { temperature: cfg.temperature }),
        ObjectiveKind::Moco => Arc::new(MoCo::new(teacher()?, p.queue_size, cfg.proj_dim, p.moco_temperature, cfg.seed, &device)?),
        ObjectiveKind::Vicreg => Arc::new(VicReg { invariance: p.vicreg_invariance, variance: p.vicreg_variance, covariance: p.vicreg_covariance }),
        ObjectiveKind::Barlow => Arc::new(BarlowTwins { lambda: p.barlow_lambda }),
        ObjectiveKind::Byol => Arc::new(Byol { teacher: teacher()? }),
        ObjectiveKind::Data2vec => Arc::new(Data2vec { teacher: teacher()? }),
        ObjectiveKind::Mae => Arc::new(MaskedAutoencoder),
        ObjectiveKind::Denoise => Arc::new(DenoisingAutoencoder { noise_std: p.denoise_std }),
    })
}

pub(crate) fn to_tensor(data: &[f32], n: usize, device: &Device) -> Result<Tensor> {
    Tensor::from_slice(data, (n, data.len() / n.max(1)), device)
}

/// `cfg.views` augmented views of each item (the batch of every view-based objective).
pub fn augmented_views(ds: &Dataset, items: &[usize], cfg: &TrainConfig, rng: &mut StdRng) -> Batch {
    let d = ds.item_len();
    let mut views = vec![vec![0.0; items.len() * d]; cfg.views.max(2)];
    // Read once for all views (a streamed split reads each item from disk).
    let sources: Vec<_> = items.iter().map(|&i| ds.train.item(i, d)).collect();
    for view in views.iter_mut() {
        for (slot, src) in view.chunks_mut(d).zip(&sources) {
            augment::view(src, &ds.modality, &ds.train, &cfg.augment, rng, slot);
        }
    }
    Batch { n: items.len(), views, target: None, mask: None }
}

/// All views of a batch stacked into one tensor (view after view), so BatchNorm sees the
/// whole batch in one forward pass.
pub(crate) fn stacked_views(batch: &Batch, device: &Device) -> Result<Tensor> {
    let parts = batch.views.iter().map(|v| to_tensor(v, batch.n, device)).collect::<Result<Vec<_>>>()?;
    Tensor::cat(&parts, 0)
}

/// Rows of a stacked tensor split back into one tensor per view.
pub(crate) fn split_views(stacked: &Tensor, n: usize) -> Result<Vec<Tensor>> {
    (0..stacked.dim(0)? / n.max(1)).map(|v| stacked.narrow(0, v * n, n)).collect()
}

/// Projections of every view by the student, one tensor per view.
pub(crate) fn project_views(model: &SslModel, batch: &Batch, device: &Device) -> Result<Vec<Tensor>> {
    let h = model.embed(&stacked_views(batch, device)?, true)?;
    split_views(&model.head.forward_t(&h, true)?, batch.n)
}

/// Mean of a two-view loss over every unordered pair (i, j) of `views` views (multi-view
/// training: each pair is one more positive pair per item).
pub(crate) fn mean_over_pairs(views: usize, pair_loss: impl Fn(usize, usize) -> Result<Tensor>) -> Result<Tensor> {
    let mut total: Option<Tensor> = None;
    let mut pairs = 0;
    for i in 0..views {
        for j in i + 1..views {
            let l = pair_loss(i, j)?;
            total = Some(match total {
                Some(t) => (t + l)?,
                None => l,
            });
            pairs += 1;
        }
    }
    match total {
        Some(t) => t / pairs as f64,
        None => candle_core::bail!("a view-based objective needs at least two views"),
    }
}

/// Rows scaled to unit length (with a floor, so a zero row stays finite).
pub(crate) fn l2_normalise(x: &Tensor) -> Result<Tensor> {
    let norm = (x.sqr()?.sum_keepdim(1)? + 1e-12)?.sqrt()?;
    x.broadcast_div(&norm)
}
