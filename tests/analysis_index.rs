//! The neighbour index (HNSW and exact) and 2D picking.

use pretext::analysis::grid2d::PointGrid;
use pretext::analysis::index::{IndexParams, Metric, NeighborIndex};
use pretext::analysis::Matrix;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

fn gaussian(n: usize, d: usize, seed: u64) -> Matrix {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    Matrix::new((0..n * d).map(|_| rng.sample(StandardNormal)).collect(), n, d)
}

fn recall(index: &NeighborIndex, exact: &NeighborIndex, queries: &Matrix, k: usize) -> f64 {
    let got = index.search_batch(queries, k);
    let want = exact.search_batch(queries, k);
    let hits: usize = got.iter().zip(&want).map(|(g, w)| g.iter().filter(|p| w.iter().any(|q| q.0 == p.0)).count()).sum();
    hits as f64 / (k * queries.rows) as f64
}

#[test]
fn hnsw_recall_on_random_data_is_high_for_both_metrics() {
    let data = gaussian(4000, 24, 1);
    let queries = gaussian(200, 24, 2);
    for metric in [Metric::Euclidean, Metric::Cosine] {
        let hnsw = NeighborIndex::build(&data, metric, IndexParams { exact_threshold: 0, ..IndexParams::default() }).unwrap();
        let exact = NeighborIndex::build(&data, metric, IndexParams { exact_threshold: usize::MAX, ..IndexParams::default() }).unwrap();
        assert!(!hnsw.is_exact() && exact.is_exact());
        let r = recall(&hnsw, &exact, &queries, 10);
        assert!(r >= 0.95, "{metric:?} recall@10 = {r}");
    }
}

#[test]
fn exact_search_returns_true_distances_nearest_first() {
    let data = Matrix::new(vec![0.0, 0.0, 3.0, 4.0, 1.0, 0.0, 0.0, 2.0], 4, 2);
    let index = NeighborIndex::build(&data, Metric::Euclidean, IndexParams::default()).unwrap();
    let found = index.search(&[0.0, 0.0], 3);
    assert_eq!(found.iter().map(|p| p.0).collect::<Vec<_>>(), vec![0, 2, 3]);
    assert!((found[1].1 - 1.0).abs() < 1e-6 && (found[2].1 - 2.0).abs() < 1e-6);
    let cos = NeighborIndex::build(&data, Metric::Cosine, IndexParams::default()).unwrap();
    let c = cos.search(&[1.0, 0.0], 1);
    assert!(c[0].1.abs() < 1e-6, "a parallel vector has cosine distance 0");
}

#[test]
fn knn_graph_excludes_the_point_itself() {
    let data = gaussian(6000, 8, 3);
    let index = NeighborIndex::build(&data, Metric::Euclidean, IndexParams::default()).unwrap();
    let graph = index.knn_graph(5);
    assert_eq!(graph.len(), 6000);
    assert!(graph.iter().enumerate().all(|(i, l)| l.len() == 5 && l.iter().all(|p| p.0 != i)));
}

#[test]
fn index_rejects_nan_and_bad_settings() {
    let data = Matrix::new(vec![0.0, f32::NAN], 1, 2);
    assert!(NeighborIndex::build(&data, Metric::Euclidean, IndexParams::default()).is_err());
    let ok = gaussian(10, 2, 4);
    assert!(NeighborIndex::build(&ok, Metric::Euclidean, IndexParams { m: 1000, ..IndexParams::default() }).is_err());
}

#[test]
fn grid_picking_matches_brute_force() {
    let layout = gaussian(3000, 2, 5);
    let grid = PointGrid::new(&layout).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(6);
    let d2 = |i: usize, x: f32, y: f32| (layout.data[2 * i] - x).powi(2) + (layout.data[2 * i + 1] - y).powi(2);
    for _ in 0..200 {
        let (x, y) = (rng.random_range(-4.0..4.0f32), rng.random_range(-4.0..4.0f32));
        let brute = (0..layout.rows).min_by(|&a, &b| d2(a, x, y).total_cmp(&d2(b, x, y))).unwrap();
        let (found, dist) = grid.nearest_2d(x, y).unwrap();
        assert!((d2(found, x, y) - d2(brute, x, y)).abs() < 1e-9, "nearest to ({x},{y})");
        assert!((dist - d2(brute, x, y).sqrt()).abs() < 1e-5);
    }
    let inside = |i: usize| {
        let (x, y) = (layout.data[2 * i], layout.data[2 * i + 1]);
        (-1.0..=0.5).contains(&x) && (-0.3..=2.0).contains(&y)
    };
    let mut rect = grid.in_rect((0.5, 2.0), (-1.0, -0.3));
    rect.sort_unstable();
    assert_eq!(rect, (0..layout.rows).filter(|&i| inside(i)).collect::<Vec<_>>());
    // A triangle lasso: points with x > 0, y > 0 and x + y < 1.
    let mut lasso = grid.in_polygon(&[(0.0, 0.0), (1.0, 0.0), (0.0, 1.0)]);
    lasso.sort_unstable();
    let want: Vec<usize> = (0..layout.rows)
        .filter(|&i| {
            let (x, y) = (layout.data[2 * i], layout.data[2 * i + 1]);
            x > 0.0 && y > 0.0 && x + y < 1.0
        })
        .collect();
    assert_eq!(lasso, want);
    assert!(!want.is_empty());
}
