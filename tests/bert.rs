//! The BERT-family text encoder on a tiny model the tests make themselves: a WordPiece
//! vocabulary, a transformers `config.json` and random weights in transformers' names.
//! Checked: the tokenizer against hand-worked ids, the forward pass against a plain-Rust
//! reference of BertModel's equations, padding that changes nothing, the checkpoint layouts
//! transformers and Lightning write, a checkpoint of another size refused in one line, and
//! the command line (embed, train with frozen embeddings, export, a run that reopens after
//! it is moved).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use candle_core::{Device, Tensor};
use pretext::data::Modality;
use pretext::ssl::encoder::SslModel;
use pretext::ssl::{EncoderKind, TrainConfig};

const VOCAB: [&str; 24] = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", "a", "dog", "ran", ".", "##s", "big", "red", "car", "drove", "fast", "b", "i", "##g", ",",
];
const MAX_LEN: usize = 96;

/// A two-layer BERT, hidden 16, 2 heads, in `dir`: config.json, vocab.txt, model.safetensors.
fn tiny_bert(dir: &Path, layers: usize, seed: u64) -> PathBuf {
    std::fs::create_dir_all(dir).expect("a folder");
    std::fs::write(dir.join("vocab.txt"), VOCAB.join("\n") + "\n").expect("vocab");
    let config = serde_json::json!({
        "model_type": "bert", "vocab_size": VOCAB.len(), "hidden_size": 16, "num_hidden_layers": layers,
        "num_attention_heads": 2, "intermediate_size": 32, "hidden_act": "gelu", "max_position_embeddings": 64,
        "type_vocab_size": 2, "layer_norm_eps": 1e-12, "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
    });
    std::fs::write(dir.join("config.json"), config.to_string()).expect("config");
    let cfg = TrainConfig { encoder: EncoderKind::Bert, text_model: Some(dir.to_path_buf()), seed, ..TrainConfig::for_modality(&modality()) };
    let (varmap, _) = SslModel::build(&modality(), &cfg).expect("a tiny BERT");
    // LayerNorms away from 1 and 0, so a wrong normalisation shows.
    for (name, var) in varmap.data().lock().expect("weights").iter() {
        if name.contains("LayerNorm") {
            let n = var.elem_count();
            let v: Vec<f32> = (0..n).map(|i| if name.ends_with("weight") { 1.0 + 0.3 * ((i * 7 % 5) as f32 - 2.0) / 2.0 } else { 0.1 * ((i % 3) as f32 - 1.0) }).collect();
            var.set(&Tensor::from_vec(v, n, &Device::Cpu).expect("values")).expect("set");
        }
    }
    let weights = dir.join("model.safetensors");
    pretext::ssl::checkpoint::export_encoder(&varmap, 0, &weights).expect("weights");
    weights
}

fn modality() -> Modality {
    Modality::Text { max_len: MAX_LEN }
}

fn codes(texts: &[&str]) -> Vec<f32> {
    let mut rows = vec![0f32; texts.len() * MAX_LEN];
    for (t, row) in texts.iter().zip(rows.chunks_mut(MAX_LEN)) {
        pretext::data::text::encode(t, row);
    }
    rows
}

/// The encoder started from `init`, and the embeddings of `texts` with it.
fn embed(init: &Path, text_model: Option<&Path>, texts: &[&str]) -> Result<Vec<Vec<f32>>, String> {
    let cfg = TrainConfig { encoder: EncoderKind::Bert, init: Some(init.to_path_buf()), text_model: text_model.map(Path::to_path_buf), ..TrainConfig::for_modality(&modality()) };
    let (varmap, model) = SslModel::build(&modality(), &cfg).map_err(|e| e.to_string())?;
    pretext::ssl::checkpoint::load_encoder(&varmap, init).map_err(|e| e.to_string())?;
    let m = pretext::ssl::evaluate::embed_items(&model, &codes(texts), MAX_LEN).map_err(|e| e.to_string())?;
    Ok(m.data.chunks(m.cols).map(<[f32]>::to_vec).collect())
}

fn max_rel(a: &[f32], b: &[f32]) -> f32 {
    let scale = b.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-12);
    a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs())) / scale
}

