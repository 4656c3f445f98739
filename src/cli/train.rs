//! `pretext train`: pretrain with a progress bar, save the run, print its metrics.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::DataArgs;
use crate::data::Modality;
use crate::ssl::{FinishReason, ObjectiveKind, TrainCommand, TrainConfig, TrainEvent, Trainer};

/// The backbone and its shape settings (train and embed).
#[derive(Args, Debug, Clone)]
pub struct EncoderArgs {
    /// Backbone: default (the data's own small encoder), resnet18, resnet50 (torchvision,
    /// ImageNet stem), resnet18-cifar, resnet50-cifar (3×3 stem, no max-pool, for images of
    /// 64 px or less), vit-tiny, vit-small (timm), bert (transformers layout, texts).
    #[arg(long, default_value = "default")]
    pub encoder: crate::ssl::EncoderKind,
    /// ViT: patch side (default: 16 at 224 px, 4 up to 32 px, 8 between).
    #[arg(long)]
    pub patch_size: Option<usize>,
    /// ViT: the embedding is the class token (cls) or the mean of the patch tokens (mean).
    #[arg(long, default_value = "cls")]
    pub pool: crate::ssl::TokenPool,
}

impl EncoderArgs {
    pub fn apply(&self, cfg: &mut TrainConfig) {
        cfg.encoder = self.encoder;
        cfg.patch_size = self.patch_size.unwrap_or(0);
        cfg.token_pool = self.pool;
    }
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Self-supervised objective: simclr, moco (contrastive); vicreg, barlow (redundancy
    /// reduction); byol (self-distillation); data2vec (predictive, in embedding space); mae,
    /// denoise (generative). Default: mae for tables, simclr for everything else.
    #[arg(long)]
    pub objective: Option<ObjectiveKind>,
    /// Epochs over the train split (default 5 unless --minutes is given).
    #[arg(long)]
    pub epochs: Option<f32>,
    /// Wall-clock budget in minutes; with --epochs, whichever ends first.
    #[arg(long)]
    pub minutes: Option<f32>,
    /// Items per batch (SimCLR makes two views of each).
    #[arg(long, default_value_t = 256)]
    pub batch: usize,
    /// Peak learning rate (AdamW, warm-up then cosine decay).
    #[arg(long)]
    pub lr: Option<f64>,
    /// NT-Xent temperature (simclr), or InfoNCE temperature (moco).
    #[arg(long)]
    pub temperature: Option<f32>,
    /// Output size of the projection head (the loss space of the view-based objectives).
    #[arg(long)]
    pub proj_dim: Option<usize>,
    /// Augmented views per item for view-based objectives (default 2; the loss averages over
    /// every pair of views).
    #[arg(long)]
    pub views: Option<usize>,
    /// Teacher EMA momentum at the start, rising to 1 (byol, moco, data2vec).
    #[arg(long)]
    pub momentum: Option<f64>,
    /// Keys kept as negatives (moco).
    #[arg(long)]
    pub queue_size: Option<usize>,
    /// Share of the input hidden (mae, data2vec).
    #[arg(long)]
    pub mask_ratio: Option<f32>,
    /// Smallest random-crop side, as a fraction of the image side.
    #[arg(long)]
    pub crop_min_scale: Option<f32>,
    /// Turn off the colour distortion of RGB images (colour jitter of brightness, contrast,
    /// saturation and hue with p = 0.8, greyscale with p = 0.2, Gaussian blur with p = 0.5);
    /// they then get the plain brightness/contrast jitter greyscale images get. No effect on
    /// greyscale images.
    #[arg(long)]
    pub no_colour_augment: bool,
    /// Width of the first conv block (tables: MLP width / 8; texts: embedding / 8).
    #[arg(long)]
    pub width: Option<usize>,
    /// Texts: the encoder, bag (mean of learned vectors of hashed words, word pairs and
    /// character trigrams, as fastText) or cnn (byte-level CNN) [default: bag].
    #[arg(long)]
    pub text_encoder: Option<crate::ssl::TextEncoder>,
    #[command(flatten)]
    pub encoder: EncoderArgs,
    /// Start the encoder from this checkpoint instead of random weights: safetensors or
    /// PyTorch weights (.pt, .pth, .bin, .ckpt; read as tensors only, never as code) in
    /// torchvision, timm, Hugging Face, lightly or solo-learn layout, or a pretext run folder.
    /// The learning rate then defaults to a tenth of the from-scratch one.
    #[arg(long)]
    pub init: Option<PathBuf>,
    /// Keep the encoder's first N stages frozen (ResNet: stem, layer1…layer4; ViT: patch
    /// embedding, blocks; BERT: embeddings, layers). Needs --init.
    #[arg(long, default_value_t = 0)]
    pub freeze: usize,
    /// Evaluate and snapshot every N steps.
    #[arg(long, default_value_t = 100)]
    pub eval_every: usize,
    /// Items in the live evaluation / map subset.
    #[arg(long, default_value_t = 10_000)]
    pub map_items: usize,
    /// Seed of the weights, the batches, the augmentations and (formats without a split of
    /// their own) the train/test split: the same seed gives the same run.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Seed of the 80/20 train/test split of data that has no split of its own (CSV, NPY,
    /// image folders, a single IDX split). Fixed by default, as in the app, so runs with
    /// different seeds are measured on the same test items and can be compared.
    #[arg(long, default_value_t = 0)]
    pub split_seed: u64,
    /// Threads for the training steps (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Continue a saved run instead of starting a new one (its settings are kept; --epochs
    /// and --minutes set how much more to train).
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Run folder to write.
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub device: crate::cli::DeviceArgs,
    /// Print the final metrics as JSON.
    #[arg(long)]
    pub json: bool,
}

impl TrainArgs {
    fn config(&self, modality: &Modality) -> TrainConfig {
        let mut cfg = TrainConfig { batch_size: self.batch, seed: self.seed, ..TrainConfig::for_modality(modality) };
        if let Some(objective) = self.objective {
            cfg.objective = objective;
        }
        let objective = cfg.objective;
        cfg.eval_every = self.eval_every;
        cfg.map_items = self.map_items;
        cfg.threads = self.threads;
        self.apply_budget(&mut cfg);
        cfg.device = self.device.device;
        self.encoder.apply(&mut cfg);
        if let Some(init) = &self.init {
            cfg.init = Some(init.clone());
            cfg.learning_rate = cfg.finetune_learning_rate();
        }
        cfg.freeze = self.freeze;
        if let Some(v) = self.lr {
            cfg.learning_rate = v;
        }
        if let Some(v) = self.temperature {
            match objective {
                ObjectiveKind::Moco => cfg.objective_params.moco_temperature = v,
                // SimCLR's NT-Xent temperature; the objectives without one ignore it.
                ObjectiveKind::Simclr | ObjectiveKind::Vicreg | ObjectiveKind::Barlow | ObjectiveKind::Byol | ObjectiveKind::Data2vec | ObjectiveKind::Mae | ObjectiveKind::Denoise => cfg.temperature = v,
            }
        }
        if let Some(v) = self.proj_dim {
            cfg.proj_dim = v;
        }
        if let Some(v) = self.views {
            cfg.views = v;
        }
        if let Some(v) = self.momentum {
            cfg.objective_params.momentum = v;
        }
        if let Some(v) = self.queue_size {
            cfg.objective_params.queue_size = v;
        }
        if let Some(v) = self.mask_ratio {
            cfg.augment.mask_ratio = v;
        }
        if let Some(v) = self.crop_min_scale {
            cfg.augment.crop_min_scale = v;
        }
        if let Some(v) = self.width {
            cfg.width = v;
        }
        if let Some(v) = self.text_encoder {
            cfg.text_encoder = v;
        }
        cfg.augment.colour.enabled = !self.no_colour_augment;
        cfg
    }

