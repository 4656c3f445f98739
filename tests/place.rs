//! New items placed into an existing map land beside the items like them: a tenth of the
//! bundled sample is held back, the rest laid out, and the held-back part placed into that
//! map; compared with a layout of all items, and with the PCA projection's exact answer.

use pretext::analysis::align::align_on_shared;
use pretext::analysis::affinity::perplexity_affinities;
use pretext::analysis::fuzzy::{fit_ab, fuzzy_simplicial_set};
use pretext::analysis::index::{IndexParams, Metric, NeighborIndex};
use pretext::analysis::place::{self, LinearMap, PlaceMethod};
use pretext::analysis::{place_scale, tsne, umap, Matrix};
use pretext::data::{load_dataset, LoadOptions};
use pretext::ssl::added::neighbour_agreement;

/// Neighbours in embedding space a placed point's nearest old point on the map must be among.
const K: usize = 15;

/// Raw pixels of the first `n` items of the bundled sample, scaled to unit length.
fn sample(n: usize) -> Matrix {
    let ds = load_dataset(&pretext::data::load::sample_data_dir(), &LoadOptions::default()).expect("the bundled sample");
    let items: Vec<usize> = (0..n).collect();
    pretext::analysis::baseline::raw_features(&ds, &items).l2_normalized()
}

/// Every tenth row held back: (kept rows, held-back rows).
fn hold_back(n: usize) -> (Vec<usize>, Vec<usize>) {
    (0..n).partition(|i| i % 10 != 0)
}

fn rows(points: &[[f32; 2]], which: &[usize]) -> Vec<[f32; 2]> {
    which.iter().map(|&i| points[i]).collect()
}

/// Mean distance of each placed point from where a layout of all items put it, after that
/// layout is aligned onto the map through the old items (both maps have unit RMS radius).
fn mean_offset(full: &[[f32; 2]], kept: &[usize], held: &[usize], map: &[[f32; 2]], placed: &[[f32; 2]]) -> f32 {
    let all: Vec<usize> = (0..full.len()).collect();
    let aligned = align_on_shared(map, kept, full, &all);
    held.iter().zip(placed).map(|(&i, p)| ((aligned[i][0] - p[0]).powi(2) + (aligned[i][1] - p[1]).powi(2)).sqrt()).sum::<f32>() / held.len() as f32
}

#[test]
fn held_back_items_land_beside_their_neighbours() {
    let x = sample(2000);
    let (kept, held) = hold_back(x.rows);
    let (old, new) = (x.select_rows(&kept), x.select_rows(&held));
    let mut results = Vec::new();
    for method in PlaceMethod::ALL {
        let (map, _) = place::lay_out(&old, method, 3).expect("a map of the kept items");
        let placed = place::place_new_points(&old, &map, &new, method, 3).expect("placed");
        assert_eq!(placed.len(), held.len());
        assert!(placed.iter().flatten().all(|v| v.is_finite()));
        let agreement = neighbour_agreement(&old, &map, &new, &placed, K).expect("agreement");
        // The same figure for the held-back items in a layout of all items: what a full
        // re-layout achieves, the level a placement should come close to.
        let (full, _) = place::lay_out(&x, method, 3).expect("a map of all items");
        let full_agreement = neighbour_agreement(&old, &rows(&full, &kept), &new, &rows(&full, &held), K).expect("agreement");
        // Where the neighbour-weighted start alone puts them, and a random spot on the map.
        let starts = place::weighted_starts(&old, &map, &new, method).expect("starts");
        let start_agreement = neighbour_agreement(&old, &map, &new, &starts, K).expect("agreement");
        let random: Vec<[f32; 2]> = (0..held.len()).map(|i| map[(i * 7919) % map.len()]).collect();
        let random_agreement = neighbour_agreement(&old, &map, &new, &random, K).expect("agreement");
        let offset = mean_offset(&full, &kept, &held, &map, &placed);
        eprintln!(
            "{}: placed {agreement:.3}, weighted start {start_agreement:.3}, full layout {full_agreement:.3}, random {random_agreement:.3} land beside one of their {K} nearest; mean offset from the full layout {offset:.3} (map RMS radius 1)",
            method.label()
        );
        results.push((method, agreement, full_agreement, random_agreement, offset));
    }
    for (method, agreement, full_agreement, random_agreement, offset) in results {
        assert!(agreement >= 0.9 * full_agreement, "{}: {agreement} of placed items land beside a neighbour, a full layout gets {full_agreement}", method.label());
        match method {
            // PCA of 90% of the items spans nearly the same plane as PCA of all of them (and a
            // PCA map keeps local neighbours poorly, placed or not).
            PlaceMethod::Pca => assert!(offset < 0.05, "PCA: placed items are {offset} from where a PCA of all items puts them"),
            PlaceMethod::Umap | PlaceMethod::Tsne => {
                assert!(agreement > random_agreement + 0.3, "{}: placement {agreement} is not far above random {random_agreement}", method.label())
            }
        }
    }
}

