//! Predictive learning in embedding space (after data2vec, Baevski et al. 2022, and I-JEPA,
//! Assran et al. 2023): the student sees an augmented view with patches hidden and predicts,
//! through its head, the momentum teacher's embedding of the same view unhidden. Targets are
//! standardised per item (data2vec normalises its targets), so their scale cannot shrink to 0.

use candle_core::{Device, Result, Tensor};
use rand::rngs::StdRng;

use super::teacher::Teacher;
use super::{to_tensor, Batch, Objective};
use crate::data::{augment, Dataset};
use crate::ssl::config::{ObjectiveKind, TrainConfig};
use crate::ssl::encoder::SslModel;

pub struct Data2vec {
    pub teacher: Teacher,
}

impl Objective for Data2vec {
    fn kind(&self) -> ObjectiveKind {
        ObjectiveKind::Data2vec
    }

    /// `views[0]`: the masked view (student); `target`: the same view unmasked (teacher).
    fn make_batch(&self, ds: &Dataset, items: &[usize], cfg: &TrainConfig, rng: &mut StdRng) -> Batch {
        let d = ds.item_len();
        let mut masked = vec![0.0; items.len() * d];
        let mut clean = vec![0.0; items.len() * d];
        let mut mask = vec![0.0; items.len() * d];
        for (((m_slot, c_slot), mask_slot), &i) in masked.chunks_mut(d).zip(clean.chunks_mut(d)).zip(mask.chunks_mut(d)).zip(items) {
            augment::view(&ds.train.item(i, d), &ds.modality, &ds.train, &cfg.augment, rng, c_slot);
            augment::masked_view(c_slot, &ds.modality, cfg.augment.mask_ratio, rng, m_slot, mask_slot);
        }
        Batch { n: items.len(), views: vec![masked], target: Some(clean), mask: Some(mask) }
    }

    fn loss(&self, model: &SslModel, batch: &Batch, device: &Device) -> Result<Tensor> {
        let Some(clean) = &batch.target else { candle_core::bail!("data2vec batch without the teacher's input") };
        let h = model.embed(&to_tensor(&batch.views[0], batch.n, device)?, true)?;
        let prediction = model.head.forward_t(&h, true)?;
        let (target, _) = self.teacher.forward(&to_tensor(clean, batch.n, device)?)?;
        (prediction - normalised_target(&target)?)?.sqr()?.mean_all()
    }

    fn teacher(&self) -> Option<&Teacher> {
        Some(&self.teacher)
    }
}

/// Each row to mean 0 and std 1 over its dimensions (a layer norm without parameters).
pub fn normalised_target(h: &Tensor) -> Result<Tensor> {
    let centred = h.broadcast_sub(&h.mean_keepdim(1)?)?;
    let std = (centred.sqr()?.mean_keepdim(1)? + 1e-6)?.sqrt()?;
    centred.broadcast_div(&std)
}
