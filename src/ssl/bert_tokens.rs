//! What a BERT-family checkpoint brings beside its weights: the architecture's sizes
//! (`config.json`, as transformers writes it) and the WordPiece tokenizer (`tokenizer.json`,
//! or `vocab.txt` with `tokenizer_config.json`'s `do_lower_case`), read with the `tokenizers`
//! crate. A pretext run that trained a BERT keeps copies in `RUN/text_model/`, so the run
//! reopens without the original folder.
//!
//! Texts reach the model as the byte codes every pretext text dataset holds (`data::text`),
//! augmented at byte level; here they become strings again and then token ids, a batch at a
//! time. A span hidden by span masking becomes one `[MASK]` token.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::processors::bert::BertProcessing;
use tokenizers::{AddedToken, Tokenizer, TruncationParams};

use crate::data::text::{MASK, PAD};
use crate::error::{PretextError, Result};

/// The sub-folder of a run that holds its BERT's config and tokenizer.
pub const RUN_TEXT_MODEL: &str = "text_model";

/// The files copied with a run (those the folder has).
const ASSET_FILES: [&str; 5] = ["config.json", "tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"];

/// Longest token sequence the encoder reads (BERT's own limit, 512, or the checkpoint's).
const MAX_TOKENS: usize = 512;

/// The sizes of a BERT-family encoder, from transformers' `config.json`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BertSpec {
    #[serde(default = "default_model_type")]
    pub model_type: String,
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    #[serde(default = "default_activation")]
    pub hidden_act: String,
    #[serde(default = "default_positions")]
    pub max_position_embeddings: usize,
    #[serde(default = "default_type_vocab")]
    pub type_vocab_size: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    #[serde(default = "default_dropout")]
    pub hidden_dropout_prob: f32,
    #[serde(default = "default_dropout")]
    pub attention_probs_dropout_prob: f32,
}

fn default_model_type() -> String {
    "bert".into()
}
fn default_activation() -> String {
    "gelu".into()
}
fn default_positions() -> usize {
    512
}
fn default_type_vocab() -> usize {
    2
}
fn default_eps() -> f64 {
    1e-12
}
fn default_dropout() -> f32 {
    0.1
}

/// The activation of the feed-forward layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// transformers' "gelu": the exact (erf) GELU.
    Gelu,
    /// "gelu_new" / "gelu_pytorch_tanh": the tanh approximation.
    GeluTanh,
    Relu,
}

impl BertSpec {
    pub fn activation(&self) -> Result<Activation> {
        match self.hidden_act.as_str() {
            "gelu" => Ok(Activation::Gelu),
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Ok(Activation::GeluTanh),
            "relu" => Ok(Activation::Relu),
            other => Err(PretextError::InvalidConfig(format!("the BERT config's activation '{other}' is not one pretext computes (gelu, gelu_new, relu)"))),
        }
    }

    fn check(&self, file: &Path) -> Result<()> {
        if self.model_type != "bert" {
            return Err(PretextError::bad_file(
                file,
                format!("a '{}' model; the bert encoder reads BERT-layout models (model_type \"bert\", e.g. sentence-transformers' all-MiniLM-L6-v2)", self.model_type),
            ));
        }
        if self.num_attention_heads == 0 || self.hidden_size % self.num_attention_heads != 0 {
            return Err(PretextError::bad_file(file, format!("hidden_size {} is not a multiple of num_attention_heads {}", self.hidden_size, self.num_attention_heads)));
        }
        self.activation().map(|_| ())
    }
}

/// A BERT's config and tokenizer, with the special tokens the encoder needs.
pub struct BertAssets {
    pub spec: BertSpec,
    pub tokenizer: Tokenizer,
    /// Where they were read from.
    pub dir: PathBuf,
    pad_id: u32,
    mask_token: String,
}