#[test]
fn a_pca_map_is_recovered_exactly_however_it_is_turned() {
    let x = sample(600);
    let (kept, held) = hold_back(x.rows);
    let (old, new) = (x.select_rows(&kept), x.select_rows(&held));
    let (map, projection) = place::lay_out(&old, PlaceMethod::Pca, 0).expect("a PCA map");
    let projection = projection.expect("a PCA map has its projection");
    let exact = projection.apply(&new).expect("projected");
    // The map on screen may be rotated, mirrored, scaled and moved: the fit follows it.
    let (s, c) = 0.7f32.sin_cos();
    let turn = |p: [f32; 2]| [-(c * p[0] - s * p[1]) * 3.0 + 1.5, (s * p[0] + c * p[1]) * 3.0 - 2.0];
    let turned: Vec<[f32; 2]> = map.iter().map(|&p| turn(p)).collect();
    let placed = place::place_new_points(&old, &turned, &new, PlaceMethod::Pca, 0).expect("placed");
    let worst = placed.iter().zip(&exact).map(|(p, e)| (p[0] - turn(*e)[0]).abs().max((p[1] - turn(*e)[1]).abs())).fold(0.0, f32::max);
    assert!(worst < 1e-3, "placed {worst} away from the turned projection");
    // The saved form reads back as the same projection.
    let again = LinearMap::from_matrix(&projection.to_matrix()).expect("read back");
    assert_eq!(again, projection);
}

#[test]
fn the_scale_search_finds_a_native_layouts_own_scale() {
    // A layout straight from t-SNE or UMAP, normalised as the map shows it, is stretched
    // back to within 40% of its own size (measured: 1.23× for both on this sample; a
    // layout stopped after its schedule is still slowly growing towards the found scale).
    let x = sample(1500);
    let rms = |m: &Matrix| {
        let n = m.rows as f64;
        let (cx, cy) = (m.data.iter().step_by(2).map(|&v| v as f64).sum::<f64>() / n, m.data.iter().skip(1).step_by(2).map(|&v| v as f64).sum::<f64>() / n);
        (m.data.chunks_exact(2).map(|p| (p[0] as f64 - cx).powi(2) + (p[1] as f64 - cy).powi(2)).sum::<f64>() / n).sqrt()
    };
    let unit = |m: &Matrix| {
        let r = rms(m);
        m.data.iter().map(|&v| (v as f64 / r) as f32).collect::<Vec<f32>>()
    };

    let params = tsne::TsneParams::default();
    let native = tsne::tsne(&x, &params, |_, _| true).expect("t-SNE");
    let knn = NeighborIndex::build(&x, Metric::Euclidean, IndexParams { ef_search: 90, ..params.index.clone() }).expect("index").knn_graph(90);
    let found = place_scale::tsne_scale(&perplexity_affinities(&knn, 30.0), &unit(&native));
    let ratio = found / rms(&native);
    eprintln!("t-SNE: native RMS radius {:.2}, found {found:.2} (ratio {ratio:.3})", rms(&native));
    assert!((0.7..1.4).contains(&ratio), "t-SNE scale found {found}, the layout's own {}", rms(&native));

    let params = umap::UmapParams::default();
    let native = umap::umap(&x, &params, |_, _| true).expect("UMAP");
    let graph = fuzzy_simplicial_set(&NeighborIndex::build(&x, Metric::Euclidean, params.index.clone()).expect("index").knn_graph(14), 15);
    let (a, b) = fit_ab(params.min_dist, params.spread);
    let found = place_scale::umap_scale(&graph, &unit(&native), a, b, params.negative_sample_rate, params.repulsion_strength, 0);
    let ratio = found / rms(&native);
    eprintln!("UMAP: native RMS radius {:.2}, found {found:.2} (ratio {ratio:.3})", rms(&native));
    assert!((0.7..1.4).contains(&ratio), "UMAP scale found {found}, the layout's own {}", rms(&native));
}

