//! The Python side of `pretext bench analysis`: runs `bench/peers.py` on the exported data
//! and lays our figures next to theirs.

use std::process::Command;

use super::analysis::{BenchOptions, Figure, Report};
use crate::analysis::Matrix;

/// Runs the peers script; `Err` is a sentence saying why they were skipped.
pub fn run_peers(opts: &BenchOptions, x: &Matrix) -> Result<Vec<Figure>, String> {
    if !opts.peers_script.exists() {
        return Err(format!("{} not found, peers skipped", opts.peers_script.display()));
    }
    let parts = opts.parts.join(",");
    println!("running {} (Python reference tools, {} rows)…", opts.peers_script.display(), x.rows);
    let status = Command::new(&opts.python)
        .arg(&opts.peers_script)
        .arg("--data")
        .arg(&opts.out_dir)
        .arg("--parts")
        .arg(&parts)
        .arg("--threads")
        .arg(opts.threads.max(1).to_string())
        .status()
        .map_err(|e| format!("could not start {}: {e}; peers skipped", opts.python))?;
    if !status.success() {
        return Err(format!("{} exited with {status}; peers skipped", opts.peers_script.display()));
    }
    let path = opts.out_dir.join("peers.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Ours vs peers: time ratio (< 1 = we are faster), quality difference, rate ratio.
pub fn ratio_table(report: &Report) -> String {
    let mut s = String::from("\n| method | ours (s) | peer (s) | time ratio | ours quality | peer quality | ours q/s | peer q/s |\n|---|---|---|---|---|---|---|---|\n");
    for f in &report.ours {
        let peer = report.peers.iter().find(|p| p.name == f.name);
        let opt = |v: Option<f64>, prec: usize| v.map_or("–".to_string(), |v| format!("{v:.prec$}"));
        let q = |fig: Option<&Figure>| fig.and_then(|x| x.quality.map(|v| format!("{} {v:.4}", x.quality_name))).unwrap_or("–".into());
        s += &format!(
            "| {} | {:.2} | {} | {} | {} | {} | {} | {} |\n",
            f.name,
            f.seconds,
            opt(peer.map(|p| p.seconds), 2),
            opt(peer.map(|p| f.seconds / p.seconds.max(1e-9)), 2),
            q(Some(f)),
            q(peer),
            opt(f.rate, 0),
            opt(peer.and_then(|p| p.rate), 0),
        );
    }
    let load = |l: Option<f64>| l.map_or("–".to_string(), |v| format!("{v:.2}"));
    s += &format!(
        "\n{} threads on both sides; 1-minute load average before ours {}, before the peers {}\n",
        report.threads,
        load(report.load.0),
        load(report.load.1)
    );
    if let Some(note) = &report.peers_note {
        s += &format!("\npeers: {note}\n");
    }
    s
}
