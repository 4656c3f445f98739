//! The project's Python files, kept as files beside this module (they are our own code,
//! written for this export) and built into the binary.

/// (file name, text) of every Python module of the project; `train.py` carries placeholders
/// the export fills in.
pub const PYTHON: [(&str, &str); 7] = [
    ("train.py", include_str!("templates/train.py")),
    ("data.py", include_str!("templates/data.py")),
    ("augment.py", include_str!("templates/augment.py")),
    ("models.py", include_str!("templates/models.py")),
    ("objectives.py", include_str!("templates/objectives.py")),
    ("evaluate.py", include_str!("templates/evaluate.py")),
    ("takeback.py", include_str!("templates/takeback.py")),
];

/// Versions the project was checked with (bench/torch_roundtrip.py ran them).
pub const REQUIREMENTS: [&str; 7] =
    ["torch==2.15.0", "torchvision==0.29.2", "lightning==2.6.6", "lightly==1.6.0", "numpy==2.4.6", "safetensors==0.8.0", "pillow==13.0.0"];
/// Needed by ViT runs only.
pub const TIMM: &str = "timm==1.0.31";
/// Needed to read Parquet tables only.
pub const PYARROW: &str = "pyarrow==22.0.0";

/// Whether the program looks a setting up in `RECIPE` (`RECIPE["key"]` or `recipe["key"]`).
pub fn reads_setting(key: &str) -> bool {
    let needle = format!("[\"{key}\"]");
    PYTHON.iter().any(|(_, text)| text.contains(&needle))
}