#[test]
fn the_optimisers_hold_fixed_points_and_move_the_rest() {
    let x = sample(300);
    let n = x.rows;
    let fixed: Vec<bool> = (0..n).map(|i| i % 3 != 0).collect();
    let start = pretext::analysis::init::pca_2d(&x, 0);
    let moved_rows = |out: &Matrix| -> (bool, f32) {
        let kept = (0..n).filter(|&i| fixed[i]).all(|i| out.data[2 * i] == start.data[2 * i] && out.data[2 * i + 1] == start.data[2 * i + 1]);
        let moved = (0..n).filter(|&i| !fixed[i]).map(|i| (out.data[2 * i] - start.data[2 * i]).abs() + (out.data[2 * i + 1] - start.data[2 * i + 1]).abs()).sum::<f32>();
        (kept, moved)
    };
    let params = umap::UmapParams { n_epochs: Some(20), ..umap::UmapParams::default() };
    let graph = fuzzy_simplicial_set(&NeighborIndex::build(&x, Metric::Euclidean, params.index.clone()).expect("index").knn_graph(14), 15);
    let out = umap::layout_graph_fixed(&graph, start.clone(), &params, &fixed, &mut |_, _| true).expect("UMAP");
    let (kept, moved) = moved_rows(&out);
    assert!(kept && moved > 0.0, "UMAP: fixed points kept {kept}, the others moved {moved}");

    let params = tsne::TsneParams { early_exaggeration_iter: 0, n_iter: 20, ..tsne::TsneParams::default() };
    let knn = NeighborIndex::build(&x, Metric::Euclidean, IndexParams::default()).expect("index").knn_graph(90);
    let out = tsne::optimize_fixed(&perplexity_affinities(&knn, 30.0), start.clone(), &params, &fixed, &mut |_, _| true).expect("t-SNE");
    let (kept, moved) = moved_rows(&out);
    assert!(kept && moved > 0.0, "t-SNE: fixed points kept {kept}, the others moved {moved}");
}

#[test]
fn placing_refines_the_weighted_start_and_rejects_other_widths() {
    let x = sample(300);
    let (kept, held) = hold_back(x.rows);
    let (old, new) = (x.select_rows(&kept), x.select_rows(&held));
    for method in [PlaceMethod::Umap, PlaceMethod::Tsne] {
        let (map, _) = place::lay_out(&old, method, 1).expect("a map");
        let placed = place::place_new_points(&old, &map, &new, method, 1).expect("placed");
        // The optimisation moved the points off their weighted start (it ran) but not far.
        let starts = place::weighted_starts(&old, &map, &new, method).expect("starts");
        let moved = placed.iter().zip(&starts).map(|(p, s)| ((p[0] - s[0]).powi(2) + (p[1] - s[1]).powi(2)).sqrt()).sum::<f32>() / placed.len() as f32;
        eprintln!("{}: mean move from the weighted start {moved:.4}", method.label());
        assert!(moved > 1e-4 && moved < 0.5, "{}: moved {moved} on a map of RMS radius 1", method.label());
    }
    // Mismatched widths are the user's error, said in words.
    let narrow = Matrix::new(vec![0.0; 3 * 5], 3, 5);
    let map = place::lay_out(&old, PlaceMethod::Pca, 0).expect("map").0;
    let err = place::place_new_points(&old, &map, &narrow, PlaceMethod::Umap, 0).expect_err("other width");
    assert!(err.to_string().contains("same encoder"), "{err}");
}
