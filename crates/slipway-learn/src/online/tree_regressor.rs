//! The Hoeffding tree regressor (FIMT-style), as River 0.26's `tree.HoeffdingTreeRegressor`
//! with its defaults: grace period 200, delta 1e-7, tau 0.05, variance-reduction merit
//! (both branches need at least 5 rows, else the merit is 0), the truncated E-BST split
//! observer (feature values rounded to one decimal, River's `TEBSTSplitter`) with FIMT-DD's
//! pruning of bad split points after each failed attempt, merit pre-pruning (the null split
//! competes), and "adaptive" leaves: the target mean or a linear model learned by SGD
//! (River's `linear_model.LinearRegression()`), whichever has the smaller faded squared
//! error (decay 0.95). New leaves inherit their parent's linear model and faded errors.
//!
//! Rows are dense: `x[i]` is feature `i`. Everything is plain data (serde), so a bundle can
//! store a learned tree.

use rand::Rng;
use rand::seq::index::sample;
use serde::{Deserialize, Serialize};

/// A weighted running mean and variance with River's `stats.Var` (ddof 1) arithmetic,
/// including its merge (`+=`) and removal (`-=`) of another summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Var {
    /// Total weight.
    pub n: f64,
    /// Weighted mean.
    pub mean: f64,
    s: f64,
}

impl Var {
    /// Adds `x` with weight `w`.
    pub fn update(&mut self, x: f64, w: f64) {
        let old = self.mean;
        self.n += w;
        self.mean += (w / self.n) * (x - self.mean);
        self.s += w * (x - old) * (x - self.mean);
    }

    /// The sample variance (0 until the weight exceeds 1).
    pub fn get(&self) -> f64 {
        if self.n > 1.0 {
            self.s / (self.n - 1.0)
        } else {
            0.0
        }
    }

    /// River's `Var.__iadd__`: the summary of both samples.
    fn add(&mut self, other: &Var) {
        let total = self.n + other.n;
        if total == 0.0 {
            return;
        }
        let s = self.s + other.s + (self.mean - other.mean).powi(2) * self.n * other.n / total;
        let old_n = self.n;
        self.n = total;
        self.mean = (old_n * self.mean + other.n * other.mean) / self.n;
        self.s = s;
    }

    /// River's `Var.__isub__`: the summary without `other`'s sample.
    fn sub(&mut self, other: &Var) {
        let old_n = self.n;
        self.n -= other.n;
        if self.n > 0.0 {
            self.mean = (old_n * self.mean - other.n * other.mean) / self.n;
        } else {
            self.n = 0.0;
            self.mean = 0.0;
        }
        let total = self.n + other.n;
        let cross = if total == 0.0 {
            0.0
        } else {
            (self.mean - other.mean).powi(2) * self.n * other.n / total
        };
        self.s = self.s - other.s - cross;
    }
}

/// Linear regression by plain SGD, as River's `linear_model.LinearRegression()`: squared
/// loss, learning rate 0.01 for the weights and the intercept, zeros to start, gradients
/// clipped at 1e12, sample weights scaling the gradient.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LinearRegression {
    weights: Vec<f64>,
    intercept: f64,
    lr: f64,
    intercept_lr: f64,
}

impl LinearRegression {
    /// A model for `n_features` features with River's defaults.
    pub fn new(n_features: usize) -> LinearRegression {
        LinearRegression {
            weights: vec![0.0; n_features],
            intercept: 0.0,
            lr: 0.01,
            intercept_lr: 0.01,
        }
    }

    /// The prediction for `x`.
    pub fn predict(&self, x: &[f64]) -> f64 {
        self.weights
            .iter()
            .zip(x)
            .map(|(w, xi)| w * xi)
            .sum::<f64>()
            + self.intercept
    }

    /// One SGD step on `(x, y)` with weight `w`.
    pub fn learn_one(&mut self, x: &[f64], y: f64, w: f64) {
        let g = (2.0 * (self.predict(x) - y) * w).clamp(-1e12, 1e12);
        self.intercept -= self.intercept_lr * g;
        for (wi, xi) in self.weights.iter_mut().zip(x) {
            *wi -= self.lr * (xi * g);
        }
    }

    /// The weights, in feature order.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// The intercept.
    pub fn intercept(&self) -> f64 {
        self.intercept
    }
}

