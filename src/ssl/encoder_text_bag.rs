//! The default text encoder: a bag of hashed n-grams (fastText's text representation, Joulin
//! et al. 2017, "Bag of Tricks for Efficient Text Classification"), trained from scratch by
//! the self-supervised objective. A text's words, word bigrams and the character trigrams
//! of each word are hashed into a fixed table of learned vectors; the embedding is their
//! mean. (A linear layer with BatchNorm and ReLU on top of the mean measured worse on the
//! fortunes sample, kNN 0.42 against 0.49 after the same minute of SimCLR, and leaving out
//! the bigrams or the trigrams cost 0.05 to 0.1.)
//!
//! Why beside the byte CNN: short topical texts are told apart by which words occur. The CNN
//! must discover words from bytes; here a word is one lookup, so the objective's work goes
//! into which words belong together. Measured on the bundled fortunes sample (README's text
//! table), the bag beats TF-IDF where the CNN stayed below it.

use candle_core::{bail, CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};
use rayon::prelude::*;
use candle_nn::VarBuilder;

use crate::data::text::MASK;
use crate::ssl::cpu::{f32_slice, is_cpu_f32, with_f32};

/// Rows of the hashed n-gram table. Collisions at 2^15 are rare for the vocabulary of a few
/// thousand texts; every row costs 8·width floats of weights and optimiser state.
pub const BUCKETS: usize = 1 << 15;

pub struct TextBag {
    table: Tensor,
    /// While training, each n-gram is left out with this probability (the encoder's own noise,
    /// what SimCSE-style views rely on).
    dropout: f32,
    dim: usize,
}

impl TextBag {
    /// A table of 8·`width` per n-gram; the embedding is 8·`width`-d.
    pub fn new(width: usize, dropout: f32, vb: VarBuilder) -> Result<Self> {
        let dim = 8 * width;
        // Initial values come from `ssl::init::reseed` (uniform, ±1/√dim), like every weight.
        let table = vb.get((BUCKETS, dim), "table")?;
        Ok(Self { table, dropout, dim })
    }

    pub fn out_dim(&self) -> usize {
        self.dim
    }

    /// `codes`: N × L byte codes → N × out_dim.
    pub fn forward_t(&self, codes: &Tensor, train: bool) -> Result<Tensor> {
        let rows = codes.to_vec2::<f32>()?;
        let mut grams: Vec<Vec<u32>> = rows.iter().map(|r| ngram_ids(r)).collect();
        if train && self.dropout > 0.0 {
            use rand::{Rng, SeedableRng};
            // Seeded by the batch itself, so a run stays reproducible from its seed.
            let seed = grams.iter().flatten().fold(0u64, |h, &id| h.wrapping_mul(31).wrapping_add(u64::from(id)));
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            for g in &mut grams {
                let keep_one = g.first().copied();
                g.retain(|_| rng.random::<f32>() >= self.dropout);
                if g.is_empty() {
                    g.extend(keep_one);
                }
            }
        }
        mean_bag(&self.table, &grams)
    }
}

/// Row i: the mean of the `table` rows `grams[i]` names (zeros for an empty list). On the
/// CPU in f32 the `MeanBag` op; elsewhere gathers, weights and scatter-adds in candle ops.
fn mean_bag(table: &Tensor, grams: &[Vec<u32>]) -> Result<Tensor> {
    let bag = MeanBag::new(grams);
    if is_cpu_f32(table) {
        return table.apply_op1(bag);
    }
    let (dev, d) = (table.device(), table.dim(1)?);
    let out = Tensor::zeros((bag.texts(), d), table.dtype(), dev)?;
    if bag.ids.is_empty() {
        return Ok(out);
    }
    let (mut owner, mut weight) = (Vec::with_capacity(bag.ids.len()), Vec::with_capacity(bag.ids.len()));
    for i in 0..bag.texts() {
        let len = bag.text(i).len();
        owner.extend(std::iter::repeat_n(i as u32, len));
        weight.extend(std::iter::repeat_n(1.0 / len as f32, len));
    }
    let ids = Tensor::from_slice(&bag.ids, bag.ids.len(), dev)?;
    let weight = Tensor::from_vec(weight, (bag.ids.len(), 1), dev)?.to_dtype(table.dtype())?;
    let rows = table.index_select(&ids, 0)?.broadcast_mul(&weight)?;
    out.index_add(&Tensor::from_vec(owner, bag.ids.len(), dev)?, &rows, 0)
}

/// Each text's mean of table rows, as one op: the composed version (gather every n-gram's
/// row, weight, sum) materialised a texts × n-grams × width tensor three times per step and
/// spent most of its time in page faults (fortunes, one thread: 111 steps of batch 256 in
/// two minutes before, 534 in one minute after).
/// The backward pass adds each text's gradient into the rows its n-grams used.
struct MeanBag {
    /// Row ids of text i: `ids[starts[i]..starts[i + 1]]`.
    ids: Vec<u32>,
    starts: Vec<usize>,
}

impl MeanBag {
    fn new(grams: &[Vec<u32>]) -> Self {
        let mut starts = Vec::with_capacity(grams.len() + 1);
        starts.push(0);
        for g in grams {
            starts.push(starts[starts.len() - 1] + g.len());
        }
        Self { ids: grams.concat(), starts }
    }

