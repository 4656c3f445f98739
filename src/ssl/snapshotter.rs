//! Snapshots off the training thread. The trainer hands over a copy of the weights and goes
//! on stepping; this worker loads them into a model of its own, embeds the map items, sends
//! them as `Snapshot`, evaluates them and sends `Eval` on the trainer's event stream.
//!
//! A newer copy replaces one still waiting, so a slow snapshot never builds a queue: the
//! map shows the latest state the worker could reach. The first snapshot runs at the
//! training's own priority, so the map starts moving within seconds of Train; after it the
//! worker's threads drop to a low scheduling priority (Linux nice `NICE`), so while training
//! keeps every core busy they get a few per cent of the CPU; when training pauses or ends
//! they get all of it. (Only this order is possible: an unprivileged thread may lower its
//! priority, never raise it again.)

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use candle_core::Tensor;
use candle_nn::VarMap;

use crate::data::Dataset;
use crate::error::{PretextError, Result};
use crate::ssl::config::TrainConfig;
use crate::ssl::encoder::SslModel;
use crate::ssl::evaluate::{embed_dataset, evaluate_live, EvalRecord};
use crate::ssl::events::TrainEvent;
use crate::ssl::fault::{self, Fault};
use crate::ssl::trainer::EventSink;

/// The weights of one step, copied out of the training model.
struct Request {
    step: usize,
    weights: Vec<(String, Tensor)>,
}

#[derive(Default)]
struct Slot {
    pending: Option<Request>,
    busy: bool,
    shutdown: bool,
    /// The step of the last snapshot whose embeddings were sent (or failed).
    embedded: Option<usize>,
}

struct Shared {
    slot: Mutex<Slot>,
    changed: Condvar,
    /// Every evaluation so far, in step order (saved with the run).
    history: Mutex<Vec<EvalRecord>>,
    /// The first snapshot that failed (an error or a panic), until the trainer takes it and
    /// ends the phase with it; the worker itself goes on serving later requests.
    failure: Mutex<Option<String>>,
}

pub(crate) struct Snapshotter {
    shared: Arc<Shared>,
    handle: Option<JoinHandle<()>>,
}

/// What the worker needs besides the weights.
pub(crate) struct Context {
    pub ds: Arc<Dataset>,
    pub cfg: TrainConfig,
    pub map_indices: Arc<Vec<usize>>,
    pub sink: EventSink,
}

impl Snapshotter {
    pub fn start(ctx: Context, history: Vec<EvalRecord>) -> Result<Self> {
        let (varmap, model) = SslModel::build(&ctx.ds.modality, &ctx.cfg)?;
        let shared = Arc::new(Shared { slot: Mutex::new(Slot::default()), changed: Condvar::new(), history: Mutex::new(history), failure: Mutex::new(None) });
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(ctx.cfg.threads)
            .thread_name(|i| format!("pretext-snapshot-{i}"))
            .build()
            .map_err(|e| PretextError::BadData(format!("cannot start the snapshot threads: {e}")))?;
        let worker_shared = shared.clone();
        let handle = std::thread::Builder::new()
            .name("pretext-snapshots".into())
            .spawn(move || pool.install(|| work(&worker_shared, &ctx, &varmap, &model)))
            .map_err(|e| PretextError::BadData(format!("cannot start the snapshot thread: {e}")))?;
        Ok(Self { shared, handle: Some(handle) })
    }

    /// Queues a snapshot of `varmap` at `step`, replacing one not yet started.
    pub fn submit(&self, step: usize, varmap: &VarMap) -> Result<()> {
        let weights = copy_weights(varmap)?;
        let mut slot = self.shared.slot.lock().map_err(|_| poisoned())?;
        slot.pending = Some(Request { step, weights });
        self.shared.changed.notify_all();
        Ok(())
    }

