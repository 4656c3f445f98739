//! kNN accuracy, NMI, ARI, purity and collapse signals on cases computed by hand or by
//! scikit-learn.

use pretext::analysis::knn::{accuracy, predict, KnnProtocol};
use pretext::analysis::metrics::{ari, cluster_summaries, effective_rank, mean_dimension_std, nmi, purity};
use pretext::analysis::neighbors::{neighbors_of, top_k_cosine};
use pretext::analysis::Matrix;

#[test]
fn nmi_and_ari_match_scikit_learn() {
    // Values from scikit-learn 1.x: normalized_mutual_info_score / adjusted_rand_score on
    // these labelings (printed with repr() in a throwaway venv).
    let a = [0, 0, 0, 1, 1, 1, 2, 2, 2, 2];
    let b = [0, 0, 1, 1, 1, 2, 2, 2, 0, 2];
    assert!((nmi(&a, &b) - 0.44270128334605).abs() < 1e-9);
    assert!((ari(&a, &b) - 0.20454545454545456).abs() < 1e-9);
    let (c, d) = ([0, 0, 1, 1], [0, 0, 1, 2]);
    assert!((nmi(&c, &d) - 0.8).abs() < 1e-9);
    assert!((ari(&c, &d) - 0.5714285714285714).abs() < 1e-9);
    // Relabelling clusters changes nothing; identical labelings score 1.
    assert!((nmi(&a, &[5, 5, 5, 9, 9, 9, 7, 7, 7, 7]) - 1.0).abs() < 1e-12);
    assert!((ari(&a, &a) - 1.0).abs() < 1e-12);
}

#[test]
fn purity_and_cluster_summaries() {
    let clusters = [0, 0, 0, 1, 1, 2];
    let labels = [3, 3, 4, 4, 4, 1];
    let s = cluster_summaries(&clusters, Some(&labels), 3);
    assert_eq!((s[0].size, s[0].majority, s[0].purity), (3, Some(3), 2.0 / 3.0));
    assert_eq!((s[1].majority, s[1].purity), (Some(4), 1.0));
    assert!((purity(&clusters, &labels, 3) - 5.0 / 6.0).abs() < 1e-6);
}

#[test]
fn weighted_knn_by_hand() {
    // Bank: three points near the x axis labelled 0, one on the y axis labelled 1.
    let train = Matrix::new(vec![1.0, 0.0, 1.0, 0.1, 1.0, -0.1, 0.0, 1.0], 4, 2);
    let labels = [0, 0, 0, 1];
    let test = Matrix::new(vec![0.9, 0.05, 0.1, 1.0], 2, 2);
    let p = KnnProtocol { k: 2, temperature: 0.07 };
    assert_eq!(predict(&train, &labels, &test, p).unwrap(), vec![0, 1]);
    assert_eq!(accuracy(&train, &labels, &test, &[0, 0], p).unwrap(), 0.5);
    // With k = 4 and a high temperature the three class-0 votes outweigh the close class-1
    // neighbour of the second query: weights are exp(cos / T), nearly equal at T = 100.
    let flat = KnnProtocol { k: 4, temperature: 100.0 };
    assert_eq!(predict(&train, &labels, &test, flat).unwrap(), vec![0, 0]);
}

#[test]
fn exact_neighbours_are_sorted_and_exclude_the_query() {
    let x = Matrix::new(vec![1.0, 0.0, 0.0, 1.0, 0.9, 0.1, -1.0, 0.0], 4, 2);
    let nn = neighbors_of(&x, 0, 3).unwrap();
    let order: Vec<usize> = nn.iter().map(|n| n.index).collect();
    assert_eq!(order, vec![2, 1, 3]);
    assert!((nn[2].distance() - 2.0).abs() < 1e-6, "opposite vectors have cosine distance 2");
    // Blocked search over many queries agrees with brute force.
    let n = 1500;
    let data: Vec<f32> = (0..n * 3).map(|i| ((i * 7919) % 1013) as f32 / 1013.0 - 0.5).collect();
    let m = Matrix::new(data, n, 3);
    let all = top_k_cosine(&m, &m, 1, None).unwrap();
    assert!(all.iter().enumerate().all(|(i, nn)| nn[0].similarity >= 0.9999 && (nn[0].index == i || m.row(nn[0].index) == m.row(i))));
}

#[test]
fn collapse_signals_tell_collapse_from_spread() {
    let n = 200;
    let d = 8;
    let collapsed = Matrix::new((0..n * d).map(|i| 1.0 + (i % d) as f32).collect(), n, d);
    let spread = Matrix::new((0..n * d).map(|i| if i % d == (i / d) % d { 1.0 } else { 0.0 }).collect(), n, d);
    assert!(mean_dimension_std(&collapsed) < 1e-6);
    assert!((effective_rank(&collapsed) - 1.0).abs() < 1e-3);
    // One-hot rows spread evenly over d axes: effective rank d.
    assert!((effective_rank(&spread) - d as f32).abs() < 1e-2, "{}", effective_rank(&spread));
    assert!(mean_dimension_std(&spread) > 0.3);
}

#[test]
fn top_k_results_hold_k_entries_not_one_per_bank_row() {
    // Each query's list must not keep room for the whole bank: at 10,000 queries against
    // 60,000 rows that room was 9.6 GB.
    let bank = Matrix::new((0..2000 * 4).map(|i| ((i * 7919) % 101) as f32 - 50.0).collect(), 2000, 4);
    let queries = bank.select_rows(&[0, 1, 2]);
    for row in top_k_cosine(&bank, &queries, 5, None).unwrap() {
        assert_eq!(row.len(), 5);
        assert!(row.capacity() <= 5, "capacity {} for 5 neighbours", row.capacity());
        assert!(row.windows(2).all(|w| w[0].similarity >= w[1].similarity), "nearest first");
    }
}