    fn texts(&self) -> usize {
        self.starts.len() - 1
    }

    fn text(&self, i: usize) -> &[u32] {
        &self.ids[self.starts[i]..self.starts[i + 1]]
    }
}

impl CustomOp1 for MeanBag {
    fn name(&self) -> &'static str {
        "pretext-mean-bag"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let (rows, d) = l.shape().dims2()?;
        if self.ids.iter().any(|&id| id as usize >= rows) {
            bail!("mean bag: an id is outside the table");
        }
        let table = f32_slice(s, l)?;
        let mut out = vec![0f32; self.texts() * d];
        out.par_chunks_mut(d).enumerate().for_each(|(i, o)| {
            let ids = self.text(i);
            let w = 1.0 / ids.len().max(1) as f32;
            for &id in ids {
                o.iter_mut().zip(&table[id as usize * d..][..d]).for_each(|(a, &t)| *a += w * t);
            }
        });
        Ok((CpuStorage::F32(out), Shape::from((self.texts(), d))))
    }

    fn bwd(&self, table: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let (rows, d) = table.dims2()?;
        let grad = grad.contiguous()?;
        let mut dtable = vec![0f32; rows * d];
        with_f32(&grad, |g| {
            // Serial: texts share rows, and the adds are a small part of a step.
            for i in 0..self.texts() {
                let ids = self.text(i);
                let w = 1.0 / ids.len().max(1) as f32;
                let gi = &g[i * d..][..d];
                for &id in ids {
                    dtable[id as usize * d..][..d].iter_mut().zip(gi).for_each(|(a, &v)| *a += w * v);
                }
            }
            Ok(())
        })?;
        Ok(Some(Tensor::from_vec(dtable, (rows, d), table.device())?))
    }
}

/// Hashed ids of a text's word unigrams, word bigrams and the character trigrams of each
/// word (with `<` and `>` marking its ends, as fastText does). Words are runs of ASCII
/// letters and digits (and any non-ASCII byte), lower-cased; hidden positions split words.
pub fn ngram_ids(codes: &[f32]) -> Vec<u32> {
    let mut words: Vec<Vec<u8>> = Vec::new();
    let mut word = Vec::new();
    for &c in codes {
        let code = c.round() as i64;
        let byte = if (1..=256).contains(&code) && code != MASK as i64 { Some((code - 1) as u8) } else { None };
        match byte {
            Some(b) if b.is_ascii_alphanumeric() || b >= 128 => word.push(b.to_ascii_lowercase()),
            _ if !word.is_empty() => words.push(std::mem::take(&mut word)),
            _ => {}
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    let mut ids = Vec::with_capacity(words.len() * 8);
    for (i, w) in words.iter().enumerate() {
        ids.push(bucket(1, &[w]));
        if i + 1 < words.len() {
            ids.push(bucket(2, &[w, &words[i + 1]]));
        }
        let marked: Vec<u8> = std::iter::once(b'<').chain(w.iter().copied()).chain(std::iter::once(b'>')).collect();
        for tri in marked.windows(3) {
            ids.push(bucket(3, &[tri]));
        }
    }
    ids
}

/// FNV-1a over the parts (separated, and salted by the kind of n-gram), reduced to a row.
fn bucket(kind: u8, parts: &[&[u8]]) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ u64::from(kind);
    for (k, part) in parts.iter().enumerate() {
        for &b in part.iter().chain(if k + 1 < parts.len() { &b" "[..] } else { &[][..] }) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    (h % BUCKETS as u64) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(text: &str) -> Vec<f32> {
        let mut out = vec![0.0; 64];
        crate::data::text::encode(text, &mut out);
        out
    }

    #[test]
    fn words_are_case_and_punctuation_blind() {
        assert_eq!(ngram_ids(&codes("Hello, world!")), ngram_ids(&codes("hello world")));
        assert_ne!(ngram_ids(&codes("hello world")), ngram_ids(&codes("world hello")));
    }

    #[test]
    fn mean_bag_matches_its_candle_ops_path_forward_and_backward() {
        use crate::ssl::cpu::{reference_ops_agree, with_reference_ops};
        use candle_core::{Device, Var};
        let table = Var::from_vec((0..40).map(|v| (v as f32 * 0.37).sin()).collect::<Vec<f32>>(), (10, 4), &Device::Cpu).unwrap();
        // Repeated ids, a single one, and an empty text.
        let grams = vec![vec![1u32, 3, 3, 9], vec![0], vec![], vec![2, 5]];
        let run = || mean_bag(table.as_tensor(), &grams);
        let (fused, reference) = (run().unwrap(), with_reference_ops(run).unwrap());
        reference_ops_agree(&fused, &reference, &[&table], 1e-6);
    }

    #[test]
    fn counts_unigrams_bigrams_and_trigrams() {
        // "ab cd": 2 words, 1 bigram, "<ab>" and "<cd>" have 2 trigrams each.
        assert_eq!(ngram_ids(&codes("ab cd")).len(), 2 + 1 + 4);
        assert!(ngram_ids(&codes("  ... ")).is_empty());
    }
}
