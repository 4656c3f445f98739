//! How faithful a 2D map is to the embedding it was drawn from.

use rayon::prelude::*;

use super::distance::{smallest_k, sq_euclidean};
use super::index::{IndexParams, Metric, NeighborIndex};
use super::Matrix;
use crate::error::{PretextError, Result};

/// Trustworthiness (Venna & Kaski 2001) computed exactly as scikit-learn's
/// `sklearn.manifold.trustworthiness` with the Euclidean metric: for each point, every
/// `k`-nearest neighbour in the layout that is not among its `k` nearest in the original space
/// is penalised by how far down the original ranking it sits. 1.0 is perfect.
/// O(n² · d): meant for subsamples of a few thousand points.
pub fn trustworthiness(original: &Matrix, layout: &Matrix, k: usize) -> Result<f64> {
    let n = original.rows;
    if layout.rows != n {
        return Err(PretextError::Analysis(format!("{} embeddings but {} layout points", n, layout.rows)));
    }
    // sklearn's own bound: the normalising constant is only positive below n/2.
    if k == 0 || k >= n / 2 {
        return Err(PretextError::Analysis(format!("trustworthiness needs 0 < k < n/2 (k={k}, n={n})")));
    }
    let penalty: f64 = (0..n)
        .into_par_iter()
        .map(|i| {
            let low = smallest_k((0..n).map(|j| (j, sq_euclidean(layout.row(i), layout.row(j)))), k, Some(i));
            let high: Vec<f32> = (0..n).map(|j| sq_euclidean(original.row(i), original.row(j))).collect();
            low.iter()
                .map(|&(j, _)| {
                    // 1-based rank of j among i's original-space neighbours (i itself excluded).
                    let dj = high[j];
                    let rank = (0..n).filter(|&l| l != i && (high[l] < dj || (high[l] == dj && l < j))).count() + 1;
                    rank.saturating_sub(k) as f64
                })
                .sum::<f64>()
        })
        .sum();
    let (n, k) = (n as f64, k as f64);
    Ok(1.0 - penalty * 2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0)))
}

/// Per point, `1 − Jaccard` of its `k` nearest neighbours in the embedding and on the map:
/// 0 where the map keeps the neighbourhood, 1 where it shares none of it. The map can be
/// coloured by this to show where the projection tears or glues.
pub fn neighbor_disagreement(embeddings: &Matrix, layout: &Matrix, k: usize, metric: Metric) -> Result<Vec<f32>> {
    if embeddings.rows != layout.rows {
        return Err(PretextError::Analysis(format!(
            "{} embeddings but {} layout points",
            embeddings.rows, layout.rows
        )));
    }
    if k == 0 || k >= embeddings.rows {
        return Err(PretextError::Analysis(format!("need 0 < k < n (k={k}, n={})", embeddings.rows)));
    }
    let high = NeighborIndex::build(embeddings, metric, IndexParams::default())?.knn_graph(k);
    neighbor_disagreement_of_graph(&high, layout, k)
}

/// `1 − Jaccard` of two neighbour sets (no repeats within either): 0 when they are the same
/// set, 1 when they share nothing.
pub fn jaccard_distance<T: PartialEq>(a: &[T], b: &[T]) -> f32 {
    let shared = a.iter().filter(|x| b.contains(x)).count();
    let union = a.len() + b.len() - shared;
    if union == 0 {
        0.0
    } else {
        1.0 - shared as f32 / union as f32
    }
}

/// Per item, how much its neighbourhood changed between two snapshots of the same items:
/// `1 − Jaccard` of its `k` nearest neighbours in each. `before` and `after` hold `k`
/// neighbour indices per item, row after row.
pub fn neighbourhood_change(before: &[u32], after: &[u32], k: usize) -> Result<Vec<f32>> {
    if k == 0 || before.len() != after.len() || before.len() % k != 0 {
        return Err(PretextError::Analysis(format!("neighbour lists of {} and {} entries for k={k}", before.len(), after.len())));
    }
    Ok(before.par_chunks(k).zip(after.par_chunks(k)).map(|(a, b)| jaccard_distance(a, b)).collect())
}

/// [`neighbor_disagreement`] from the embedding's k-nearest-neighbour graph already built
/// (each row's `k` neighbours), so a caller that has it does not search twice.
pub fn neighbor_disagreement_of_graph(high: &[Vec<(usize, f32)>], layout: &Matrix, k: usize) -> Result<Vec<f32>> {
    if high.len() != layout.rows {
        return Err(PretextError::Analysis(format!("{} graph rows but {} layout points", high.len(), layout.rows)));
    }
    let grid = super::grid2d::PointGrid::new(layout)?;
    Ok((0..layout.rows)
        .into_par_iter()
        .map(|i| {
            let low = grid.knn_2d(layout.data[2 * i], layout.data[2 * i + 1], k + 1);
            let low: Vec<usize> = low.into_iter().map(|p| p.0).filter(|&j| j != i).take(k).collect();
            let high: Vec<usize> = high[i].iter().map(|p| p.0).collect();
            jaccard_distance(&high, &low)
        })
        .collect())
}

#[cfg(test)]
mod change_tests {
    use super::*;

    #[test]
    fn neighbourhood_change_is_one_minus_jaccard_per_item() {
        // k = 3: item 0 keeps its neighbours (in another order), item 1 shares one of three,
        // item 2 shares none.
        let before = [1, 2, 3, 0, 2, 3, 4, 5, 6];
        let after = [3, 1, 2, 0, 7, 8, 9, 10, 11];
        let change = neighbourhood_change(&before, &after, 3).unwrap();
        assert_eq!(change, vec![0.0, 1.0 - 1.0 / 5.0, 1.0]);
        assert!(neighbourhood_change(&before, &after[..6], 3).is_err());
    }
}
