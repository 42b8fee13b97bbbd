//! Text features: TF-IDF like scikit-learn's `TfidfVectorizer`, plus length and word count.
//!
//! Tokens are maximal runs of at least two word characters (letters, digits, underscore),
//! scikit-learn's default `(?u)\b\w\w+\b`, after lowercasing. Word characters are Rust's
//! `char::is_alphanumeric` or `_`; this differs from Python's `\w` only for combining marks
//! that Unicode counts as alphabetic.

use std::collections::{BTreeMap, HashSet};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// A document-frequency bound: a count of documents, or a fraction of them (scikit-learn's
/// int / float `min_df` and `max_df`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DocFreq {
    /// At least / at most this many documents.
    Count(usize),
    /// At least / at most this fraction of the documents (0 to 1).
    Fraction(f64),
}

impl DocFreq {
    fn documents(self, n_docs: usize) -> f64 {
        match self {
            DocFreq::Count(c) => c as f64,
            DocFreq::Fraction(f) => f * n_docs as f64,
        }
    }
}

/// Stop words removed before n-grams are built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopWords {
    /// Keep every token.
    #[default]
    None,
    /// scikit-learn's English list (`stop_words="english"`).
    English,
}

/// TF-IDF settings for text columns (`tfidf:` in configs). Every setting is scikit-learn's
/// `TfidfVectorizer` argument of the same name, with `smooth_idf=True`,
/// `sublinear_tf=False` and `norm="l2"`; the output is dense, so `max_features` defaults
/// to 1000 instead of unlimited.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TfidfSpec {
    /// Lowercase before tokenizing.
    pub lowercase: bool,
    /// `[1, n]`: word n-grams from 1 to n (the lower bound must be at least 1).
    pub ngram_range: (usize, usize),
    /// Keep at most this many terms, the most frequent over the corpus.
    pub max_features: usize,
    /// Drop terms in fewer documents than this.
    pub min_df: DocFreq,
    /// Drop terms in more documents than this.
    pub max_df: DocFreq,
    /// Stop words.
    pub stop_words: StopWords,
}

impl Default for TfidfSpec {
    fn default() -> Self {
        TfidfSpec {
            lowercase: true,
            ngram_range: (1, 1),
            max_features: 1000,
            min_df: DocFreq::Count(1),
            max_df: DocFreq::Fraction(1.0),
            stop_words: StopWords::None,
        }
    }
}

