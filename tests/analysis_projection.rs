//! t-SNE and UMAP keep separated clusters separated, stream their iterations, and a
//! warm-started re-projection moves points less than a cold one.

use pretext::analysis::align::procrustes_align;
use pretext::analysis::fuzzy::fit_ab;
use pretext::analysis::grid2d::PointGrid;
use pretext::analysis::reproject::{reproject, Projection};
use pretext::analysis::tsne::{tsne, Repulsion, TsneParams};
use pretext::analysis::umap::{umap, UmapParams};
use pretext::analysis::Matrix;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

fn clusters(per: usize, seed: u64) -> (Matrix, Vec<u32>) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let (dim, k) = (10, 4);
    let mut data = Vec::new();
    let mut labels = Vec::new();
    for c in 0..k {
        for _ in 0..per {
            data.extend((0..dim).map(|d| if d == c { 20.0 } else { 0.0 } + rng.sample::<f32, _>(StandardNormal)));
            labels.push(c as u32);
        }
    }
    (Matrix::new(data, per * k, dim), labels)
}

/// Leave-one-out 1-NN accuracy on the map.
fn knn_accuracy_2d(layout: &Matrix, labels: &[u32]) -> f64 {
    let grid = PointGrid::new(layout).unwrap();
    let hits = (0..layout.rows)
        .filter(|&i| {
            let near = grid.knn_2d(layout.data[2 * i], layout.data[2 * i + 1], 2);
            let other = near.iter().find(|p| p.0 != i).unwrap().0;
            labels[other] == labels[i]
        })
        .count();
    hits as f64 / layout.rows as f64
}

fn mean_shift(a: &Matrix, b: &Matrix) -> f64 {
    (0..a.rows)
        .map(|i| (((a.data[2 * i] - b.data[2 * i]).powi(2) + (a.data[2 * i + 1] - b.data[2 * i + 1]).powi(2)) as f64).sqrt())
        .sum::<f64>()
        / a.rows as f64
}

#[test]
fn tsne_keeps_clusters_apart_and_streams_iterations() {
    let (x, labels) = clusters(100, 1);
    let mut calls = 0;
    let layout = tsne(&x, &TsneParams::default(), |it, l| {
        assert_eq!(it, calls);
        assert_eq!(l.rows, x.rows);
        calls += 1;
        true
    })
    .unwrap();
    assert_eq!(calls, 750);
    assert!(layout.data.iter().all(|v| v.is_finite()));
    let acc = knn_accuracy_2d(&layout, &labels);
    assert!(acc >= 0.99, "t-SNE 1-NN accuracy {acc}");
    // Both repulsion methods, whichever `Auto` picks at this size.
    for repulsion in [Repulsion::BarnesHut { theta: 0.5 }, Repulsion::Fft] {
        let layout = tsne(&x, &TsneParams { repulsion, ..TsneParams::default() }, |_, _| true).unwrap();
        let acc = knn_accuracy_2d(&layout, &labels);
        assert!(acc >= 0.99, "t-SNE ({repulsion:?}) 1-NN accuracy {acc}");
    }
    // The callback can stop the run.
    let mut seen = 0;
    tsne(&x, &TsneParams::default(), |_, _| {
        seen += 1;
        seen < 10
    })
    .unwrap();
    assert_eq!(seen, 10);
}

#[test]
fn umap_keeps_clusters_apart_and_streams_epochs() {
    let (x, labels) = clusters(100, 2);
    let mut epochs = 0;
    let layout = umap(&x, &UmapParams { n_epochs: Some(200), ..UmapParams::default() }, |_, _| {
        epochs += 1;
        true
    })
    .unwrap();
    assert_eq!(epochs, 200);
    let acc = knn_accuracy_2d(&layout, &labels);
    assert!(acc >= 0.99, "UMAP 1-NN accuracy {acc}");
}

