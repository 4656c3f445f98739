//! Seeded weight initialisation. candle's CPU random source cannot be seeded, so after the
//! model is built every weight is redrawn from our own seeded generator: runs are
//! reproducible from their seed.

use candle_core::{Result, Tensor};
use candle_nn::VarMap;
use rand::{Rng, SeedableRng};

/// BatchNorm and LayerNorm parameters keep their construction values (weight 1, bias 0):
/// pretext's `bn`, torchvision's `bnN` and `downsample.1`, timm's and BERT's `norm`/`LayerNorm`.
fn is_normalisation(name: &str) -> bool {
    name.contains("bn") || name.contains("running_") || name.to_ascii_lowercase().contains("norm") || name.contains("downsample.1.")
}

/// PyTorch's default for linear and conv layers: U(−1/√fan_in, 1/√fan_in) for weights and
/// biases (kaiming-uniform with a = √5). BatchNorm keeps weight 1, bias 0.
pub fn reseed(varmap: &VarMap, seed: u64) -> Result<()> {
    let data = varmap.data().lock().map_err(|_| candle_core::Error::Msg("model lock poisoned".into()))?;
    let mut names: Vec<&String> = data.keys().collect();
    names.sort();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    for name in names {
        if is_normalisation(name) {
            continue;
        }
        let var = &data[name];
        let dims = var.dims().to_vec();
        let fan_in = if dims.len() >= 2 {
            dims[1..].iter().product::<usize>()
        } else {
            let weight = name.trim_end_matches("bias").to_string() + "weight";
            data.get(&weight).map(|w| w.dims()[1..].iter().product::<usize>()).unwrap_or(dims[0])
        };
        let bound = 1.0 / (fan_in.max(1) as f32).sqrt();
        let values: Vec<f32> = (0..var.elem_count()).map(|_| rng.random_range(-bound..bound)).collect();
        var.set(&Tensor::from_vec(values, dims, var.device())?)?;
    }
    Ok(())
}
