//! Losses on inputs small enough to check by hand.

use candle_core::{Device, Tensor};
use pretext::ssl::objective::{barlow_twins_loss, byol_loss, info_nce, masked_mse, normalised_target, nt_xent, vicreg_terms};

fn t(rows: &[[f32; 2]]) -> Tensor {
    let flat: Vec<f32> = rows.iter().flatten().copied().collect();
    Tensor::from_vec(flat, (rows.len(), 2), &Device::Cpu).unwrap()
}

fn scalar(x: Tensor) -> f32 {
    x.to_scalar::<f32>().unwrap()
}

#[test]
fn nt_xent_of_identical_orthogonal_views_matches_hand_value() {
    // Two items along e1 and e2, both views identical. For each of the 4 rows the partner has
    // similarity 1 and the other two rows 0, so with T = 1: loss = -ln(e / (e + 2)).
    let z = t(&[[1.0, 0.0], [0.0, 1.0]]);
    let loss = scalar(nt_xent(&z, &z, 1.0).unwrap());
    let e = std::f32::consts::E;
    assert!((loss - (-(e / (e + 2.0)).ln())).abs() < 1e-5, "{loss}");
    // Scale does not matter (projections are L2-normalised), temperature does: T = 0.5.
    let z3 = t(&[[3.0, 0.0], [0.0, 7.0]]);
    let loss = scalar(nt_xent(&z3, &z3, 0.5).unwrap());
    let e2 = e * e;
    assert!((loss - (-(e2 / (e2 + 2.0)).ln())).abs() < 1e-5, "{loss}");
}

#[test]
fn nt_xent_prefers_matching_views_to_random_ones() {
    let n = 64;
    let z1 = Tensor::randn(0f32, 1.0, (n, 16), &Device::Cpu).unwrap();
    let z2_close = (&z1 + Tensor::randn(0f32, 0.05, (n, 16), &Device::Cpu).unwrap()).unwrap();
    let z2_random = Tensor::randn(0f32, 1.0, (n, 16), &Device::Cpu).unwrap();
    let aligned = scalar(nt_xent(&z1, &z2_close, 0.5).unwrap());
    let random = scalar(nt_xent(&z1, &z2_random, 0.5).unwrap());
    // Random views sit near ln(2n - 1), the loss of a uniform guess.
    assert!((random - ((2 * n - 1) as f32).ln()).abs() < 0.5, "{random}");
    assert!(aligned < random - 1.0, "aligned {aligned} vs random {random}");
}

#[test]
fn masked_mse_scores_only_hidden_entries() {
    let recon = t(&[[1.0, 5.0], [0.0, 0.0]]);
    let target = t(&[[0.0, 0.0], [0.0, 2.0]]);
    let mask = t(&[[1.0, 0.0], [0.0, 1.0]]);
    // Hidden entries: (0,0) error 1, (1,1) error 2 → (1 + 4) / 2; the visible 5 is ignored.
    assert!((scalar(masked_mse(&recon, &target, &mask).unwrap()) - 2.5).abs() < 1e-6);
    let none = t(&[[0.0, 0.0], [0.0, 0.0]]);
    assert!((scalar(masked_mse(&recon, &target, &none).unwrap()) - (1.0 + 25.0 + 4.0) / 4.0).abs() < 1e-6);
}

fn rows(rows: &[&[f32]]) -> Tensor {
    let d = rows[0].len();
    let flat: Vec<f32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
    Tensor::from_vec(flat, (rows.len(), d), &Device::Cpu).unwrap()
}

#[test]
fn vicreg_variance_term_on_a_constant_batch_is_the_full_hinge() {
    // Every dimension constant: Var = 0, so each view's term is 1 − sqrt(1e-4) = 0.99 per
    // dimension (a mean over dimensions), 1.98 for both views; identical views: no invariance
    // error; constant columns: no covariance.
    let z = rows(&[&[3.0, -1.0, 2.0], &[3.0, -1.0, 2.0], &[3.0, -1.0, 2.0], &[3.0, -1.0, 2.0]]);
    let (inv, var, cov) = vicreg_terms(&z, &z).unwrap();
    assert!(scalar(inv).abs() < 1e-7);
    assert!((scalar(var) - 1.98).abs() < 1e-5);
    assert!(scalar(cov).abs() < 1e-7);
}

#[test]
fn vicreg_terms_on_a_spread_correlated_batch_match_hand_values() {
    // Columns (2, −2, 2, −2) and (2, −2, 2, −2): mean 0, unbiased Var = 16/3 (std > 1: no
    // hinge), covariance between the two columns 16/3, so Σ off-diagonal² / d = 2·(16/3)² / 2.
    let z1 = rows(&[&[2.0, 2.0], &[-2.0, -2.0], &[2.0, 2.0], &[-2.0, -2.0]]);
    let z2 = rows(&[&[1.0, 2.0], &[-2.0, -2.0], &[2.0, 2.0], &[-2.0, -2.0]]);
    let (inv, var, cov) = vicreg_terms(&z1, &z1).unwrap();
    assert!(scalar(inv).abs() < 1e-7 && scalar(var).abs() < 1e-7);
    let expected = 2.0 * (16.0f32 / 3.0).powi(2); // both views
    let cov = scalar(cov);
    assert!((cov - expected).abs() < 1e-3, "{cov} vs {expected}");
    // Invariance: one entry differs by 1 among 8: MSE 1/8.
    let (inv, _, _) = vicreg_terms(&z1, &z2).unwrap();
    assert!((scalar(inv) - 0.125).abs() < 1e-6);
}

