//! A small synthetic image set where the class is a shape drawn at a random position, size
//! and contrast over noise. Raw pixels separate the classes poorly, a shape-aware encoder
//! well: the test bed for "training helps". `colourise` turns it (or any greyscale set) into a
//! colour set whose colours carry no class information.

use rand::{Rng, SeedableRng};

use crate::data::{Dataset, Modality, Split};

pub const SHAPES: [&str; 4] = ["square", "disc", "ring", "cross"];

fn inside(shape: usize, dx: f32, dy: f32, r: f32) -> bool {
    match shape {
        0 => dx.abs() <= r && dy.abs() <= r,
        1 => dx * dx + dy * dy <= r * r,
        2 => {
            let d = (dx * dx + dy * dy).sqrt();
            d <= r && d >= 0.55 * r
        }
        _ => (dx.abs() <= 0.3 * r && dy.abs() <= r) || (dy.abs() <= 0.3 * r && dx.abs() <= r),
    }
}

/// Draws one `side`×`side` image of `shape`.
pub fn draw(shape: usize, side: usize, rng: &mut impl Rng) -> Vec<f32> {
    let s = side as f32;
    let r = rng.random_range(0.18 * s..0.32 * s);
    let cx = rng.random_range(r..s - r);
    let cy = rng.random_range(r..s - r);
    let background = rng.random_range(0.0..0.4f32);
    let foreground = (background + rng.random_range(0.3..0.6f32)).min(1.0);
    let mut img = vec![0.0; side * side];
    for y in 0..side {
        for x in 0..side {
            let hit = inside(shape, x as f32 + 0.5 - cx, y as f32 + 0.5 - cy, r);
            let noise = rng.random_range(-0.08..0.08f32);
            img[y * side + x] = ((if hit { foreground } else { background }) + noise).clamp(0.0, 1.0);
        }
    }
    img
}

/// `per_class` items of each shape, 80/20 train/test, seeded.
pub fn shapes_dataset(per_class: usize, side: usize, seed: u64) -> Dataset {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut x = Vec::with_capacity(SHAPES.len() * per_class * side * side);
    let mut labels = Vec::new();
    for i in 0..SHAPES.len() * per_class {
        let shape = i % SHAPES.len();
        x.extend(draw(shape, side, &mut rng));
        labels.push(shape as u32);
    }
    let modality = Modality::Image { channels: 1, height: side, width: side };
    let pool = Split::new(x, Some(labels), side * side);
    let names = SHAPES.iter().map(|s| s.to_string()).collect();
    Dataset::from_pool("shapes".into(), "synthetic".into(), modality, names, pool, 0.2, seed)
}

/// A labelled table: `classes` Gaussian blobs in `dim` dimensions, for table tests.
pub fn blobs_dataset(per_class: usize, classes: usize, dim: usize, spread: f32, seed: u64) -> Dataset {
    use rand_distr::{Distribution, StandardNormal};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let centres: Vec<Vec<f32>> =
        (0..classes).map(|_| (0..dim).map(|_| StandardNormal.sample(&mut rng)).collect()).collect();
    let mut x = Vec::new();
    let mut labels = Vec::new();
    for i in 0..classes * per_class {
        let c = i % classes;
        for j in 0..dim {
            let z: f32 = StandardNormal.sample(&mut rng);
            x.push(centres[c][j] * 3.0 + spread * z);
        }
        labels.push(c as u32);
    }
    let modality = Modality::Table { columns: (0..dim).map(|j| format!("x{j}")).collect() };
    let pool = Split::new(x, Some(labels), dim);
    let names = (0..classes).map(|c| format!("blob {c}")).collect();
    Dataset::from_pool("blobs".into(), "synthetic".into(), modality, names, pool, 0.2, seed)
}

/// Luma of an RGB triple (ITU-R 601 weights).
fn rgb_luma(c: [f32; 3]) -> f32 {
    0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]
}

/// Least luma difference between a tinted item's ink and paper colours.
const MIN_TINT_CONTRAST: f32 = 0.3;

/// A colour version of a greyscale image set in which colour says nothing about the class:
/// each item's intensity v becomes `v·ink + (1 − v)·paper`, with an ink and a paper colour
/// drawn at random per item; the ink is the brighter of the two in luma, by at least 0.3, so
/// the greyscale picture keeps its polarity and stays visible. Matching views by colour alone
/// is then a shortcut that does not lead to the classes.
pub fn colourise(ds: &Dataset, seed: u64) -> Dataset {
    let Modality::Image { channels: 1, height, width } = ds.modality else {
        return ds.clone();
    };
    let plane = height * width;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut tint = |split: &Split| -> Split {
        let mut x = Vec::with_capacity(split.len * 3 * plane);
        for i in 0..split.len {
            let (ink, paper) = loop {
                let ink: [f32; 3] = std::array::from_fn(|_| rng.random());
                let paper: [f32; 3] = std::array::from_fn(|_| rng.random());
                let contrast = rgb_luma(ink) - rgb_luma(paper);
                if contrast.abs() >= MIN_TINT_CONTRAST {
                    break if contrast > 0.0 { (ink, paper) } else { (paper, ink) };
                }
            };
            // Stretched to the full range first, so every item gets the whole ink–paper contrast.
            let item = split.item(i, plane);
            let (lo, hi) = item.iter().fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
            let span = (hi - lo).max(1e-6);
            for c in 0..3 {
                x.extend(item.iter().map(|&v| {
                    let t = (v - lo) / span;
                    t * ink[c] + (1.0 - t) * paper[c]
                }));
            }
        }
        Split::new(x, split.labels.clone(), 3 * plane)
    };
    let (train, test) = (tint(&ds.train), tint(&ds.test));
    Dataset {
        name: format!("{} (colour)", ds.name),
        modality: Modality::Image { channels: 3, height, width },
        ..ds.with_splits(train, test)
    }
}

pub const WAVES: [&str; 3] = ["sine", "square", "bump"];

/// Labelled univariate series of `length` steps: a sine, a square wave or a single bump, at
/// random phase, frequency and amplitude over noise, z-normalised as the loaders do.
pub fn waves_dataset(per_class: usize, length: usize, seed: u64) -> Dataset {
    use rand_distr::{Distribution, StandardNormal};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut x = Vec::with_capacity(WAVES.len() * per_class * length);
    let mut labels = Vec::new();
    for i in 0..WAVES.len() * per_class {
        let class = i % WAVES.len();
        let (phase, cycles, amp) = (rng.random_range(0.0..1.0f32), rng.random_range(1.5..3.0f32), rng.random_range(0.5..2.0f32));
        let start = x.len();
        for t in 0..length {
            let u = t as f32 / length as f32;
            let angle = std::f32::consts::TAU * (cycles * u + phase);
            let clean = match class {
                0 => angle.sin(),
                1 => angle.sin().signum(),
                _ => (-((u - 0.2 - 0.6 * phase) / 0.06).powi(2)).exp() * 2.0,
            };
            let z: f32 = StandardNormal.sample(&mut rng);
            x.push(amp * clean + 0.1 * z);
        }
        crate::data::series::z_normalise(&mut x[start..]);
        labels.push(class as u32);
    }
    let modality = Modality::Series { channels: 1, length };
    let pool = Split::new(x, Some(labels), length);
    let names = WAVES.iter().map(|s| s.to_string()).collect();
    Dataset::from_pool("waves".into(), "synthetic".into(), modality, names, pool, 0.2, seed)
}