/// The folder a BERT's config and tokenizer are read from: the run's copy, else the folder
/// of the checkpoint the encoder starts from (the checkpoint itself when it is a folder).
pub fn assets_dir(text_model: Option<&Path>, init: Option<&Path>) -> Result<PathBuf> {
    if let Some(dir) = text_model {
        return Ok(dir.to_path_buf());
    }
    let Some(init) = init else {
        return Err(PretextError::InvalidConfig(
            "the bert encoder takes its sizes and tokenizer from a checkpoint: start from one (--init, or Start from… in the window), a Hugging Face model folder or its weights file with config.json and tokenizer.json or vocab.txt beside it".into(),
        ));
    };
    let dir = if init.is_dir() { init.to_path_buf() } else { init.parent().map(Path::to_path_buf).unwrap_or_default() };
    // A pretext run that trained a BERT keeps the files in a sub-folder (its own
    // config.json is pretext's).
    let in_run = dir.join(RUN_TEXT_MODEL);
    Ok(if in_run.join("config.json").is_file() { in_run } else { dir })
}

impl BertAssets {
    pub fn read(dir: &Path) -> Result<Self> {
        let config = dir.join("config.json");
        let text = std::fs::read_to_string(&config).map_err(|e| PretextError::bad_file(&config, format!("cannot read the BERT config: {e}")))?;
        let spec: BertSpec = serde_json::from_str(&text).map_err(|e| PretextError::bad_file(&config, format!("not a transformers config: {e}")))?;
        spec.check(&config)?;
        let mut tokenizer = read_tokenizer(dir)?;
        let longest = spec.max_position_embeddings.min(MAX_TOKENS);
        tokenizer
            .with_truncation(Some(TruncationParams { max_length: longest, ..TruncationParams::default() }))
            .map_err(|e| PretextError::bad_file(dir, format!("cannot set the tokenizer's length: {e}")))?;
        tokenizer.with_padding(None);
        let pad_id = tokenizer.token_to_id("[PAD]").unwrap_or(0);
        let mask_token = "[MASK]".to_string();
        if tokenizer.get_vocab_size(true) > spec.vocab_size {
            return Err(PretextError::bad_file(
                dir,
                format!("the tokenizer has {} tokens and the model's vocabulary {}: they are not from the same checkpoint", tokenizer.get_vocab_size(true), spec.vocab_size),
            ));
        }
        Ok(Self { spec, tokenizer, dir: dir.to_path_buf(), pad_id, mask_token })
    }

    /// Token ids (n × len, padded with `[PAD]`) and the attention mask (1 for a token, 0 for
    /// padding) of a batch of byte-code rows; `len` is the longest row's token count.
    pub fn encode_codes(&self, rows: &[Vec<f32>]) -> Result<(Vec<u32>, Vec<f32>, usize)> {
        let texts: Vec<String> = rows.iter().map(|codes| codes_to_text(codes, &self.mask_token)).collect();
        let encodings = self.tokenizer.encode_batch(texts, true).map_err(|e| PretextError::BadData(format!("the tokenizer failed: {e}")))?;
        let len = encodings.iter().map(|e| e.get_ids().len()).max().unwrap_or(0).max(1);
        let mut ids = vec![self.pad_id; rows.len() * len];
        let mut mask = vec![0f32; rows.len() * len];
        for (r, enc) in encodings.iter().enumerate() {
            for (j, (&id, &attend)) in enc.get_ids().iter().zip(enc.get_attention_mask()).enumerate() {
                ids[r * len + j] = id;
                mask[r * len + j] = attend as f32;
            }
        }
        Ok((ids, mask, len))
    }
}

/// Copies a BERT's config and tokenizer files (those `source` has) into a run's
/// `text_model/` folder; nothing to do when they are read from there already.
pub fn copy_into_run(source: &Path, run: &Path) -> Result<()> {
    let target = run.join(RUN_TEXT_MODEL);
    if same_folder(source, &target) {
        return Ok(());
    }
    std::fs::create_dir_all(&target).map_err(|e| PretextError::bad_file(&target, e.to_string()))?;
    for name in ASSET_FILES {
        let from = source.join(name);
        if from.is_file() {
            std::fs::copy(&from, target.join(name)).map_err(|e| PretextError::bad_file(&from, format!("cannot copy it into the run: {e}")))?;
        }
    }
    Ok(())
}

