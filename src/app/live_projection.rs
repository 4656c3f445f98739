//! Laying out snapshots while training runs. Each new snapshot of the same map rows is
//! projected warm: UMAP and t-SNE start from the previous snapshot's layout
//! (`analysis::reproject`, no early exaggeration, a short schedule), so the map evolves
//! instead of being rebuilt; PCA is re-solved at once. While a layout optimises, its
//! intermediate frames are streamed to the map; a newer snapshot stops an unfinished older
//! layout at its next iteration (the newer one then starts from the last finished layout and
//! is aligned onto the map on screen).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::analysis::reproject::{reproject_unaligned, Projection as WarmProjection};
use crate::analysis::{tsne, umap, Matrix};
use crate::analysis::align;
use crate::app::settings::Projection;
use crate::app::work;

/// How often an optimising layout shows its progress on the map.
const FRAME_INTERVAL: Duration = Duration::from_millis(150);

/// The last raw (unaligned, unnormalised) UMAP or t-SNE layout, the warm start of the next
/// snapshot of the same rows: the map's normalised coordinates lose t-SNE's scale.
#[derive(Clone)]
pub struct WarmStart {
    pub method: Projection,
    pub items: Arc<Vec<usize>>,
    pub raw: Arc<Matrix>,
}

/// The app's side: whether a layout is running, the newest generation wanted, the frame
/// the running layout last streamed, and the warm start for the next one.
#[derive(Default)]
pub struct LiveProjection {
    pub running: Option<u64>,
    wanted: Arc<AtomicU64>,
    frame: Arc<Mutex<Option<(u64, Vec<[f32; 2]>)>>>,
    pub warm: Option<WarmStart>,
}

impl LiveProjection {
    /// A newer snapshot exists: the running layout (if older) stops at its next iteration.
    pub fn supersede(&self, generation: u64) {
        self.wanted.fetch_max(generation, Ordering::Relaxed);
    }

    /// The frame streamed by the running layout since the last call, if any.
    pub fn take_frame(&self) -> Option<(u64, Vec<[f32; 2]>)> {
        self.frame.lock().ok()?.take()
    }

    /// What a job needs to report to this state from its thread.
    pub fn channel(&self, generation: u64, wake: crate::ssl::Waker) -> FrameSink {
        self.wanted.fetch_max(generation, Ordering::Relaxed);
        FrameSink { generation, wanted: self.wanted.clone(), frame: self.frame.clone(), wake, last: None }
    }

    /// The warm start for `items` under `method`, when the last layout was of them.
    pub fn warm_for(&self, method: Projection, items: &Arc<Vec<usize>>) -> Option<Arc<Matrix>> {
        self.warm.as_ref().filter(|w| w.method == method && (Arc::ptr_eq(&w.items, items) || w.items == *items)).map(|w| w.raw.clone())
    }
}

/// A running layout's link to the map: streams frames, learns it has been superseded.
pub struct FrameSink {
    generation: u64,
    wanted: Arc<AtomicU64>,
    frame: Arc<Mutex<Option<(u64, Vec<[f32; 2]>)>>>,
    wake: crate::ssl::Waker,
    last: Option<Instant>,
}

impl FrameSink {
    pub fn superseded(&self) -> bool {
        self.wanted.load(Ordering::Relaxed) > self.generation
    }

    /// Offers an intermediate layout; it is aligned onto `reference` and shown at most every
    /// `FRAME_INTERVAL`.
    fn offer(&mut self, raw: &Matrix, reference: &[[f32; 2]]) {
        if self.last.is_some_and(|t| t.elapsed() < FRAME_INTERVAL) {
            return;
        }
        self.last = Some(Instant::now());
        let shown = align::align_to(reference, &work::layout_points(raw));
        if let Ok(mut slot) = self.frame.lock() {
            *slot = Some((self.generation, shown));
        }
        (self.wake)();
    }
}

/// One snapshot to lay out.
pub struct LayoutJob {
    pub matrix: Arc<Matrix>,
    pub items: Arc<Vec<usize>>,
    /// The layout on screen and its items (what the result is aligned onto).
    pub reference: Option<(Vec<[f32; 2]>, Arc<Vec<usize>>)>,
    pub warm: Option<Arc<Matrix>>,
    pub method: Projection,
}

pub enum LayoutOutcome {
    Done { layout: Vec<[f32; 2]>, warm: Option<WarmStart> },
    /// A newer snapshot came first: this one stopped unfinished.
    Superseded,
}

