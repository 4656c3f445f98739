//! Training panel: the objective, model and augmentation settings (with what each does), and
//! saving/opening runs.

use crate::app::jobs::DialogPurpose;
use crate::app::settings::gui_train_defaults;
use crate::app::state::{Command, TrainStatus};
use crate::app::ui::widgets::labelled_text;
use crate::app::PretextApp;
use crate::app::ui::widgets::slider;
use crate::data::augment_colour::ColourAugment;
use crate::data::Modality;
use crate::ssl::ObjectiveKind;

pub fn show(app: &mut PretextApp, ui: &mut egui::Ui) {
    if matches!(app.data.as_ref().map(|d| &d.dataset.modality), Some(Modality::Embedding { .. })) {
        ui.label(egui::RichText::new(format!("Nothing to train: {}.", crate::data::NOT_TRAINABLE)).small());
        ui.separator();
    }
    if let Some(why) = &app.training.log.failure {
        ui.colored_label(ui.visuals().error_fg_color, format!("Training failed at step {}: {why}", app.training.log.step));
        ui.separator();
    }
    let locked = app.training.trainer.is_some();
    if locked {
        ui.label(egui::RichText::new("These settings belong to the current model. Press \"Reset model\" (top bar) to train a new one with changed settings.").small());
    }
    ui.add_enabled_ui(!locked, |ui| settings(app, ui));
    ui.separator();
    ui.strong("Runs");
    labelled_text(ui, "Run folder", &mut app.settings.run_dir, 180.0);
    ui.horizontal(|ui| {
        let dir = std::path::PathBuf::from(app.settings.run_dir.trim());
        let can_save = app.training.trainer.is_some() && app.training.log.status != TrainStatus::Running;
        if ui.add_enabled(can_save, egui::Button::new("Save run")).on_hover_text("Write config, weights, embeddings and metrics to the run folder").clicked() {
            app.command(Command::SaveRun(dir.clone()));
        }
        if ui.button("Open run").on_hover_text("Reopen a saved run on the open dataset; Train continues it").clicked() {
            app.command(Command::OpenRun(dir));
        }
        if ui.button("Browse…").on_hover_text("Choose a run folder to open").clicked() {
            app.command(Command::Dialog(DialogPurpose::OpenRun));
        }
    });
}