/// Python's `round(x, 1)`: the double nearest to the decimal `x` rounds to (half to even on
/// the exact binary value).
fn round1(x: f64) -> f64 {
    if !x.is_finite() || x.abs() >= 1e15 {
        return x;
    }
    let t = x * 10.0;
    let frac = t - t.floor();
    if (frac - 0.5).abs() > 1e-6 {
        // Far from a tie: the product's rounding error cannot change the nearest integer,
        // and `k / 10` is the double nearest to the decimal k/10, as Python's strtod gives.
        return t.round() / 10.0;
    }
    // Near a tie: decide on the exact binary value, as Python's dtoa does.
    format!("{x:.1}").parse().unwrap_or(x)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct EbstNode {
    value: f64,
    /// Targets of the rows whose value is at most `value` and that passed through here.
    est: Var,
    left: Option<u32>,
    right: Option<u32>,
}

/// A split candidate: its merit and, unless it is the null split, the feature, the
/// threshold and the two branches' target summaries.
#[derive(Debug, Clone)]
struct Suggestion {
    merit: f64,
    split: Option<(usize, f64, [Var; 2])>,
}

/// River's variance reduction (`VarianceReductionSplitCriterion`).
fn variance_reduction(pre: &Var, post: &[Var; 2], min_samples_split: f64) -> f64 {
    if post.iter().all(|p| p.n >= min_samples_split) {
        let mut vr = pre.get();
        for p in post {
            vr -= p.n / pre.n * p.get();
        }
        vr
    } else {
        0.0
    }
}

/// The extended binary search tree of one feature (River's `EBSTSplitter`), nodes in an
/// arena.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Ebst {
    nodes: Vec<EbstNode>,
    root: Option<u32>,
}

enum Op {
    Descend(u32),
    AddAux(u32),
    SubAux(u32),
    Process(u32),
}

impl Ebst {
    fn push(&mut self, value: f64, y: f64, w: f64) -> u32 {
        let mut est = Var::default();
        est.update(y, w);
        self.nodes.push(EbstNode {
            value,
            est,
            left: None,
            right: None,
        });
        (self.nodes.len() - 1) as u32
    }

    fn insert(&mut self, value: f64, y: f64, w: f64) {
        let Some(mut cur) = self.root else {
            let id = self.push(value, y, w);
            self.root = Some(id);
            return;
        };
        loop {
            let node = &mut self.nodes[cur as usize];
            if value == node.value {
                node.est.update(y, w);
                return;
            }
            if value < node.value {
                node.est.update(y, w);
                match node.left {
                    Some(l) => cur = l,
                    None => {
                        let id = self.push(value, y, w);
                        self.nodes[cur as usize].left = Some(id);
                        return;
                    }
                }
            } else {
                match node.right {
                    Some(r) => cur = r,
                    None => {
                        let id = self.push(value, y, w);
                        self.nodes[cur as usize].right = Some(id);
                        return;
                    }
                }
            }
        }
    }

    fn post_split(&self, id: u32, aux: &Var, pre: &Var) -> [Var; 2] {
        let mut left = self.nodes[id as usize].est;
        left.add(aux);
        let mut right = *pre;
        right.sub(&left);
        [left, right]
    }

    /// The best split point by an in-order walk (the first of equal merits wins).
    fn best_split(&self, feature: usize, pre: &Var, min_samples_split: f64) -> Suggestion {
        let mut best = Suggestion {
            merit: f64::NEG_INFINITY,
            split: None,
        };
        let Some(root) = self.root else {
            return best;
        };
        let mut aux = Var::default();
        let mut ops = vec![Op::Descend(root)];
        while let Some(op) = ops.pop() {
            match op {
                Op::Descend(n) => {
                    let node = &self.nodes[n as usize];
                    if let Some(r) = node.right {
                        ops.push(Op::SubAux(n));
                        ops.push(Op::Descend(r));
                        ops.push(Op::AddAux(n));
                    }
                    ops.push(Op::Process(n));
                    if let Some(l) = node.left {
                        ops.push(Op::Descend(l));
                    }
                }
                Op::AddAux(n) => aux.add(&self.nodes[n as usize].est),
                Op::SubAux(n) => aux.sub(&self.nodes[n as usize].est),
                Op::Process(n) => {
                    let post = self.post_split(n, &aux, pre);
                    let merit = variance_reduction(pre, &post, min_samples_split);
                    if merit > best.merit {
                        best = Suggestion {
                            merit,
                            split: Some((feature, self.nodes[n as usize].value, post)),
                        };
                    }
                }
            }
        }
        best
    }

