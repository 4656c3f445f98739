//! TF-IDF bag of words: the classical baseline for text embeddings. Conventions follow
//! scikit-learn's `TfidfVectorizer` defaults: lowercase tokens of two or more alphanumeric
//! characters, raw counts, smoothed idf = ln((1 + n) / (1 + df)) + 1, rows scaled to unit
//! length. The vocabulary and the idf are fitted on the training texts only.

use std::collections::HashMap;

use crate::analysis::Matrix;

/// Largest vocabulary kept (the terms in most documents): the vectors are dense.
pub const MAX_TERMS: usize = 8192;

pub struct Tfidf {
    vocabulary: HashMap<String, usize>,
    idf: Vec<f32>,
}

/// Lowercase runs of two or more letters or digits.
pub fn tokens(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric()).filter(|t| t.chars().count() >= 2).map(str::to_lowercase)
}

impl Tfidf {
    /// Vocabulary (at most `max_terms`, by document frequency, ties by term) and idf of `texts`.
    pub fn fit<S: AsRef<str>>(texts: &[S], max_terms: usize) -> Tfidf {
        let mut df: HashMap<String, usize> = HashMap::new();
        for text in texts {
            let mut seen: Vec<String> = tokens(text.as_ref()).collect();
            seen.sort_unstable();
            seen.dedup();
            for t in seen {
                *df.entry(t).or_default() += 1;
            }
        }
        let mut terms: Vec<(String, usize)> = df.into_iter().collect();
        terms.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        terms.truncate(max_terms);
        terms.sort_by(|a, b| a.0.cmp(&b.0));
        let n = texts.len() as f32;
        let idf = terms.iter().map(|(_, df)| ((1.0 + n) / (1.0 + *df as f32)).ln() + 1.0).collect();
        let vocabulary = terms.into_iter().enumerate().map(|(i, (t, _))| (t, i)).collect();
        Tfidf { vocabulary, idf }
    }

    pub fn dim(&self) -> usize {
        self.idf.len()
    }

    /// One unit-length row per text (all zero for a text with no known term).
    pub fn transform<S: AsRef<str>>(&self, texts: &[S]) -> Matrix {
        let d = self.dim();
        let mut data = vec![0.0f32; texts.len() * d];
        for (row, text) in data.chunks_mut(d.max(1)).zip(texts) {
            for t in tokens(text.as_ref()) {
                if let Some(&j) = self.vocabulary.get(&t) {
                    row[j] += 1.0;
                }
            }
            for (v, idf) in row.iter_mut().zip(&self.idf) {
                *v *= idf;
            }
            let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
            if norm > 0.0 {
                row.iter_mut().for_each(|v| *v /= norm);
            }
        }
        Matrix::new(data, texts.len(), d)
    }

    /// Index of a term in the vectors, if it is in the vocabulary.
    pub fn term_index(&self, term: &str) -> Option<usize> {
        self.vocabulary.get(term).copied()
    }
}