#[test]
fn barlow_twins_is_zero_on_identical_decorrelated_views_and_punishes_anticorrelation() {
    // Columns have mean 0, variance 1 and are orthogonal: C = I exactly.
    let z = rows(&[&[1.0, 1.0], &[1.0, -1.0], &[-1.0, 1.0], &[-1.0, -1.0]]);
    assert!(scalar(barlow_twins_loss(&z, &z, 0.005).unwrap()).abs() < 1e-4);
    // Second view negated: C = −I, so Σ(1 − Cᵢᵢ)² = 2 · 4 = 8 and no off-diagonal term.
    let neg = z.neg().unwrap();
    assert!((scalar(barlow_twins_loss(&z, &neg, 0.005).unwrap()) - 8.0).abs() < 1e-3);
    // Both columns equal: C is all ones; on-diagonal 0, off-diagonal 2 entries of 1 → 2λ.
    let same = rows(&[&[1.0, 1.0], &[1.0, 1.0], &[-1.0, -1.0], &[-1.0, -1.0]]);
    assert!((scalar(barlow_twins_loss(&same, &same, 0.5).unwrap()) - 1.0).abs() < 1e-3);
}

#[test]
fn byol_loss_spans_zero_to_four_by_cosine() {
    let p = rows(&[&[1.0, 0.0], &[0.0, 2.0]]);
    assert!(scalar(byol_loss(&p, &p.affine(3.0, 0.0).unwrap()).unwrap()).abs() < 1e-6);
    assert!((scalar(byol_loss(&p, &p.neg().unwrap()).unwrap()) - 4.0).abs() < 1e-6);
    // Orthogonal prediction and target: cos 0, loss 2.
    let q = rows(&[&[0.0, 1.0], &[5.0, 0.0]]);
    assert!((scalar(byol_loss(&p, &q).unwrap()) - 2.0).abs() < 1e-6);
}

#[test]
fn info_nce_matches_hand_value() {
    // Query e1, positive key e1, one queued negative e2, T = 1: −ln(e / (e + 1)).
    let q = rows(&[&[2.0, 0.0]]);
    let k = rows(&[&[1.0, 0.0]]);
    let queue = rows(&[&[0.0, 1.0]]);
    let e = std::f32::consts::E;
    assert!((scalar(info_nce(&q, &k, &queue, 1.0).unwrap()) + (e / (e + 1.0)).ln()).abs() < 1e-6);
    // T = 0.5 with the negative equal to the positive: −ln(1/2).
    assert!((scalar(info_nce(&q, &k, &k, 0.5).unwrap()) - 2f32.ln()).abs() < 1e-6);
}

#[test]
fn normalised_targets_have_zero_mean_and_unit_std_per_row() {
    let h = rows(&[&[1.0, 2.0, 3.0, 4.0], &[10.0, 10.0, 10.0, 14.0]]);
    let t = normalised_target(&h).unwrap().to_vec2::<f32>().unwrap();
    for row in t {
        let mean = row.iter().sum::<f32>() / 4.0;
        let var = row.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / 4.0;
        assert!(mean.abs() < 1e-6 && (var - 1.0).abs() < 1e-4, "{row:?}");
    }
}

#[test]
fn teacher_follows_the_student_by_the_ema_rule() {
    use pretext::data::Modality;
    use pretext::ssl::objective::teacher::Teacher;
    use pretext::ssl::encoder::SslModel;
    use pretext::ssl::{ObjectiveKind, TrainConfig};
    let modality = Modality::Table { columns: (0..6).map(|i| format!("c{i}")).collect() };
    let cfg = TrainConfig { objective: ObjectiveKind::Byol, width: 8, embed_dim: 4, proj_dim: 4, ..TrainConfig::default() };
    let (student, _) = SslModel::build(&modality, &cfg).unwrap();
    let teacher = Teacher::new(&modality, &cfg, &student).unwrap();
    let get = |vm: &candle_nn::VarMap, name: &str| vm.data().lock().unwrap()[name].as_tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let name = "encoder.fc0.weight";
    // It starts as a copy of the student, and has no predictor.
    assert_eq!(get(teacher.weights(), name), get(&student, name));
    assert!(!teacher.weights().data().lock().unwrap().keys().any(|k| k.starts_with("predictor")));
    assert!(student.data().lock().unwrap().keys().any(|k| k.starts_with("predictor")));
    // Move the student to all-ones, then one update at m = 0.75: θ ← 0.75·θ + 0.25·1.
    let before = get(teacher.weights(), name);
    {
        let data = student.data().lock().unwrap();
        let w = &data[name];
        w.set(&w.as_tensor().ones_like().unwrap()).unwrap();
    }
    teacher.update(&student, 0.75).unwrap();
    for (new, old) in get(teacher.weights(), name).iter().zip(&before) {
        assert!((new - (0.75 * old + 0.25)).abs() < 1e-6);
    }
    // The momentum schedule: m₀ at the start, 1 at the end, halfway between at the middle.
    let m0 = cfg.objective_params.momentum;
    assert!((teacher.momentum(0.0) - m0).abs() < 1e-12);
    assert!((teacher.momentum(1.0) - 1.0).abs() < 1e-12);
    assert!((teacher.momentum(0.5) - (1.0 + m0) / 2.0).abs() < 1e-12);
}
