//! Generative objectives: reconstruct the input from a damaged copy of it. The head is a
//! decoder back to the input's size.

use candle_core::{Device, Result, Tensor};
use rand::rngs::StdRng;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use super::{to_tensor, Batch, Objective};
use crate::data::{augment, Dataset, Modality};
use crate::ssl::config::{ObjectiveKind, TrainConfig};
use crate::ssl::encoder::SslModel;

/// Masked autoencoder (after He et al. 2022, with a convolutional encoder): hide patches of
/// the input, reconstruct it, and score the error on the hidden part.
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
            augment::masked_view(&src, &ds.modality, cfg.augment.mask_ratio, rng, slot, m);
            target.extend_from_slice(&src);
        }
        Batch { n: items.len(), views: vec![input], target: Some(target), mask: Some(mask) }
    }

    fn loss(&self, model: &SslModel, batch: &Batch, device: &Device) -> Result<Tensor> {
        let (Some(target), Some(mask)) = (&batch.target, &batch.mask) else {
            candle_core::bail!("masked autoencoder batch without target or mask")
        };
        let recon = reconstruct(model, &batch.views[0], batch.n, device)?;
        masked_mse(&recon, &to_tensor(target, batch.n, device)?, &to_tensor(mask, batch.n, device)?)
    }

    fn damage(&self, src: &[f32], ds: &Dataset, cfg: &TrainConfig, rng: &mut StdRng, out: &mut [f32]) -> Option<()> {
        let mut mask = vec![0.0; src.len()];
        augment::masked_view(src, &ds.modality, cfg.augment.mask_ratio, rng, out, &mut mask);
        Some(())
    }
}

/// Denoising autoencoder (Vincent et al. 2008): add Gaussian noise (and, for tables, swap
/// noise: each feature replaced with probability `table_corruption` by the same feature of a
/// random row, as in SCARF and the swap-noise DAEs of tabular competitions), then
/// reconstruct the clean item; the error counts on every entry.
pub struct DenoisingAutoencoder {
    pub noise_std: f32,
}

impl Objective for DenoisingAutoencoder {
    fn kind(&self) -> ObjectiveKind {
        ObjectiveKind::Denoise
    }

    fn make_batch(&self, ds: &Dataset, items: &[usize], cfg: &TrainConfig, rng: &mut StdRng) -> Batch {
        let d = ds.item_len();
        let mut input = vec![0.0; items.len() * d];
        let mut target = Vec::with_capacity(items.len() * d);
        for (slot, &i) in input.chunks_mut(d).zip(items) {
            let src = ds.train.item(i, d);
            noisy_copy(&src, ds, cfg, self.noise_std, rng, slot);
            target.extend_from_slice(&src);
        }
        Batch { n: items.len(), views: vec![input], target: Some(target), mask: None }
    }

    fn loss(&self, model: &SslModel, batch: &Batch, device: &Device) -> Result<Tensor> {
        let Some(target) = &batch.target else { candle_core::bail!("denoising batch without its clean target") };
        let recon = reconstruct(model, &batch.views[0], batch.n, device)?;
        (recon - to_tensor(target, batch.n, device)?)?.sqr()?.mean_all()
    }

    fn damage(&self, src: &[f32], ds: &Dataset, cfg: &TrainConfig, rng: &mut StdRng, out: &mut [f32]) -> Option<()> {
        noisy_copy(src, ds, cfg, self.noise_std, rng, out);
        Some(())
    }
}

/// Writes `src` with the denoising objective's corruption into `out`.
pub fn noisy_copy(src: &[f32], ds: &Dataset, cfg: &TrainConfig, noise_std: f32, rng: &mut impl Rng, out: &mut [f32]) {
    if matches!(ds.modality, Modality::Text { .. }) {
        // Gaussian noise means nothing on byte codes: a text is damaged by its own views.
        crate::data::augment_text::text_view(src, &cfg.augment.text, rng, out);
        return;
    }
    let d = src.len();
    let (pool, pool_rows) = ds.train.marginal_pool();
    let swap = matches!(ds.modality, Modality::Table { .. }) && pool_rows > 0;
    for j in 0..d {
        let mut v = if swap && rng.random::<f32>() < cfg.augment.table_corruption {
            pool[rng.random_range(0..pool_rows) * d + j]
        } else {
            src[j]
        };
        if noise_std > 0.0 {
            let z: f32 = StandardNormal.sample(rng);
            v += noise_std * z;
        }
        out[j] = v;
    }
}

/// The decoder's reconstruction of flat inputs.
fn reconstruct(model: &SslModel, input: &[f32], n: usize, device: &Device) -> Result<Tensor> {
    let h = model.embed(&to_tensor(input, n, device)?, true)?;
    model.head.forward_t(&h, true)
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
