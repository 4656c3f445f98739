//! Our fused AdamW against candle-nn's: the same parameters, bit for bit, after several steps
//! (with a learning-rate change, weight decay, a parameter large enough to be split over the
//! thread pool, and one that gets no gradient).

use candle_core::Var;
use candle_nn::{Optimizer, ParamsAdamW};

mod common;
use common::randn;

/// Parameters after `steps` steps of minimising a small regression loss with optimiser O.
fn train<O: Optimizer<Config = ParamsAdamW>>(steps: usize) -> Vec<Vec<f32>> {
    // 300 × 200 = 60,000 values: several of the fused optimiser's parallel chunks.
    let w = Var::from_tensor(&(randn(&[300, 200], 1) * 0.1).unwrap()).unwrap();
    let b = Var::from_tensor(&randn(&[300], 2)).unwrap();
    let unused = Var::from_tensor(&randn(&[7], 3)).unwrap();
    let params = ParamsAdamW { lr: 1e-2, weight_decay: 0.05, ..Default::default() };
    let mut opt = O::new(vec![w.clone(), b.clone(), unused.clone()], params).unwrap();
    for step in 0..steps {
        let x = randn(&[16, 200], 10 + step as u64);
        let target = randn(&[16, 300], 100 + step as u64);
        let y = x.matmul(&w.as_tensor().t().unwrap()).unwrap().broadcast_add(b.as_tensor()).unwrap();
        let loss = (y - target).unwrap().sqr().unwrap().mean_all().unwrap();
        if step == 3 {
            opt.set_learning_rate(3e-3);
        }
        opt.backward_step(&loss).unwrap();
    }
    [w, b, unused].iter().map(|v| v.as_tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap()).collect()
}

#[test]
fn fused_adamw_matches_candle_nn_bit_for_bit() {
    let ours = train::<pretext::ssl::optim::AdamW>(6);
    let theirs = train::<candle_nn::AdamW>(6);
    let start = train::<pretext::ssl::optim::AdamW>(0);
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        let differ = a.iter().zip(b).filter(|(p, q)| p.to_bits() != q.to_bits()).count();
        assert_eq!(differ, 0, "parameter {i}: {differ} values differ");
    }
    assert_ne!(ours[0], start[0], "the weights did not move");
    assert_eq!(ours[2], start[2], "a parameter without gradient must not change");
}