/// Lays out `job` on the calling thread (a job thread).
pub fn run(job: LayoutJob, sink: &mut FrameSink) -> Result<LayoutOutcome, String> {
    let iterative = matches!(job.method, Projection::Umap | Projection::Tsne) && job.matrix.rows >= 3 && job.matrix.cols >= 2;
    // Streamed and warm only for the same rows as on screen; else laid out in one go.
    let reference = match job.reference {
        Some((layout, items)) if iterative && items == job.items && layout.len() == job.items.len() => layout,
        other => {
            let reference = other.as_ref().map(|(l, i)| (l.as_slice(), i.as_slice()));
            let layout = work::project_onto(&job.matrix, &job.items, reference, job.method)?;
            return Ok(LayoutOutcome::Done { layout, warm: None });
        }
    };
    let mut on_step = |_: usize, raw: &Matrix| {
        if sink.superseded() {
            return false;
        }
        sink.offer(raw, &reference);
        true
    };
    let raw = match (&job.warm, job.method) {
        // Aligned once, below, onto the layout on screen.
        (Some(prev), Projection::Umap) => reproject_unaligned(prev, &job.matrix, &WarmProjection::warm_umap(), &mut on_step),
        (Some(prev), _) => reproject_unaligned(prev, &job.matrix, &WarmProjection::warm_tsne(), &mut on_step),
        (None, Projection::Umap) => umap::umap(&job.matrix, &umap::UmapParams::default(), &mut on_step),
        (None, _) => tsne::tsne(&job.matrix, &tsne::TsneParams::default(), &mut on_step),
    }
    .map_err(|e| format!("{} failed: {e}", job.method.label()))?;
    if sink.superseded() {
        return Ok(LayoutOutcome::Superseded);
    }
    let layout = work::layout_points(&raw);
    work::check_finite(&layout)?;
    Ok(LayoutOutcome::Done {
        layout: align::align_to(&reference, &layout),
        warm: Some(WarmStart { method: job.method, items: job.items, raw: Arc::new(raw) }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three separated blobs in 8 dimensions, shifted by `drift` (a later snapshot).
    fn blobs(drift: f32) -> Matrix {
        let (n, d) = (240, 8);
        let data = (0..n * d).map(|i| {
            let (r, c) = (i / d, i % d);
            let centre = if c == r % 3 { 6.0 } else { 0.0 };
            centre + ((i * 7919 % 101) as f32 / 101.0 - 0.5) + drift * ((r * 13 + c) % 5) as f32 / 5.0
        });
        Matrix::new(data.collect(), n, d)
    }

    fn job(matrix: Matrix, reference: Option<Vec<[f32; 2]>>, warm: Option<Arc<Matrix>>, method: Projection) -> LayoutJob {
        let items = Arc::new((0..matrix.rows).collect::<Vec<_>>());
        LayoutJob { reference: reference.map(|r| (r, items.clone())), matrix: Arc::new(matrix), items, warm, method }
    }

    fn done(outcome: LayoutOutcome) -> (Vec<[f32; 2]>, Option<WarmStart>) {
        match outcome {
            LayoutOutcome::Done { layout, warm } => (layout, warm),
            LayoutOutcome::Superseded => panic!("superseded"),
        }
    }

    fn mean_move(a: &[[f32; 2]], b: &[[f32; 2]]) -> f32 {
        a.iter().zip(b).map(|(p, q)| ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2)).sqrt()).sum::<f32>() / a.len() as f32
    }

    #[test]
    fn a_later_snapshot_starts_from_the_last_layout_and_streams_frames() {
        let live = LiveProjection::default();
        let first_shown = work::project(&blobs(0.0), None).unwrap();
        let mut sink = live.channel(1, Arc::new(|| {}));
        let (first, warm) = done(run(job(blobs(0.0), Some(first_shown), None, Projection::Tsne), &mut sink).unwrap());
        let warm = warm.expect("a t-SNE layout is the next warm start");
        assert!(live.take_frame().is_some_and(|(g, f)| g == 1 && f.len() == 240), "no intermediate frame was streamed");

        // The next snapshot barely moved: warm-started from the last layout it stays put.
        let mut sink = live.channel(2, Arc::new(|| {}));
        let (second, _) = done(run(job(blobs(0.05), Some(first.clone()), Some(warm.raw.clone()), Projection::Tsne), &mut sink).unwrap());
        let warm_move = mean_move(&first, &second);
        // A warm start from a scrambled layout (rows shuffled) must end elsewhere: the start matters.
        let scrambled = Matrix::new(warm.raw.data.chunks(2).rev().flatten().copied().collect(), 240, 2);
        let mut sink = live.channel(3, Arc::new(|| {}));
        let (elsewhere, _) = done(run(job(blobs(0.05), Some(first.clone()), Some(Arc::new(scrambled)), Projection::Tsne), &mut sink).unwrap());
        let scrambled_move = mean_move(&first, &elsewhere);
        assert!(warm_move < 0.5 * scrambled_move, "warm start moved {warm_move}, scrambled start {scrambled_move}");
    }

    #[test]
    fn a_newer_snapshot_stops_an_older_layout() {
        let live = LiveProjection::default();
        let shown = work::project(&blobs(0.0), None).unwrap();
        let mut sink = live.channel(1, Arc::new(|| {}));
        live.supersede(2);
        assert!(matches!(run(job(blobs(0.0), Some(shown.clone()), None, Projection::Umap), &mut sink), Ok(LayoutOutcome::Superseded)));
        // PCA is solved at once and aligned onto the map on screen.
        let mut sink = live.channel(3, Arc::new(|| {}));
        let (pca, warm) = done(run(job(blobs(0.0), Some(shown.clone()), None, Projection::Pca), &mut sink).unwrap());
        assert!(warm.is_none() && mean_move(&pca, &shown) < 1e-3);
    }
}