fn settings(app: &mut PretextApp, ui: &mut egui::Ui) {
    let modality = app.data.as_ref().map(|d| d.dataset.modality.clone());
    let is_image = modality.as_ref().is_none_or(|m| m.is_image());
    let is_series = matches!(modality, Some(crate::data::Modality::Series { .. }));
    let is_rgb = matches!(modality, Some(Modality::Image { channels: 3, .. }));
    let is_text = matches!(modality, Some(crate::data::Modality::Text { .. }));
    let run_dir = app.settings.run_dir.clone();
    let c = &mut app.settings.train;
    egui::ComboBox::from_label("Objective").selected_text(c.objective.label()).show_ui(ui, |ui| {
        for o in ObjectiveKind::ALL {
            ui.selectable_value(&mut c.objective, o, o.label()).on_hover_text(o.summary());
        }
    })
    .response
    .on_hover_text(c.objective.summary());
    crate::app::ui::encoder_settings::encoder_choice(c, modality.as_ref(), ui);
    let own_encoder = c.encoder == crate::ssl::EncoderKind::Default;
    if own_encoder && is_text {
        egui::ComboBox::from_label("Encoder").selected_text(c.text_encoder.label()).show_ui(ui, |ui| {
            for e in crate::ssl::TextEncoder::ALL {
                ui.selectable_value(&mut c.text_encoder, e, e.label()).on_hover_text(e.summary());
            }
        })
        .response
        .on_hover_text(c.text_encoder.summary());
    } else if own_encoder {
        ui.label(match (is_image, is_series) {
            (true, _) => "Encoder: small CNN (images)",
            (false, true) => "Encoder: dilated 1-D CNN, max-pooled over time (series)",
            (false, false) => "Encoder: MLP (tables)",
        });
    }
    let checkpoint_command = crate::app::ui::encoder_settings::checkpoint_row(c, &run_dir, ui);
    if own_encoder {
        ui.add(slider(&mut c.width, 8..=128).text("Width")).on_hover_text("Channels of the CNN's first block (doubling per block), the MLP's hidden size, or the series encoder's hidden channels. Wider learns more, trains slower.");
    }
    if !is_image && own_encoder {
        ui.add(slider(&mut c.embed_dim, 8..=512).text("Embedding size")).on_hover_text("Size of the vectors the map, neighbours and clusters use (MLP output, or channels of the series encoder's last block).");
    }
    ui.add(slider(&mut c.proj_dim, 16..=512).text("Projection size")).on_hover_text("Output of the projection head the loss sees; the map uses the encoder output before it.");
    ui.add(slider(&mut c.batch_size, 8..=1024).logarithmic(true).text("Batch size")).on_hover_text("Items per step. Contrastive learning gets more negatives from larger batches.");
    ui.add(slider(&mut c.learning_rate, 1e-5..=1e-1).logarithmic(true).text("Learning rate")).on_hover_text("Peak AdamW step size (linear warm-up, then cosine decay).");
    ui.add(slider(&mut c.epochs, 0.1..=100.0).logarithmic(true).text("Epochs")).on_hover_text("Passes over the train split per press of Train.");
    live_map_setting(c, ui);
    ui.add(slider(&mut c.eval_every, 1..=500).logarithmic(true).text("Snapshot at most every (steps)")).on_hover_text("The fewest steps between two snapshots of the map, kNN accuracy and collapse signals; the live map's share of the machine spaces them further when they are costly.");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let all_cores = |v: f64, _: std::ops::RangeInclusive<usize>| if v == 0.0 { "all".to_string() } else { format!("{v}") };
    ui.add(slider(&mut c.threads, 0..=cores).custom_formatter(all_cores).text("Training threads")).on_hover_text("Cores the training steps use (0: all). Leave one free to keep projections and clustering quick while training runs.");
    objective_settings(c, ui);
    ui.add_space(4.0);
    ui.strong("Augmentations");
    let a = &mut c.augment;
    match c.objective {
        ObjectiveKind::Mae => {
            ui.add(slider(&mut a.mask_ratio, 0.0..=0.95).text("Mask ratio")).on_hover_text("Share of the input hidden from the masked autoencoder (4×4 patches for images, time segments of 1/16 of the length for series).");
        }
        ObjectiveKind::Denoise => {
            if is_image || is_series {
                ui.label("Gaussian noise only (set above).");
            } else {
                ui.add(slider(&mut a.table_corruption, 0.0..=1.0).text("Swap noise")).on_hover_text("Share of features replaced by the same feature of a random other row before the denoising autoencoder reconstructs the row.");
            }
        }
        objective => {
            if objective == ObjectiveKind::Data2vec {
                ui.add(slider(&mut a.mask_ratio, 0.0..=0.95).text("Mask ratio")).on_hover_text("Share of the student's view hidden (4×4 patches for images); the teacher sees the view whole.");
            }
            if is_text {
                crate::app::ui::text_settings::augmentations(ui, &mut a.text);
            } else {
                view_augmentations(a, is_image, is_series, is_rgb, ui);
            }
        }
    }
    if ui.button("Defaults").on_hover_text("Restore the default training settings").clicked() {
        *c = gui_train_defaults();
    }
    if let Some(cmd) = checkpoint_command {
        app.command(cmd);
    }
}

/// The augmentations that make the two views of view-based objectives; the colour ones for
/// RGB images only.
fn view_augmentations(a: &mut crate::ssl::AugmentConfig, is_image: bool, is_series: bool, is_rgb: bool, ui: &mut egui::Ui) {
    if is_series {
        crate::app::ui::series_settings::augmentations(ui, &mut a.series);
    } else if is_image {
        ui.add(slider(&mut a.crop_min_scale, 0.1..=1.0).text("Min crop scale")).on_hover_text("Smallest random crop, as a fraction of the image side. Smaller crops make views harder to match.");
        ui.checkbox(&mut a.flip, "Horizontal flip").on_hover_text("Mirror each view left-right with probability 1/2.");
        if is_rgb {
            colour_settings(ui, &mut a.colour);
        }
        if !(is_rgb && a.colour.enabled) {
            ui.add(slider(&mut a.brightness, 0.0..=1.0).text("Brightness")).on_hover_text("Adds a random offset in ±brightness to every pixel.");
            ui.add(slider(&mut a.contrast, 0.0..=1.0).text("Contrast")).on_hover_text("Scales pixels around the mean by a random factor in 1 ± contrast.");
        }
        ui.add(slider(&mut a.noise_std, 0.0..=0.5).text("Noise")).on_hover_text("Standard deviation of Gaussian noise added to each pixel.");
    } else {
        ui.add(slider(&mut a.table_corruption, 0.0..=1.0).text("Feature corruption")).on_hover_text("Share of features replaced by the same feature of a random other row (SCARF).");
    }
}

