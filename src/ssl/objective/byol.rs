//! BYOL (Grill et al. 2020): the online network (backbone, projector, predictor) predicts the
//! momentum teacher's projection of the other view; the loss is symmetric over the two views.
//! No negatives: the predictor and the slowly moving teacher keep it from collapsing.

use candle_core::{Device, Result, Tensor};

use super::teacher::Teacher;
use super::{l2_normalise, mean_over_pairs, split_views, stacked_views, Batch, Objective};
use crate::ssl::config::ObjectiveKind;
use crate::ssl::encoder::SslModel;

pub struct Byol {
    pub teacher: Teacher,
}

impl Objective for Byol {
    fn kind(&self) -> ObjectiveKind {
        ObjectiveKind::Byol
    }

    fn loss(&self, model: &SslModel, batch: &Batch, device: &Device) -> Result<Tensor> {
        let Some(predictor) = &model.predictor else { candle_core::bail!("BYOL needs a model built with a predictor") };
        let x = stacked_views(batch, device)?;
        let h = model.embed(&x, true)?;
        let p = split_views(&predictor.forward_t(&model.head.forward_t(&h, true)?, true)?, batch.n)?;
        let (_, target) = self.teacher.forward(&x)?;
        let t = split_views(&target, batch.n)?;
        // Each view's prediction against the teacher on each other view, both ways.
        mean_over_pairs(p.len(), |i, j| (byol_loss(&p[i], &t[j])? + byol_loss(&p[j], &t[i])?)? * 0.5)
    }

    fn teacher(&self) -> Option<&Teacher> {
        Some(&self.teacher)
    }
}

/// Mean over rows of 2 − 2·cos(p, z): 0 when every prediction points along its target, 4 when
/// opposite. `z` is the teacher's output and carries no gradient.
pub fn byol_loss(p: &Tensor, z: &Tensor) -> Result<Tensor> {
    let cos = (l2_normalise(p)? * l2_normalise(z)?)?.sum(1)?;
    cos.mean_all()?.affine(-2.0, 2.0)
}
