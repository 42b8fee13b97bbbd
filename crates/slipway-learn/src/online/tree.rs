//! The Hoeffding tree classifier (VFDT), as River's `tree.HoeffdingTreeClassifier` with its
//! defaults: grace period 200, delta 1e-7, tau 0.05, information gain, a Gaussian observer
//! per (feature, class) proposing 10 split points, naive-Bayes-adaptive leaves, merit
//! pre-pruning (the null split competes), and a leaf whose majority class holds more than
//! 99 % of its weight stops splitting.
//!
//! Rows are dense: `x[i]` is feature `i`. Classes are ids `0..n`; ties between classes go to
//! the lowest *rank* (River sorts class labels; the caller gives ranks through
//! [`ClassOrder`]).

use rand::Rng;
use rand::seq::index::sample;
use serde::{Deserialize, Serialize};

/// The order River breaks ties in: class labels sorted. `rank[id]` is the position of class
/// `id` among the sorted labels.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClassOrder {
    /// Rank of each class id.
    pub rank: Vec<usize>,
}

impl ClassOrder {
    /// The class with the highest probability, ties to the lowest rank; `None` when no
    /// class has an entry.
    pub fn argmax(&self, proba: &[f64], present: impl Fn(usize) -> bool) -> Option<u32> {
        let mut best: Option<(usize, f64)> = None;
        for (c, &p) in proba.iter().enumerate() {
            if !present(c) {
                continue;
            }
            let rank = self.rank.get(c).copied().unwrap_or(c);
            best = match best {
                None => Some((c, p)),
                Some((b, bp)) => {
                    let brank = self.rank.get(b).copied().unwrap_or(b);
                    if p > bp || (p == bp && rank < brank) {
                        Some((c, p))
                    } else {
                        Some((b, bp))
                    }
                }
            };
        }
        best.map(|(c, _)| c as u32)
    }
}

/// Class weights in first-seen order (River keeps them in a dict).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct ClassCounts(Vec<(u32, f64)>);

impl ClassCounts {
    fn add(&mut self, c: u32, w: f64) {
        match self.0.iter_mut().find(|(k, _)| *k == c) {
            Some((_, v)) => *v += w,
            None => self.0.push((c, w)),
        }
    }

    fn total(&self) -> f64 {
        self.0.iter().map(|(_, w)| w).sum()
    }

    fn max_weight(&self) -> f64 {
        self.0
            .iter()
            .map(|(_, w)| *w)
            .fold(f64::NEG_INFINITY, f64::max)
    }

    /// `max(stats, key=stats.get)`: the first class with the largest weight.
    fn majority(&self) -> Option<u32> {
        let mut best: Option<(u32, f64)> = None;
        for &(c, w) in &self.0 {
            if best.is_none_or(|(_, bw)| w > bw) {
                best = Some((c, w));
            }
        }
        best.map(|(c, _)| c)
    }

    fn is_pure(&self) -> bool {
        self.0.iter().filter(|(_, w)| *w != 0.0).count() < 2
    }
}

/// A weighted running mean and variance (River's `stats.Var(ddof=1)` under `Gaussian`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Gaussian {
    n: f64,
    mean: f64,
    s: f64,
}

impl Gaussian {
    fn update(&mut self, x: f64, w: f64) {
        let old = self.mean;
        self.n += w;
        self.mean += (w / self.n) * (x - old);
        self.s += w * (x - old) * (x - self.mean);
    }

    fn variance(&self) -> f64 {
        if self.n > 1.0 {
            self.s / (self.n - 1.0)
        } else {
            0.0
        }
    }

    fn cdf(&self, x: f64) -> f64 {
        let sigma = self.variance().sqrt();
        if sigma == 0.0 {
            // Python raises ZeroDivisionError here and River returns 0.
            return 0.0;
        }
        0.5 * (1.0 + libm::erf((x - self.mean) / sigma / std::f64::consts::SQRT_2))
    }

    fn log_pdf(&self, x: f64) -> f64 {
        if self.n > 1.0 {
            let variance = self.s / (self.n - 1.0);
            if variance > 0.0 {
                let half_log_tau = 0.5 * (2.0 * std::f64::consts::PI).ln();
                return (x - self.mean).powi(2) / (-2.0 * variance)
                    - half_log_tau
                    - 0.5 * variance.ln();
            }
        }
        f64::NEG_INFINITY
    }
}

/// River's `GaussianSplitter(n_splits=10)`: per class, a Gaussian and the min and max.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct GaussianSplitter {
    per_class: Vec<(u32, Gaussian, f64, f64)>,
}