#[test]
fn the_tokenizer_splits_words_into_word_pieces_between_cls_and_sep() {
    let dir = tempfile::tempdir().expect("a temp dir");
    tiny_bert(dir.path(), 2, 1);
    let assets = pretext::ssl::bert_tokens::BertAssets::read(dir.path()).expect("assets");
    let rows: Vec<Vec<f32>> = codes(&["The cats sat.", "a BIG dog"]).chunks(MAX_LEN).map(<[f32]>::to_vec).collect();
    let (ids, mask, len) = assets.encode_codes(&rows).expect("ids");
    // [CLS] the cat ##s sat . [SEP]  /  [CLS] a big dog [SEP] [PAD] [PAD]: lower-cased (vocab.txt
    // with no tokenizer_config.json), "cats" = cat + ##s.
    assert_eq!(len, 7);
    assert_eq!(&ids[..7], &[2, 5, 6, 14, 7, 13, 3]);
    assert_eq!(&ids[7..], &[2, 10, 15, 11, 3, 0, 0]);
    assert_eq!(&mask[7..], &[1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0]);
}

/// BertModel's equations written out in f64 loops (Devlin et al. 2019; transformers'
/// `BertEmbeddings`, `BertSelfAttention`, `BertSelfOutput`, `BertIntermediate`, `BertOutput`),
/// then sentence-transformers' mean pooling: one text, no padding.
fn reference_embedding(w: &HashMap<String, Tensor>, ids: &[usize], layers: usize, heads: usize) -> Vec<f64> {
    let get = |name: &str| -> (Vec<f64>, Vec<usize>) {
        let t = &w[name];
        (t.flatten_all().expect("flat").to_vec1::<f32>().expect("f32").into_iter().map(f64::from).collect(), t.dims().to_vec())
    };
    let layer_norm = |x: &mut [f64], prefix: &str| {
        let (g, _) = get(&format!("{prefix}.weight"));
        let (b, _) = get(&format!("{prefix}.bias"));
        let mean = x.iter().sum::<f64>() / x.len() as f64;
        let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / x.len() as f64;
        for (i, v) in x.iter_mut().enumerate() {
            *v = (*v - mean) / (var + 1e-12).sqrt() * g[i] + b[i];
        }
    };
    let dense = |x: &[f64], prefix: &str| -> Vec<f64> {
        let (wt, dims) = get(&format!("{prefix}.weight"));
        let (b, _) = get(&format!("{prefix}.bias"));
        (0..dims[0]).map(|o| b[o] + (0..dims[1]).map(|i| wt[o * dims[1] + i] * x[i]).sum::<f64>()).collect()
    };
    let (word, dims) = get("embeddings.word_embeddings.weight");
    let d = dims[1];
    let (pos, _) = get("embeddings.position_embeddings.weight");
    let (types, _) = get("embeddings.token_type_embeddings.weight");
    let mut h: Vec<Vec<f64>> = ids
        .iter()
        .enumerate()
        .map(|(p, &id)| {
            let mut x: Vec<f64> = (0..d).map(|j| word[id * d + j] + pos[p * d + j] + types[j]).collect();
            layer_norm(&mut x, "embeddings.LayerNorm");
            x
        })
        .collect();
    let hd = d / heads;
    for l in 0..layers {
        let p = format!("encoder.layer.{l}");
        let q: Vec<Vec<f64>> = h.iter().map(|x| dense(x, &format!("{p}.attention.self.query"))).collect();
        let k: Vec<Vec<f64>> = h.iter().map(|x| dense(x, &format!("{p}.attention.self.key"))).collect();
        let v: Vec<Vec<f64>> = h.iter().map(|x| dense(x, &format!("{p}.attention.self.value"))).collect();
        let mut next = Vec::new();
        for (t, x) in h.iter().enumerate() {
            let mut ctx = vec![0f64; d];
            for head in 0..heads {
                let r = head * hd..(head + 1) * hd;
                let scores: Vec<f64> = k.iter().map(|kk| r.clone().map(|j| q[t][j] * kk[j]).sum::<f64>() / (hd as f64).sqrt()).collect();
                let top = scores.iter().cloned().fold(f64::MIN, f64::max);
                let e: Vec<f64> = scores.iter().map(|s| (s - top).exp()).collect();
                let z: f64 = e.iter().sum();
                for (s, vv) in e.iter().zip(&v) {
                    for j in r.clone() {
                        ctx[j] += s / z * vv[j];
                    }
                }
            }
            let mut a: Vec<f64> = dense(&ctx, &format!("{p}.attention.output.dense")).iter().zip(x).map(|(o, r)| o + r).collect();
            layer_norm(&mut a, &format!("{p}.attention.output.LayerNorm"));
            let inner: Vec<f64> = dense(&a, &format!("{p}.intermediate.dense")).into_iter().map(|u| 0.5 * u * (1.0 + erf(u / 2f64.sqrt()))).collect();
            let mut o: Vec<f64> = dense(&inner, &format!("{p}.output.dense")).iter().zip(&a).map(|(o, r)| o + r).collect();
            layer_norm(&mut o, &format!("{p}.output.LayerNorm"));
            next.push(o);
        }
        h = next;
    }
    (0..d).map(|j| h.iter().map(|x| x[j]).sum::<f64>() / h.len() as f64).collect()
}

