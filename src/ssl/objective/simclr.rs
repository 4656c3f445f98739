//! SimCLR (Chen et al. 2020): two augmented views per item, NT-Xent on the projections.

use candle_core::{Device, Result, Tensor};

use super::{mean_over_pairs, project_views, Batch, Objective};
use crate::ssl::config::ObjectiveKind;
use crate::ssl::encoder::SslModel;

pub struct SimClr {
    pub temperature: f32,
}

impl Objective for SimClr {
    fn kind(&self) -> ObjectiveKind {
        ObjectiveKind::Simclr
    }

    fn loss(&self, model: &SslModel, batch: &Batch, device: &Device) -> Result<Tensor> {
        let zs = project_views(model, batch, device)?;
        mean_over_pairs(zs.len(), |i, j| nt_xent(&zs[i], &zs[j], self.temperature))
    }
}

/// NT-Xent (normalised temperature-scaled cross entropy): for each of the 2n projections,
/// cross entropy of picking its partner view among the other 2n − 1 by cosine similarity / T.
/// One fused op on the CPU (`ssl::contrastive`).
pub fn nt_xent(z1: &Tensor, z2: &Tensor, temperature: f32) -> Result<Tensor> {
    crate::ssl::contrastive::nt_xent(z1, z2, temperature as f64)
}
