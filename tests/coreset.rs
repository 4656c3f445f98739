//! Choosing diverse items to label: k-center covers the bundled sample more tightly than a
//! random choice of the same size, picks in farthest-first order on a hand-checkable line,
//! and typical-per-cluster picks one dense item from each separated cluster.

use pretext::analysis::coreset::{self, CoresetError, CoresetMethod, CoresetParams};
use pretext::analysis::Matrix;
use pretext::data::{load_dataset, sample_items, LoadOptions};
use pretext::PretextError;

/// Raw pixels of the first `n` items of the bundled Fashion-MNIST sample.
fn sample_pixels(n: usize) -> Matrix {
    let ds = load_dataset(&pretext::data::load::sample_data_dir(), &LoadOptions::default()).expect("the bundled sample");
    let items: Vec<usize> = (0..n.min(ds.len())).collect();
    pretext::analysis::baseline::raw_features(&ds, &items)
}

#[test]
fn k_center_covers_the_sample_better_than_random_picks() {
    let x = sample_pixels(4000);
    for n in [20, 100] {
        let picked = coreset::k_center(&x, n, 7).expect("k-center");
        assert_eq!(picked.picks.len(), n);
        let distinct: std::collections::BTreeSet<usize> = picked.picks.iter().copied().collect();
        assert_eq!(distinct.len(), n, "no item picked twice");
        assert!((coreset::coverage_radius(&x, &picked.picks) - picked.radius).abs() < 1e-3 * picked.radius, "the reported radius is the coverage radius");
        let random: f32 = (0..5).map(|seed| coreset::coverage_radius(&x, &sample_items(x.rows, n, seed))).sum::<f32>() / 5.0;
        eprintln!("{n} picks: k-center radius {:.3}, random {random:.3} (mean of 5 seeds)", picked.radius);
        assert!(picked.radius < 0.9 * random, "{n} picks: k-center radius {} is not clearly below random's {random}", picked.radius);
    }
}

#[test]
fn k_center_walks_a_line_farthest_first() {
    // Points 0, 1, ..., 8 on a line; from 0 the farthest is 8, then the middle 4, then 2
    // (2 and 6 tie at distance 2: the lower index wins), then 6; every point is then within 1.
    let x = Matrix::new((0..9).map(|i| i as f32).collect(), 9, 1);
    let picked = coreset::k_center_from(&x, 4, &[0]).expect("k-center");
    assert_eq!(picked.picks, vec![8, 4, 2, 6]);
    assert!((picked.radius - 1.0).abs() < 1e-6, "radius {}", picked.radius);
    // From a seeded random start the second pick is the far end of the line from it.
    let seeded = coreset::k_center(&x, 2, 3).expect("k-center");
    let first = seeded.picks[0];
    assert_eq!(seeded.picks[1], if first <= 4 { 8 } else { 0 });
}

#[test]
fn typical_per_cluster_picks_the_densest_item_of_each_cluster() {
    // Three clusters on a line, each a tight core of 9 points around its centre and one
    // straggler; the most typical item of each is its centre point.
    let mut values = Vec::new();
    for centre in [0.0f32, 100.0, 200.0] {
        for j in -4..=4 {
            values.push(centre + j as f32 * 0.1);
        }
        values.push(centre + 8.0);
    }
    let x = Matrix::new(values.clone(), values.len(), 1);
    let picked = coreset::typical_per_cluster(&x, 3, 1).expect("typical");
    let mut centres: Vec<f32> = picked.picks.iter().map(|&i| values[i]).collect();
    centres.sort_by(f32::total_cmp);
    assert_eq!(centres, vec![0.0, 100.0, 200.0], "one centre per cluster: {:?}", picked.picks);
    // The stragglers are 8 away from their centre, the farthest any item is from a pick.
    assert!((picked.radius - 8.0).abs() < 1e-4, "radius {}", picked.radius);
}

#[test]
fn selections_are_checked_before_any_work() {
    let x = Matrix::new(vec![0.0, 1.0, 2.0], 3, 1);
    assert_eq!(CoresetParams { n: 0, seed: 0 }.check(3), Err(CoresetError::NothingToPick));
    assert_eq!(CoresetParams { n: 4, seed: 0 }.check(3), Err(CoresetError::MoreThanThereAre { wanted: 4, available: 3 }));
    for method in CoresetMethod::ALL {
        let err = coreset::select(&x, method, CoresetParams { n: 4, seed: 0 }).expect_err("4 of 3");
        assert!(matches!(err, PretextError::Coreset(CoresetError::MoreThanThereAre { wanted: 4, available: 3 })), "{err}");
    }
    let nan = Matrix::new(vec![0.0, f32::NAN, 2.0], 3, 1);
    assert!(matches!(coreset::k_center(&nan, 2, 0), Err(PretextError::Coreset(CoresetError::NotFinite))));
    assert!(matches!(coreset::k_center_from(&x, 3, &[0]), Err(PretextError::Coreset(CoresetError::MoreThanThereAre { wanted: 3, available: 2 }))));
    assert!(matches!(coreset::k_center_from(&x, 1, &[5]), Err(PretextError::Coreset(CoresetError::NoSuchItem { item: 5, available: 3 }))));
}
