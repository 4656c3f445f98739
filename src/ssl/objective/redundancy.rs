//! Redundancy-reduction objectives: no negatives; collapse is prevented by statistics of the
//! batch's projections instead. Both compose candle ops: their d × d matrices cost a few
//! MFLOP against a step's GFLOPs, so a fused op would buy nothing measurable.

use candle_core::{Device, Result, Tensor};

use super::{mean_over_pairs, project_views, Batch, Objective};
use crate::ssl::config::ObjectiveKind;
use crate::ssl::encoder::SslModel;

/// VICReg (Bardes et al. 2022): invariance (MSE between the views), variance (a hinge keeping
/// every dimension's std at 1 or more) and covariance (off-diagonal covariances to 0).
pub struct VicReg {
    pub invariance: f32,
    pub variance: f32,
    pub covariance: f32,
}

/// VICReg's three terms, each as the paper defines it: (invariance, variance, covariance).
/// Variance: mean over dimensions of max(0, 1 − sqrt(Var + 1e-4)), summed over both views.
/// Covariance: sum of squared off-diagonal covariances / d, summed over both views.
pub fn vicreg_terms(z1: &Tensor, z2: &Tensor) -> Result<(Tensor, Tensor, Tensor)> {
    let invariance = (z1 - z2)?.sqr()?.mean_all()?;
    let (v1, c1) = variance_covariance(z1)?;
    let (v2, c2) = variance_covariance(z2)?;
    Ok((invariance, (v1 + v2)?, (c1 + c2)?))
}

fn variance_covariance(z: &Tensor) -> Result<(Tensor, Tensor)> {
    let (n, d) = z.dims2()?;
    let centred = z.broadcast_sub(&z.mean_keepdim(0)?)?;
    let denom = (n.max(2) - 1) as f64;
    let var = (centred.sqr()?.sum(0)? / denom)?;
    let hinge = (var.clone() + 1e-4)?.sqrt()?.affine(-1.0, 1.0)?.relu()?.mean_all()?;
    let cov = (centred.t()?.matmul(&centred)? / denom)?;
    // Σ off-diagonal² = Σ all² − Σ diagonal², and the diagonal is the variance.
    let off = ((cov.sqr()?.sum_all()? - var.sqr()?.sum_all()?)? / d as f64)?;
    Ok((hinge, off))
}

impl Objective for VicReg {
    fn kind(&self) -> ObjectiveKind {
        ObjectiveKind::Vicreg
    }

    fn loss(&self, model: &SslModel, batch: &Batch, device: &Device) -> Result<Tensor> {
        let zs = project_views(model, batch, device)?;
        mean_over_pairs(zs.len(), |i, j| {
            let (inv, var, cov) = vicreg_terms(&zs[i], &zs[j])?;
            ((inv * self.invariance as f64)? + (var * self.variance as f64)?)? + (cov * self.covariance as f64)?
        })
    }
}

/// Barlow Twins (Zbontar et al. 2021): standardise each projection dimension over the batch,
/// form the cross-correlation C of the two views, and minimise Σᵢ(1 − Cᵢᵢ)² + λ·Σᵢ≠ⱼ Cᵢⱼ².
pub struct BarlowTwins {
    pub lambda: f32,
}

pub fn barlow_twins_loss(z1: &Tensor, z2: &Tensor, lambda: f32) -> Result<Tensor> {
    let n = z1.dim(0)? as f64;
    let (a, b) = (standardise(z1)?, standardise(z2)?);
    let c = (a.t()?.matmul(&b)? / n)?;
    let diag = ((&a * &b)?.sum(0)? / n)?;
    let on = diag.affine(-1.0, 1.0)?.sqr()?.sum_all()?;
    let off = (c.sqr()?.sum_all()? - diag.sqr()?.sum_all()?)?;
    on + (off * lambda as f64)?
}

/// Each column to mean 0 and (biased) std 1, as a BatchNorm without affine parameters.
fn standardise(z: &Tensor) -> Result<Tensor> {
    let centred = z.broadcast_sub(&z.mean_keepdim(0)?)?;
    let std = (centred.sqr()?.mean_keepdim(0)? + 1e-5)?.sqrt()?;
    centred.broadcast_div(&std)
}

impl Objective for BarlowTwins {
    fn kind(&self) -> ObjectiveKind {
        ObjectiveKind::Barlow
    }

    fn loss(&self, model: &SslModel, batch: &Batch, device: &Device) -> Result<Tensor> {
        let zs = project_views(model, batch, device)?;
        mean_over_pairs(zs.len(), |i, j| barlow_twins_loss(&zs[i], &zs[j], self.lambda))
    }
}
