//! Runs bench/peers_train.py (PyTorch) and reads its JSON line.

use std::path::Path;
use std::process::Command;

use serde::Deserialize;

use super::TrainBenchOptions;

#[derive(Debug, Clone, Deserialize)]
pub struct PeerRow {
    pub model: String,
    pub images_per_s: f64,
    pub step_ms: f64,
    #[serde(default)]
    pub cpu_ms: Option<f64>,
    /// The OpenMP wait policy of the faster of the two runs the script makes.
    #[serde(default)]
    pub omp_wait_policy: Option<String>,
    pub peak_rss_mib: f64,
    pub baseline_rss_mib: f64,
}

#[derive(Debug, Clone)]
pub enum Peers {
    NotRun,
    /// Why the reference did not run (no python3, torch not installable, script failed).
    Skipped(String),
    Ran { torch: String, rows: Vec<PeerRow> },
}

impl Peers {
    pub fn row(&self, model: &str) -> Option<&PeerRow> {
        match self {
            Peers::Ran { rows, .. } => rows.iter().find(|r| r.model == model),
            _ => None,
        }
    }
}

#[derive(Deserialize)]
struct ScriptOutput {
    skipped: Option<String>,
    torch: Option<String>,
    #[serde(default)]
    results: Vec<PeerRow>,
}

pub fn run(script: &Path, opts: &TrainBenchOptions, models: &[&str]) -> Peers {
    if !script.is_file() {
        return Peers::Skipped(format!("{} not found (run from the repository root)", script.display()));
    }
    let output = Command::new("python3")
        .arg(script)
        .arg("--json")
        .args(["--steps", &opts.steps.to_string(), "--warmup", &opts.warmup.to_string()])
        .args(["--batch", &opts.batch_size.to_string(), "--threads", &opts.threads.to_string()])
        .args(["--models", &models.join(",")])
        .output();
    let output = match output {
        Ok(o) => o,
        Err(e) => return Peers::Skipped(format!("could not start python3: {e}")),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let Some(last) = stdout.lines().rev().find(|l| l.trim_start().starts_with('{')) else {
        let err = String::from_utf8_lossy(&output.stderr);
        let tail = err.lines().last().unwrap_or("no output");
        return Peers::Skipped(format!("{} printed no result ({tail})", script.display()));
    };
    match serde_json::from_str::<ScriptOutput>(last) {
        Ok(ScriptOutput { skipped: Some(why), .. }) => Peers::Skipped(why),
        Ok(out) => Peers::Ran { torch: out.torch.unwrap_or_else(|| "?".into()), rows: out.results },
        Err(e) => Peers::Skipped(format!("unreadable output from {}: {e}", script.display())),
    }
}