/// The run's own copy of its BERT's files, when it has one.
pub fn run_copy(run: &Path) -> Option<PathBuf> {
    let dir = run.join(RUN_TEXT_MODEL);
    dir.join("config.json").is_file().then_some(dir)
}

fn same_folder(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// `tokenizer.json` as it is, else a BERT WordPiece tokenizer over `vocab.txt` (lower-cased
/// unless `tokenizer_config.json` says `do_lower_case: false`), as transformers'
/// `BertTokenizerFast` builds it.
fn read_tokenizer(dir: &Path) -> Result<Tokenizer> {
    let json = dir.join("tokenizer.json");
    if json.is_file() {
        return Tokenizer::from_file(&json).map_err(|e| PretextError::bad_file(&json, format!("not a tokenizers file: {e}")));
    }
    let vocab = dir.join("vocab.txt");
    if !vocab.is_file() {
        return Err(PretextError::bad_file(dir, "no tokenizer beside the BERT config (looked for tokenizer.json and vocab.txt)"));
    }
    let lowercase = std::fs::read_to_string(dir.join("tokenizer_config.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v.get("do_lower_case").and_then(|b| b.as_bool()))
        .unwrap_or(true);
    let path = vocab.to_string_lossy().to_string();
    let model = WordPiece::from_file(&path).unk_token("[UNK]".into()).build().map_err(|e| PretextError::bad_file(&vocab, format!("not a WordPiece vocabulary: {e}")))?;
    let id = |token: &str| model_token_id(&model, token).ok_or_else(|| PretextError::bad_file(&vocab, format!("the vocabulary has no {token} token")));
    let (cls, sep) = (id("[CLS]")?, id("[SEP]")?);
    let mut tokenizer = Tokenizer::new(model);
    tokenizer
        .with_normalizer(Some(BertNormalizer::new(true, true, None, lowercase)))
        .with_pre_tokenizer(Some(BertPreTokenizer))
        .with_post_processor(Some(BertProcessing::new(("[SEP]".into(), sep), ("[CLS]".into(), cls))));
    let specials: Vec<AddedToken> = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].into_iter().map(|t| AddedToken::from(t, true)).collect();
    tokenizer.add_special_tokens(&specials);
    Ok(tokenizer)
}

fn model_token_id(model: &WordPiece, token: &str) -> Option<u32> {
    use tokenizers::Model;
    model.token_to_id(token)
}

/// The text a row of byte codes spells, padding dropped and each hidden span one mask token.
pub fn codes_to_text(codes: &[f32], mask_token: &str) -> String {
    let mut bytes = Vec::with_capacity(codes.len());
    let mut in_mask = false;
    for &c in codes {
        match c.round() as i64 {
            c if c == MASK as i64 => {
                if !in_mask {
                    bytes.push(b' ');
                    bytes.extend_from_slice(mask_token.as_bytes());
                    bytes.push(b' ');
                }
                in_mask = true;
                continue;
            }
            c if c == PAD as i64 => break,
            c @ 1..=256 => bytes.push((c - 1) as u8),
            _ => {}
        }
        in_mask = false;
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_spans_become_one_mask_token_and_padding_ends_the_text() {
        let mut codes: Vec<f32> = "a cat sat".bytes().map(|b| b as f32 + 1.0).collect();
        codes[2] = MASK as f32;
        codes[3] = MASK as f32;
        codes[4] = MASK as f32;
        codes.extend([PAD as f32, b'x' as f32 + 1.0]);
        assert_eq!(codes_to_text(&codes, "[MASK]"), "a  [MASK]  sat");
    }
}
