//! Self-supervised objectives behind one trait: how a batch of views is made from items and
//! which loss the model minimises on it. A new objective is one more implementation.

use candle_core::{Device, Result, Tensor};
use rand::rngs::StdRng;

use crate::data::{augment, Dataset};
use crate::ssl::config::{ObjectiveKind, TrainConfig};
use crate::ssl::encoder::SslModel;

/// Plain buffers for one training step, made off the training thread.
pub struct Batch {
    pub n: usize,
    /// One or more views of the n items, each n × item_len.
    pub views: Vec<Vec<f32>>,
    /// Masked autoencoder: the clean items and where they were hidden.
    pub target: Option<Vec<f32>>,
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
    fn make_batch(&self, ds: &Dataset, items: &[usize], cfg: &TrainConfig, rng: &mut StdRng) -> Batch;
    fn loss(&self, model: &SslModel, batch: &Batch, device: &Device) -> Result<Tensor>;
}

pub fn objective_for(cfg: &TrainConfig) -> Box<dyn Objective> {
    match cfg.objective {
        ObjectiveKind::Simclr => Box::new(SimClr { temperature: cfg.temperature }),
        ObjectiveKind::Mae => Box::new(MaskedAutoencoder),
    }
}

fn to_tensor(data: &[f32], n: usize, device: &Device) -> Result<Tensor> {
    Tensor::from_slice(data, (n, data.len() / n.max(1)), device)
}

/// SimCLR (Chen et al. 2020): two augmented views per item, NT-Xent on the projections.
pub struct SimClr {
    pub temperature: f32,
}

impl Objective for SimClr {
    fn kind(&self) -> ObjectiveKind {
        ObjectiveKind::Simclr
    }

    fn make_batch(&self, ds: &Dataset, items: &[usize], cfg: &TrainConfig, rng: &mut StdRng) -> Batch {
        let d = ds.item_len();
        let mut views = vec![vec![0.0; items.len() * d], vec![0.0; items.len() * d]];
        for view in views.iter_mut() {
            for (slot, &i) in view.chunks_mut(d).zip(items) {
                augment::view(ds.train.item(i, d), &ds.modality, &ds.train, &cfg.augment, rng, slot);
            }
        }
        Batch { n: items.len(), views, target: None, mask: None }
    }

    fn loss(&self, model: &SslModel, batch: &Batch, device: &Device) -> Result<Tensor> {
        // Both views in one forward pass, so BatchNorm sees the whole 2n batch.
        let both = Tensor::cat(&[to_tensor(&batch.views[0], batch.n, device)?, to_tensor(&batch.views[1], batch.n, device)?], 0)?;
        let h = model.embed(&both, true)?;
        let z = model.head.forward_t(&h, true)?;
        nt_xent(&z.narrow(0, 0, batch.n)?, &z.narrow(0, batch.n, batch.n)?, self.temperature)
    }
}

/// NT-Xent (normalised temperature-scaled cross entropy): for each of the 2n projections,
/// cross entropy of picking its partner view among the other 2n − 1 by cosine similarity / T.
/// One fused op on the CPU (`ssl::contrastive`).
pub fn nt_xent(z1: &Tensor, z2: &Tensor, temperature: f32) -> Result<Tensor> {
    crate::ssl::contrastive::nt_xent(z1, z2, temperature as f64)
}

/// Masked autoencoder (generative; after He et al. 2022, with a convolutional encoder): hide
/// patches of the input, reconstruct it, and score the error on the hidden part.
pub struct MaskedAutoencoder;

impl Objective for MaskedAutoencoder {
    fn kind(&self) -> ObjectiveKind {
        ObjectiveKind::Mae
    }

    fn make_batch(&self, ds: &Dataset, items: &[usize], cfg: &TrainConfig, rng: &mut StdRng) -> Batch {
        let d = ds.item_len();
        let mut input = vec![0.0; items.len() * d];
        let mut mask = vec![0.0; items.len() * d];
        let mut target = Vec::with_capacity(items.len() * d);
        for ((slot, m), &i) in input.chunks_mut(d).zip(mask.chunks_mut(d)).zip(items) {
            let src = ds.train.item(i, d);
            augment::masked_view(src, &ds.modality, cfg.augment.mask_ratio, rng, slot, m);
            target.extend_from_slice(src);
        }
        Batch { n: items.len(), views: vec![input], target: Some(target), mask: Some(mask) }
    }

    fn loss(&self, model: &SslModel, batch: &Batch, device: &Device) -> Result<Tensor> {
        let (Some(target), Some(mask)) = (&batch.target, &batch.mask) else {
            candle_core::bail!("masked autoencoder batch without target or mask")
        };
        let h = model.embed(&to_tensor(&batch.views[0], batch.n, device)?, true)?;
        let recon = model.head.forward_t(&h, true)?;
        masked_mse(&recon, &to_tensor(target, batch.n, device)?, &to_tensor(mask, batch.n, device)?)
    }
}

/// Mean squared error over the hidden entries (all entries when nothing is hidden).
pub fn masked_mse(recon: &Tensor, target: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let sq = (recon - target)?.sqr()?;
    let hidden = mask.sum_all()?.to_scalar::<f32>()?;
    if hidden < 1.0 {
        return sq.mean_all();
    }
    (sq * mask)?.sum_all()? / hidden as f64
}
