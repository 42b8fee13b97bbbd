//! Growing one tree on binned features (see the module docs of [`super`]).

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::Criterion;
use super::model::{LEAF, Node, Tree};
use crate::Matrix;
use crate::gbdt::binning::{BinMapper, BinnedData};

/// scikit-learn's `EPSILON` (`np.finfo('double').eps`): impurities at most this are pure.
const EPSILON: f64 = f64::EPSILON;

/// The labels the tree is grown on.
pub(crate) enum Labels<'a> {
    /// Class codes.
    Classes {
        /// One code per row.
        y: &'a [u32],
        /// Number of classes.
        n_classes: usize,
    },
    /// Real values.
    Real(&'a [f64]),
}

/// Settings for growing one tree.
#[derive(Debug, Clone)]
pub(crate) struct GrowConfig {
    pub criterion: Criterion,
    pub max_depth: usize,
    pub min_samples_split: usize,
    pub min_samples_leaf: usize,
    pub min_impurity_decrease: f64,
    pub max_features: usize,
    /// Extra trees: one random threshold per visited feature.
    pub random_splits: bool,
    /// Per feature: `Some(n_categories)` to split on sets of categories (codes
    /// `0..n_categories`, each in a value bin of its own; see
    /// [`Grower::best_category_split_of`]) instead of thresholds.
    pub categorical: Vec<Option<u32>>,
}

/// The chosen split of a node.
#[derive(Debug, Clone)]
struct Split {
    feature: usize,
    /// Value bins `<= bin` go left.
    bin: u8,
    /// Extra trees: the drawn threshold (`None` for best splits).
    drawn: Option<f64>,
    /// Every value goes left, NaN right.
    all_values_left: bool,
    /// A category-set split: the value bins (bit `b` of word `b / 64`) that go left; `bin`
    /// is unused.
    cats: Option<[u64; 4]>,
    missing_left: bool,
    /// Proxy cost (lower is better).
    cost: f64,
}

/// The outcome of drawing an extra-trees split on one feature.
enum Drawn {
    /// The feature is constant (or all NaN) in the node: not counted as visited.
    Constant,
    /// A visited feature, and its split unless a child would be too small.
    Visited(Option<Split>),
}

/// scikit-learn's `FEATURE_THRESHOLD`: a feature whose node values span no more than this is
/// constant there.
const FEATURE_THRESHOLD: f64 = 1e-7;

/// A node waiting to be split or made a leaf: its rows are `rows[start..end]`.
struct Pending {
    node: usize,
    start: usize,
    end: usize,
    depth: usize,
}

/// Per-feature facts the splitter needs.
struct FeatureBins<'a> {
    /// Upper bound of each value bin.
    upper: &'a [f64],
    /// The NaN bin, if the feature had NaN in training.
    nan_bin: Option<u8>,
}

/// Grows one tree on `rows` (distinct rows with weight > 0) with weights `weights` (aligned to
/// `rows`). `x` holds the raw values `data` was binned from: a split's threshold is placed
/// between the node's own values (see [`Grower::threshold`]).
pub(crate) fn grow(
    data: &BinnedData,
    x: &Matrix,
    labels: &Labels<'_>,
    rows: Vec<u32>,
    weights: Vec<f64>,
    cfg: &GrowConfig,
    rng: &mut ChaCha8Rng,
) -> Tree {
    let (yc, yr, width) = match labels {
        Labels::Classes { y, n_classes } => (
            rows.iter().map(|&r| y[r as usize]).collect(),
            Vec::new(),
            *n_classes,
        ),
        Labels::Real(y) => (Vec::new(), rows.iter().map(|&r| y[r as usize]).collect(), 3),
    };
    let features: Vec<FeatureBins<'_>> = data
        .mappers
        .iter()
        .map(|m| match m {
            BinMapper::Numeric { upper, has_nan } => FeatureBins {
                upper,
                nan_bin: has_nan.then_some(upper.len() as u8),
            },
            // The tree bins every feature as numeric (see `forest::bin`).
            BinMapper::Categorical { .. } => unreachable!("trees bin features as numeric"),
        })
        .collect();
    let mut g = Grower {
        data,
        x,
        features,
        cfg,
        classes: matches!(labels, Labels::Classes { .. }),
        width,
        rows,
        w: weights,
        yc,
        yr,
        hist: vec![0.0; 256 * width],
        cnt: vec![0; 256],
        touched: Vec::with_capacity(256),
        order: (0..data.n_features as u32).collect(),
        node_stats: vec![0.0; width],
        left: vec![0.0; width],
        right: vec![0.0; width],
        scan_acc: Vec::new(),
        scan_best: Vec::new(),
        cat_order: Vec::new(),
        best_left: vec![0.0; width],
        nodes: Vec::new(),
        values: Vec::new(),
        covers: Vec::new(),
        importance: vec![0.0; data.n_features],
    };
    g.run(rng);
    let mut covers = g.covers;
    covers.resize(g.nodes.len(), 0.0);
    Tree {
        nodes: g.nodes,
        values: g.values,
        n_outputs: if g.classes { width } else { 1 },
        importance: g.importance,
        covers,
    }
}

