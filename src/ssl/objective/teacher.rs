//! A momentum (EMA) teacher: a copy of the student's backbone and head whose weights follow
//! the student's as θ_t ← m·θ_t + (1 − m)·θ_s after every step, with m rising from its base
//! value to 1 on a cosine schedule (BYOL, Grill et al. 2020; MoCo, He et al. 2020). The teacher
//! never receives gradients: its outputs are detached.

use candle_core::{Result, Tensor};
use candle_nn::VarMap;

use crate::data::Modality;
use crate::ssl::config::TrainConfig;
use crate::ssl::encoder::SslModel;

pub struct Teacher {
    varmap: VarMap,
    model: SslModel,
    base_momentum: f64,
}

impl Teacher {
    /// A teacher whose weights start equal to the student's.
    pub fn new(modality: &Modality, cfg: &TrainConfig, student: &VarMap) -> crate::Result<Self> {
        let (varmap, model) = SslModel::build_with(modality, cfg, SslModel::teacher)?;
        let teacher = Self { varmap, model, base_momentum: cfg.objective_params.momentum };
        teacher.update(student, 0.0)?;
        Ok(teacher)
    }

    /// BYOL's schedule: m = 1 − (1 − m₀)·(cos(π·progress) + 1)/2.
    pub fn momentum(&self, progress: f64) -> f64 {
        let p = progress.clamp(0.0, 1.0);
        1.0 - (1.0 - self.base_momentum) * ((std::f64::consts::PI * p).cos() + 1.0) / 2.0
    }

    /// θ_t ← m·θ_t + (1 − m)·θ_s for every teacher weight (BatchNorm statistics included);
    /// m = 0 copies the student.
    pub fn update(&self, student: &VarMap, m: f64) -> Result<()> {
        let students = student.data().lock().map_err(|_| candle_core::Error::Msg("student weights are poisoned".into()))?;
        let teachers = self.varmap.data().lock().map_err(|_| candle_core::Error::Msg("teacher weights are poisoned".into()))?;
        for (name, t) in teachers.iter() {
            let Some(s) = students.get(name) else { candle_core::bail!("the student has no weight named {name}") };
            let next = if m == 0.0 { s.as_tensor().copy()? } else { ((t.as_tensor() * m)? + (s.as_tensor() * (1.0 - m))?)? };
            t.set(&next)?;
        }
        Ok(())
    }

    /// Backbone embedding and head output of flat inputs, detached from the graph.
    pub fn forward(&self, flat: &Tensor) -> Result<(Tensor, Tensor)> {
        let h = self.model.embed(flat, true)?;
        let z = self.model.head.forward_t(&h, true)?;
        Ok((h.detach(), z.detach()))
    }

    pub fn weights(&self) -> &VarMap {
        &self.varmap
    }
}
