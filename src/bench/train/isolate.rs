//! Each model of the benchmark in its own process, so its peak memory is its own: in one
//! process the allocator keeps what an earlier model freed, and the next model's peak would
//! hide in it. The child is this same executable with the same arguments, told by an
//! environment variable which one model to run; it prints that row as one tagged JSON line.

use std::process::{Command, Stdio};

use super::{BenchModel, BenchRow};
use crate::error::{PretextError, Result};

const CHILD_ENV: &str = "PRETEXT_BENCH_TRAIN_CHILD";
const ROW_TAG: &str = "pretext-bench-row ";

/// The model this process must run alone, when it is a benchmark child.
pub fn child_model() -> Option<BenchModel> {
    let key = std::env::var(CHILD_ENV).ok()?;
    BenchModel::all_known().find(|m| m.key() == key)
}

pub fn print_row(row: &BenchRow) -> Result<()> {
    let json = serde_json::to_string(row).map_err(|e| PretextError::BadData(format!("bench row: {e}")))?;
    println!("{ROW_TAG}{json}");
    Ok(())
}

pub fn run_in_child(model: BenchModel) -> Result<BenchRow> {
    let exe = std::env::current_exe().map_err(|e| PretextError::io("current executable", e))?;
    let out = Command::new(&exe)
        .args(std::env::args_os().skip(1))
        .env(CHILD_ENV, model.key())
        // Children are measured with the thread setup `main` gives the trainer.
        .env(crate::ssl::ops::CANDLE_THREADS_ENV, std::env::var_os(crate::ssl::ops::CANDLE_THREADS_ENV).unwrap_or("1".into()))
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| PretextError::io(&exe, e))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let Some(json) = stdout.lines().find_map(|l| l.strip_prefix(ROW_TAG)) else {
        return Err(PretextError::BadData(format!(
            "benchmark child for {} printed no result (exit status {})",
            model.label(),
            out.status
        )));
    };
    serde_json::from_str(json).map_err(|e| PretextError::BadData(format!("benchmark child output: {e}")))
}
