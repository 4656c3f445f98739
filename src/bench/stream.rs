//! `pretext bench stream`: peak memory of training on a dataset larger than we want in
//! memory. A float32 NPY of N × 784 rows (Fashion-MNIST images repeated with seeded pixel
//! noise, their labels beside it; 3.1 GB at a million rows) is made once, then
//! `pretext train` runs on it twice as child processes with the same settings: streamed
//! from disk (`--stream always`) and, as the reference, held in memory (`--stream never`,
//! what every dataset did before streaming). Each child's peak resident memory comes from
//! the kernel's accounting of the finished process (`wait4`'s `ru_maxrss`), so it covers
//! loading, training, snapshots and the final evaluation.

use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context};
use rand::{Rng, SeedableRng};

use crate::data::stream::StreamChoice;
use crate::data::{load_dataset, LoadOptions};

#[derive(clap::Args, Debug, Clone)]
pub struct StreamBenchArgs {
    /// Rows of the NPY trained on.
    #[arg(long, default_value_t = 1_000_000)]
    pub rows: usize,
    /// Where the NPY is made (kept for later runs; made anew when its row count differs).
    #[arg(long, default_value = "/tmp/pretext-stream-bench.npy")]
    pub path: PathBuf,
    /// Training steps on each side.
    #[arg(long, default_value_t = 300)]
    pub steps: usize,
    /// Items per step.
    #[arg(long, default_value_t = 256)]
    pub batch: usize,
    /// Only the streamed side (the reference holds the whole file in memory: 3.1 GB and more
    /// at a million rows).
    #[arg(long)]
    pub no_reference: bool,
}

const DIM: usize = 784;

/// One `pretext train` child: its peak RSS, wall time and last training rate.
struct Side {
    peak_rss_mib: f64,
    wall_s: f64,
    items_per_sec: Option<f64>,
}

pub fn run(args: &StreamBenchArgs) -> anyhow::Result<String> {
    let made = ensure_file(&args.path, args.rows)?;
    let train_items = args.rows - (args.rows as f32 * 0.2).round() as usize;
    let epochs = (args.steps * args.batch) as f64 / train_items as f64;
    let streamed = train_side(args, epochs, StreamChoice::Always)?;
    let reference = if args.no_reference { None } else { Some(train_side(args, epochs, StreamChoice::Never)?) };
    let mut out = String::new();
    out.push_str(&format!(
        "stream bench: {} rows × {DIM} float32 ({:.2} GB on disk{}), pretext train, {} steps of {}, default objective (mae)\n",
        args.rows,
        (args.rows * DIM * 4) as f64 / 1e9,
        if made { ", made now" } else { "" },
        args.steps,
        args.batch
    ));
    if let Some(load) = crate::bench::sysinfo::load_average() {
        out.push_str(&format!("1-minute load average at the end: {load:.2} (2 cores idle: about 0)\n"));
    }
    out.push_str("| dataset | peak RSS | wall (load, train, evaluation) | training items/s |\n|---|---|---|---|\n");
    let row = |name: &str, s: &Side| {
        format!(
            "| {name} | {:.0} MiB | {:.1} s | {} |\n",
            s.peak_rss_mib,
            s.wall_s,
            s.items_per_sec.map_or("?".into(), |r| format!("{r:.0}"))
        )
    };
    out.push_str(&row("streamed from disk", &streamed));
    if let Some(r) = &reference {
        out.push_str(&row("held in memory (reference)", r));
        out.push_str(&format!("streamed peak / held peak: {:.2}\n", streamed.peak_rss_mib / r.peak_rss_mib));
    }
    out.push_str(&format!("streamed peak RSS {:.2} GiB (goal: under 1.5 GiB)\n", streamed.peak_rss_mib / 1024.0));
    Ok(out)
}