/// erf by its Taylor series: within 1e-9 for |x| ≤ 4 (cancellation costs a few digits there);
/// beyond, ±1 is within 2e-8.
fn erf(x: f64) -> f64 {
    if x.abs() > 4.0 {
        return x.signum();
    }
    let mut term = x;
    let mut sum = x;
    for n in 1..200 {
        term *= -x * x / n as f64;
        sum += term / (2 * n + 1) as f64;
    }
    sum * 2.0 / std::f64::consts::PI.sqrt()
}

#[test]
fn the_forward_pass_follows_bert_equations_and_padding_changes_nothing() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let weights = tiny_bert(dir.path(), 2, 3);
    let tensors = candle_core::safetensors::load(&weights, &Device::Cpu).expect("weights");
    // "the cat sat on a mat": [CLS] the cat sat on a mat [SEP].
    let reference = reference_embedding(&tensors, &[2, 5, 6, 7, 8, 10, 9, 3], 2, 2);
    let alone = embed(&weights, None, &["the cat sat on a mat"]).expect("embedding");
    let reference: Vec<f32> = reference.iter().map(|&v| v as f32).collect();
    assert!(max_rel(&alone[0], &reference) < 1e-5, "pretext {:?} vs reference {:?}", alone[0], reference);
    // Beside a longer text the short one is padded; its embedding must not move.
    let batch = embed(&weights, None, &["the cat sat on a mat", "the big red car drove fast, a dog ran on the mat, the cats sat."]).expect("embeddings");
    assert!(max_rel(&batch[0], &alone[0]) < 1e-5, "padding changed the embedding: {:?} vs {:?}", batch[0], alone[0]);
}

#[test]
fn transformers_and_lightning_layouts_load_to_the_same_embeddings() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let weights = tiny_bert(dir.path(), 2, 5);
    let bare = candle_core::safetensors::load(&weights, &Device::Cpu).expect("weights");
    let texts = ["a dog ran", "the red car"];
    let expected = embed(&weights, None, &texts).expect("embeddings");
    // BertForMaskedLM (`bert.` prefix, the language-model head and a pooler beside it), an
    // old file with position ids, and a Lightning-style `backbone.` module.
    let extra = |name: &str, n: usize| (name.to_string(), Tensor::zeros(n, candle_core::DType::F32, &Device::Cpu).expect("zeros"));
    let layouts: [(&str, &str, Vec<(String, Tensor)>); 2] = [
        ("masked-lm.safetensors", "bert.", vec![extra("cls.predictions.bias", VOCAB.len()), extra("bert.pooler.dense.bias", 16), extra("bert.embeddings.position_ids", 64)]),
        ("lightning.safetensors", "backbone.", vec![extra("projection_head.layers.0.bias", 8)]),
    ];
    for (file, prefix, extras) in layouts {
        let mut tensors: HashMap<String, Tensor> = bare.iter().map(|(k, v)| (format!("{prefix}{k}"), v.clone())).collect();
        tensors.extend(extras);
        let path = dir.path().join(file);
        candle_core::safetensors::save(&tensors, &path).expect("write");
        let got = embed(&path, None, &texts).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(got, expected, "{file}");
    }
}

#[test]
fn a_checkpoint_of_another_size_is_refused_in_one_line() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let two_layers = tiny_bert(&dir.path().join("two"), 2, 7);
    let three = dir.path().join("three");
    tiny_bert(&three, 3, 7);
    let err = embed(&two_layers, Some(&three), &["a cat"]).expect_err("three layers cannot load two");
    assert!(!err.contains('\n'), "one line: {err}");
    assert!(err.contains("missing (encoder.layer.2."), "{err}");
    // Without a checkpoint the BERT has no sizes or tokenizer.
    let cfg = TrainConfig { encoder: EncoderKind::Bert, ..TrainConfig::for_modality(&modality()) };
    let err = SslModel::build(&modality(), &cfg).err().expect("no sizes without a checkpoint").to_string();
    assert!(err.contains("--init"), "{err}");
}

fn pretext(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pretext")).args(args).output().expect("run pretext");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn run_embeddings(run: &Path) -> pretext::analysis::Matrix {
    pretext::export::read_npy_matrix(&run.join("embeddings.npy")).expect("the run's embeddings")
}