    /// Under a live-map budget: snapshots `varmap` at `step` now, with the worker on every
    /// core, and returns once the map has its embeddings (their evaluation follows at low
    /// priority). Returns how long training waited: the snapshot's cost to training.
    pub fn take_now(&self, step: usize, varmap: &VarMap) -> Result<Duration> {
        let started = Instant::now();
        self.submit(step, varmap)?;
        let mut slot = self.shared.slot.lock().map_err(|_| poisoned())?;
        while slot.embedded.is_none_or(|s| s < step) {
            if self.handle.as_ref().is_none_or(|h| h.is_finished()) {
                return Err(poisoned());
            }
            // A snapshot that failed never reports its embedding: its failure is the answer.
            if let Some(msg) = self.shared.failure.lock().ok().and_then(|f| f.clone()) {
                return Err(PretextError::BadData(msg));
            }
            slot = self.shared.changed.wait_timeout(slot, Duration::from_millis(200)).map_err(|_| poisoned())?.0;
        }
        Ok(started.elapsed())
    }

    /// Blocks until every submitted snapshot has been sent (the end of a training phase,
    /// so its last snapshot comes before `Finished`), or the worker thread has ended, which
    /// it only does on shutdown or when something outside a snapshot failed: then nothing
    /// would ever clear `busy`, so the thread is looked at every so often.
    pub fn wait_idle(&self) {
        let Ok(mut slot) = self.shared.slot.lock() else { return };
        while slot.pending.is_some() || slot.busy {
            if self.handle.as_ref().is_none_or(|h| h.is_finished()) {
                return;
            }
            match self.shared.changed.wait_timeout(slot, std::time::Duration::from_millis(200)) {
                Ok((s, _)) => slot = s,
                Err(_) => return,
            }
        }
    }

    /// The failure of a snapshot since the last call, if one failed; also when the worker
    /// thread itself has ended early.
    pub fn take_failure(&self) -> Option<String> {
        let failed = self.shared.failure.lock().map_or_else(|_| Some("the snapshot worker stopped unexpectedly".to_string()), |mut f| f.take());
        failed.or_else(|| {
            let ended = self.handle.as_ref().is_none_or(|h| h.is_finished());
            ended.then(|| "the snapshot worker stopped unexpectedly".to_string())
        })
    }

    pub fn history(&self) -> Vec<EvalRecord> {
        self.shared.history.lock().map(|h| h.clone()).unwrap_or_default()
    }
}

impl Drop for Snapshotter {
    fn drop(&mut self) {
        if let Ok(mut slot) = self.shared.slot.lock() {
            slot.shutdown = true;
            slot.pending = None;
            self.shared.changed.notify_all();
        }
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn poisoned() -> PretextError {
    PretextError::BadData("the snapshot worker stopped unexpectedly".into())
}

/// A deep copy of every weight (the optimiser updates the training model's in place).
fn copy_weights(varmap: &VarMap) -> Result<Vec<(String, Tensor)>> {
    let data = varmap.data().lock().map_err(|_| poisoned())?;
    data.iter().map(|(name, var)| Ok((name.clone(), var.as_tensor().copy()?))).collect()
}

fn work(shared: &Shared, ctx: &Context, varmap: &VarMap, model: &SslModel) {
    loop {
        let request = {
            let Ok(mut slot) = shared.slot.lock() else { return };
            loop {
                if slot.shutdown {
                    return;
                }
                if let Some(r) = slot.pending.take() {
                    slot.busy = true;
                    break r;
                }
                slot = match shared.changed.wait(slot) {
                    Ok(s) => s,
                    Err(_) => return,
                };
            }
        };
        // A panic inside one snapshot (a bug, an allocation that failed) is caught and
        // handed to the trainer like an error, so the run ends with it instead of waiting
        // for a snapshot that never comes.
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| take_snapshot(shared, ctx, varmap, model, request)));
        let failed = match outcome {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(format!("evaluation failed: {e}")),
            Err(payload) => Some(format!("the snapshot worker failed: {}", crate::ssl::panics::panic_message(payload.as_ref()))),
        };
        if let (Some(msg), Ok(mut first)) = (failed, shared.failure.lock()) {
            first.get_or_insert(msg);
        }
        // From the second snapshot on, training comes first (idempotent after the first).
        // Under a budget the worker keeps its priority: training waits for it instead.
        if ctx.cfg.live_map.is_none() {
            low_priority();
            rayon::broadcast(|_| low_priority());
        }
        let Ok(mut slot) = shared.slot.lock() else { return };
        slot.busy = false;
        shared.changed.notify_all();
    }
}

