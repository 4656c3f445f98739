//! The trainer thread. It owns the model; front ends talk to it only through
//! [`TrainCommand`]s and read [`TrainEvent`]s (the pattern of resym's backend: a worker loop
//! over a command channel, results sent back before a repaint is requested).

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use candle_core::Device;
use candle_nn::{Optimizer, ParamsAdamW, VarMap};
use crossbeam_channel::{unbounded, Receiver, RecvTimeoutError, Sender, TryRecvError};

use crate::analysis::Matrix;
use crate::data::Dataset;
use crate::error::{PretextError, Result};
use crate::ssl::config::TrainConfig;
use crate::ssl::encoder::SslModel;
use crate::ssl::evaluate::{embed_dataset, embed_items};
use crate::ssl::events::{FinishReason, TrainCommand, TrainEvent};
use crate::ssl::fault::{self, Fault};
use crate::ssl::panics::panic_message;
use crate::ssl::objective::{build_objective, Objective};
use crate::ssl::optim::AdamW;
use crate::ssl::pipeline::{steps_per_epoch, Producer};
use crate::ssl::run::{self, RunProgress, SavedRun, TrainingPhase};
use crate::ssl::live_map::SnapshotPacer;
use crate::ssl::snapshotter::{Context as SnapshotContext, Snapshotter};

/// Called after each event is sent (the GUI passes `ctx.request_repaint`).
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// The sending end of the event stream: the training thread and the snapshot worker both
/// send through it, each event followed by a wake-up of the front end.
#[derive(Clone)]
pub(crate) struct EventSink {
    events: Sender<TrainEvent>,
    wake: Option<Waker>,
}

impl EventSink {
    pub fn emit(&self, ev: TrainEvent) {
        let _ = self.events.send(ev);
        if let Some(w) = &self.wake {
            w();
        }
    }
}

pub struct Trainer {
    commands: Sender<TrainCommand>,
    events: Receiver<TrainEvent>,
    map_indices: Arc<Vec<usize>>,
    config: TrainConfig,
    start_step: usize,
    handle: Mutex<Option<JoinHandle<()>>>,
    /// Answers to commands sent after the thread ended, given out after its own events.
    after_end: Mutex<VecDeque<TrainEvent>>,
}

/// A seeded sample of up to `count` global item indices, sorted.
pub fn map_subset(total: usize, count: usize, seed: u64) -> Vec<usize> {
    crate::data::sample_items(total, count, seed.wrapping_add(17))
}

impl Trainer {
    /// A fresh model for `dataset`. Nothing trains until `TrainCommand::Start`.
    pub fn spawn(dataset: Arc<Dataset>, config: TrainConfig, wake: Option<Waker>) -> Result<Self> {
        let indices = map_subset(dataset.len(), config.map_items, config.seed);
        Self::spawn_with_rows(dataset, config, indices, wake)
    }

    /// A fresh model whose snapshots embed the given items (global indices), e.g. the rows
    /// a window already shows.
    pub fn spawn_with_rows(dataset: Arc<Dataset>, config: TrainConfig, indices: Vec<usize>, wake: Option<Waker>) -> Result<Self> {
        config.check()?;
        if dataset.train.len < 2 {
            return Err(PretextError::BadData(format!("the train split has {} item(s); at least 2 are needed", dataset.train.len)));
        }
        if let Some(&bad) = indices.iter().find(|&&i| i >= dataset.len()) {
            return Err(PretextError::BadData(format!("map item {bad} is outside the dataset ({} items)", dataset.len())));
        }
        Self::launch(dataset, config, indices, None, wake)
    }

    /// Reopens a saved run on its dataset; `Start` continues training from the saved step.
    /// `config` replaces the saved settings (e.g. a new budget); the model's shape must match.
    pub fn open_run(dir: &Path, dataset: Arc<Dataset>, config: Option<TrainConfig>, wake: Option<Waker>) -> Result<Self> {
        let saved = run::load(dir)?;
        saved.check_dataset(&dataset)?;
        let config = config.unwrap_or_else(|| saved.config.train.clone());
        config.check()?;
        let indices = saved.indices.clone();
        Self::launch(dataset, config, indices, Some(saved), wake)
    }

