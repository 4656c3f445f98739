//! The encoder part of the training panel: which backbone, the checkpoint it starts from
//! ("Start from…"), frozen stages, and "Embed only" (a run from the weights, no training).

use crate::app::jobs::DialogPurpose;
use crate::app::state::Command;
use crate::app::ui::widgets::slider;
use crate::data::Modality;
use crate::ssl::{EncoderKind, TokenPool, TrainConfig};

/// The encoder choice for data of `modality` (every encoder when no data is open yet).
pub fn encoder_choice(c: &mut TrainConfig, modality: Option<&Modality>, ui: &mut egui::Ui) {
    let fits = |e: EncoderKind| modality.is_none_or(|m| e.problem_with(m).is_none());
    egui::ComboBox::from_label("Backbone").selected_text(c.encoder.label()).show_ui(ui, |ui| {
        for e in EncoderKind::ALL.into_iter().filter(|&e| fits(e)) {
            ui.selectable_value(&mut c.encoder, e, e.label()).on_hover_text(e.summary());
        }
    })
    .response
    .on_hover_text(c.encoder.summary());
    if c.encoder.vit().is_some() {
        let auto = |v: f64, _: std::ops::RangeInclusive<usize>| if v == 0.0 { "auto".to_string() } else { format!("{v}") };
        ui.add(slider(&mut c.patch_size, 0..=32).custom_formatter(auto).text("Patch size")).on_hover_text("Side of the square patches the ViT cuts images into (auto: 16 at 224 px, 4 up to 32 px, 8 between). Must divide the image side.");
        ui.horizontal(|ui| {
            ui.label("Embedding:");
            ui.radio_value(&mut c.token_pool, TokenPool::Cls, "class token").on_hover_text("timm's pre-logits output: the final-norm class token.");
            ui.radio_value(&mut c.token_pool, TokenPool::Mean, "mean of tokens").on_hover_text("timm's global_pool='avg': the mean of the patch tokens, then a norm.");
        });
    }
}

/// "Start from…", the checkpoint in use, frozen stages and "Embed only".
pub fn checkpoint_row(c: &mut TrainConfig, run_dir: &str, ui: &mut egui::Ui) -> Option<Command> {
    let mut command = None;
    ui.horizontal(|ui| {
        if ui
            .button("Start from…")
            .on_hover_text("Start the encoder from a checkpoint instead of random weights: safetensors or PyTorch weights (.pt, .pth, .bin, .ckpt; read as tensors only) from torchvision, timm, Hugging Face, lightly or solo-learn, or a pretext run. The backbone above must be the one it was saved from.")
            .clicked()
        {
            command = Some(Command::Dialog(DialogPurpose::StartFrom));
        }
        match &c.init {
            Some(path) => {
                ui.label(egui::RichText::new(path.display().to_string()).small()).on_hover_text("The checkpoint the encoder starts from");
                if ui.small_button("Clear").on_hover_text("Start from random weights again").clicked() {
                    c.init = None;
                    c.freeze = 0;
                }
            }
            None if c.encoder == EncoderKind::Bert => {
                ui.colored_label(ui.visuals().warn_fg_color, "the BERT encoder needs a checkpoint: its sizes and tokenizer come with it")
                    .on_hover_text("Pick the model file (model.safetensors, pytorch_model.bin) in a Hugging Face or sentence-transformers folder, whose config.json and tokenizer.json or vocab.txt sit beside it.");
            }
            None => {
                ui.label(egui::RichText::new("random weights").small());
            }
        }
    });
    ui.add_enabled_ui(c.init.is_some(), |ui| {
        let stages = match (c.encoder.resnet(), c.encoder.vit()) {
            (Some(_), _) => 5,
            (None, Some(spec)) => spec.depth + 1,
            (None, None) => 13,
        };
        ui.add(slider(&mut c.freeze, 0..=stages).text("Freeze first N stages")).on_hover_text("Keep the encoder's first stages as the checkpoint has them (ResNet: stem, then layer1…layer4; ViT: patch embedding, then blocks; BERT: embeddings, then layers); the rest trains.");
    });
    let dir = std::path::PathBuf::from(run_dir.trim());
    let can_embed = !run_dir.trim().is_empty();
    if ui
        .add_enabled(can_embed, egui::Button::new("Embed only"))
        .on_hover_text("Embed every item with this encoder and its weights, without training, into the run folder below, then show it: map, clusters, neighbours, scores and probe work on it as on a trained run.")
        .clicked()
    {
        command = Some(Command::EmbedOnly(dir));
    }
    command
}
