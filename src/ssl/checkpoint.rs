//! Encoder weights in and out in the names of the architecture's origin.
//!
//! In: safetensors files and PyTorch files (`.pt`, `.pth`, `.bin`, `.ckpt`), the latter read
//! as tensors only through candle's pickle reader, which never runs code from the file.
//! Lightning's `.ckpt` nests the weights under `state_dict`; DINO-style files under
//! `teacher` / `model`. Where a checkpoint keeps the backbone under a prefix (`backbone.` in
//! lightly and solo-learn, `module.` after DataParallel, `model.`, `bert.`, pretext's own
//! `encoder.`), the prefix is found by matching the checkpoint's names against the
//! encoder's, so no table of layouts is kept. Folders: a pretext run, a Hugging Face model
//! folder (`model.safetensors` or `pytorch_model.bin`).
//!
//! Out: the encoder's tensors without pretext's `encoder.` prefix, plus the
//! `num_batches_tracked` counters PyTorch's BatchNorm keeps, so `load_state_dict(strict=True)`
//! on the architecture (its classifier replaced by an identity) accepts the file.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;

use crate::error::{PretextError, Result};

/// Where pretext keeps the backbone's tensors in a model's VarMap.
pub const ENCODER_PREFIX: &str = "encoder.";

/// Tensors a checkpoint may hold beside a backbone that are not part of it: classifier
/// heads, poolers and language-model heads, BatchNorm's step counters, buffers of position
/// ids. They are left out without complaint.
fn is_known_extra(name: &str) -> bool {
    const EXTRAS: [&str; 8] = ["fc.", "head.", "heads.", "classifier.", "pooler.", "cls.", "lm_head.", "predictions."];
    name.ends_with("num_batches_tracked")
        || name.ends_with("position_ids")
        || EXTRAS.iter().any(|e| name.starts_with(e))
}

/// The weight file a path names: the path itself, or the weights inside a run or model folder.
pub fn weights_file(path: &Path) -> Result<PathBuf> {
    if !path.exists() {
        return Err(PretextError::bad_file(path, "no such file or folder"));
    }
    if path.is_file() {
        return Ok(path.to_path_buf());
    }
    const INSIDE: [&str; 4] = [crate::ssl::run::CHECKPOINT, "model.safetensors", "pytorch_model.bin", "backbone.safetensors"];
    INSIDE.iter().map(|f| path.join(f)).find(|p| p.is_file()).ok_or_else(|| {
        PretextError::bad_file(path, format!("the folder holds no weights (looked for {})", INSIDE.join(", ")))
    })
}

/// Every tensor of a checkpoint file, on the CPU, by name.
pub fn read_tensors(path: &Path) -> Result<HashMap<String, Tensor>> {
    let file = weights_file(path)?;
    let bad = |e: candle_core::Error| PretextError::bad_file(&file, format!("cannot read the weights: {e}"));
    let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let tensors: Vec<(String, Tensor)> = match ext.as_str() {
        "safetensors" => candle_core::safetensors::load(&file, &Device::Cpu).map_err(bad)?.into_iter().collect(),
        "pt" | "pth" | "bin" | "ckpt" | "tar" => read_pytorch(&file).map_err(bad)?,
        other => {
            return Err(PretextError::bad_file(&file, format!("unknown weights format '.{other}' (expected .safetensors, .pt, .pth, .bin or .ckpt)")))
        }
    };
    if tensors.is_empty() {
        return Err(PretextError::bad_file(&file, "the file holds no tensors"));
    }
    Ok(tensors.into_iter().collect())
}

/// A PyTorch zip checkpoint's tensors: under `state_dict` (Lightning), `model` or `teacher`
/// (DINO-style) when the file nests them there, else the top-level dict.
fn read_pytorch(file: &Path) -> candle_core::Result<Vec<(String, Tensor)>> {
    for key in ["state_dict", "model", "teacher"] {
        if let Ok(tensors) = candle_core::pickle::read_all_with_key(file, Some(key)) {
            if !tensors.is_empty() {
                return Ok(tensors);
            }
        }
    }
    candle_core::pickle::read_all(file)
}