    fn launch(dataset: Arc<Dataset>, config: TrainConfig, indices: Vec<usize>, saved: Option<SavedRun>, wake: Option<Waker>) -> Result<Self> {
        if let crate::data::Modality::Embedding { .. } = dataset.modality {
            return Err(PretextError::BadData(crate::data::NOT_TRAINABLE.into()));
        }
        let map_indices = Arc::new(indices);
        let (varmap, model) = SslModel::build(&dataset.modality, &config)?;
        let device = model.device().clone();
        let mut progress = RunProgress { train_seconds: Some(0.0), ..RunProgress::default() };
        match (&saved, &config.init) {
            (Some(saved), _) => {
                run::load_weights(&varmap, &saved.dir)?;
                progress = saved.progress();
            }
            (None, Some(init)) => {
                crate::ssl::checkpoint::load_encoder(&varmap, init)?;
            }
            (None, None) => {}
        }
        let step = progress.step;
        // A teacher starts as a copy of the (possibly reloaded) student, then takes its own
        // saved weights when the run has them.
        let objective = build_objective(&config, &dataset.modality, &varmap)?;
        if let (Some(saved), Some(teacher)) = (&saved, objective.teacher_weights()) {
            run::load_teacher(teacher, &saved.dir)?;
        }
        let (cmd_tx, cmd_rx) = unbounded();
        let (ev_tx, ev_rx) = unbounded();
        let mut optimizer = AdamW::new(
            model.trainable_vars(&varmap, config.freeze)?,
            ParamsAdamW { lr: config.learning_rate, weight_decay: config.weight_decay, ..Default::default() },
        )?;
        let mut phase = None;
        if let Some(saved) = &saved {
            if let Some(state) = run::load_training_state(&saved.dir)? {
                let names = var_names(&varmap)?;
                let bad = |e: candle_core::Error| PretextError::bad_file(&saved.dir.join(run::TRAINING_STATE), e.to_string());
                optimizer.restore(&names, &state).map_err(bad)?;
                objective.restore_state(&state).map_err(bad)?;
            }
            // An interrupted phase is finished on the same schedule, unless the schedule changed.
            phase = progress.phase.filter(|_| same_schedule(&saved.config.train, &config));
        }
        let sink = EventSink { events: ev_tx, wake };
        let last_words = sink.clone();
        let snapshots = Snapshotter::start(
            SnapshotContext { ds: dataset.clone(), cfg: config.clone(), map_indices: map_indices.clone(), sink: sink.clone() },
            progress.history,
        )?;
        let mut worker = Worker {
            objective,
            ds: dataset,
            cfg: config.clone(),
            model,
            varmap,
            optimizer,
            device,
            step,
            snapshots,
            losses: progress.losses,
            train_seconds: progress.train_seconds,
            map_indices: map_indices.clone(),
            sink,
            phase,
        };
        // The steps' parallel work (conv GEMMs, im2col, element-wise passes) runs in this
        // pool, sized by the setting, not in the global one other jobs share.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(config.threads)
            .thread_name(|i| format!("pretext-train-{i}"))
            .build()
            .map_err(|e| PretextError::BadData(format!("cannot start the training threads: {e}")))?;
        let handle = std::thread::Builder::new()
            .name("pretext-trainer".into())
            .spawn(move || {
                // A panic anywhere in the thread (a step, a save, an embedding) ends it, but
                // never silently: the front end gets the panic's message and the phase ends.
                let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| pool.install(|| worker.run(cmd_rx))));
                if let Err(payload) = outcome {
                    // A snapshot under way would otherwise send its events after `Finished`.
                    worker.snapshots.wait_idle();
                    let at = worker.step;
                    last_words.emit(TrainEvent::Error(format!("training stopped at step {}: the training thread failed: {}", at + 1, panic_message(payload.as_ref()))));
                    last_words.emit(TrainEvent::Finished { step: at, reason: FinishReason::Failed });
                }
            })
            .map_err(|e| PretextError::BadData(format!("cannot start the training thread: {e}")))?;
        Ok(Self { commands: cmd_tx, events: ev_rx, map_indices, config, start_step: step, handle: Mutex::new(Some(handle)), after_end: Mutex::new(VecDeque::new()) })
    }

    /// Sends a command. One sent after the thread has ended (it failed, or shut down) is
    /// answered with an `Error` saying so, so a front end waiting for `Saved` or `Started`
    /// never waits forever.
    pub fn send(&self, cmd: TrainCommand) {
        let shutdown = matches!(cmd, TrainCommand::Shutdown);
        if self.commands.send(cmd).is_err() && !shutdown {
            if let Ok(mut queue) = self.after_end.lock() {
                queue.push_back(TrainEvent::Error("the trainer has stopped after an earlier failure; open the data again to train".into()));
            }
        }
    }

    pub fn try_recv(&self) -> Option<TrainEvent> {
        match self.events.try_recv() {
            Ok(ev) => Some(ev),
            Err(TryRecvError::Empty) => self.take_after_end(),
            Err(TryRecvError::Disconnected) => self.take_after_end().or_else(|| self.unreported_end()),
        }
    }

    pub fn recv_timeout(&self, timeout: Duration) -> Option<TrainEvent> {
        if let Some(ev) = self.take_after_end() {
            return Some(ev);
        }
        match self.events.recv_timeout(timeout) {
            Ok(ev) => Some(ev),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => self.take_after_end().or_else(|| self.unreported_end()),
        }
    }

    /// Whether the training thread is still there to answer commands (false after a
    /// failure that ended it).
    pub fn is_alive(&self) -> bool {
        self.handle.lock().is_ok_and(|h| h.as_ref().is_some_and(|h| !h.is_finished()))
    }

    fn take_after_end(&self) -> Option<TrainEvent> {
        self.after_end.lock().ok()?.pop_front()
    }

    /// Once every sender is gone the thread has ended. The thread reports its own panics;
    /// this is the last guard for one it could not report (e.g. while reporting): joining
    /// gives the panic's message, once.
    fn unreported_end(&self) -> Option<TrainEvent> {
        let handle = self.handle.lock().ok()?.take()?;
        match handle.join() {
            Ok(()) => None,
            Err(payload) => Some(TrainEvent::Error(format!("the training thread failed: {}", panic_message(payload.as_ref())))),
        }
    }

    /// Global dataset indices of the rows of every `Snapshot`.
    pub fn map_indices(&self) -> Arc<Vec<usize>> {
        self.map_indices.clone()
    }

    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// The step the model starts from (non-zero for a reopened run).
    pub fn start_step(&self) -> usize {
        self.start_step
    }
}

