//! What the exported PyTorch project writes comes back into pretext: its Lightning `.ckpt`
//! (weights under `state_dict`, the backbone under `net.encoder.`, a momentum teacher's copy
//! beside it), its `backbone.safetensors` in the architecture's own names, and its run folder.
//! The files are made here, in the layouts PyTorch writes them, without PyTorch.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use candle_core::{DType, Device, Tensor};

fn pretext(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pretext")).args(args).output().expect("run pretext");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn p(x: &Path) -> String {
    x.to_str().expect("a path").to_string()
}

/// 12×12 images in three classes, train and t10k files.
fn write_images(dir: &Path) {
    std::fs::create_dir_all(dir).expect("a folder");
    for (prefix, n) in [("train", 48usize), ("t10k", 18)] {
        let pixels: Vec<u8> = (0..n * 144).map(|k| (if (k % 144) / 48 == (k / 144) % 3 { 200 } else { 20 } + (k * 13) % 40) as u8).collect();
        let labels: Vec<u8> = (0..n).map(|i| (i % 3) as u8).collect();
        pretext::data::idx::write_idx(&dir.join(format!("{prefix}-images-idx3-ubyte")), &[n, 12, 12], &pixels, false).expect("idx images");
        pretext::data::idx::write_idx(&dir.join(format!("{prefix}-labels-idx1-ubyte")), &[n], &labels, false).expect("idx labels");
    }
}

/// A pickle (protocol 2, the one `torch.save` writes) built opcode by opcode: just the
/// objects a Lightning checkpoint holds.
#[derive(Default)]
struct Pickle {
    out: Vec<u8>,
    /// (storage key, little-endian bytes) of every tensor, for the zip's data/ entries.
    storages: Vec<(String, Vec<u8>)>,
}

impl Pickle {
    fn op(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }
    fn str(&mut self, s: &str) {
        self.op(b"X");
        self.op(&(s.len() as u32).to_le_bytes());
        self.op(s.as_bytes());
    }
    fn int(&mut self, v: i32) {
        self.op(b"J");
        self.op(&v.to_le_bytes());
    }
    fn float(&mut self, v: f64) {
        self.op(b"G");
        self.op(&v.to_be_bytes());
    }
    fn global(&mut self, module: &str, name: &str) {
        self.op(format!("c{module}\n{name}\n").as_bytes());
    }
    fn ordered_dict(&mut self) {
        self.global("collections", "OrderedDict");
        self.op(b")R");
    }
    fn ints_tuple(&mut self, values: &[usize]) {
        self.op(b"(");
        for &v in values {
            self.int(v as i32);
        }
        self.op(b"t");
    }
    /// `torch._utils._rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict())`.
    fn tensor(&mut self, t: &Tensor) {
        let dims = t.dims().to_vec();
        let mut strides = vec![1usize; dims.len()];
        for i in (0..dims.len().saturating_sub(1)).rev() {
            strides[i] = strides[i + 1] * dims[i + 1];
        }
        let (class, bytes) = match t.dtype() {
            DType::I64 => ("LongStorage", t.flatten_all().and_then(|t| t.to_vec1::<i64>()).expect("ints").iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>()),
            _ => ("FloatStorage", t.flatten_all().and_then(|t| t.to_vec1::<f32>()).expect("floats").iter().flat_map(|v| v.to_le_bytes()).collect()),
        };
        let key = self.storages.len().to_string();
        self.global("torch._utils", "_rebuild_tensor_v2");
        self.op(b"(");
        self.op(b"(");
        self.str("storage");
        self.global("torch", class);
        self.str(&key);
        self.str("cpu");
        self.int(t.elem_count() as i32);
        self.op(b"tQ");
        self.int(0);
        self.ints_tuple(&dims);
        self.ints_tuple(&strides);
        self.op(&[0x89]);
        self.ordered_dict();
        self.op(b"tR");
        self.storages.push((key, bytes));
    }
}

