//! A run's training settings as the exported program's `RECIPE`: every field of
//! `TrainConfig` flattened to a dotted key ("augment.crop_min_scale") and written as a Python
//! literal, and for each setting the program does not read, where it went instead or why it
//! is not reproduced (the project's README lists them).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::ssl::TrainConfig;

/// What happens to a setting the program does not look up in `RECIPE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elsewhere {
    /// Carried by a file of the project instead (the reason names it).
    InFiles(&'static str),
    /// Not reproduced; the reason says what the program does instead.
    NotReproduced(&'static str),
}

/// Settings the program does not read from `RECIPE`, by key or by key prefix (ending in '.').
const ELSEWHERE: [(&str, Elsewhere); 8] = [
    ("init", Elsewhere::InFiles("the checkpoint the run started from is already in the run's weights, weights/start.safetensors")),
    ("map_items", Elsewhere::InFiles("the map's items (the run's own seeded sample) are listed in split/map.npy")),
    ("eval_every", Elsewhere::NotReproduced("pretext evaluates and snapshots the map every eval_every steps while it trains; the program writes a Lightning checkpoint every --checkpoint-every steps and measures kNN accuracy once, at the end")),
    ("minutes", Elsewhere::NotReproduced("a time budget: the program counts steps (--max-steps, by default the run's epochs, or the steps the run had trained when it stopped on its budget)")),
    ("threads", Elsewhere::NotReproduced("training threads: PyTorch chooses (on the CPU, the cores divided among the processes of this machine)")),
    ("text_model", Elsewhere::NotReproduced("texts are not exported (image and table runs are)")),
    ("text_encoder", Elsewhere::NotReproduced("texts are not exported (image and table runs are)")),
    ("augment.", Elsewhere::NotReproduced("time series and text views: series and texts are not exported (image and table runs are)")),
];

/// Where a setting the program does not look up went; `None` for a setting it reads.
/// Prefix entries cover only the keys the program does not read (`augment.series.*` and
/// `augment.text.*`, not the image views).
pub fn elsewhere(key: &str, read_by_program: impl Fn(&str) -> bool) -> Option<Elsewhere> {
    if read_by_program(key) {
        return None;
    }
    ELSEWHERE.iter().find(|(k, _)| *k == key || (k.ends_with('.') && key.starts_with(k))).map(|(_, e)| *e)
}

/// Every leaf of the config by dotted key (objects are walked; arrays are leaves).
pub fn flatten(cfg: &TrainConfig) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    // Through the JSON text, as config.json holds it: `to_value` widens an f32 to f64 digit
    // by digit (0.4 becomes 0.4000000059604645), the text keeps f32's shortest form (0.4).
    // A config always serialises: it holds only plain data.
    let value = serde_json::to_string(cfg).ok().and_then(|text| serde_json::from_str(&text).ok()).unwrap_or(Value::Null);
    walk("", &value, &mut out);
    out
}

fn walk(prefix: &str, value: &Value, out: &mut BTreeMap<String, Value>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                walk(&key, v, out);
            }
        }
        leaf => {
            out.insert(prefix.to_string(), leaf.clone());
        }
    }
}

/// A JSON value as a Python literal (JSON's strings and numbers are Python's; true, false
/// and null are spelled True, False and None).
pub fn python_literal(value: &Value) -> String {
    match value {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => Value::String(s.clone()).to_string(),
        Value::Array(items) => format!("[{}]", items.iter().map(python_literal).collect::<Vec<_>>().join(", ")),
        Value::Object(map) => {
            let fields: Vec<String> = map.iter().map(|(k, v)| format!("{}: {}", Value::String(k.clone()), python_literal(v))).collect();
            format!("{{{}}}", fields.join(", "))
        }
    }
}

/// The `RECIPE` dict: one `"key": value,` line per setting.
pub fn recipe_literal(cfg: &TrainConfig) -> String {
    let lines: Vec<String> = flatten(cfg).iter().map(|(k, v)| format!("    {}: {},", Value::String(k.clone()), python_literal(v))).collect();
    format!("{{\n{}\n}}", lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_python() {
        let v: Value = serde_json::json!({"a": [0.1, 2.0], "b": null, "c": true, "d": "x\"y"});
        assert_eq!(python_literal(&v), r#"{"a": [0.1, 2.0], "b": None, "c": True, "d": "x\"y"}"#);
    }

    #[test]
    fn nested_settings_get_dotted_keys() {
        let keys = flatten(&TrainConfig::default());
        assert!(keys.contains_key("augment.colour.blur_sigma"));
        assert!(keys.contains_key("objective_params.momentum"));
        assert!(!keys.contains_key("augment"));
    }
}