impl GaussianSplitter {
    fn update(&mut self, x: f64, c: u32, w: f64) {
        match self.per_class.iter_mut().find(|e| e.0 == c) {
            Some(e) => {
                if x < e.2 {
                    e.2 = x;
                }
                if x > e.3 {
                    e.3 = x;
                }
                e.1.update(x, w);
            }
            None => {
                let mut g = Gaussian::default();
                g.update(x, w);
                self.per_class.push((c, g, x, x));
            }
        }
    }

    fn cond_log_proba(&self, x: f64, c: u32) -> f64 {
        self.per_class
            .iter()
            .find(|e| e.0 == c)
            .map_or(f64::NEG_INFINITY, |e| e.1.log_pdf(x))
    }

    fn split_points(&self, n_splits: usize) -> Vec<f64> {
        let mut min = f64::INFINITY;
        let mut max = f64::NEG_INFINITY;
        for e in &self.per_class {
            if e.2 < min {
                min = e.2;
            }
            if e.3 > max {
                max = e.3;
            }
        }
        let mut out = Vec::new();
        if min < f64::INFINITY {
            let bin = (max - min) / (n_splits as f64 + 1.0);
            for i in 0..n_splits {
                let v = min + bin * (i as f64 + 1.0);
                if min < v && v < max {
                    out.push(v);
                }
            }
        }
        out
    }

    fn binary_split(&self, v: f64) -> [ClassCounts; 2] {
        let (mut lhs, mut rhs) = (ClassCounts::default(), ClassCounts::default());
        for (c, g, min, max) in &self.per_class {
            if v < *min {
                rhs.0.push((*c, g.n));
            } else if v >= *max {
                lhs.0.push((*c, g.n));
            } else {
                let l = g.cdf(v) * g.n;
                lhs.0.push((*c, l));
                rhs.0.push((*c, g.n - l));
            }
        }
        [lhs, rhs]
    }
}

fn entropy(dist: &ClassCounts) -> f64 {
    let mut e = 0.0;
    let mut sum = 0.0;
    for &(_, d) in &dist.0 {
        if d > 0.0 {
            e -= d * d.log2();
            sum += d;
        }
    }
    if sum > 0.0 {
        (e + sum * sum.log2()) / sum
    } else {
        0.0
    }
}

/// River's `InfoGainSplitCriterion.merit_of_split`.
fn info_gain(pre: &ClassCounts, post: &[ClassCounts; 2], min_branch_fraction: f64) -> f64 {
    let sums = [post[0].total(), post[1].total()];
    let total = sums[0] + sums[1];
    let greater = if total > 0.0 {
        sums.iter()
            .filter(|&&d| d / total > min_branch_fraction)
            .count()
    } else {
        0
    };
    if greater < 2 {
        return f64::NEG_INFINITY;
    }
    let post_entropy = (sums[0] * entropy(&post[0]) + sums[1] * entropy(&post[1])) / total;
    entropy(pre) - post_entropy
}

#[derive(Debug, Clone)]
struct Suggestion {
    merit: f64,
    /// `None`: the null split.
    split: Option<(usize, f64, [ClassCounts; 2])>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Leaf {
    stats: ClassCounts,
    depth: usize,
    /// `None` once deactivated; splitters in creation order.
    splitters: Option<Vec<(usize, GaussianSplitter)>>,
    /// Features this leaf watches (all, or a random subset in a forest).
    features: Vec<usize>,
    last_split_attempt_at: f64,
    mc_correct: f64,
    nb_correct: f64,
}

impl Leaf {
    fn new(stats: ClassCounts, depth: usize) -> Leaf {
        let total = stats.total();
        Leaf {
            stats,
            depth,
            splitters: Some(Vec::new()),
            features: Vec::new(),
            last_split_attempt_at: total,
            mc_correct: 0.0,
            nb_correct: 0.0,
        }
    }

    fn is_active(&self) -> bool {
        self.splitters.is_some()
    }

    /// River's `do_naive_bayes_prediction`: log prior plus log densities, normalised by
    /// log-sum-exp. Writes into `out` (indexed by class id); false when it gives no classes.
    fn naive_bayes(&self, x: &[f64], out: &mut [f64]) -> bool {
        let total = self.stats.total();
        if self.stats.0.is_empty() || total == 0.0 {
            return false;
        }
        let splitters = self.splitters.as_deref().unwrap_or(&[]);
        let mut votes: Vec<(u32, f64)> = Vec::with_capacity(self.stats.0.len());
        for &(c, w) in &self.stats.0 {
            if w > 0.0 {
                let mut v = (w / total).ln();
                for (f, s) in splitters {
                    let lp = s.cond_log_proba(x[*f], c);
                    if lp > f64::NEG_INFINITY {
                        v += lp;
                    }
                }
                votes.push((c, v));
            } else {
                votes.push((c, 0.0));
            }
        }
        let max = votes.iter().map(|v| v.1).fold(f64::NEG_INFINITY, f64::max);
        let lse = max + votes.iter().map(|v| (v.1 - max).exp()).sum::<f64>().ln();
        for (c, v) in votes {
            out[c as usize] = (v - lse).exp();
        }
        true
    }