/// A zip archive with stored (uncompressed) entries, as `torch.save` writes them.
fn write_zip(path: &Path, entries: &[(String, Vec<u8>)]) {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in entries {
        let mut crc = flate2::Crc::new();
        crc.update(data);
        let offset = out.len() as u32;
        let header = |sig: u32, central: bool| {
            let mut h = Vec::new();
            h.extend_from_slice(&sig.to_le_bytes());
            if central {
                h.extend_from_slice(&20u16.to_le_bytes());
            }
            for v in [20u16, 0, 0, 0, 0x21] {
                h.extend_from_slice(&v.to_le_bytes());
            }
            for v in [crc.sum(), data.len() as u32, data.len() as u32] {
                h.extend_from_slice(&v.to_le_bytes());
            }
            h.extend_from_slice(&(name.len() as u16).to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes());
            if central {
                for v in [0u16, 0, 0] {
                    h.extend_from_slice(&v.to_le_bytes());
                }
                h.extend_from_slice(&0u32.to_le_bytes());
                h.extend_from_slice(&offset.to_le_bytes());
            }
            h.extend_from_slice(name.as_bytes());
            h
        };
        out.extend(header(0x0403_4b50, false));
        out.extend_from_slice(data);
        central.extend(header(0x0201_4b50, true));
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    for v in [0u16, 0, entries.len() as u16, entries.len() as u16] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    std::fs::write(path, out).expect("a zip");
}

/// A Lightning checkpoint as the project's trainer saves it: bookkeeping around
/// `state_dict`, which holds the student (`net.*`) and the momentum teacher
/// (`objective.teacher.net.*`), plus AdamW's state with tensors of its own.
fn write_lightning_ckpt(path: &Path, state: &BTreeMap<String, Tensor>) {
    let mut pk = Pickle::default();
    pk.op(&[0x80, 2]);
    pk.op(b"}(");
    pk.str("epoch");
    pk.int(3);
    pk.str("global_step");
    pk.int(60);
    pk.str("pytorch-lightning_version");
    pk.str("2.6.6");
    pk.str("state_dict");
    pk.ordered_dict();
    pk.op(b"(");
    for (name, t) in state {
        pk.str(name);
        pk.tensor(t);
    }
    pk.op(b"u");
    pk.str("optimizer_states");
    pk.op(b"](");
    pk.op(b"}(");
    pk.str("state");
    pk.op(b"}(");
    pk.int(0);
    pk.op(b"}(");
    pk.str("step");
    pk.tensor(&Tensor::new(60f32, &Device::Cpu).expect("a scalar"));
    pk.str("exp_avg");
    pk.tensor(&Tensor::zeros((4, 3), DType::F32, &Device::Cpu).expect("zeros"));
    pk.op(b"u");
    pk.op(b"u");
    pk.str("param_groups");
    pk.op(b"](}(");
    pk.str("lr");
    pk.float(0.002);
    pk.str("betas");
    pk.float(0.9);
    pk.float(0.999);
    pk.op(&[0x86]);
    pk.str("amsgrad");
    pk.op(&[0x89]);
    pk.str("foreach");
    pk.op(b"N");
    pk.str("params");
    pk.op(b"](");
    pk.int(0);
    pk.op(b"e");
    pk.op(b"ue");
    pk.op(b"u");
    pk.op(b"e");
    pk.str("callbacks");
    pk.op(b"}(");
    pk.str("ModelCheckpoint{'monitor': None, 'mode': 'min', 'every_n_train_steps': 60}");
    pk.op(b"}(");
    pk.str("best_model_path");
    pk.str("/tmp/out/checkpoints/step-step=60.ckpt");
    pk.str("kth_value");
    pk.tensor(&Tensor::new(f32::INFINITY, &Device::Cpu).expect("a scalar"));
    pk.op(b"u");
    pk.op(b"u");
    pk.op(b"u.");
    let mut entries = vec![("archive/data.pkl".to_string(), pk.out.clone()), ("archive/version".to_string(), b"3\n".to_vec())];
    entries.extend(pk.storages.iter().map(|(k, b)| (format!("archive/data/{k}"), b.clone())));
    write_zip(path, &entries);
}

fn load(path: &Path) -> BTreeMap<String, Tensor> {
    candle_core::safetensors::load(path, &Device::Cpu).expect("weights").into_iter().collect()
}

fn values(t: &Tensor) -> Vec<f32> {
    t.to_dtype(DType::F32).and_then(|t| t.flatten_all()).and_then(|t| t.to_vec1()).expect("values")
}

/// The encoder tensors of pretext's run `run` (no `encoder.` prefix), each mapped through `f`.
fn encoder_of(run: &Path, f: impl Fn(&Tensor) -> Tensor) -> BTreeMap<String, Tensor> {
    load(&run.join("checkpoint.safetensors")).into_iter().filter_map(|(k, v)| k.strip_prefix("encoder.").map(|n| (n.to_string(), f(&v)))).collect()
}

/// Every encoder weight of the run `taken` equals `expected`'s.
fn assert_encoder_is(taken: &Path, expected: &BTreeMap<String, Tensor>) {
    let got = encoder_of(taken, Tensor::clone);
    assert_eq!(got.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>());
    for (name, t) in expected {
        assert_eq!(values(&got[name]), values(t), "{name} was not taken from the checkpoint's student");
    }
}

/// A run folder of the seeded encoder on the fixture (its weights give names and shapes).
fn base_run(dir: &Path, data: &Path) -> std::path::PathBuf {
    let base = dir.join("base");
    let (ok, _, err) = pretext(&["embed", "--data", &p(data), "--out", &p(&base)]);
    assert!(ok, "{err}");
    base
}

fn with_counters(encoder: &BTreeMap<String, Tensor>, prefix: &str) -> BTreeMap<String, Tensor> {
    let mut out: BTreeMap<String, Tensor> = encoder.iter().map(|(k, v)| (format!("{prefix}{k}"), v.clone())).collect();
    for k in encoder.keys().filter_map(|k| k.strip_suffix("running_mean")) {
        out.insert(format!("{prefix}{k}num_batches_tracked"), Tensor::new(60i64, &Device::Cpu).expect("a counter"));
    }
    out
}

#[test]
fn a_lightning_checkpoint_of_the_project_opens_in_embed_and_train() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let data = dir.path().join("idx");
    write_images(&data);
    let base = base_run(dir.path(), &data);
    // Student and teacher hold other values than the seeded weights, and than each other.
    let student = encoder_of(&base, |t| (t * 0.5).expect("scaled"));
    let teacher = encoder_of(&base, |t| (t + 1.0).expect("shifted"));
    let mut state = with_counters(&student, "net.encoder.");
    state.extend(with_counters(&teacher, "objective.teacher.net.encoder."));
    for (k, v) in load(&base.join("checkpoint.safetensors")).into_iter().filter(|(k, _)| k.starts_with("head.")) {
        state.insert(format!("net.{k}"), v.clone());
        state.insert(format!("objective.teacher.net.{k}"), v);
    }
    let ckpt = dir.path().join("last.ckpt");
    write_lightning_ckpt(&ckpt, &state);

    let taken = dir.path().join("taken");
    let (ok, out, err) = pretext(&["embed", "--data", &p(&data), "--init", &p(&ckpt), "--out", &p(&taken), "--json"]);
    assert!(ok, "{err}");
    assert!(err.contains("under 'net.encoder.'"), "the student's backbone, not the teacher's: {err}");
    assert_encoder_is(&taken, &student);
    let metrics: serde_json::Value = serde_json::from_str(&out).expect("--json prints JSON");
    assert!(metrics["knn_accuracy"].as_f64().is_some(), "{out}");

    // Continue training here from the cluster's checkpoint.
    let more = dir.path().join("more");
    let (ok, _, err) = pretext(&["train", "--data", &p(&data), "--init", &p(&ckpt), "--epochs", "1", "--batch", "16", "--out", &p(&more)]);
    assert!(ok, "{err}");
    let config: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(more.join("config.json")).expect("config")).expect("json");
    assert_eq!(config["train"]["init"], serde_json::Value::String(p(&ckpt)), "the run records where it began");
    assert!(config["step"].as_u64().is_some_and(|s| s > 0), "{config}");
}