impl Drop for Trainer {
    fn drop(&mut self) {
        let _ = self.commands.send(TrainCommand::Shutdown);
        if let Some(h) = self.handle.get_mut().ok().and_then(Option::take) {
            let _ = h.join();
        }
    }
}

struct Worker {
    objective: Arc<dyn Objective>,
    ds: Arc<Dataset>,
    cfg: TrainConfig,
    model: SslModel,
    varmap: VarMap,
    optimizer: AdamW,
    device: Device,
    step: usize,
    /// Embeds and evaluates copies of the weights on its own threads.
    snapshots: Snapshotter,
    /// `(step, loss)` of every step, saved with the run.
    losses: Vec<(usize, f32)>,
    /// Wall-clock seconds of training so far (None: resumed from a run that did not record it).
    train_seconds: Option<f64>,
    map_indices: Arc<Vec<usize>>,
    sink: EventSink,
    /// The phase under way, or one interrupted and not yet finished.
    phase: Option<TrainingPhase>,
}

/// Whether two configurations follow the same learning-rate schedule and batches.
fn same_schedule(a: &TrainConfig, b: &TrainConfig) -> bool {
    a.epochs == b.epochs && a.minutes == b.minutes && a.learning_rate == b.learning_rate && a.batch_size == b.batch_size && a.seed == b.seed
}