/// Settings that only some objectives read, shown for those.
fn objective_settings(c: &mut crate::ssl::TrainConfig, ui: &mut egui::Ui) {
    let p = &mut c.objective_params;
    match c.objective {
        ObjectiveKind::Simclr => {
            ui.add(slider(&mut c.temperature, 0.05..=1.0).text("Temperature")).on_hover_text("NT-Xent temperature: lower values punish hard negatives more.");
        }
        ObjectiveKind::Moco => {
            ui.add(slider(&mut p.moco_temperature, 0.05..=1.0).text("Temperature")).on_hover_text("InfoNCE temperature over the positive key and the queued negatives.");
            ui.add(slider(&mut p.queue_size, 256..=65536).logarithmic(true).text("Queue size")).on_hover_text("Keys of recent batches kept as negatives: a large effective batch at a small real one.");
        }
        ObjectiveKind::Vicreg => {
            ui.add(slider(&mut p.vicreg_invariance, 0.0..=50.0).text("Invariance weight")).on_hover_text("Weight of the mean squared distance between the two views' projections.");
            ui.add(slider(&mut p.vicreg_variance, 0.0..=50.0).text("Variance weight")).on_hover_text("Weight of the hinge keeping each projection dimension's std at 1 or more (prevents collapse).");
            ui.add(slider(&mut p.vicreg_covariance, 0.0..=10.0).text("Covariance weight")).on_hover_text("Weight of the penalty on covariances between projection dimensions (spreads information over dimensions).");
        }
        ObjectiveKind::Barlow => {
            ui.add(slider(&mut p.barlow_lambda, 0.0..=0.1).logarithmic(true).text("Redundancy weight (lambda)")).on_hover_text("Weight of the off-diagonal cross-correlations against the diagonal's distance from 1.");
        }
        ObjectiveKind::Denoise => {
            ui.add(slider(&mut p.denoise_std, 0.0..=1.0).text("Noise std")).on_hover_text("Standard deviation of the Gaussian noise added to the input before it is reconstructed.");
        }
        ObjectiveKind::Byol | ObjectiveKind::Data2vec | ObjectiveKind::Mae => {}
    }
    if c.objective.uses_views() {
        ui.add(slider(&mut c.views, 2..=crate::ssl::config::MAX_VIEWS).text("Views per item")).on_hover_text("Augmented views made of each item per step; the loss averages over every pair. More views: more signal per item, fewer items per second.");
    }
    if c.objective.has_teacher() {
        ui.add(slider(&mut p.momentum, 0.9..=0.9999).logarithmic(false).text("Teacher momentum")).on_hover_text("EMA momentum of the teacher at the start; it rises to 1 on a cosine schedule. Higher: a slower, steadier teacher.");
    }
}

/// The colour distortion of RGB images (SimCLR's colour jitter, random greyscale and blur).
fn colour_settings(ui: &mut egui::Ui, c: &mut ColourAugment) {
    ui.checkbox(&mut c.enabled, "Colour distortion").on_hover_text(
        "Distort each view's colours so the encoder cannot match views by colour alone and has to learn shapes (SimCLR). Replaces the plain brightness/contrast jitter on colour images.",
    );
    ui.add_enabled_ui(c.enabled, |ui| {
        ui.add(slider(&mut c.jitter_prob, 0.0..=1.0).text("Colour jitter chance")).on_hover_text("Probability that a view gets colour jitter: brightness, contrast, saturation and hue changes, in a random order.");
        ui.add(slider(&mut c.brightness, 0.0..=1.0).text("Colour brightness")).on_hover_text("Multiplies the pixels by a random factor in 1 ± brightness.");
        ui.add(slider(&mut c.contrast, 0.0..=1.0).text("Colour contrast")).on_hover_text("Moves the pixels towards or away from the image's mean grey by a random factor in 1 ± contrast.");
        ui.add(slider(&mut c.saturation, 0.0..=1.0).text("Saturation")).on_hover_text("Moves each pixel towards or away from its own grey by a random factor in 1 ± saturation (0 is grey, above 1 more vivid).");
        ui.add(slider(&mut c.hue, 0.0..=0.5).text("Hue")).on_hover_text("Rotates every hue by the same random amount, up to ± this fraction of the colour wheel (0.5: any colour).");
        ui.add(slider(&mut c.greyscale_prob, 0.0..=1.0).text("Greyscale chance")).on_hover_text("Probability that a view loses its colour entirely.");
        ui.add(slider(&mut c.blur_prob, 0.0..=1.0).text("Blur chance")).on_hover_text("Probability of a Gaussian blur (kernel about a tenth of the image side, sigma between 0.1 and 2 pixels).");
    });
}

/// The live map's share of the machine: how often training pauses for a snapshot.
fn live_map_setting(c: &mut crate::ssl::TrainConfig, ui: &mut egui::Ui) {
    use crate::ssl::live_map::LiveMap;
    // Settings without a choice show (and train with) the default.
    let mut budget = c.live_map.unwrap_or_default();
    ui.horizontal(|ui| {
        ui.label("Live map");
        for b in LiveMap::ALL {
            let tip = format!(
                "Snapshots take at most {:.0} % of the time: training waits while the map items are embedded on every core, then runs until the wait is that share again.",
                b.share() * 100.0
            );
            if ui.selectable_value(&mut budget, b, b.label()).on_hover_text(tip).changed() {
                c.live_map = Some(budget);
            }
        }
    });
}