#[test]
fn umap_curve_parameters_match_umap_learn() {
    // umap-learn 0.5: umap.umap_.find_ab_params(spread=1.0, min_dist=0.1)
    //   = (1.5769434602697652, 0.8950608778515733)
    let (a, b) = fit_ab(0.1, 1.0);
    assert!((a - 1.5769).abs() < 2e-3 && (b - 0.8951).abs() < 2e-3, "a={a} b={b}");
}

fn perturbed(x: &Matrix, seed: u64) -> Matrix {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    Matrix::new(x.data.iter().map(|v| v + 0.1 * rng.sample::<f32, _>(StandardNormal)).collect(), x.rows, x.cols)
}

#[test]
fn warm_umap_moves_points_less_than_a_cold_start() {
    let (x, _) = clusters(100, 3);
    let before = umap(&x, &UmapParams::default(), |_, _| true).unwrap();
    let x2 = perturbed(&x, 4);
    let warm = reproject(&before, &x2, &Projection::warm_umap(), |_, _| true).unwrap();
    let cold = umap(&x2, &UmapParams { seed: 99, ..UmapParams::default() }, |_, _| true).unwrap();
    let cold = procrustes_align(&before, &cold).unwrap();
    let (w, c) = (mean_shift(&before, &warm), mean_shift(&before, &cold));
    assert!(w < c, "warm start moved {w}, cold start {c}");
}

#[test]
fn warm_tsne_moves_points_less_than_a_cold_start() {
    let (x, _) = clusters(100, 5);
    let before = tsne(&x, &TsneParams::default(), |_, _| true).unwrap();
    let x2 = perturbed(&x, 6);
    let warm = reproject(&before, &x2, &Projection::warm_tsne(), |_, _| true).unwrap();
    let cold = tsne(&x2, &TsneParams { seed: 99, ..TsneParams::default() }, |_, _| true).unwrap();
    let cold = procrustes_align(&before, &cold).unwrap();
    let (w, c) = (mean_shift(&before, &warm), mean_shift(&before, &cold));
    assert!(w < c, "warm start moved {w}, cold start {c}");
}

#[test]
fn spectral_init_splits_two_loosely_joined_groups() {
    use pretext::analysis::fuzzy::Graph;
    use pretext::analysis::spectral::spectral_layout;
    // Two rings of 60 nodes, each node tied to its ring neighbours, and one weak bridge.
    let mut g = Graph { n: 120, ..Default::default() };
    let mut edge = |a: usize, b: usize, w: f32| {
        for (h, t) in [(a, b), (b, a)] {
            g.head.push(h as u32);
            g.tail.push(t as u32);
            g.weight.push(w);
        }
    };
    for ring in 0..2 {
        for i in 0..60 {
            edge(ring * 60 + i, ring * 60 + (i + 1) % 60, 1.0);
            edge(ring * 60 + i, ring * 60 + (i + 2) % 60, 0.5);
        }
    }
    edge(0, 60, 0.05);
    let layout = spectral_layout(&g, 3).expect("spectral layout");
    assert!(layout.data.iter().all(|v| v.is_finite()));
    // Some axis puts the two rings on opposite sides.
    let separated = (0..2).any(|axis| {
        let side = |r: usize| layout.data[2 * r + axis].signum();
        let a = (0..60).filter(|&r| side(r) == side(0)).count();
        let b = (60..120).filter(|&r| side(r) != side(0)).count();
        a == 60 && b == 60
    });
    assert!(separated, "rings not split: {:?}", &layout.data[..8]);
}

#[test]
fn umap_from_spectral_init_keeps_clusters_apart() {
    let (x, labels) = clusters(100, 4);
    let params = UmapParams { init: pretext::analysis::init::LayoutInit::Spectral, n_epochs: Some(200), ..UmapParams::default() };
    let layout = umap(&x, &params, |_, _| true).unwrap();
    let acc = knn_accuracy_2d(&layout, &labels);
    assert!(acc >= 0.99, "UMAP (spectral init) 1-NN accuracy {acc}");
}
