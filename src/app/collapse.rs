//! A warning when the live collapse signals fall sharply: the embedding is losing dimensions
//! (effective rank) or its spread (std of the normalised embeddings) — what a collapsing
//! self-supervised run looks like before its kNN accuracy shows it.

/// A signal below this share of its best value so far counts as a sharp fall.
const FALL: f64 = 0.5;

/// The first of the two signals that fell sharply, said for the user; `None` when both hold.
/// Each series is `[step, value]` in step order.
pub fn warning(effective_rank: &[[f64; 2]], embedding_std: &[[f64; 2]]) -> Option<String> {
    [("effective rank", effective_rank), ("embedding std", embedding_std)].into_iter().find_map(|(name, series)| {
        let last = series.last()?;
        let best = series.iter().copied().fold(None::<[f64; 2]>, |b, p| if b.is_none_or(|b| p[1] > b[1]) { Some(p) } else { b })?;
        (last[1] < FALL * best[1]).then(|| {
            format!(
                "Possible collapse: {name} fell from {:.3} (step {}) to {:.3} (step {})",
                best[1], best[0] as usize, last[1], last[0] as usize
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warns_on_a_sharp_fall_and_not_on_noise() {
        let steady = [[10.0, 40.0], [20.0, 38.0], [30.0, 41.0]];
        assert_eq!(warning(&steady, &steady), None);
        let falling = [[10.0, 40.0], [20.0, 30.0], [30.0, 12.0]];
        let w = warning(&steady, &falling).expect("a warning");
        assert!(w.contains("embedding std") && w.contains("step 10") && w.contains("step 30"), "{w}");
        assert_eq!(warning(&[], &[]), None);
    }
}