/// Embeds the map items under the request's weights, sends them, evaluates them and sends
/// the evaluation.
fn take_snapshot(shared: &Shared, ctx: &Context, varmap: &VarMap, model: &SslModel, request: Request) -> Result<()> {
    fault::trip(ctx.cfg.fault, Fault::Snapshot);
    let step = request.step;
    // The map gets the embeddings before they are evaluated (the kNN vote takes as long
    // again), so a layout starts as early as it can.
    let embeddings = Arc::new(embed(ctx, varmap, model, request)?);
    ctx.sink.emit(TrainEvent::Snapshot { step, embeddings: embeddings.clone() });
    if let Ok(mut slot) = shared.slot.lock() {
        slot.embedded = Some(step);
        shared.changed.notify_all();
    }
    // Under a budget training waited for the embedding only; the evaluation runs beside
    // it at low priority, as the other snapshots' whole work does without one.
    let record = if ctx.cfg.live_map.is_some() {
        at_low_priority(|| evaluate_live(&ctx.ds, &ctx.map_indices, &embeddings, step))?
    } else {
        evaluate_live(&ctx.ds, &ctx.map_indices, &embeddings, step)?
    };
    ctx.sink.emit(TrainEvent::Eval {
        step: record.step,
        knn_accuracy: record.knn_accuracy,
        embedding_std: record.embedding_std,
        effective_rank: record.effective_rank,
    });
    if let Ok(mut history) = shared.history.lock() {
        history.retain(|r| r.step != record.step);
        let at = history.partition_point(|r| r.step < record.step);
        history.insert(at, record);
    }
    Ok(())
}

/// The map items' embeddings under the weights of `request`.
fn embed(ctx: &Context, varmap: &VarMap, model: &SslModel, request: Request) -> Result<crate::analysis::Matrix> {
    {
        let data = varmap.data().lock().map_err(|_| poisoned())?;
        for (name, weight) in &request.weights {
            if let Some(var) = data.get(name) {
                var.set(weight)?;
            }
        }
    }
    embed_dataset(model, &ctx.ds, &ctx.map_indices)
}

/// The nice value of the snapshot threads after the first snapshot, and of the scores
/// pool. Linux weighs a nice-15 thread 36 against a training thread's 1024. Over 300 steps
/// on the sample (`pretext bench app --steps 300`, idle 2-core machine), nice 15 kept 0.80
/// of the CLI's training rate with 4 snapshots laid out, and nice 10 kept 0.67 with 6. Nice
/// 19 (weight 15) starved the worker when every snapshot ran at it: no snapshot of the
/// sample finished in 60 steps.
const NICE: i32 = 15;

/// Runs `work` on a thread pool of its own at the snapshot threads' low priority, so
/// analysis the app does for every snapshot (scores) never slows training down; the
/// calling thread waits. Without a pool (threads could not start) it runs on the caller.
pub fn at_low_priority<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    // One pool for the process, started on first use (not a new set of threads per call).
    static POOL: std::sync::OnceLock<Option<rayon::ThreadPool>> = std::sync::OnceLock::new();
    let pool = POOL.get_or_init(|| {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        rayon::ThreadPoolBuilder::new().num_threads(threads).thread_name(|i| format!("pretext-low-{i}")).start_handler(|_| low_priority()).build().ok()
    });
    match pool {
        Some(pool) => pool.install(work),
        None => work(),
    }
}

/// Lowers the calling thread to `NICE` on Linux, where a thread's nice value is its own;
/// elsewhere the thread keeps its priority.
fn low_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain syscalls on the calling thread's own id; failure leaves the priority as
    // it was, which is harmless.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, NICE);
    }
}