impl TfidfSpec {
    /// Checks the settings; `at` names them in errors.
    pub(crate) fn check(&self, at: &str) -> Result<()> {
        let (lo, hi) = self.ngram_range;
        if lo < 1 || hi < lo {
            return Err(Error::param(
                &format!("{at}.ngram_range"),
                format!("must be [min, max] with 1 <= min <= max, got [{lo}, {hi}]"),
            ));
        }
        if self.max_features < 1 {
            return Err(Error::param(
                &format!("{at}.max_features"),
                "must be at least 1",
            ));
        }
        for (name, v) in [("min_df", self.min_df), ("max_df", self.max_df)] {
            if let DocFreq::Fraction(f) = v {
                if !(0.0..=1.0).contains(&f) {
                    return Err(Error::param(
                        &format!("{at}.{name}"),
                        format!("a fraction must be between 0 and 1, got {f}"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Learns the vocabulary and idf from the training documents (missing = empty).
    pub(crate) fn fit(&self, column: &str, docs: &[Option<&str>]) -> Result<FittedTfidf> {
        let n_docs = docs.len();
        let mut df: BTreeMap<String, usize> = BTreeMap::new();
        let mut tf: BTreeMap<String, usize> = BTreeMap::new();
        for d in docs {
            let terms = self.terms(d.unwrap_or(""));
            let mut seen: HashSet<&str> = HashSet::new();
            for t in &terms {
                *tf.entry(t.clone()).or_default() += 1;
                if seen.insert(t) {
                    *df.entry(t.clone()).or_default() += 1;
                }
            }
        }
        if df.is_empty() {
            return Err(Error::InvalidData(format!(
                "text column \"{column}\": no terms in the training rows (empty vocabulary; perhaps the documents only contain stop words)"
            )));
        }
        let max_doc = self.max_df.documents(n_docs);
        let min_doc = self.min_df.documents(n_docs);
        if max_doc < min_doc {
            return Err(Error::param(
                &format!("preprocess.columns.{column}.tfidf"),
                "max_df corresponds to fewer documents than min_df",
            ));
        }
        let mut kept: Vec<(&String, usize)> = df
            .iter()
            .filter(|(_, d)| (**d as f64) <= max_doc && (**d as f64) >= min_doc)
            .map(|(t, _)| (t, tf[t]))
            .collect();
        if kept.is_empty() {
            return Err(Error::InvalidData(format!(
                "text column \"{column}\": after min_df/max_df pruning no terms remain; lower min_df or raise max_df"
            )));
        }
        if kept.len() > self.max_features {
            // Most frequent over the corpus; ties by term (scikit-learn's order on ties is
            // its sort's, which is not specified).
            kept.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            kept.truncate(self.max_features);
            kept.sort_by(|a, b| a.0.cmp(b.0));
        }
        let n = n_docs as f64;
        let vocabulary: Vec<String> = kept.iter().map(|(t, _)| (*t).clone()).collect();
        let idf = vocabulary
            .iter()
            .map(|t| ((1.0 + n) / (1.0 + df[t] as f64)).ln() + 1.0)
            .collect();
        Ok(FittedTfidf {
            lowercase: self.lowercase,
            ngram_range: self.ngram_range,
            stop_words: self.stop_words,
            vocabulary,
            idf,
        })
    }

    fn terms(&self, doc: &str) -> Vec<String> {
        terms(doc, self.lowercase, self.stop_words, self.ngram_range)
    }
}

/// A fitted TF-IDF vectorizer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedTfidf {
    /// Lowercase before tokenizing.
    pub lowercase: bool,
    /// N-gram range.
    pub ngram_range: (usize, usize),
    /// Stop words.
    pub stop_words: StopWords,
    /// Terms, sorted; index = output column.
    pub vocabulary: Vec<String>,
    /// Smoothed idf per term: `ln((1 + n) / (1 + df)) + 1`.
    #[serde(with = "crate::exact_json::floats")]
    pub idf: Vec<f64>,
}

impl FittedTfidf {
    /// Output columns: `length`, `word_count`, then one TF-IDF column per term, each
    /// `n` values long (column-major blocks appended to `out`).
    pub(crate) fn transform(&self, docs: &[Option<&str>], out: &mut Vec<Vec<f64>>) {
        let n = docs.len();
        let index: std::collections::HashMap<&str, usize> = self
            .vocabulary
            .iter()
            .enumerate()
            .map(|(i, t)| (t.as_str(), i))
            .collect();
        let mut length = Vec::with_capacity(n);
        let mut words = Vec::with_capacity(n);
        let start = out.len();
        out.extend((0..self.vocabulary.len()).map(|_| vec![0.0; n]));
        for (r, d) in docs.iter().enumerate() {
            let d = d.unwrap_or("");
            length.push(d.chars().count() as f64);
            words.push(d.split_whitespace().count() as f64);
            let mut counts: BTreeMap<usize, f64> = BTreeMap::new();
            for t in terms(d, self.lowercase, self.stop_words, self.ngram_range) {
                if let Some(&j) = index.get(t.as_str()) {
                    *counts.entry(j).or_default() += 1.0;
                }
            }
            let weighted: Vec<(usize, f64)> = counts
                .into_iter()
                .map(|(j, c)| (j, c * self.idf[j]))
                .collect();
            let norm = weighted.iter().map(|(_, v)| v * v).sum::<f64>().sqrt();
            for (j, v) in weighted {
                out[start + j][r] = if norm > 0.0 { v / norm } else { v };
            }
        }
        out.insert(start, words);
        out.insert(start, length);
    }
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// scikit-learn's default token pattern `(?u)\b\w\w+\b`.
pub(crate) fn tokens(doc: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut len = 0;
    for (i, c) in doc.char_indices() {
        if is_word(c) {
            if start.is_none() {
                start = Some(i);
                len = 0;
            }
            len += 1;
        } else if let Some(s) = start.take() {
            if len >= 2 {
                out.push(&doc[s..i]);
            }
        }
    }
    if let Some(s) = start {
        if len >= 2 {
            out.push(&doc[s..]);
        }
    }
    out
}

fn english_stop_words() -> &'static HashSet<&'static str> {
    static WORDS: OnceLock<HashSet<&'static str>> = OnceLock::new();
    WORDS.get_or_init(|| {
        include_str!("english_stop_words.txt")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    })
}

fn terms(doc: &str, lowercase: bool, stop: StopWords, (lo, hi): (usize, usize)) -> Vec<String> {
    let lowered;
    let doc = if lowercase {
        lowered = doc.to_lowercase();
        lowered.as_str()
    } else {
        doc
    };
    let mut toks = tokens(doc);
    if stop == StopWords::English {
        let sw = english_stop_words();
        toks.retain(|t| !sw.contains(t));
    }
    // scikit-learn's `_word_ngrams` order: unigrams, then bigrams, ...
    let mut out = Vec::new();
    for n in lo..=hi {
        if n > toks.len() {
            break;
        }
        for w in toks.windows(n) {
            out.push(w.join(" "));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_follow_the_default_pattern() {
        assert_eq!(
            tokens("A cat's 2 toys: ab_c, x-yz!"),
            ["cat", "toys", "ab_c", "yz"]
        );
        assert_eq!(english_stop_words().len(), 318);
    }
}