    fn majority_proba(&self, out: &mut [f64]) -> bool {
        let total = self.stats.total();
        if self.stats.0.is_empty() {
            return false;
        }
        for &(c, w) in &self.stats.0 {
            // River's `normalize_values_in_dict` divides by the total.
            out[c as usize] = if total > 0.0 { w / total } else { w };
        }
        true
    }

    /// The naive-Bayes-adaptive prediction.
    fn predict(&self, x: &[f64], out: &mut [f64]) -> bool {
        if self.is_active() && self.nb_correct >= self.mc_correct {
            self.naive_bayes(x, out)
        } else {
            self.majority_proba(out)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Node {
    Leaf(Leaf),
    Branch {
        feature: usize,
        threshold: f64,
        children: [usize; 2],
    },
}

/// Checked hyperparameters of a Hoeffding tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TreeParams {
    /// Weight a leaf must see between split attempts.
    pub grace_period: f64,
    /// One minus the confidence of the Hoeffding bound.
    pub delta: f64,
    /// Split anyway when the bound falls below this.
    pub tau: f64,
    /// Split points each Gaussian observer proposes.
    pub n_splits: usize,
    /// Each branch of a split must hold more than this share of the weight.
    pub min_branch_fraction: f64,
    /// A leaf whose majority class holds more than this share stops splitting.
    pub max_share_to_split: f64,
    /// Features a leaf watches: `None` for all, `Some(k)` for a random `k` (forests).
    pub max_features: Option<usize>,
}

impl Default for TreeParams {
    /// River's `HoeffdingTreeClassifier()` defaults.
    fn default() -> Self {
        TreeParams {
            grace_period: 200.0,
            delta: 1e-7,
            tau: 0.05,
            n_splits: 10,
            min_branch_fraction: 0.01,
            max_share_to_split: 0.99,
            max_features: None,
        }
    }
}

/// A Hoeffding tree classifier over `n_features` numeric features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HoeffdingTree {
    params: TreeParams,
    n_features: usize,
    nodes: Vec<Node>,
    /// Classes seen in training (River's `self.classes`).
    seen: Vec<bool>,
}

impl HoeffdingTree {
    /// An empty tree.
    pub fn new(n_features: usize, params: TreeParams) -> HoeffdingTree {
        HoeffdingTree {
            params,
            n_features,
            nodes: Vec::new(),
            seen: Vec::new(),
        }
    }

    /// Number of leaves.
    pub fn n_leaves(&self) -> usize {
        self.nodes
            .iter()
            .filter(|n| matches!(n, Node::Leaf(_)))
            .count()
    }

    /// Whether the tree has seen class `c` in training.
    pub fn has_seen(&self, c: usize) -> bool {
        self.seen.get(c).copied().unwrap_or(false)
    }

    fn find_leaf(&self, x: &[f64]) -> usize {
        let mut node = 0;
        while let Node::Branch {
            feature,
            threshold,
            children,
        } = &self.nodes[node]
        {
            node = children[usize::from(x[*feature] > *threshold)];
        }
        node
    }

    /// Class probabilities into `out` (indexed by class id, zero for classes without an
    /// entry); false when the tree cannot predict yet.
    pub fn predict_proba(&self, x: &[f64], out: &mut [f64]) -> bool {
        out.iter_mut().for_each(|p| *p = 0.0);
        if self.nodes.is_empty() {
            return false;
        }
        let leaf = self.find_leaf(x);
        match &self.nodes[leaf] {
            Node::Leaf(l) => l.predict(x, out),
            Node::Branch { .. } => false,
        }
    }

    /// The predicted class (River's `predict_one`), using `proba` as scratch.
    pub fn predict(&self, x: &[f64], order: &ClassOrder, proba: &mut [f64]) -> Option<u32> {
        self.predict_proba(x, proba);
        order.argmax(proba, |c| self.has_seen(c))
    }