    fn apply_budget(&self, cfg: &mut TrainConfig) {
        cfg.minutes = self.minutes;
        cfg.epochs = match (self.epochs, self.minutes) {
            (Some(e), _) => e,
            (None, Some(_)) => 0.0,
            (None, None) => cfg.epochs,
        };
    }
}

/// A line above the bar, or on stderr when there is no terminal to draw the bar on (logs, CI).
fn say(bar: &ProgressBar, line: String) {
    if bar.is_hidden() {
        eprintln!("{line}");
    } else {
        bar.println(line);
    }
}

pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    // A resumed run's items must be split as they were when it was trained.
    let resumed = args.resume.as_deref().map(crate::ssl::run::load).transpose()?;
    let ds = Arc::new(args.data.load(resumed.as_ref().map_or(args.split_seed, |s| s.config.split_seed()))?);
    // The tests of failure reporting inject a failure into a background thread this way
    // (`ssl::fault`); unset, as it always is for users, it changes nothing.
    let fault = crate::ssl::fault::from_env().map_err(anyhow::Error::msg)?;
    let trainer = match (&args.resume, resumed) {
        (Some(dir), Some(saved)) => {
            // The saved settings stay; only the budget of this phase comes from the flags.
            let mut cfg = saved.config.train.clone();
            args.apply_budget(&mut cfg);
            cfg.device = args.device.device;
            cfg.fault = fault;
            Trainer::open_run(dir, ds.clone(), Some(cfg), None)?
        }
        _ => Trainer::spawn(ds.clone(), crate::ssl::TrainConfig { fault, ..args.config(&ds.modality) }, None)?,
    };
    eprintln!(
        "training {} with {} on {} ({} train items), batch {}, seed {}, on {}",
        trainer.config().objective.label(),
        match &trainer.config().init {
            Some(init) => format!("{} from {}", trainer.config().encoder.label(), init.display()),
            None => trainer.config().encoder.label().to_string(),
        },
        ds.name,
        ds.train.len,
        trainer.config().batch_size,
        trainer.config().seed,
        trainer.config().device
    );
    trainer.send(TrainCommand::Start);
    let bar = ProgressBar::new(1);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} steps  {msg}  [{elapsed_precise}, ETA {eta}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let budget = trainer.config().minutes;
    let mut last_rate = 0.0;
    loop {
        let Some(event) = trainer.recv_timeout(Duration::from_secs(3600)) else {
            bail!("the trainer stopped answering");
        };
        match event {
            TrainEvent::Started { total_steps, start_step, .. } => {
                let len = if total_steps > usize::MAX / 4 { 0 } else { total_steps };
                bar.set_length(len as u64);
                bar.set_position(start_step as u64);
                if let Some(m) = budget {
                    say(&bar, format!("time budget: {m} min"));
                }
            }
            TrainEvent::Step { step, epoch, loss, items_per_sec, .. } => {
                bar.set_position(step as u64);
                last_rate = items_per_sec;
                bar.set_message(format!("epoch {epoch:.2}  loss {loss:.4}  {items_per_sec:.0} img/s"));
            }
            TrainEvent::Eval { step, knn_accuracy, embedding_std, effective_rank } => {
                let knn = knn_accuracy.map_or("n/a".into(), |a| format!("{a:.4}"));
                say(&bar, format!("step {step:>6}: {}kNN acc (map subset) {knn}  emb std {embedding_std:.4}  eff. rank {effective_rank:.1}", if bar.is_hidden() { format!("{}  ", bar.message()) } else { String::new() }));
            }
            TrainEvent::Finished { step, reason } => {
                bar.finish_and_clear();
                let why = match reason {
                    FinishReason::Completed => "completed",
                    FinishReason::TimeBudget => "time budget reached",
                    FinishReason::Stopped => "stopped",
                    FinishReason::Failed => "failed",
                };
                eprintln!("finished at step {step} ({why}); last throughput {last_rate:.0} img/s");
                break;
            }
            TrainEvent::Error(msg) => {
                bar.abandon();
                bail!(msg);
            }
            _ => {}
        }
    }
    trainer.send(TrainCommand::Save(args.out.clone()));
    loop {
        match trainer.recv_timeout(Duration::from_secs(600)) {
            Some(TrainEvent::Saved(_)) => break,
            Some(TrainEvent::Error(msg)) => bail!(msg),
            Some(_) => {}
            None => bail!("saving the run timed out"),
        }
    }
    drop(trainer);
    if crate::ssl::run::evaluation_is_sampled(&ds) {
        use crate::ssl::run::{SAMPLED_EVAL_TEST, SAMPLED_EVAL_TRAIN};
        let (train, test) = (ds.train.len.min(SAMPLED_EVAL_TRAIN), ds.test.len.min(SAMPLED_EVAL_TEST));
        eprintln!("evaluating on a seeded sample of {train} train and {test} test items of {}...", ds.len());
    } else {
        eprintln!("evaluating on the full dataset...");
    }
    let eval = crate::ssl::run::evaluate_run(&args.out, &ds, args.device.device).with_context(|| format!("evaluating {}", args.out.display()))?;
    crate::ssl::run::save_evaluation(&args.out, &eval)?;
    crate::cli::inspect::print_evaluation(&eval, last_rate, args.json);
    eprintln!("run saved to {}", args.out.display());
    Ok(())
}