    /// FIMT-DD's removal of bad split points (River's `remove_bad_splits`): a node whose
    /// subtrees are all bad and whose own merit relative to the best, `merit / best`, is
    /// below `ratio - 2 * bound` is cut off with its subtrees.
    fn remove_bad_splits(
        &mut self,
        pre: &Var,
        ratio: f64,
        best: f64,
        bound: f64,
        min_samples_split: f64,
    ) {
        const LEFT: u8 = 0;
        const RIGHT: u8 = 1;
        const EVAL: u8 = 2;
        struct Frame {
            node: u32,
            parent: Option<u32>,
            is_left: bool,
            phase: u8,
            aux_added: bool,
        }
        let Some(root) = self.root else {
            return;
        };
        let mut aux = Var::default();
        let mut pruned = false;
        let mut stack = vec![Frame {
            node: root,
            parent: None,
            is_left: true,
            phase: LEFT,
            aux_added: false,
        }];
        let mut child_is_bad = false;
        while let Some(frame) = stack.last_mut() {
            let n = frame.node;
            match frame.phase {
                LEFT => {
                    frame.phase = RIGHT;
                    if let Some(l) = self.nodes[n as usize].left {
                        stack.push(Frame {
                            node: l,
                            parent: Some(n),
                            is_left: true,
                            phase: LEFT,
                            aux_added: false,
                        });
                    } else {
                        child_is_bad = true;
                    }
                }
                RIGHT => {
                    if !child_is_bad {
                        stack.pop();
                        child_is_bad = false;
                        continue;
                    }
                    frame.phase = EVAL;
                    if let Some(r) = self.nodes[n as usize].right {
                        aux.add(&self.nodes[n as usize].est);
                        frame.aux_added = true;
                        stack.push(Frame {
                            node: r,
                            parent: Some(n),
                            is_left: false,
                            phase: LEFT,
                            aux_added: false,
                        });
                    } else {
                        child_is_bad = true;
                    }
                }
                _ => {
                    if frame.aux_added {
                        aux.sub(&self.nodes[n as usize].est);
                    }
                    let (parent, is_left) = (frame.parent, frame.is_left);
                    stack.pop();
                    if child_is_bad {
                        let post = self.post_split(n, &aux, pre);
                        let merit = variance_reduction(pre, &post, min_samples_split);
                        if merit / best < ratio - 2.0 * bound {
                            let node = &mut self.nodes[n as usize];
                            node.left = None;
                            node.right = None;
                            match parent {
                                None => self.root = None,
                                Some(p) if is_left => self.nodes[p as usize].left = None,
                                Some(p) => self.nodes[p as usize].right = None,
                            }
                            pruned = true;
                            child_is_bad = true;
                            continue;
                        }
                    }
                    child_is_bad = false;
                }
            }
        }
        if pruned {
            self.compact();
        }
    }

