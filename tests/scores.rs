//! Data-quality scores on small constructed cases with a known answer.

use pretext::analysis::scores::{item_scores, ScoreParams};
use pretext::analysis::Matrix;
use rand::{Rng, SeedableRng};

/// Two tight groups of 40 points in 8-d around opposite directions, labelled by group.
fn two_groups(seed: u64) -> (Matrix, Vec<u32>) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut data = Vec::new();
    let mut labels = Vec::new();
    for i in 0..80 {
        let group = i % 2;
        for d in 0..8 {
            let centre = if d == 0 { if group == 0 { 1.0 } else { -1.0 } } else { 0.0 };
            data.push(centre + rng.random_range(-0.3..0.3));
        }
        labels.push(group as u32);
    }
    (Matrix::new(data, 80, 8), labels)
}

fn argmax(v: &[f32]) -> usize {
    (0..v.len()).max_by(|&a, &b| v[a].total_cmp(&v[b])).unwrap()
}

#[test]
fn a_planted_mislabelled_item_ranks_first() {
    let (x, mut labels) = two_groups(1);
    labels[17] = 1 - labels[17];
    let s = item_scores(&x, Some(&labels), None, &ScoreParams::default()).unwrap();
    let errors = s.label_error.unwrap();
    assert_eq!(argmax(&errors), 17);
    assert!(errors[17] > 0.9, "{}", errors[17]);
    // Correctly labelled items inside their group score near 0.
    let others: f32 = errors.iter().enumerate().filter(|(i, _)| *i != 17).map(|(_, v)| v).sum::<f32>() / 79.0;
    assert!(others < 0.1, "{others}");
}

#[test]
fn a_planted_duplicate_pair_is_one_group_and_nothing_else_is() {
    let (mut x, _) = two_groups(2);
    // Item 30 becomes a near-copy of item 5.
    let copy: Vec<f32> = x.row(5).iter().map(|v| v * 1.0001).collect();
    x.data[30 * 8..31 * 8].copy_from_slice(&copy);
    let s = item_scores(&x, None, None, &ScoreParams::default()).unwrap();
    assert_eq!(s.duplicate_group[5], Some(0));
    assert_eq!(s.duplicate_group[30], Some(0));
    assert_eq!(s.duplicate_group.iter().flatten().count(), 2, "{:?}", s.duplicate_group);
    // A looser threshold merges whole groups.
    let loose = item_scores(&x, None, None, &ScoreParams { duplicate_distance: 0.5, ..Default::default() }).unwrap();
    assert!(loose.duplicate_group.iter().flatten().count() > 40);
}

#[test]
fn an_isolated_point_is_the_most_unique() {
    let (mut x, _) = two_groups(3);
    // Item 44 points along an axis no other item uses.
    let lone = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0];
    x.data[44 * 8..45 * 8].copy_from_slice(&lone);
    let s = item_scores(&x, None, None, &ScoreParams::default()).unwrap();
    assert_eq!(argmax(&s.uniqueness), 44);
    assert!((s.uniqueness[44] - 1.0).abs() < 1e-6);
    assert!(s.uniqueness.iter().all(|v| (0.0..=1.0).contains(v)));
}

#[test]
fn the_item_nearest_its_cluster_centre_is_the_most_representative() {
    let (mut x, labels) = two_groups(4);
    // Item 10 (group 0) sits exactly on its group's direction.
    x.data[10 * 8..11 * 8].copy_from_slice(&[1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    let clusters: Vec<usize> = labels.iter().map(|&l| l as usize).collect();
    let s = item_scores(&x, None, Some(&clusters), &ScoreParams::default()).unwrap();
    let r = s.representativeness.unwrap();
    let group0: Vec<usize> = (0..80).filter(|&i| clusters[i] == 0).collect();
    let best = group0.iter().copied().max_by(|&a, &b| r[a].total_cmp(&r[b])).unwrap();
    assert_eq!(best, 10);
    assert!(r.iter().all(|v| (0.0..=1.0).contains(v)));
}

#[test]
fn mismatched_inputs_are_errors() {
    let (x, labels) = two_groups(5);
    assert!(item_scores(&x, Some(&labels[..10]), None, &ScoreParams::default()).is_err());
    assert!(item_scores(&x, None, None, &ScoreParams { k: 80, ..Default::default() }).is_err());
}

#[test]
fn a_label_error_is_scored_by_the_vote_for_one_other_class() {
    use pretext::analysis::scores::label_errors;
    // Items 0 and 1 are labelled 0; item 0's four neighbours all say class 1, item 1's are
    // split between classes 1 and 2; item 2 (label 1) sits among class-1 neighbours.
    let labels = [0, 0, 1, 1, 1, 1, 2, 2];
    let at = |ids: &[usize]| ids.iter().map(|&j| (j, 0.1f32)).collect::<Vec<_>>();
    let graph = vec![at(&[2, 3, 4, 5]), at(&[2, 3, 6, 7]), at(&[3, 4, 5, 0])];
    let e = label_errors(&graph, &labels);
    assert!((e[0] - 1.0).abs() < 1e-6, "{e:?}");
    assert!((e[1] - 0.5).abs() < 1e-6, "{e:?}");
    assert!((e[2] - 0.25).abs() < 1e-6, "item 2's one dissenting neighbour: {e:?}");
}