struct Grower<'a> {
    data: &'a BinnedData,
    /// The raw values `data` was binned from.
    x: &'a Matrix,
    features: Vec<FeatureBins<'a>>,
    cfg: &'a GrowConfig,
    classes: bool,
    /// Statistics per bin: class weights (classification) or `[w, w·y, w·y²]`.
    width: usize,
    rows: Vec<u32>,
    w: Vec<f64>,
    yc: Vec<u32>,
    yr: Vec<f64>,
    hist: Vec<f64>,
    cnt: Vec<u32>,
    /// Bins present in the current histogram, ascending after `build_hist`.
    touched: Vec<u8>,
    /// Feature order, reshuffled per node.
    order: Vec<u32>,
    node_stats: Vec<f64>,
    left: Vec<f64>,
    /// Scratch for a candidate's right-side statistics.
    right: Vec<f64>,
    /// Scratch of `best_split_of`: running left statistics, and the best candidate's.
    scan_acc: Vec<f64>,
    scan_best: Vec<f64>,
    /// Scratch of `best_category_split_of`: the node's value bins by mean response.
    cat_order: Vec<(f64, u8)>,
    best_left: Vec<f64>,
    nodes: Vec<Node>,
    values: Vec<f64>,
    /// The training weight (sample weights times bootstrap counts) that reached each node.
    covers: Vec<f64>,
    importance: Vec<f64>,
}