/// What loading a checkpoint into an encoder did.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadReport {
    /// The prefix stripped from the checkpoint's names (`backbone.`, `encoder.`, …; empty
    /// for a bare state dict).
    pub prefix: String,
    pub loaded: usize,
    /// Tensors under the prefix that are not the backbone's (classifier heads and the like).
    pub ignored: usize,
}

/// Copies a checkpoint's backbone tensors into the `encoder.` weights of `varmap`. Every
/// encoder weight must be found with its shape; tensors under the same prefix that the
/// encoder does not have are refused unless they are known extras (heads, counters).
pub fn load_encoder(varmap: &VarMap, path: &Path) -> Result<LoadReport> {
    let tensors = read_tensors(path)?;
    let file = weights_file(path)?;
    let data = varmap.data().lock().map_err(|_| PretextError::BadData("the model's weights are poisoned".into()))?;
    let expected: BTreeMap<&str, &candle_core::Var> =
        data.iter().filter_map(|(name, var)| name.strip_prefix(ENCODER_PREFIX).map(|n| (n, var))).collect();
    let prefix = find_prefix(tensors.keys().map(String::as_str), expected.keys().copied());
    let mut missing = Vec::new();
    let mut misshaped = Vec::new();
    for (name, var) in &expected {
        match tensors.get(&format!("{prefix}{name}")) {
            None => missing.push(name.to_string()),
            Some(t) if t.dims() != var.dims() => misshaped.push(format!("{name} {:?} (the encoder's is {:?})", t.dims(), var.dims())),
            Some(_) => {}
        }
    }
    let mut unexpected = Vec::new();
    let mut ignored = 0;
    for name in tensors.keys() {
        let Some(rest) = name.strip_prefix(prefix.as_str()) else { continue };
        if expected.contains_key(rest) {
            continue;
        }
        if is_known_extra(rest) {
            ignored += 1;
        } else {
            unexpected.push(rest.to_string());
        }
    }
    if !missing.is_empty() || !misshaped.is_empty() || !unexpected.is_empty() {
        return Err(PretextError::bad_file(&file, mismatch_line(&missing, &misshaped, &unexpected, expected.len())));
    }
    for (name, var) in &expected {
        let t = &tensors[&format!("{prefix}{name}")];
        let t = t.to_dtype(DType::F32)?.to_device(var.device())?;
        var.set(&t)?;
    }
    Ok(LoadReport { prefix, loaded: expected.len(), ignored })
}

/// One line naming what does not fit: up to four names of each kind, then a count.
fn mismatch_line(missing: &[String], misshaped: &[String], unexpected: &[String], wanted: usize) -> String {
    let list = |what: &str, names: &[String]| -> Option<String> {
        if names.is_empty() {
            return None;
        }
        let mut sorted = names.to_vec();
        sorted.sort();
        let shown: Vec<&str> = sorted.iter().take(4).map(String::as_str).collect();
        let more = if names.len() > 4 { format!(" and {} more", names.len() - 4) } else { String::new() };
        Some(format!("{} {what} ({}{more})", names.len(), shown.join(", ")))
    };
    let parts: Vec<String> = [list("missing", missing), list("mis-shaped", misshaped), list("unexpected", unexpected)].into_iter().flatten().collect();
    format!("not a checkpoint of this encoder ({wanted} tensors): {}; pick the encoder and size it was saved from", parts.join("; "))
}