/// The model's parameters by name, as the checkpoint names them.
fn var_names(varmap: &VarMap) -> Result<std::collections::HashMap<String, candle_core::Var>> {
    let data = varmap.data().lock().map_err(|_| PretextError::BadData("the model's weights are poisoned".into()))?;
    Ok(data.clone())
}

/// What the command check inside the training loop decided.
enum Flow {
    Continue,
    Stop,
    Shutdown,
}

impl Worker {
    fn emit(&self, ev: TrainEvent) {
        self.sink.emit(ev)
    }

    fn run(&mut self, commands: Receiver<TrainCommand>) {
        while let Ok(cmd) = commands.recv() {
            match cmd {
                TrainCommand::Start => {
                    if let Flow::Shutdown = self.train(&commands) {
                        return;
                    }
                }
                TrainCommand::Shutdown => return,
                other => self.handle_idle(other),
            }
        }
    }

    /// Commands that do not steer training: answered between steps or while idle.
    fn handle_idle(&mut self, cmd: TrainCommand) {
        match cmd {
            TrainCommand::Save(dir) => match self.save(&dir) {
                Ok(()) => self.emit(TrainEvent::Saved(dir)),
                Err(e) => self.emit(TrainEvent::Error(format!("could not save the run: {e}"))),
            },
            TrainCommand::Reconstruct { request, items } => {
                let seed = self.cfg.seed ^ request.wrapping_mul(0x9E37_79B9_7F4A_7C15);
                match crate::ssl::objective::reconstructions(self.objective.as_ref(), &self.model, &self.ds, &self.cfg, &items, seed) {
                    Ok(pairs) => self.emit(TrainEvent::Reconstructed { request, pairs }),
                    Err(e) => self.emit(TrainEvent::Error(format!("could not reconstruct: {e}"))),
                }
            }
            TrainCommand::Embed { request, items } => {
                match embed_items(&self.model, &items, self.ds.item_len()) {
                    Ok(embeddings) => self.emit(TrainEvent::Embedded { request, embeddings }),
                    Err(e) => self.emit(TrainEvent::Error(format!("could not embed: {e}"))),
                }
            }
            _ => {}
        }
    }

    fn poll(&mut self, commands: &Receiver<TrainCommand>) -> Flow {
        loop {
            match commands.try_recv() {
                Ok(TrainCommand::Pause) => {
                    self.emit(TrainEvent::Paused { step: self.step });
                    loop {
                        match commands.recv() {
                            Ok(TrainCommand::Resume) | Ok(TrainCommand::Start) => {
                                self.emit(TrainEvent::Resumed { step: self.step });
                                break;
                            }
                            Ok(TrainCommand::Stop) => return Flow::Stop,
                            Ok(TrainCommand::Shutdown) | Err(_) => return Flow::Shutdown,
                            Ok(other) => self.handle_idle(other),
                        }
                    }
                }
                Ok(TrainCommand::Stop) => return Flow::Stop,
                Ok(TrainCommand::Shutdown) | Err(TryRecvError::Disconnected) => return Flow::Shutdown,
                Ok(TrainCommand::Start) | Ok(TrainCommand::Resume) => {}
                Ok(other) => self.handle_idle(other),
                Err(TryRecvError::Empty) => return Flow::Continue,
            }
        }
    }