    /// Drops the nodes no longer reachable from the root.
    fn compact(&mut self) {
        let Some(root) = self.root else {
            self.nodes.clear();
            return;
        };
        let mut nodes = Vec::new();
        let mut stack = vec![(root, None::<(u32, bool)>)];
        while let Some((old, link)) = stack.pop() {
            let node = &self.nodes[old as usize];
            let id = nodes.len() as u32;
            nodes.push(EbstNode {
                value: node.value,
                est: node.est,
                left: None,
                right: None,
            });
            if let Some((p, is_left)) = link {
                let parent: &mut EbstNode = &mut nodes[p as usize];
                if is_left {
                    parent.left = Some(id);
                } else {
                    parent.right = Some(id);
                }
            }
            if let Some(r) = node.right {
                stack.push((r, Some((id, false))));
            }
            if let Some(l) = node.left {
                stack.push((l, Some((id, true))));
            }
        }
        self.nodes = nodes;
        self.root = Some(0);
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Leaf {
    stats: Var,
    depth: usize,
    /// `None` once deactivated; one observer per watched feature, in creation order.
    splitters: Option<Vec<(usize, Ebst)>>,
    /// Features this leaf watches (all, or a random subset in a forest); drawn on the
    /// first row the leaf learns.
    features: Vec<usize>,
    last_split_attempt_at: f64,
    model: LinearRegression,
    fmse_mean: f64,
    fmse_model: f64,
}

impl Leaf {
    fn new(stats: Var, depth: usize, model: LinearRegression, fmse: (f64, f64)) -> Leaf {
        Leaf {
            stats,
            depth,
            splitters: Some(Vec::new()),
            features: Vec::new(),
            last_split_attempt_at: stats.n,
            model,
            fmse_mean: fmse.0,
            fmse_model: fmse.1,
        }
    }

    /// The adaptive prediction: the mean while its faded error is the smaller one.
    fn predict(&self, x: &[f64]) -> f64 {
        if self.fmse_mean < self.fmse_model {
            self.stats.mean
        } else {
            self.model.predict(x)
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
enum Node {
    Leaf(Leaf),
    Branch {
        feature: usize,
        threshold: f64,
        children: [usize; 2],
    },
}

/// Hyperparameters of a Hoeffding tree regressor.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegressorParams {
    /// Weight a leaf must see between split attempts.
    pub grace_period: f64,
    /// One minus the confidence of the Hoeffding bound.
    pub delta: f64,
    /// Split anyway when the bound falls below this.
    pub tau: f64,
    /// Decay of the faded squared errors that pick a leaf's predictor.
    pub model_selector_decay: f64,
    /// Each branch of a split must hold at least this weight (else the merit is 0).
    pub min_samples_split: f64,
    /// Leaves at this depth stop splitting (River: the recursion limit minus 20).
    pub max_depth: usize,
    /// Features a leaf watches: `None` for all, `Some(k)` for a random `k` (forests).
    pub max_features: Option<usize>,
}

impl Default for RegressorParams {
    /// River's `HoeffdingTreeRegressor()` defaults.
    fn default() -> Self {
        RegressorParams {
            grace_period: 200.0,
            delta: 1e-7,
            tau: 0.05,
            model_selector_decay: 0.95,
            min_samples_split: 5.0,
            max_depth: 980,
            max_features: None,
        }
    }
}

/// A Hoeffding tree regressor over `n_features` numeric features.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HoeffdingTreeRegressor {
    params: RegressorParams,
    n_features: usize,
    nodes: Vec<Node>,
}

impl HoeffdingTreeRegressor {
    /// An empty tree.
    pub fn new(n_features: usize, params: RegressorParams) -> HoeffdingTreeRegressor {
        HoeffdingTreeRegressor {
            params,
            n_features,
            nodes: Vec::new(),
        }
    }

    /// Number of leaves.
    pub fn n_leaves(&self) -> usize {
        self.nodes
            .iter()
            .filter(|n| matches!(n, Node::Leaf(_)))
            .count()
    }

    /// Depth of the deepest leaf (0 for a single leaf or an empty tree).
    pub fn depth(&self) -> usize {
        self.nodes
            .iter()
            .filter_map(|n| match n {
                Node::Leaf(l) => Some(l.depth),
                Node::Branch { .. } => None,
            })
            .max()
            .unwrap_or(0)
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

    /// The prediction for `x` (0 before the first row, as River).
    pub fn predict(&self, x: &[f64]) -> f64 {
        if self.nodes.is_empty() {
            return 0.0;
        }
        match &self.nodes[self.find_leaf(x)] {
            Node::Leaf(l) => l.predict(x),
            Node::Branch { .. } => 0.0,
        }
    }

    /// Learns one row with target `y` and weight `w`; `rng` draws a forest leaf's features.
    pub fn learn_one<R: Rng>(&mut self, x: &[f64], y: f64, w: f64, rng: &mut R) {
        if self.nodes.is_empty() {
            self.nodes.push(Node::Leaf(Leaf::new(
                Var::default(),
                0,
                LinearRegression::new(self.n_features),
                (0.0, 0.0),
            )));
        }
        let leaf_idx = self.find_leaf(x);
        let n_features = self.n_features;
        let p = &self.params;
        let Node::Leaf(leaf) = &mut self.nodes[leaf_idx] else {
            return;
        };
        let pred_mean = leaf.stats.mean;
        let pred_model = leaf.model.predict(x);
        leaf.fmse_mean = p.model_selector_decay * leaf.fmse_mean + (y - pred_mean).powi(2);
        leaf.fmse_model = p.model_selector_decay * leaf.fmse_model + (y - pred_model).powi(2);
        leaf.stats.update(y, w);
        if let Some(splitters) = &mut leaf.splitters {
            if leaf.features.is_empty() {
                leaf.features = match p.max_features {
                    Some(k) if k < n_features => sample(rng, n_features, k).into_vec(),
                    _ => (0..n_features).collect(),
                };
            }
            for &f in &leaf.features {
                let v = round1(x[f]);
                match splitters.iter_mut().find(|(g, _)| *g == f) {
                    Some((_, s)) => s.insert(v, y, w),
                    None => {
                        let mut s = Ebst::default();
                        s.insert(v, y, w);
                        splitters.push((f, s));
                    }
                }
            }
        }
        leaf.model.learn_one(x, y, w);
        if leaf.splitters.is_none() {
            return;
        }
        if leaf.depth >= p.max_depth {
            leaf.splitters = None;
            return;
        }
        let weight_seen = leaf.stats.n;
        if weight_seen - leaf.last_split_attempt_at >= p.grace_period {
            self.attempt_to_split(leaf_idx);
            if let Node::Leaf(l) = &mut self.nodes[leaf_idx] {
                l.last_split_attempt_at = weight_seen;
            }
        }
    }

    fn attempt_to_split(&mut self, leaf_idx: usize) {
        let p = &self.params;
        let Node::Leaf(leaf) = &mut self.nodes[leaf_idx] else {
            return;
        };
        let pre = leaf.stats;
        // Merit pre-pruning: the null split is a candidate.
        let mut suggestions = vec![Suggestion {
            merit: f64::NEG_INFINITY,
            split: None,
        }];
        for (f, s) in leaf.splitters.as_deref().unwrap_or(&[]) {
            suggestions.push(s.best_split(*f, &pre, p.min_samples_split));
        }
        // Python's sort is stable: among equal merits the later candidate wins.
        suggestions.sort_by(|a, b| {
            a.merit
                .partial_cmp(&b.merit)
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let n = suggestions.len();
        // The range of the variance-reduction ratio is 1.
        let bound = ((1.0f64 / p.delta).ln() / (2.0 * pre.n)).sqrt();
        let (best, second) = (suggestions[n - 1].merit, suggestions[n - 2].merit);
        let should_split = best > 0.0 && (second / best < 1.0 - bound || bound < p.tau);
        if should_split {
            match suggestions.pop().and_then(|s| s.split) {
                None => {
                    // River deactivates the leaf and its size check reactivates it at once
                    // with fresh observers.
                    leaf.splitters = Some(Vec::new());
                }
                Some((feature, threshold, [lhs, rhs])) => {
                    let depth = leaf.depth;
                    let fmse = (leaf.fmse_mean, leaf.fmse_model);
                    let model = leaf.model.clone();
                    let left = self.nodes.len();
                    self.nodes
                        .push(Node::Leaf(Leaf::new(lhs, depth + 1, model.clone(), fmse)));
                    self.nodes
                        .push(Node::Leaf(Leaf::new(rhs, depth + 1, model, fmse)));
                    // The branch takes the leaf's slot, so the parent's link stays valid.
                    self.nodes[leaf_idx] = Node::Branch {
                        feature,
                        threshold,
                        children: [left, left + 1],
                    };
                }
            }
        } else if best > 0.0 && second > 0.0 {
            let ratio = second / best;
            let mss = p.min_samples_split;
            for (_, s) in leaf.splitters.as_deref_mut().unwrap_or(&mut []) {
                s.remove_bad_splits(&pre, ratio, best, bound, mss);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn round1_is_pythons_round() {
        // Values checked against Python 3.11's round(x, 1).
        for (x, want) in [
            (0.25, 0.2),
            (0.75, 0.8),
            (1.25, 1.2),
            (0.35, 0.3),
            (0.05, 0.1),
            (-0.15, -0.1),
            (1.45, 1.4),
            (12.25, 12.2),
            (4.56789, 4.6),
            (-7.96, -8.0),
        ] {
            assert_eq!(round1(x), want, "round({x}, 1)");
        }
    }

    #[test]
    fn var_merge_and_removal_match_a_direct_summary() {
        let xs = [3.0, 5.0, 4.0, 7.0, 10.0, 12.0];
        let mut all = Var::default();
        let (mut a, mut b) = (Var::default(), Var::default());
        for (i, &x) in xs.iter().enumerate() {
            all.update(x, 1.0);
            if i < 2 { &mut a } else { &mut b }.update(x, 1.0);
        }
        assert!((all.get() - 12.566_666_666_666_666).abs() < 1e-12);
        let mut merged = a;
        merged.add(&b);
        assert!((merged.get() - all.get()).abs() < 1e-12);
        let mut rest = all;
        rest.sub(&a);
        assert!((rest.get() - b.get()).abs() < 1e-12 && (rest.mean - b.mean).abs() < 1e-12);
    }

    #[test]
    fn learns_a_step_function() {
        let mut tree = HoeffdingTreeRegressor::new(2, RegressorParams::default());
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut data = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..2000 {
            let x = [data.random::<f64>(), data.random::<f64>()];
            let y = if x[0] > 0.5 { 10.0 } else { -10.0 };
            tree.learn_one(&x, y, 1.0, &mut rng);
        }
        assert!(tree.n_leaves() >= 2, "the tree never split");
        assert!((tree.predict(&[0.9, 0.1]) - 10.0).abs() < 1.0);
        assert!((tree.predict(&[0.1, 0.9]) + 10.0).abs() < 1.0);
    }
}