/// The prefix under which most of the encoder's names occur in the checkpoint (the empty
/// prefix when the names match as they are).
fn find_prefix<'a>(checkpoint: impl Iterator<Item = &'a str>, expected: impl Iterator<Item = &'a str> + Clone) -> String {
    let mut votes: HashMap<&str, usize> = HashMap::new();
    let expected: Vec<&str> = expected.collect();
    for name in checkpoint {
        for e in &expected {
            if let Some(prefix) = name.strip_suffix(e) {
                // Only whole components: `backbone.` + `conv1.weight`, not `xconv1.weight`.
                if prefix.is_empty() || prefix.ends_with('.') {
                    *votes.entry(prefix).or_default() += 1;
                }
            }
        }
    }
    // Most matches wins; on a tie the shorter prefix (the backbone itself, not a copy of it
    // inside a teacher or momentum encoder: `backbone.` before `backbone_momentum.`).
    votes.into_iter().max_by(|a, b| a.1.cmp(&b.1).then(b.0.len().cmp(&a.0.len()))).map(|(p, _)| p.to_string()).unwrap_or_default()
}

/// The encoder's tensors in its origin's names (no `encoder.` prefix), on the CPU, with a
/// `num_batches_tracked` counter beside every BatchNorm (`running_mean`), as PyTorch keeps.
pub fn encoder_tensors(varmap: &VarMap, batches_seen: i64) -> Result<BTreeMap<String, Tensor>> {
    let data = varmap.data().lock().map_err(|_| PretextError::BadData("the model's weights are poisoned".into()))?;
    let mut out = BTreeMap::new();
    for (name, var) in data.iter() {
        let Some(rest) = name.strip_prefix(ENCODER_PREFIX) else { continue };
        out.insert(rest.to_string(), var.as_tensor().to_device(&Device::Cpu)?);
        if let Some(layer) = rest.strip_suffix("running_mean") {
            out.insert(format!("{layer}num_batches_tracked"), Tensor::new(batches_seen, &Device::Cpu)?);
        }
    }
    Ok(out)
}

/// Writes the encoder's weights as safetensors in its origin's names.
pub fn export_encoder(varmap: &VarMap, batches_seen: i64, out: &Path) -> Result<usize> {
    let tensors = encoder_tensors(varmap, batches_seen)?;
    let n = tensors.len();
    candle_core::safetensors::save(&tensors.into_iter().collect::<HashMap<_, _>>(), out).map_err(|e| PretextError::bad_file(out, e.to_string()))?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_is_found_from_the_names() {
        let expected = ["conv1.weight", "bn1.weight", "layer1.0.conv1.weight"];
        let lightly = ["backbone.conv1.weight", "backbone.bn1.weight", "backbone.layer1.0.conv1.weight", "projection_head.layers.0.weight"];
        assert_eq!(find_prefix(lightly.into_iter(), expected.into_iter()), "backbone.");
        let bare = ["conv1.weight", "bn1.weight", "layer1.0.conv1.weight", "fc.weight"];
        assert_eq!(find_prefix(bare.into_iter(), expected.into_iter()), "");
        // A momentum copy beside the backbone: the shorter prefix wins the tie.
        let both = ["backbone.conv1.weight", "backbone.bn1.weight", "backbone_momentum.conv1.weight", "backbone_momentum.bn1.weight"];
        assert_eq!(find_prefix(both.into_iter(), expected.into_iter()), "backbone.");
        // Partial component matches do not count.
        assert_eq!(find_prefix(["xconv1.weight"].into_iter(), expected.into_iter()), "");
    }

    #[test]
    fn mismatch_line_names_each_kind() {
        let line = mismatch_line(&["layer4.1.conv2.weight".into()], &["conv1.weight [64, 3, 7, 7] (the encoder's is [64, 3, 3, 3])".into()], &[], 62);
        assert!(line.contains("1 missing (layer4.1.conv2.weight)"), "{line}");
        assert!(line.contains("1 mis-shaped (conv1.weight [64, 3, 7, 7]"), "{line}");
        assert!(!line.contains("unexpected"), "{line}");
    }
}