    /// One training phase: `epochs` more epochs (or `minutes`) from the current step.
    fn train(&mut self, commands: &Receiver<TrainCommand>) -> Flow {
        let batch = self.cfg.batch_size.min(self.ds.train.len);
        let per_epoch = steps_per_epoch(self.ds.train.len, batch);
        let phase_steps = ((self.cfg.epochs.max(0.0) * per_epoch as f32).ceil() as usize).max(1);
        let phase_steps = if self.cfg.minutes.is_some() && self.cfg.epochs <= 0.0 { usize::MAX / 2 } else { phase_steps };
        let resumed = self.phase.take().filter(|p| p.from_step <= self.step && self.step < p.to_step);
        let (from, to, earlier) = match resumed {
            Some(p) => (p.from_step, p.to_step, Duration::from_secs_f64(p.elapsed_seconds.max(0.0))),
            None => (self.step, self.step.saturating_add(phase_steps), Duration::ZERO),
        };
        let phase_steps = to - from;
        let threads = rayon::current_num_threads();
        self.emit(TrainEvent::Started { total_steps: to, steps_per_epoch: per_epoch, start_step: self.step, threads });
        let budget = self.cfg.minutes.map(|m| Duration::from_secs_f32(m * 60.0));
        let mut producer = Producer::start(self.ds.clone(), self.cfg.clone(), self.objective.clone(), self.step, to);
        let started = Instant::now();
        let elapsed = || earlier + started.elapsed();
        let warmup = (phase_steps / 10).clamp(1, 100);
        let mut rate = RateMeter::default();
        let mut reason = FinishReason::Completed;
        let mut paced = self.cfg.live_map.map(|budget| SnapshotPacer::new(budget, self.step));
        // Why the phase failed; reported once the snapshot worker is quiet, just before
        // `Finished`, so the two arrive together.
        let mut failure: Option<String> = None;
        while self.step < to {
            self.phase = Some(TrainingPhase { from_step: from, to_step: to, elapsed_seconds: elapsed().as_secs_f64() });
            match self.poll(commands) {
                Flow::Continue => {}
                Flow::Stop => {
                    reason = FinishReason::Stopped;
                    break;
                }
                Flow::Shutdown => return Flow::Shutdown,
            }
            if budget.is_some_and(|b| elapsed() >= b) {
                reason = FinishReason::TimeBudget;
                break;
            }
            // Training time: every iteration from here (waiting for the batch, the step, the
            // evaluation), not the command check above, where a pause waits.
            let iteration = Instant::now();
            // The producer sends every step's batch up to `to`; a closed channel before that
            // means it died, and the phase ends with why, never as completed.
            let batch = match producer.batches.recv() {
                Ok((_, batch)) => batch,
                Err(_) => {
                    failure = Some(format!("training stopped at step {}: {}", self.step + 1, producer.failure()));
                    break;
                }
            };
            // Cosine decay after a linear warm-up, over steps or over the time budget.
            let done = (self.step - from) as f64;
            let mut progress = done / phase_steps as f64;
            if let Some(b) = budget {
                progress = progress.max(elapsed().as_secs_f64() / b.as_secs_f64());
            }
            let lr = self.cfg.learning_rate
                * if done < warmup as f64 { (done + 1.0) / warmup as f64 } else { 0.5 * (1.0 + (std::f64::consts::PI * progress.min(1.0)).cos()) };
            let loss = match self.train_step(&batch, lr, progress) {
                Ok(l) => l,
                Err(msg) => {
                    failure = Some(msg);
                    break;
                }
            };
            self.step += 1;
            self.losses.push((self.step, loss));
            let items_per_sec = rate.tick(batch.images());
            let epoch = self.step as f32 / per_epoch as f32;
            let teacher_momentum = self.objective.teacher_momentum(progress);
            self.emit(TrainEvent::Step { step: self.step, epoch, loss, items_per_sec, learning_rate: lr, teacher_momentum });
            let snapshot = match paced.as_mut() {
                Some(pacer) => {
                    pacer.trained(iteration.elapsed());
                    if pacer.due(self.step, self.cfg.eval_every) && self.step < to { self.snapshot_now(pacer) } else { Ok(()) }
                }
                None if self.step % self.cfg.eval_every == 0 && self.step < to => self.snapshot(),
                None => Ok(()),
            };
            self.add_train_time(iteration.elapsed());
            // A failed snapshot (this one, or an earlier one the worker took) ends the phase.
            if let Some(msg) = snapshot.err().or_else(|| self.snapshots.take_failure()) {
                failure = Some(format!("training stopped at step {}: {msg}", self.step));
                break;
            }
        }
        drop(producer);
        if failure.is_none() {
            let last = Instant::now();
            let snapshot = self.snapshot();
            self.snapshots.wait_idle();
            self.add_train_time(last.elapsed());
            failure = snapshot.err().or_else(|| self.snapshots.take_failure()).map(|msg| format!("training stopped at step {}: {msg}", self.step));
        } else {
            // A snapshot still running would send its events after `Finished`. Its own
            // failure, if it has one, came after the one being reported and is not news.
            self.snapshots.wait_idle();
            let _ = self.snapshots.take_failure();
        }
        if let Some(msg) = failure {
            self.emit(TrainEvent::Error(msg));
            reason = FinishReason::Failed;
        }
        // A stopped or failed phase can be finished later (after saving and reopening too).
        if !matches!(reason, FinishReason::Stopped | FinishReason::Failed) {
            self.phase = None;
        }
        self.emit(TrainEvent::Finished { step: self.step, reason });
        Flow::Continue
    }

