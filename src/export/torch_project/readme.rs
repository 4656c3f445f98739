//! The project's README: what it reproduces, how to launch it on one machine or many, how to
//! take the result back to pretext, and what it does not reproduce exactly.

use crate::ssl::run::RunConfig;
use crate::ssl::{EncoderKind, ObjectiveKind};

use super::recipe::{elsewhere, flatten, Elsewhere};
use super::templates::reads_setting;

/// Differences that hold for every export, whatever the settings.
const ALWAYS_DIFFERENT: [&str; 6] = [
    "Random numbers: items, views and masks are drawn by PyTorch's generators, not pretext's, so the same seed gives other batches and other views (the same distributions). Results match in distribution, not bit for bit.",
    "Numerics: PyTorch's convolutions, BatchNorm and AdamW round differently from pretext's fused CPU kernels (pretext's NT-Xent is one fused op; here it is lightly's `NTXentLoss`). Differences are at float32 rounding per step and grow over training.",
    "Image folders are resized with Pillow's bilinear filter; pretext resizes with its own triangle filter, so pixels of resized images differ slightly. IDX, NPY and CSV items are read exactly.",
    "The order of items within an epoch: pretext shuffles each epoch with its own generator; here Lightning's (distributed) sampler does. Under DDP each process sees its own shard of each global batch.",
    "BatchNorm under DDP: on GPUs the statistics are synchronised across processes by default (`--no-sync-batchnorm` to keep them per process), which matches pretext computing them over its whole batch; CPU processes (gloo) cannot synchronise them in PyTorch, so each normalises over its own share of the batch.",
    "A trained run's optimiser moments (and MoCo's queue) are not carried over: training here starts a new phase from the run's weights, with fresh AdamW moments and a new warm-up.",
];

fn objective_note(objective: ObjectiveKind) -> &'static str {
    match objective {
        ObjectiveKind::Simclr => "lightly's `NTXentLoss` (gathered across processes under DDP, so the negatives are the global batch, as in pretext's single batch).",
        ObjectiveKind::Vicreg => "lightly's `VICRegLoss`; its variance weight is set to twice pretext's because lightly averages the two views' variance terms where pretext sums them, so the loss is the same.",
        ObjectiveKind::Barlow => "lightly's `BarlowTwinsLoss` (standardisation with the batch's biased std, as pretext).",
        ObjectiveKind::Byol => "lightly's `NegativeCosineSimilarity` as 2 − 2·cos, `update_momentum` and `cosine_schedule` for the teacher; BatchNorm statistics of the teacher also follow the student (lightly moves parameters only).",
        ObjectiveKind::Moco => "plain PyTorch: a symmetric InfoNCE over a queue of keys (the queue starts from PyTorch's random numbers, not pretext's); keys of all processes are enqueued under DDP.",
        ObjectiveKind::Data2vec => "plain PyTorch: the student's prediction from a masked view against the teacher's standardised embedding of the whole view.",
        ObjectiveKind::Mae => "plain PyTorch: mean squared error on the hidden entries.",
        ObjectiveKind::Denoise => "plain PyTorch: mean squared error on every entry.",
    }
}

fn encoder_note(encoder: EncoderKind) -> &'static str {
    match encoder {
        EncoderKind::Default => "pretext's own small encoder as a plain PyTorch module with the same tensor names (`block0.conv.weight`, …; tables: `fc0.weight`, …).",
        EncoderKind::Resnet18 | EncoderKind::Resnet50 => "torchvision's ResNet (classifier removed), in torchvision's names.",
        EncoderKind::Resnet18Cifar | EncoderKind::Resnet50Cifar => "torchvision's ResNet with the CIFAR stem (3×3 stride-1 conv, no max-pool), in torchvision's names.",
        EncoderKind::VitTiny | EncoderKind::VitSmall => "timm's VisionTransformer in timm's names (global_pool \"token\" or \"avg\", as the run's pooling).",
        EncoderKind::Bert => "not exported.",
    }
}