    /// Learns one row of class `y` with weight `w`; `rng` draws a forest leaf's features.
    pub fn learn_one<R: Rng>(&mut self, x: &[f64], y: u32, w: f64, rng: &mut R) {
        let yi = y as usize;
        if self.seen.len() <= yi {
            self.seen.resize(yi + 1, false);
        }
        self.seen[yi] = true;
        if self.nodes.is_empty() {
            self.nodes
                .push(Node::Leaf(Leaf::new(ClassCounts::default(), 0)));
        }
        let leaf_idx = self.find_leaf(x);
        let n_features = self.n_features;
        let max_features = self.params.max_features;
        let Node::Leaf(leaf) = &mut self.nodes[leaf_idx] else {
            return;
        };
        if leaf.is_active() {
            let mc_ok = leaf.stats.0.is_empty() || leaf.stats.majority() == Some(y);
            if mc_ok {
                leaf.mc_correct += w;
            }
            let n = leaf
                .stats
                .0
                .iter()
                .map(|&(c, _)| c as usize + 1)
                .max()
                .unwrap_or(0);
            let mut nb = vec![0.0; n];
            if leaf.naive_bayes(x, &mut nb) {
                let mut best: Option<(u32, f64)> = None;
                for &(c, _) in &leaf.stats.0 {
                    let p = nb[c as usize];
                    if best.is_none_or(|(_, bp)| p > bp) {
                        best = Some((c, p));
                    }
                }
                if best.map(|b| b.0) == Some(y) {
                    leaf.nb_correct += w;
                }
            }
        }
        leaf.stats.add(y, w);
        if let Some(splitters) = &mut leaf.splitters {
            if leaf.features.is_empty() {
                leaf.features = match max_features {
                    Some(k) if k < n_features => sample(rng, n_features, k).into_vec(),
                    _ => (0..n_features).collect(),
                };
            }
            for &f in &leaf.features {
                match splitters.iter_mut().find(|(g, _)| *g == f) {
                    Some((_, s)) => s.update(x[f], y, w),
                    None => {
                        let mut s = GaussianSplitter::default();
                        s.update(x[f], y, w);
                        splitters.push((f, s));
                    }
                }
            }
        } else {
            return;
        }
        let weight_seen = leaf.stats.total();
        if weight_seen - leaf.last_split_attempt_at >= self.params.grace_period {
            self.attempt_to_split(leaf_idx);
            if let Node::Leaf(l) = &mut self.nodes[leaf_idx] {
                l.last_split_attempt_at = weight_seen;
            }
        }
    }

    fn attempt_to_split(&mut self, leaf_idx: usize) {
        let p = &self.params;
        let Node::Leaf(leaf) = &self.nodes[leaf_idx] else {
            return;
        };
        if leaf.stats.is_pure() {
            return;
        }
        let total = leaf.stats.total();
        let mut suggestions: Vec<Suggestion> = Vec::new();
        let maj = leaf.stats.max_weight();
        if maj != 0.0 && maj / total > p.max_share_to_split {
            suggestions.push(Suggestion {
                merit: f64::NEG_INFINITY,
                split: None,
            });
        } else {
            // Merit pre-pruning: the null split is a candidate.
            suggestions.push(Suggestion {
                merit: f64::NEG_INFINITY,
                split: None,
            });
            for (f, s) in leaf.splitters.as_deref().unwrap_or(&[]) {
                let mut best = Suggestion {
                    merit: f64::NEG_INFINITY,
                    split: None,
                };
                for v in s.split_points(p.n_splits) {
                    let post = s.binary_split(v);
                    let merit = info_gain(&leaf.stats, &post, p.min_branch_fraction);
                    if merit > best.merit {
                        best = Suggestion {
                            merit,
                            split: Some((*f, v, post)),
                        };
                    }
                }
                suggestions.push(best);
            }
        }
        // Python's sort is stable: among equal merits the later candidate wins.
        suggestions.sort_by(|a, b| {
            a.merit
                .partial_cmp(&b.merit)
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let should_split = if suggestions.len() < 2 {
            !suggestions.is_empty()
        } else {
            let n_classes = leaf.stats.0.len().max(2) as f64;
            let range = n_classes.log2();
            let bound = (range * range * (1.0 / p.delta).ln() / (2.0 * total)).sqrt();
            let best = &suggestions[suggestions.len() - 1];
            let second = &suggestions[suggestions.len() - 2];
            best.merit - second.merit > bound || bound < p.tau
        };
        if !should_split {
            return;
        }
        let depth = leaf.depth;
        let decision = suggestions.pop().and_then(|s| s.split);
        match decision {
            None => {
                if let Node::Leaf(l) = &mut self.nodes[leaf_idx] {
                    l.splitters = None;
                }
            }
            Some((feature, threshold, [lhs, rhs])) => {
                let left = self.nodes.len();
                self.nodes.push(Node::Leaf(Leaf::new(lhs, depth + 1)));
                self.nodes.push(Node::Leaf(Leaf::new(rhs, depth + 1)));
                // The branch takes the leaf's slot, so the parent's link stays valid.
                self.nodes[leaf_idx] = Node::Branch {
                    feature,
                    threshold,
                    children: [left, left + 1],
                };
            }
        }
    }
}