    fn train_step(&mut self, batch: &crate::ssl::objective::Batch, lr: f64, progress: f64) -> std::result::Result<f32, String> {
        fault::trip(self.cfg.fault, Fault::TrainerStep(self.step + 1));
        // A streamed item that could not be read is NaN in the batch: stop with the reason.
        crate::ssl::evaluate::check_reads(&self.ds).map_err(|e| format!("step {} stopped: {e}", self.step + 1))?;
        let loss = self.objective.loss(&self.model, batch, &self.device).map_err(|e| format!("step {} failed: {e}", self.step + 1))?;
        let value = loss.to_scalar::<f32>().map_err(|e| e.to_string())?;
        if !value.is_finite() {
            return Err(format!(
                "the loss became {value} at step {}; training stopped. Lower the learning rate or the augmentation strength and start again.",
                self.step + 1
            ));
        }
        self.optimizer.set_learning_rate(lr);
        self.optimizer.backward_step(&loss).map_err(|e| format!("step {} failed: {e}", self.step + 1))?;
        self.objective.after_step(&self.varmap, progress).map_err(|e| format!("step {} failed: {e}", self.step + 1))?;
        Ok(value)
    }

    fn add_train_time(&mut self, d: Duration) {
        if let Some(s) = self.train_seconds.as_mut() {
            *s += d.as_secs_f64();
        }
    }

    fn map_embeddings(&self) -> Result<Matrix> {
        embed_dataset(&self.model, &self.ds, &self.map_indices)
    }

    /// Hands a copy of the weights to the snapshot worker; training goes on at once.
    fn snapshot(&self) -> std::result::Result<(), String> {
        self.snapshots.submit(self.step, &self.varmap).map_err(|e| format!("evaluation failed: {e}"))
    }

    /// Under a live-map budget: waits for the map's snapshot of this step and tells `pacer`
    /// what it cost.
    fn snapshot_now(&self, pacer: &mut SnapshotPacer) -> std::result::Result<(), String> {
        let cost = self.snapshots.take_now(self.step, &self.varmap).map_err(|e| e.to_string())?;
        pacer.snapshotted(self.step, cost);
        Ok(())
    }

    fn save(&self, dir: &Path) -> Result<()> {
        let emb = self.map_embeddings()?;
        let progress = RunProgress {
            step: self.step,
            history: self.snapshots.history(),
            losses: self.losses.clone(),
            train_seconds: self.train_seconds,
            phase: self.phase,
        };
        run::save(dir, &self.ds, &self.cfg, &progress, &self.varmap, &self.map_indices, &emb)?;
        let names = var_names(&self.varmap)?;
        let mut state = self.optimizer.state(&names)?;
        state.extend(self.objective.state()?);
        run::save_training_state(dir, &state)?;
        match self.objective.teacher_weights() {
            Some(teacher) => run::save_teacher(teacher, dir),
            None => Ok(()),
        }
    }
}

/// Items per second over the recent steps (exponential moving average of step rates).
#[derive(Default)]
struct RateMeter {
    last: Option<Instant>,
    rate: Option<f32>,
}

impl RateMeter {
    fn tick(&mut self, items: usize) -> f32 {
        let now = Instant::now();
        if let Some(last) = self.last {
            let r = items as f32 / now.duration_since(last).as_secs_f32().max(1e-6);
            self.rate = Some(self.rate.map_or(r, |old| 0.9 * old + 0.1 * r));
        }
        self.last = Some(now);
        self.rate.unwrap_or(0.0)
    }
}