/// The README text for a run exported from `run_dir`.
pub fn readme(config: &RunConfig, run_dir: &str, start: &str) -> String {
    let t = &config.train;
    let mut elsewhere_lines = Vec::new();
    let mut missing_lines = Vec::new();
    for key in flatten(t).keys() {
        match elsewhere(key, reads_setting) {
            None if reads_setting(key) => {}
            None => missing_lines.push(format!("- `{key}`: not read by this program.")),
            Some(Elsewhere::InFiles(why)) => elsewhere_lines.push(format!("- `{key}`: {why}.")),
            Some(Elsewhere::NotReproduced(why)) => missing_lines.push(format!("- `{key}`: {why}.")),
        }
    }
    let mut differences: Vec<String> = ALWAYS_DIFFERENT.iter().map(|d| format!("- {d}")).collect();
    differences.extend(missing_lines);
    let name = &config.dataset.name;
    format!(
        "# {objective} on {name}: a pretext run as a PyTorch Lightning project\n\n\
Written by `pretext export-torch` from `{run_dir}` (step {step}). It trains the same recipe with PyTorch Lightning on one \
CPU, one GPU or many GPUs on many machines (DDP), and writes what pretext opens again.\n\n\
- Encoder: {encoder_label}: {encoder_note}\n\
- Objective: {objective}: {objective_note}\n\
- Views: torchvision v2 and a few PyTorch lines, each pretext setting mapped in `augment.py`.\n\
- Optimiser: AdamW (β = 0.9, 0.999, ε = 1e-8, weight decay {wd}), peak learning rate {lr} at batch {batch}, linear warm-up over a \
tenth of the steps (1 to 100), then cosine decay; the learning rate scales linearly with the global batch.\n\
- Seed {seed}; every setting of the run is in `RECIPE` at the top of `train.py`.\n\
- Start: {start}\n\
- Data: `{source}`, read by `data.py` in pretext's item order; `split/` lists pretext's train and test items, the items its \
evaluation measures and the map's items.\n\n\
## Run\n\n\
```sh\n\
python -m venv .venv && .venv/bin/pip install -r requirements.txt\n\
.venv/bin/python train.py --max-steps 1000                                  # one process (GPU if there is one)\n\
.venv/bin/python train.py --accelerator cpu --devices 2 --strategy ddp       # two CPU processes (gloo)\n\
.venv/bin/python train.py --accelerator gpu --devices 8 --batch-size-per-device 256   # one machine, 8 GPUs\n\
# several machines: the same command on each, under torchrun (or SLURM's srun)\n\
torchrun --nnodes 4 --nproc-per-node 8 --rdzv-backend c10d --rdzv-endpoint HOST:29500 \\\n    \
train.py --accelerator gpu --devices 8 --num-nodes 4 --data /path/to/data\n\
```\n\n\
Flags: `--data` (default: where the run read its data), `--out` (default `outputs`), `--devices`, `--num-nodes`, \
`--accelerator cpu|gpu`, `--strategy ddp`, `--batch-size-per-device` (default: the run's batch split over the processes), \
`--max-steps` (default: the run's epochs at the global batch), `--checkpoint-every N`, `--start` (weights in pretext's \
names, or `none`), `--workers`, `--precision`.\n\n\
At the end the program prints pretext's kNN accuracy of the learned embedding (k = 20, cosine, votes weighted by \
exp(similarity / 0.07), the test split against the train split) and writes it to `OUT/knn.json`.\n\n\
## Back to pretext\n\n\
```sh\n\
pretext --run outputs/run                                       # the map of what this program learned\n\
pretext embed --init outputs/backbone.safetensors --out mapped  --data {source}\n\
pretext embed --init outputs/checkpoints/last.ckpt --out mapped --data {source}\n\
pretext train --init outputs/backbone.safetensors --out more --data {source}   # continue in pretext\n\
```\n\n\
`backbone.safetensors` holds the encoder in its architecture's own names (torchvision, timm, or pretext's small encoder); \
the Lightning checkpoints hold it under `net.encoder.`, which pretext finds by itself. `outputs/run/` is a pretext run \
folder (pretext's names, the map's items embedded). Pass the same `--encoder` (and `--width` for the small encoder) \
to `pretext embed` / `pretext train` as the run used: `--encoder {encoder_key}`{width_note}.\n\n\
## Settings carried by files\n\n{elsewhere}\n\n\
## What this project does not reproduce exactly\n\n{differences}\n",
        objective = t.objective.label(),
        step = config.step,
        encoder_label = t.encoder.label(),
        encoder_note = encoder_note(t.encoder),
        objective_note = objective_note(t.objective),
        wd = t.weight_decay,
        lr = t.learning_rate,
        batch = t.batch_size,
        seed = t.seed,
        source = config.dataset.source,
        encoder_key = t.encoder.key(),
        width_note = match (t.encoder, t.width) {
            (EncoderKind::Default, 32) => String::new(),
            (EncoderKind::Default, w) => format!(" (this run's small encoder is {w} wide: `pretext train --width {w}`; `pretext embed` builds it 32 wide, so open `outputs/run` instead)"),
            _ => String::new(),
        },
        elsewhere = elsewhere_lines.join("\n"),
        differences = differences.join("\n"),
    )
}
