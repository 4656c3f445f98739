//! k-means finds well-separated clusters and stops at a Lloyd fixed point.

use pretext::analysis::{distance, kmeans, metrics, Matrix};

/// `per` points around each of `centres` (±`spread` per coordinate, deterministic jitter).
fn blobs(centres: &[Vec<f32>], per: usize, spread: f32) -> (Matrix, Vec<usize>) {
    let d = centres[0].len();
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut jitter = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 2.0 * spread
    };
    let (mut data, mut labels) = (Vec::new(), Vec::new());
    for _ in 0..per {
        for (c, centre) in centres.iter().enumerate() {
            data.extend(centre.iter().map(|v| v + jitter()));
            labels.push(c);
        }
    }
    (Matrix::new(data, labels.len(), d), labels)
}

fn centres(k: usize, d: usize, gap: f32) -> Vec<Vec<f32>> {
    (0..k).map(|c| (0..d).map(|j| if j == c % d { gap * (1 + c / d) as f32 } else { 0.0 }).collect()).collect()
}

#[test]
fn separated_blobs_are_recovered_exactly() {
    let (x, truth) = blobs(&centres(6, 8, 10.0), 500, 1.0);
    for seed in 0..3 {
        let found = kmeans::fit(&x, 6, seed).unwrap();
        let nmi = metrics::nmi(&found, &truth);
        assert!(nmi > 0.999, "seed {seed}: NMI {nmi}");
    }
}

#[test]
fn result_is_a_lloyd_fixed_point() {
    // Overlapping blobs: many points near boundaries, so a missed pass would show.
    let (x, _) = blobs(&centres(10, 5, 2.0), 800, 1.5);
    let k = 10;
    let labels = kmeans::fit(&x, k, 7).unwrap();
    let mut means = vec![0f64; k * x.cols];
    let mut counts = vec![0usize; k];
    for (r, &c) in labels.iter().enumerate() {
        counts[c] += 1;
        means[c * x.cols..(c + 1) * x.cols].iter_mut().zip(x.row(r)).for_each(|(m, &v)| *m += v as f64);
    }
    let means: Vec<f32> =
        means.chunks(x.cols).zip(&counts).flat_map(|(m, &n)| m.iter().map(move |v| (v / n.max(1) as f64) as f32)).collect();
    let misplaced = (0..x.rows)
        .filter(|&r| {
            let own = distance::sq_euclidean(x.row(r), &means[labels[r] * x.cols..(labels[r] + 1) * x.cols]);
            let best = means.chunks(x.cols).map(|m| distance::sq_euclidean(x.row(r), m)).fold(f32::INFINITY, f32::min);
            own > best + 1e-4
        })
        .count();
    // scikit-learn's tolerance allows a last tiny shift; nearly every point must already sit
    // with its nearest cluster mean.
    assert!(misplaced * 500 < x.rows, "{misplaced} of {} points are nearer another cluster's mean", x.rows);
    assert!(counts.iter().all(|&n| n > 0), "empty cluster: {counts:?}");
}

#[test]
fn inertia_is_mean_squared_distance_to_cluster_means() {
    let x = Matrix::new(vec![0.0, 0.0, 2.0, 0.0, 10.0, 10.0, 10.0, 12.0], 4, 2);
    // Means (1,0) and (10,11): every point is at squared distance 1.
    assert!((kmeans::inertia(&x, &[0, 0, 1, 1], 2) - 1.0).abs() < 1e-12);
    assert!(kmeans::inertia(&x, &[0, 1, 0, 1], 2) > 1.0);
}

#[test]
fn bad_k_is_an_error() {
    let x = Matrix::new(vec![0.0; 6], 3, 2);
    assert!(kmeans::fit(&x, 0, 0).is_err());
    assert!(kmeans::fit(&x, 4, 0).is_err());
}