#[test]
fn the_projects_backbone_safetensors_and_run_folder_open() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let data = dir.path().join("idx");
    write_images(&data);
    let base = base_run(dir.path(), &data);

    // backbone.safetensors: the encoder's state_dict in its own names, counters included.
    let backbone = encoder_of(&base, |t| (t * -0.25).and_then(|t| t + 0.01).expect("changed"));
    let file = dir.path().join("backbone.safetensors");
    candle_core::safetensors::save(&with_counters(&backbone, "").into_iter().collect(), &file).expect("written");
    let taken = dir.path().join("taken");
    let (ok, out, err) = pretext(&["embed", "--data", &p(&data), "--init", &p(&file), "--out", &p(&taken), "--json"]);
    assert!(ok, "{err}");
    assert_encoder_is(&taken, &backbone);
    let embedded: serde_json::Value = serde_json::from_str(&out).expect("JSON");

    // The run folder the project writes: the run's config with the new step, weights in
    // pretext's names (no counters), the map's items embedded, an empty evaluation history.
    let folder = dir.path().join("outputs-run");
    std::fs::create_dir_all(&folder).expect("a folder");
    let mut config: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(base.join("config.json")).expect("config")).expect("json");
    config["step"] = 60.into();
    config["train_seconds"] = serde_json::Value::Null;
    config["phase"] = serde_json::Value::Null;
    std::fs::write(folder.join("config.json"), serde_json::to_string_pretty(&config).expect("json")).expect("written");
    let mut weights = load(&base.join("checkpoint.safetensors"));
    for (k, v) in &backbone {
        weights.insert(format!("encoder.{k}"), v.clone());
    }
    candle_core::safetensors::save(&weights.into_iter().collect(), folder.join("checkpoint.safetensors")).expect("written");
    let indices = pretext::export::read_npy_ints(&base.join("indices.npy")).expect("indices");
    let dim = embedded["embedding_dim"].as_u64().expect("a dimension") as usize;
    let rows: Vec<f32> = (0..indices.len() * dim).map(|i| ((i * 31 % 97) as f32 - 48.0) / 48.0).collect();
    pretext::export::write_npy_matrix(&folder.join("embeddings.npy"), &pretext::analysis::Matrix::new(rows, indices.len(), dim)).expect("written");
    pretext::export::write_npy_ints(&folder.join("indices.npy"), &indices).expect("written");
    let labels = pretext::export::read_npy_ints(&base.join("labels.npy")).expect("labels");
    pretext::export::write_npy_ints(&folder.join("labels.npy"), &labels).expect("written");
    std::fs::write(folder.join("metrics.json"), r#"{"history": [], "losses": [[1, 5.1], [2, 4.9]]}"#).expect("written");

    let (ok, out, err) = pretext(&["eval", "--run", &p(&folder), "--json"]);
    assert!(ok, "{err}");
    let evaluated: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(evaluated["step"], 60);
    // Measured with the folder's weights: the same figures as the backbone file gives.
    assert_eq!(evaluated["knn_accuracy"], embedded["knn_accuracy"], "eval {evaluated} / embed {embedded}");
    assert_eq!(evaluated["effective_rank"], embedded["effective_rank"]);
    // And `pretext --run`, `pretext embed --init` and `pretext train --init` read the folder.
    let again = dir.path().join("again");
    let (ok, _, err) = pretext(&["embed", "--data", &p(&data), "--init", &p(&folder), "--out", &p(&again)]);
    assert!(ok, "{err}");
    assert_encoder_is(&again, &backbone);
    let saved = pretext::ssl::run::load(&folder).expect("the folder opens as a run");
    assert_eq!((saved.config.step, saved.losses.len(), saved.embeddings.rows), (60, 2, indices.len()));
}
