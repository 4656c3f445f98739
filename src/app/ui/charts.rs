//! Live charts: loss (raw and smoothed), kNN accuracy against the raw-feature baseline,
//! throughput, collapse signals, and the teacher's momentum for objectives with a teacher.

use egui::Color32;
use egui_plot::{HLine, Legend, Line, Plot, PlotPoints, Points};

use crate::app::ui::widgets::thousands;
use crate::app::PretextApp;

fn plot(id: &str, height: f32) -> Plot<'static> {
    Plot::new(id.to_string())
        .height(height)
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
        .allow_boxed_zoom(false)
        .legend(Legend::default().position(egui_plot::Corner::RightTop))
        .x_axis_label("step")
}

/// Colour of the i-th run in the runs table (the live run keeps the orange and green).
fn run_color(i: usize) -> Color32 {
    crate::app::map::colors::category(i + 3)
}

pub fn show(app: &mut PretextApp, ui: &mut egui::Ui) {
    let log = &app.training.log;
    // Runs in the runs table share the loss and kNN charts, one colour each.
    let others: Vec<(String, Color32, Vec<[f64; 2]>, Vec<[f64; 2]>)> = app
        .runs
        .entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.summary.name.clone(), run_color(i), e.loss.clone(), e.knn.clone()))
        .collect();
    if log.loss.is_empty() && log.knn.is_empty() && others.is_empty() {
        ui.vertical_centered(|ui| {
            ui.add_space(20.0);
            ui.label("Charts appear here once training starts: loss, kNN accuracy, throughput and collapse signals.");
        });
        return;
    }
    let height = (ui.available_height() - 22.0).max(60.0);
    let baseline = app.data.as_ref().and_then(|d| d.baseline_knn);
    let dim = app.space.as_ref().filter(|s| s.step.is_some()).map(|s| s.matrix.cols).unwrap_or(1).max(1) as f64;
    let teacher = !log.teacher_momentum.is_empty();
    ui.columns(if teacher { 5 } else { 4 }, |cols| {
        let last = |v: &[[f64; 2]]| v.last().map(|p| p[1]);
        cols[0].strong(match last(&log.loss_smooth) {
            Some(l) => format!("Loss {l:.3}"),
            None => "Loss".into(),
        });
        let (raw, smooth) = (log.loss.clone(), log.loss_smooth.clone());
        let others_loss = others.clone();
        plot("loss-plot", height).show(&mut cols[0], |p| {
            if !raw.is_empty() {
                p.line(Line::new("raw", PlotPoints::from(raw)).color(Color32::from_gray(150)).width(1.0));
                p.line(Line::new("smoothed", PlotPoints::from(smooth)).color(Color32::from_rgb(240, 120, 40)).width(2.0));
            }
            for (name, color, loss, _) in others_loss {
                p.line(Line::new(name, PlotPoints::from(loss)).color(color).width(1.5));
            }
        });
        let knn_title = match (last(&log.knn), baseline) {
            (Some(a), Some(b)) => format!("kNN accuracy {:.1}% (raw {:.1}%)", a * 100.0, b * 100.0),
            (Some(a), None) => format!("kNN accuracy {:.1}%", a * 100.0),
            _ => "kNN accuracy".into(),
        };
        let map_len = app.data.as_ref().map_or(0, |d| d.map_indices.len());
        let knn_title = if map_len > crate::ssl::evaluate::LIVE_EVAL_ROWS {
            format!("{knn_title} on {} of {} items", thousands(crate::ssl::evaluate::LIVE_EVAL_ROWS), thousands(map_len))
        } else {
            knn_title
        };
        cols[1].strong(knn_title).on_hover_text(format!(
            "Weighted 20-NN vote of the test items among the train items (labels used only here); on a map larger than {rows} items, the same seeded {rows} of them at every snapshot",
            rows = thousands(crate::ssl::evaluate::LIVE_EVAL_ROWS)
        ));
        let knn = log.knn.clone();
        // The axis fits the accuracies and the baseline (a rise from 0.80 to 0.86 must show),
        // with a margin so that a flat curve still has room.
        let (lo, hi) = knn.iter().map(|p| p[1]).chain(baseline.map(|b| b as f64)).fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let pad = ((hi - lo) * 0.15).max(0.01);
        let knn_plot = if lo.is_finite() { plot("knn-plot", height).include_y((lo - pad).max(0.0)).include_y((hi + pad).min(1.0)) } else { plot("knn-plot", height) };
        knn_plot.show(&mut cols[1], |p| {
            // Evaluations are sparse: markers keep a single one visible.
            p.add(Points::new("encoder", PlotPoints::from(knn.clone())).color(Color32::from_rgb(60, 160, 90)).radius(2.5));
            p.line(Line::new("encoder", PlotPoints::from(knn)).color(Color32::from_rgb(60, 160, 90)).width(2.0));
            for (name, color, _, knn) in others {
                p.add(Points::new(name.clone(), PlotPoints::from(knn.clone())).color(color).radius(2.0));
                p.line(Line::new(name, PlotPoints::from(knn)).color(color).width(1.5));
            }
            if let Some(b) = baseline {
                p.add(HLine::new("raw features", b as f64).color(Color32::from_gray(140)).style(egui_plot::LineStyle::dashed_loose()));
            }
        });
        cols[2].strong(match last(&log.throughput) {
            Some(t) => format!("Throughput {t:.0} items/s"),
            None => "Throughput".into(),
        });
        let tp = log.throughput.clone();
        plot("throughput-plot", height).include_y(0.0).show(&mut cols[2], |p| {
            p.line(Line::new("items/s", PlotPoints::from(tp)).color(Color32::from_rgb(80, 130, 220)));
        });
        cols[3].strong("Collapse signals").on_hover_text(
            "std x sqrt(d): mean per-dimension std of normalised embeddings, scaled so that 1 is healthy and 0 is collapse.\n\
             rank/d: effective rank over the embedding size; low values mean few directions are used.",
        );
        let std: Vec<[f64; 2]> = log.embedding_std.iter().map(|[x, y]| [*x, y * dim.sqrt()]).collect();
        let rank: Vec<[f64; 2]> = log.effective_rank.iter().map(|[x, y]| [*x, y / dim]).collect();
        plot("collapse-plot", height).include_y(0.0).include_y(1.0).show(&mut cols[3], |p| {
            for (name, series, color) in [("std x sqrt(d)", std, Color32::from_rgb(200, 80, 160)), ("rank/d", rank, Color32::from_rgb(150, 120, 40))] {
                p.add(Points::new(name, PlotPoints::from(series.clone())).color(color).radius(2.5));
                p.line(Line::new(name, PlotPoints::from(series)).color(color));
            }
        });
        if teacher {
            cols[4].strong(match last(&log.teacher_momentum) {
                Some(m) => format!("Teacher momentum {m:.4}"),
                None => "Teacher momentum".into(),
            })
            .on_hover_text("EMA momentum m of the teacher: after each step its weights become m x teacher + (1 - m) x student. It rises to 1 on a cosine schedule, so the teacher settles as training ends.");
            let m = log.teacher_momentum.clone();
            plot("momentum-plot", height).include_y(1.0).show(&mut cols[4], |p| {
                p.line(Line::new("momentum", PlotPoints::from(m)).color(Color32::from_rgb(120, 90, 200)).width(2.0));
            });
        }
    });
}