impl Grower<'_> {
    fn run(&mut self, rng: &mut ChaCha8Rng) {
        let n = self.rows.len();
        self.nodes.push(leaf_node(0));
        let mut stack = vec![Pending {
            node: 0,
            start: 0,
            end: n,
            depth: 0,
        }];
        self.stats_of(0, n);
        let w_root = self.weight(&self.node_stats.clone());
        while let Some(p) = stack.pop() {
            self.stats_of(p.start, p.end);
            let stats = self.node_stats.clone();
            let w = self.weight(&stats);
            if self.covers.len() <= p.node {
                self.covers.resize(p.node + 1, 0.0);
            }
            self.covers[p.node] = w;
            let impurity = self.impurity(&stats);
            let count = p.end - p.start;
            let cfg = self.cfg;
            let is_leaf = p.depth >= cfg.max_depth
                || count < cfg.min_samples_split
                || count < 2 * cfg.min_samples_leaf
                || impurity <= EPSILON;
            if !is_leaf {
                if let Some(s) = self.find_split(p.start, p.end, &stats, rng) {
                    let mut right = stats.clone();
                    for (r, l) in right.iter_mut().zip(&self.best_left) {
                        *r -= l;
                    }
                    let left = self.best_left.clone();
                    let (wl, wr) = (self.weight(&left), self.weight(&right));
                    let (il, ir) = (self.impurity(&left), self.impurity(&right));
                    let improvement = (w / w_root) * (impurity - (wl / w) * il - (wr / w) * ir);
                    if improvement + EPSILON >= cfg.min_impurity_decrease {
                        let mid = self.partition(p.start, p.end, &s);
                        let missing_left = if self.has_nan_rows(&s, p.start, p.end) {
                            s.missing_left
                        } else {
                            // No NaN seen here: NaN follows the larger child.
                            mid - p.start > p.end - mid
                        };
                        self.importance[s.feature] += w * impurity - wl * il - wr * ir;
                        let (threshold, cats) = match s.cats {
                            Some(bins) => (0.0, Some(self.category_codes(s.feature, &bins))),
                            None => (self.threshold(&s, p.start, mid, p.end), None),
                        };
                        let l = self.nodes.len();
                        self.nodes.push(leaf_node(0));
                        self.nodes.push(leaf_node(0));
                        self.nodes[p.node] = Node {
                            feature: s.feature as u32,
                            threshold,
                            child: l as u32,
                            missing_left,
                            cats,
                        };
                        stack.push(Pending {
                            node: l + 1,
                            start: mid,
                            end: p.end,
                            depth: p.depth + 1,
                        });
                        stack.push(Pending {
                            node: l,
                            start: p.start,
                            end: mid,
                            depth: p.depth + 1,
                        });
                        continue;
                    }
                }
            }
            self.nodes[p.node] = leaf_node(self.values.len() as u32);
            if self.classes {
                self.values.extend(stats.iter().map(|s| s / w));
            } else {
                self.values.push(stats[1] / w);
            }
        }
    }

    /// Whether the split's feature is NaN in any row of the node.
    fn has_nan_rows(&self, s: &Split, start: usize, end: usize) -> bool {
        let Some(nb) = self.features[s.feature].nan_bin else {
            return false;
        };
        let col = self.data.col(s.feature);
        self.rows[start..end].iter().any(|&r| col[r as usize] == nb)
    }

    /// The raw-value threshold of a split whose left rows are `rows[start..mid]` and right
    /// rows `rows[mid..end]` (after [`Grower::partition`]).
    ///
    /// Like scikit-learn, the threshold lies between the node's own values: `lo` is the
    /// largest (non-NaN) value going left and `hi` the smallest going right, and a best split
    /// takes scikit-learn's midpoint `lo / 2 + hi / 2` (`lo` when that rounds to `hi`). An
    /// extra-trees split keeps its drawn threshold: its rows were split by raw value. Either way
    /// every training row is routed at prediction as it was while growing. The bin boundary
    /// itself would not do: it sits next to the largest value of the bin over all training
    /// rows, so in a node where the bins between the two sides are empty it leaves the whole
    /// gap to the right child.
    fn threshold(&self, s: &Split, start: usize, mid: usize, end: usize) -> f64 {
        if s.all_values_left {
            // Not +inf: JSON has no infinity. Only +inf itself goes right of it.
            return f64::MAX;
        }
        if let Some(u) = s.drawn {
            // The rows were split by `x <= u`.
            return u;
        }
        let col = self.x.col(s.feature);
        let values = |rows: &[u32], init: f64, pick: fn(f64, f64) -> f64| {
            rows.iter()
                .map(|&r| col[r as usize])
                .filter(|v| !v.is_nan())
                .fold(init, pick)
        };
        let lo = values(&self.rows[start..mid], f64::NEG_INFINITY, f64::max);
        let hi = values(&self.rows[mid..end], f64::INFINITY, f64::min);
        if !(lo.is_finite() && hi.is_finite() && lo < hi) {
            // Cannot happen for a split with values on both sides; keep the bin boundary.
            return self.features[s.feature].upper[s.bin as usize];
        }
        let m = lo / 2.0 + hi / 2.0;
        if m >= hi || !m.is_finite() { lo } else { m }
    }

    /// The category codes whose value bin is in `bins` (a categorical feature's codes are
    /// the integers `0..`, one per value bin; see [`GrowConfig::categorical`]).
    fn category_codes(&self, f: usize, bins: &[u64; 4]) -> Vec<u32> {
        let n = self.cfg.categorical[f].unwrap_or(0);
        let mapper = &self.data.mappers[f];
        (0..n)
            .filter(|&c| {
                let b = mapper.bin(f64::from(c));
                bins[b as usize / 64] >> (b % 64) & 1 == 1
            })
            .collect()
    }

    /// Sums the statistics of `rows[start..end]` into `node_stats`.
    fn stats_of(&mut self, start: usize, end: usize) {
        self.node_stats.iter_mut().for_each(|v| *v = 0.0);
        if self.classes {
            for i in start..end {
                self.node_stats[self.yc[i] as usize] += self.w[i];
            }
        } else {
            for i in start..end {
                let (w, y) = (self.w[i], self.yr[i]);
                self.node_stats[0] += w;
                self.node_stats[1] += w * y;
                self.node_stats[2] += w * y * y;
            }
        }
    }

    fn weight(&self, s: &[f64]) -> f64 {
        if self.classes { s.iter().sum() } else { s[0] }
    }

    /// The node impurity scikit-learn reports.
    fn impurity(&self, s: &[f64]) -> f64 {
        let w = self.weight(s);
        if w <= 0.0 {
            return 0.0;
        }
        match self.cfg.criterion {
            Criterion::Gini => 1.0 - s.iter().map(|c| (c / w) * (c / w)).sum::<f64>(),
            Criterion::Entropy | Criterion::LogLoss => -s
                .iter()
                .filter(|&&c| c > 0.0)
                .map(|c| (c / w) * (c / w).log2())
                .sum::<f64>(),
            Criterion::SquaredError => s[2] / w - (s[1] / w) * (s[1] / w),
        }
    }

    /// What a child adds to the split's proxy cost (lower is better): weighted impurity for
    /// classification, `-(Σwy)²/Σw` for squared error (scikit-learn's proxy).
    fn child_cost(criterion: Criterion, s: &[f64], w: f64) -> f64 {
        match criterion {
            Criterion::Gini => w - s.iter().map(|c| c * c).sum::<f64>() / w,
            Criterion::Entropy | Criterion::LogLoss => -s
                .iter()
                .filter(|&&c| c > 0.0)
                .map(|c| c * (c / w).log2())
                .sum::<f64>(),
            Criterion::SquaredError => -(s[1] * s[1]) / w,
        }
    }

    /// Builds the histogram of feature `f` over `rows[start..end]`; `touched` lists the bins
    /// present, ascending.
    fn build_hist(&mut self, f: usize, start: usize, end: usize) {
        let col = self.data.col(f);
        let rows = &self.rows[start..end];
        let w = &self.w[start..end];
        if self.classes {
            let k = self.width;
            for ((&r, &wi), &c) in rows.iter().zip(w).zip(&self.yc[start..end]) {
                let b = col[r as usize] as usize;
                if self.cnt[b] == 0 {
                    self.touched.push(b as u8);
                }
                self.cnt[b] += 1;
                self.hist[b * k + c as usize] += wi;
            }
        } else {
            for ((&r, &wi), &y) in rows.iter().zip(w).zip(&self.yr[start..end]) {
                let b = col[r as usize] as usize;
                if self.cnt[b] == 0 {
                    self.touched.push(b as u8);
                }
                self.cnt[b] += 1;
                let h = &mut self.hist[b * 3..b * 3 + 3];
                h[0] += wi;
                h[1] += wi * y;
                h[2] += wi * y * y;
            }
        }
        self.touched.sort_unstable();
    }

    fn clear_hist(&mut self) {
        let k = self.width;
        for &b in &self.touched {
            let b = b as usize;
            self.cnt[b] = 0;
            self.hist[b * k..(b + 1) * k]
                .iter_mut()
                .for_each(|v| *v = 0.0);
        }
        self.touched.clear();
    }

    /// The best split of the node over sampled features (scikit-learn's sampling: features
    /// are drawn without replacement, each draw counting towards `max_features` whether or
    /// not the feature is constant in the node, and past it only until one non-constant
    /// feature was drawn).
    /// Leaves the left child's statistics in `best_left`.
    fn find_split(
        &mut self,
        start: usize,
        end: usize,
        total: &[f64],
        rng: &mut ChaCha8Rng,
    ) -> Option<Split> {
        let nf = self.order.len();
        let total_count = (end - start) as u32;
        let mut best: Option<Split> = None;
        // scikit-learn's count: every drawn feature is a visit, constant or not, and the
        // search goes on past `max_features` only until one non-constant feature was seen.
        let mut visited = 0usize;
        let mut non_constant = 0usize;
        let mut i = 0usize;
        while i < nf && (visited < self.cfg.max_features || non_constant == 0) {
            let j = rng.random_range(i..nf);
            self.order.swap(i, j);
            let f = self.order[i] as usize;
            i += 1;
            visited += 1;
            let found = if self.cfg.random_splits {
                // Extra trees need no histogram: one pass over the node's raw values.
                match self.random_split(f, start, end, total, total_count, rng) {
                    Drawn::Constant => continue,
                    Drawn::Visited(found) => found,
                }
            } else {
                self.build_hist(f, start, end);
                let nan_bin = self.features[f].nan_bin;
                let has_nan = nan_bin.is_some() && self.touched.last().copied() == nan_bin;
                let n_value_bins = self.touched.len() - usize::from(has_nan);
                if n_value_bins == 0 || (n_value_bins == 1 && !has_nan) {
                    self.clear_hist();
                    continue;
                }
                let found = if self.cfg.categorical[f].is_some() {
                    self.best_category_split_of(f, n_value_bins, has_nan, total, total_count)
                } else {
                    self.best_split_of(f, n_value_bins, has_nan, total, total_count)
                };
                self.clear_hist();
                found
            };
            non_constant += 1;
            if let Some(s) = found {
                if best.as_ref().is_none_or(|b| s.cost < b.cost) {
                    best = Some(s);
                    self.best_left.copy_from_slice(&self.left);
                }
            }
        }
        // `left` holds the candidate's statistics when it was recorded; `best_left` keeps the
        // winner's.
        best
    }

    /// Cost of sending `left` (plus NaN rows when `nan_left`) left; `None` if a child is too
    /// small. Leaves the left statistics in `self.left`.
    #[allow(clippy::too_many_arguments)]
    fn candidate(
        &mut self,
        acc: &[f64],
        acc_count: u32,
        nan_left: bool,
        nan_bin: Option<u8>,
        total: &[f64],
        total_count: u32,
    ) -> Option<(f64, u32)> {
        let k = self.width;
        self.left.copy_from_slice(acc);
        let mut lc = acc_count;
        if nan_left {
            let nb = nan_bin? as usize;
            for (l, h) in self.left.iter_mut().zip(&self.hist[nb * k..(nb + 1) * k]) {
                *l += h;
            }
            lc += self.cnt[nb];
        }
        let rc = total_count - lc;
        let msl = self.cfg.min_samples_leaf as u32;
        if lc < msl || rc < msl {
            return None;
        }
        let c = self.cfg.criterion;
        let wl = self.weight(&self.left);
        for ((r, t), l) in self.right.iter_mut().zip(total).zip(&self.left) {
            *r = t - l;
        }
        let wr = self.weight(&self.right);
        if wl <= 0.0 || wr <= 0.0 {
            return None;
        }
        Some((
            Self::child_cost(c, &self.left, wl) + Self::child_cost(c, &self.right, wr),
            lc,
        ))
    }

    /// The best split of feature `f` (histogram in place).
    fn best_split_of(
        &mut self,
        f: usize,
        n_value_bins: usize,
        has_nan: bool,
        total: &[f64],
        total_count: u32,
    ) -> Option<Split> {
        let k = self.width;
        let nan_bin = self.features[f].nan_bin;
        // Scratch buffers kept across calls (this runs once per visited feature per node).
        let mut acc = std::mem::take(&mut self.scan_acc);
        let mut best_left = std::mem::take(&mut self.scan_best);
        acc.clear();
        acc.resize(k, 0.0);
        best_left.clear();
        best_left.resize(k, 0.0);
        let mut acc_count = 0u32;
        let mut best: Option<Split> = None;
        for idx in 0..n_value_bins {
            let b = self.touched[idx] as usize;
            for (a, h) in acc.iter_mut().zip(&self.hist[b * k..(b + 1) * k]) {
                *a += h;
            }
            acc_count += self.cnt[b];
            let last = idx + 1 == n_value_bins;
            if last && !has_nan {
                break;
            }
            let options: &[bool] = if has_nan && !last {
                &[false, true]
            } else {
                &[false]
            };
            for &nan_left in options {
                if let Some((cost, _)) =
                    self.candidate(&acc, acc_count, nan_left, nan_bin, total, total_count)
                {
                    if best.as_ref().is_none_or(|s| cost < s.cost) {
                        best_left.copy_from_slice(&self.left);
                        best = Some(Split {
                            feature: f,
                            bin: b as u8,
                            drawn: None,
                            all_values_left: last,
                            cats: None,
                            missing_left: nan_left,
                            cost,
                        });
                    }
                }
            }
        }
        self.left.copy_from_slice(&best_left);
        self.scan_acc = acc;
        self.scan_best = best_left;
        best
    }

    /// The best split of categorical feature `f` (histogram in place) into two sets of
    /// categories, as LightGBM and scikit-learn's `HistGradientBoosting` find it: the node's
    /// categories are ordered by their mean response (the weighted share of class 1 for
    /// binary classification, the weighted mean for regression; ties by code) and every
    /// prefix of that order is tried as the left set, with NaN on either side. For these
    /// criteria the best prefix is the best of all `2^(k-1)` partitions (Breiman et al.,
    /// 1984, for two classes and for squared error).
    fn best_category_split_of(
        &mut self,
        f: usize,
        n_value_bins: usize,
        has_nan: bool,
        total: &[f64],
        total_count: u32,
    ) -> Option<Split> {
        let k = self.width;
        let nan_bin = self.features[f].nan_bin;
        let mut order = std::mem::take(&mut self.cat_order);
        order.clear();
        for &b in &self.touched[..n_value_bins] {
            let h = &self.hist[b as usize * k..(b as usize + 1) * k];
            let score = if self.classes {
                let w: f64 = h.iter().sum();
                if w > 0.0 { h[1] / w } else { 0.0 }
            } else if h[0] > 0.0 {
                h[1] / h[0]
            } else {
                0.0
            };
            order.push((score, b));
        }
        order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut acc = std::mem::take(&mut self.scan_acc);
        let mut best_left = std::mem::take(&mut self.scan_best);
        acc.clear();
        acc.resize(k, 0.0);
        best_left.clear();
        best_left.resize(k, 0.0);
        let mut acc_count = 0u32;
        let mut best: Option<(f64, usize, bool)> = None;
        for (idx, &(_, b)) in order.iter().enumerate().take(n_value_bins) {
            let b = b as usize;
            for (a, h) in acc.iter_mut().zip(&self.hist[b * k..(b + 1) * k]) {
                *a += h;
            }
            acc_count += self.cnt[b];
            let last = idx + 1 == n_value_bins;
            if last && !has_nan {
                break;
            }
            // With every category left, only "NaN right" is a split.
            let options: &[bool] = if has_nan && !last {
                &[false, true]
            } else {
                &[false]
            };
            for &nan_left in options {
                if let Some((cost, _)) =
                    self.candidate(&acc, acc_count, nan_left, nan_bin, total, total_count)
                {
                    if best.is_none_or(|(c, _, _)| cost < c) {
                        best_left.copy_from_slice(&self.left);
                        best = Some((cost, idx, nan_left));
                    }
                }
            }
        }
        self.left.copy_from_slice(&best_left);
        self.scan_acc = acc;
        self.scan_best = best_left;
        let split = best.map(|(cost, idx, nan_left)| {
            let mut bins = [0u64; 4];
            for &(_, b) in &order[..=idx] {
                bins[b as usize / 64] |= 1 << (b % 64);
            }
            Split {
                feature: f,
                bin: 0,
                drawn: None,
                all_values_left: false,
                cats: Some(bins),
                missing_left: nan_left,
                cost,
            }
        });
        self.cat_order = order;
        split
    }

    /// Extra trees, as scikit-learn's `RandomSplitter`: one threshold `u` drawn uniformly
    /// between the smallest and largest value of feature `f` in the node (`rows[start..end]`),
    /// values `<= u` going left, NaN to a random side. The rows are split by their raw values,
    /// not by bins, and constancy is judged on values too (scikit-learn's
    /// `FEATURE_THRESHOLD`), so a feature whose node values share one bin is still drawn from.
    /// With NaN and a single value, the draw is that value, and the split is rejected when
    /// NaN also goes left (nothing right), as in scikit-learn.
    fn random_split(
        &mut self,
        f: usize,
        start: usize,
        end: usize,
        total: &[f64],
        total_count: u32,
        rng: &mut ChaCha8Rng,
    ) -> Drawn {
        let col = self.x.col(f);
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        let mut n_missing = 0usize;
        for &r in &self.rows[start..end] {
            let v = col[r as usize];
            if v.is_nan() {
                n_missing += 1;
            } else {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
        let n = end - start;
        if n_missing == n || (n_missing == 0 && hi <= lo + FEATURE_THRESHOLD) {
            return Drawn::Constant;
        }
        // scikit-learn's draw: `lo + (hi - lo) * U[0, 1)`, and `lo` if that lands on `hi`.
        let mut u = if hi > lo {
            lo + (hi - lo) * rng.random::<f64>()
        } else {
            lo
        };
        let missing_left = n_missing > 0 && rng.random_bool(0.5);
        if u >= hi || u.is_nan() {
            u = lo;
        }
        if !u.is_finite() {
            // Only with infinite values; a threshold must stay finite (JSON).
            u = if u > 0.0 { f64::MAX } else { f64::MIN };
        }
        // The left side's statistics, in the scratch `best_split_of` uses.
        let mut acc = std::mem::take(&mut self.scan_acc);
        acc.clear();
        acc.resize(self.width, 0.0);
        let mut acc_count = 0u32;
        for i in start..end {
            let v = col[self.rows[i] as usize];
            let goes_left = if v.is_nan() { missing_left } else { v <= u };
            if goes_left {
                acc_count += 1;
                if self.classes {
                    acc[self.yc[i] as usize] += self.w[i];
                } else {
                    let (w, y) = (self.w[i], self.yr[i]);
                    acc[0] += w;
                    acc[1] += w * y;
                    acc[2] += w * y * y;
                }
            }
        }
        // NaN rows are already counted on their side.
        let found = self.candidate(&acc, acc_count, false, None, total, total_count);
        self.scan_acc = acc;
        let found = found.map(|(cost, _)| Split {
            feature: f,
            bin: 0,
            drawn: Some(u),
            all_values_left: false,
            cats: None,
            missing_left,
            cost,
        });
        Drawn::Visited(found)
    }

    /// Moves the rows going left to the front of `start..end`; returns where the right ones
    /// begin.
    fn partition(&mut self, start: usize, end: usize, s: &Split) -> usize {
        let col = self.data.col(s.feature);
        let raw = self.x.col(s.feature);
        let nan_bin = self.features[s.feature].nan_bin;
        // Drawn (extra-trees) splits go by raw value, best splits by bin.
        let goes_left = |r: u32| match s.drawn {
            Some(u) => {
                let v = raw[r as usize];
                if v.is_nan() { s.missing_left } else { v <= u }
            }
            None => {
                let b = col[r as usize];
                if Some(b) == nan_bin {
                    s.missing_left
                } else if let Some(bins) = &s.cats {
                    bins[b as usize / 64] >> (b % 64) & 1 == 1
                } else {
                    b <= s.bin
                }
            }
        };
        let mut i = start;
        let mut j = end;
        while i < j {
            if goes_left(self.rows[i]) {
                i += 1;
            } else {
                j -= 1;
                self.rows.swap(i, j);
                self.w.swap(i, j);
                if self.classes {
                    self.yc.swap(i, j);
                } else {
                    self.yr.swap(i, j);
                }
            }
        }
        i
    }
}

fn leaf_node(offset: u32) -> Node {
    Node {
        feature: LEAF,
        threshold: 0.0,
        child: offset,
        missing_left: false,
        cats: None,
    }
}

#[cfg(test)]
mod tests {
    //! Where a split's threshold lies between the node's own training values.

    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::super::model::{LEAF, Tree};
    use super::super::{DecisionTreeParams, ExtraTreesParams, ForestParams};
    use crate::{Estimator, FeatureMeta, Matrix, Params, Target, TrainData};

    /// Integer features 0..60 (so every value has a bin of its own) and a noisy label.
    fn data() -> (Matrix, Target) {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let n = 300;
        let cols: Vec<Vec<f64>> = (0..3)
            .map(|_| {
                (0..n)
                    .map(|_| f64::from(rng.random_range(0..60u32)))
                    .collect()
            })
            .collect();
        let labels = (0..n)
            .map(|i| {
                let s = cols[0][i] - 0.5 * cols[1][i] + rng.random_range(-15.0..15.0);
                u32::from(s > 15.0)
            })
            .collect();
        let x = Matrix::from_columns(cols).unwrap();
        (
            x,
            Target::Classes {
                labels,
                n_classes: 2,
            },
        )
    }

    /// Calls `check(lo, threshold, hi)` for every internal node reached by training rows,
    /// with `lo` / `hi` the largest / smallest training value of the split feature going left /
    /// right there.
    fn visit(tree: &Tree, x: &Matrix, check: &mut impl FnMut(f64, f64, f64)) {
        let mut stack = vec![(0usize, (0..x.n_rows()).collect::<Vec<_>>())];
        while let Some((i, rows)) = stack.pop() {
            let node = &tree.nodes[i];
            if node.feature == LEAF || rows.is_empty() {
                continue;
            }
            let f = node.feature as usize;
            let (left, right): (Vec<usize>, Vec<usize>) =
                rows.iter().partition(|&&r| x.get(r, f) <= node.threshold);
            let lo = left.iter().map(|&r| x.get(r, f)).fold(f64::MIN, f64::max);
            let hi = right.iter().map(|&r| x.get(r, f)).fold(f64::MAX, f64::min);
            if !left.is_empty() && !right.is_empty() {
                check(lo, node.threshold, hi);
            }
            stack.push((node.child as usize, left));
            stack.push((node.child as usize + 1, right));
        }
    }

    #[test]
    fn best_split_thresholds_are_midpoints_of_the_node_values() {
        let (x, y) = data();
        let feats: Vec<FeatureMeta> = (0..3)
            .map(|j| FeatureMeta::numeric(format!("x{j}")))
            .collect();
        let train = TrainData {
            x: &x,
            y: &y,
            features: &feats,
            weights: None,
        };
        let m = DecisionTreeParams::default()
            .check()
            .unwrap()
            .fit(&train, None)
            .unwrap();
        let (mut nodes, mut gaps) = (0, 0);
        visit(m.tree(), &x, &mut |lo, t, hi| {
            nodes += 1;
            // A gap of more than one integer: the bin boundary (lo + 0.5) is not the midpoint.
            gaps += usize::from(hi - lo > 1.0);
            assert_eq!(
                t,
                lo / 2.0 + hi / 2.0,
                "threshold {t} between {lo} and {hi}"
            );
        });
        assert!(nodes > 10 && gaps > 0, "{nodes} nodes, {gaps} with gaps");
    }

    #[test]
    fn extra_trees_thresholds_separate_the_node_values() {
        let (x, y) = data();
        let feats: Vec<FeatureMeta> = (0..3)
            .map(|j| FeatureMeta::numeric(format!("x{j}")))
            .collect();
        let train = TrainData {
            x: &x,
            y: &y,
            features: &feats,
            weights: None,
        };
        let params = ExtraTreesParams(ForestParams {
            n_estimators: 5,
            n_jobs: Some(1),
            ..Default::default()
        });
        let m = params.check().unwrap().fit(&train, None).unwrap();
        let mut off_boundary = 0;
        for tree in m.trees() {
            visit(tree, &x, &mut |lo, t, hi| {
                assert!(lo <= t && t < hi, "threshold {t} between {lo} and {hi}");
                off_boundary += usize::from(t != lo + 0.5);
            });
        }
        assert!(off_boundary > 0, "every threshold sat on a bin boundary");
    }
}