#[test]
fn embed_train_frozen_and_export_on_the_command_line() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let model = dir.path().join("model");
    let weights = tiny_bert(&model, 2, 11);
    let texts = ["the cat sat on the mat", "a dog ran fast", "the big red car", "a cat sat", "the dog drove a car", "red cats ran"];
    let lines: Vec<String> = (0..24).map(|i| format!("{}\t{} {}", i % 2, texts[i % texts.len()], VOCAB[5 + i % 15])).collect();
    let data = dir.path().join("texts.txt");
    std::fs::write(&data, lines.join("\n")).expect("texts");
    let (data, model_s) = (data.to_str().expect("a path"), model.to_str().expect("a path"));

    let embedded = dir.path().join("embedded");
    let (ok, err) = pretext(&["embed", "--data", data, "--encoder", "bert", "--init", model_s, "--out", embedded.to_str().expect("a path")]);
    assert!(ok, "{err}");
    assert!(embedded.join("text_model").join("vocab.txt").is_file(), "the run keeps the tokenizer");
    assert_eq!(run_embeddings(&embedded).cols, 16);

    // Train with the embeddings frozen; the layers move.
    let run = dir.path().join("run");
    let (ok, err) = pretext(&[
        "train", "--data", data, "--encoder", "bert", "--init", model_s, "--freeze", "1", "--objective", "simclr", "--epochs", "2", "--batch", "8", "--out",
        run.to_str().expect("a path"),
    ]);
    assert!(ok, "{err}");
    let trained = err;
    let exported = dir.path().join("exported.safetensors");
    let (ok, err) = pretext(&["export-weights", run.to_str().expect("a path"), "--out", exported.to_str().expect("a path")]);
    assert!(ok, "{err}");
    let before = candle_core::safetensors::load(&weights, &Device::Cpu).expect("weights");
    let after = candle_core::safetensors::load(&exported, &Device::Cpu).expect("exported");
    let mut names: Vec<&String> = before.keys().collect();
    names.sort();
    assert_eq!(names, { let mut a: Vec<&String> = after.keys().collect(); a.sort(); a }, "the export has transformers' names, no more and no less");
    let values = |t: &Tensor| t.flatten_all().and_then(|t| t.to_vec1::<f32>()).expect("f32 values");
    let same = |name: &str| values(&before[name]) == values(&after[name]);
    assert!(same("embeddings.word_embeddings.weight") && same("embeddings.LayerNorm.weight"), "frozen embeddings stayed");
    assert!(!same("encoder.layer.1.output.dense.weight"), "the layers trained: {trained}");

    // The run reopens from anywhere: its config and tokenizer travel with it.
    let moved = dir.path().join("moved");
    std::fs::rename(&run, &moved).expect("move the run");
    std::fs::rename(&model, dir.path().join("gone")).expect("move the model away");
    let again = dir.path().join("again");
    let (ok, err) = pretext(&["embed", "--data", data, "--encoder", "bert", "--init", moved.to_str().expect("a path"), "--out", again.to_str().expect("a path")]);
    assert!(ok, "{err}");
    let (ok, err) = pretext(&["eval", "--run", moved.to_str().expect("a path"), "--data", data]);
    assert!(ok, "{err}");
}

#[test]
fn every_weight_gets_a_gradient_while_training() {
    let dir = tempfile::tempdir().expect("a temp dir");
    tiny_bert(dir.path(), 2, 13);
    let cfg = TrainConfig { encoder: EncoderKind::Bert, text_model: Some(dir.path().to_path_buf()), ..TrainConfig::for_modality(&modality()) };
    let (varmap, model) = SslModel::build(&modality(), &cfg).expect("a model");
    let x = Tensor::from_vec(codes(&["the cat sat", "a big red car drove fast"]), (2, MAX_LEN), &Device::Cpu).expect("codes");
    let grads = model.embed(&x, true).and_then(|e| e.sqr()).and_then(|t| t.sum_all()).and_then(|l| l.backward()).expect("backward");
    let data = varmap.data().lock().expect("weights");
    let cut_off: Vec<&String> = data
        .iter()
        // The key bias adds the same q·b to every score of a query: softmax cancels it, so its
        // gradient is zero in exact arithmetic.
        .filter(|(name, _)| name.starts_with("encoder.") && !name.ends_with("attention.self.key.bias"))
        .filter(|(_, var)| grads.get(var.as_tensor()).is_none_or(|g| g.flatten_all().and_then(|t| t.to_vec1::<f32>()).expect("f32").iter().all(|v| *v == 0.0)))
        .map(|(name, _)| name)
        .collect();
    assert!(cut_off.is_empty(), "no gradient reaches {cut_off:?}");
}
