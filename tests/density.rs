//! Density contours: closed rings around dense regions, one ring per separated blob.

use std::collections::HashMap;

use pretext::analysis::density::{density_contours, ContourParams};

/// `n` points of a normal distribution (Box–Muller on a fixed sequence) around `centre`.
fn blob(n: usize, centre: [f32; 2], std: f32, seed: u64) -> Vec<[f32; 2]> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    (0..n)
        .map(|_| {
            let (u, v) = (uniform(), uniform());
            let r = (-2.0 * u.ln()).sqrt();
            let a = std::f64::consts::TAU * v;
            [centre[0] + std * (r * a.cos()) as f32, centre[1] + std * (r * a.sin()) as f32]
        })
        .collect()
}

/// Rings formed by the segments: endpoints joined when they coincide. Each ring's segments
/// must meet end to end with every endpoint used exactly twice (a closed curve).
fn rings(segments: &[[[f32; 2]; 2]]) -> usize {
    let key = |p: [f32; 2]| ((p[0] * 1e4).round() as i64, (p[1] * 1e4).round() as i64);
    let mut degree: HashMap<(i64, i64), usize> = HashMap::new();
    let mut parent: Vec<usize> = (0..segments.len()).collect();
    fn root(p: &mut [usize], mut i: usize) -> usize {
        while p[i] != i {
            p[i] = p[p[i]];
            i = p[i];
        }
        i
    }
    let mut first_at: HashMap<(i64, i64), usize> = HashMap::new();
    for (s, seg) in segments.iter().enumerate() {
        for &p in seg {
            *degree.entry(key(p)).or_default() += 1;
            match first_at.get(&key(p)) {
                Some(&other) => {
                    let (a, b) = (root(&mut parent, s), root(&mut parent, other));
                    parent[a] = b;
                }
                None => {
                    first_at.insert(key(p), s);
                }
            }
        }
    }
    assert!(degree.values().all(|&d| d == 2), "every contour is closed: endpoint degrees {:?}", degree.values().filter(|&&d| d != 2).count());
    (0..segments.len()).filter(|&s| root(&mut parent, s) == s).count()
}

#[test]
fn one_blob_gives_one_closed_ring_per_level_centred_on_it() {
    let points = blob(20_000, [2.0, -1.0], 1.0, 1);
    let c = density_contours(&points, &ContourParams::default());
    assert_eq!(c.segments.len(), 3);
    let mut radii = Vec::new();
    for (level, segments) in c.levels.iter().zip(&c.segments) {
        assert!(!segments.is_empty(), "level {level}");
        assert_eq!(rings(segments), 1, "level {level}");
        let ends: Vec<[f32; 2]> = segments.iter().flatten().copied().collect();
        let centre = ends.iter().fold([0f32; 2], |s, p| [s[0] + p[0] / ends.len() as f32, s[1] + p[1] / ends.len() as f32]);
        assert!((centre[0] - 2.0).abs() < 0.15 && (centre[1] + 1.0).abs() < 0.15, "level {level}: centred at {centre:?}");
        let r: Vec<f32> = ends.iter().map(|p| ((p[0] - 2.0).powi(2) + (p[1] + 1.0).powi(2)).sqrt()).collect();
        let mean = r.iter().sum::<f32>() / r.len() as f32;
        // A round blob gives a round contour.
        assert!(r.iter().all(|&x| (x - mean).abs() < 0.25 * mean), "level {level}: radii around {mean}");
        radii.push(mean);
    }
    // Higher levels lie inside lower ones.
    assert!(radii.windows(2).all(|w| w[1] < w[0]), "{radii:?}");
}

#[test]
fn two_separated_blobs_give_two_rings_at_a_high_level_and_nothing_from_no_points() {
    let mut points = blob(5_000, [-6.0, 0.0], 1.0, 2);
    points.extend(blob(5_000, [6.0, 0.0], 1.0, 3));
    let c = density_contours(&points, &ContourParams { levels: vec![0.5], ..ContourParams::default() });
    assert_eq!(rings(&c.segments[0]), 2);
    let empty = density_contours(&[], &ContourParams::default());
    assert!(empty.segments.iter().all(Vec::is_empty));
    let nan = density_contours(&[[f32::NAN, 0.0], [1.0, f32::INFINITY]], &ContourParams::default());
    assert!(nan.segments.iter().all(Vec::is_empty));
}