fn train_side(args: &StreamBenchArgs, epochs: f64, stream: StreamChoice) -> anyhow::Result<Side> {
    let out = std::env::temp_dir().join(format!("pretext-stream-bench-run-{}", std::process::id()));
    let exe = std::env::current_exe()?;
    let mode = match stream {
        StreamChoice::Always => "always",
        StreamChoice::Never => "never",
        StreamChoice::Auto => "auto",
    };
    let start = Instant::now();
    let mut child = Command::new(exe)
        .args(["train", "--stream", mode, "--batch", &args.batch.to_string(), "--epochs", &format!("{epochs:.6}"), "--json"])
        .arg("--data")
        .arg(&args.path)
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting pretext train")?;
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let (status, peak_kib) = wait_with_peak_rss(child.id())?;
    let wall_s = start.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&out);
    let (_, log) = (stdout.join().unwrap_or_default(), stderr.join().unwrap_or_default());
    if status != 0 {
        bail!("pretext train --stream {mode} failed (exit {status}): {}", log.lines().last().unwrap_or(""));
    }
    let items_per_sec = log
        .lines()
        .find_map(|l| l.split("last throughput ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok());
    Ok(Side { peak_rss_mib: peak_kib as f64 / 1024.0, wall_s, items_per_sec })
}

/// Waits for child `pid`: (exit code, peak resident set in KiB) from the kernel's resource
/// accounting of that process alone.
fn wait_with_peak_rss(pid: u32) -> anyhow::Result<(i32, i64)> {
    let mut status = 0;
    // Safety: rusage is plain data the call fills in; pid is our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let got = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage) };
    if got < 0 {
        bail!("waiting for pretext train: {}", std::io::Error::last_os_error());
    }
    let code = if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { -1 };
    Ok((code, usage.ru_maxrss))
}

/// Makes the NPY (and its labels) unless a file of `rows` rows is already there; true when made.
fn ensure_file(path: &Path, rows: usize) -> anyhow::Result<bool> {
    let data_bytes = (rows * DIM * 4) as u64;
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.len() > data_bytes && meta.len() < data_bytes + 4096 && labels_path(path).is_file() {
            return Ok(false);
        }
    }
    let source = ["/usr/share/datasets/fashion-mnist".into(), crate::data::load::sample_data_dir()]
        .into_iter()
        .find(|p: &PathBuf| p.is_dir())
        .context("no Fashion-MNIST to build the file from")?;
    let ds = load_dataset(&source, &LoadOptions { stream: StreamChoice::Never, ..LoadOptions::default() })?;
    eprintln!("making {} ({rows} rows from {} Fashion-MNIST images)...", path.display(), ds.len());
    let mut out = BufWriter::with_capacity(1 << 22, std::fs::File::create(path)?);
    out.write_all(&npy_header(rows, DIM))?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let mut labels = Vec::with_capacity(rows);
    let mut row = vec![0u8; DIM * 4];
    for r in 0..rows {
        let i = r % ds.len();
        for (bytes, &v) in row.chunks_exact_mut(4).zip(ds.global_item(i).iter()) {
            let noisy = (v + rng.random_range(-0.03f32..0.03)).clamp(0.0, 1.0);
            bytes.copy_from_slice(&noisy.to_le_bytes());
        }
        out.write_all(&row)?;
        labels.push(ds.global_label(i).unwrap_or(0) as i64);
    }
    out.flush()?;
    use ndarray_npy::WriteNpyExt;
    ndarray::Array1::from(labels).write_npy(std::fs::File::create(labels_path(path))?)?;
    Ok(true)
}

fn labels_path(path: &Path) -> PathBuf {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!("{stem}_labels.npy"))
}

/// An NPY 1.0 header for a C-order little-endian float32 array of `rows` × `cols`, padded
/// so the data starts on a 64-byte boundary (the format's rule).
fn npy_header(rows: usize, cols: usize) -> Vec<u8> {
    let dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    let unpadded = 10 + dict.len() + 1;
    let pad = (64 - unpadded % 64) % 64;
    let header_len = dict.len() + pad + 1;
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header_len as u16).to_le_bytes());
    bytes.extend_from_slice(dict.as_bytes());
    bytes.extend(std::iter::repeat_n(b' ', pad));
    bytes.push(b'\n');
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_written_header_is_read_back_as_the_array_it_describes() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("h.npy");
        let mut bytes = npy_header(3, 2);
        assert_eq!(bytes.len() % 64, 0);
        for v in [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0] {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{e}"));
        let a = crate::data::npy::read_matrix(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a, ndarray::arr2(&[[1.0f32, 2.0], [3.0, 4.0], [5.0, 6.0]]));
    }
}
