//! QuickScorer (Lucchese et al., SIGIR 2015): scoring a forest of trees of at most 64
//! leaves feature by feature instead of tree by tree.
//!
//! Every tree's leaves are numbered left to right and a row keeps one 64-bit word per tree,
//! all ones at the start. Each internal node carries a mask: its left subtree's leaves
//! cleared. For a row, every node whose test sends the row right ("false" nodes) clears its
//! left subtree from its tree's word; whatever the order, the lowest bit left set in a tree's
//! word is the leaf the row reaches (every leaf left of it lies in the left subtree of a node
//! on its path that goes right, and no node clears it). Numeric nodes of a feature are kept
//! sorted by threshold, so a row's false nodes of that feature (`threshold < x`) are a prefix
//! walked until the first true one: a scan with one unpredictable branch per feature instead
//! of one per node visited, which is where a tree walk spends its time.
//!
//! Categorical nodes of a feature are listed per category code: the nodes that code sends
//! right. A value that is not a valid code (NaN, negative, too large) and a NaN numeric value
//! have lists of their own.
//!
//! Leaf values are added to each output in tree order, as the tree walks add them, so the
//! scores are the same bits as theirs. A forest with a tree of more than 64 leaves, or
//! nodes this scheme does not cover, gets no scorer and is walked as before.

/// The largest category code range per feature kept in per-code lists (larger bitsets are
/// left to the tree walk).
const MAX_CODES: u32 = 1 << 14;

/// One internal node, as the builders describe it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Split<'a> {
    /// Goes left when `x <= threshold`; NaN goes left when `nan_left`.
    Numeric { threshold: f64, nan_left: bool },
    /// Goes left when the value is a valid code (see [`QuickScorer::new`]'s `cat_lo`) whose
    /// bit is set in `bits` (bit `c % 32` of word `c / 32`); anything else goes right.
    Categorical { bits: &'a [u32] },
}

/// An internal node: its split, its feature and its children (`>= 0` nodes, `< 0` leaves
/// `!child`), as the model's trees store them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Node<'a> {
    pub feature: u32,
    pub split: Split<'a>,
    pub left: i32,
    pub right: i32,
}

/// One tree, described for [`QuickScorer::new`].
pub(crate) struct TreeDesc<'a> {
    /// The output this tree adds to.
    pub group: u32,
    /// Internal nodes, root first; empty for a one-leaf tree.
    pub nodes: Vec<Node<'a>>,
    /// Leaf values, indexed by the trees' leaf numbers.
    pub leaf_values: &'a [f64],
}

/// Nodes of one feature with their trees and masks, in parallel arrays.
#[derive(Debug, Default)]
struct NodeList {
    trees: Vec<u32>,
    masks: Vec<u64>,
}

impl NodeList {
    fn push(&mut self, tree: u32, mask: u64) {
        self.trees.push(tree);
        self.masks.push(mask);
    }

    #[inline(always)]
    fn apply(&self, range: std::ops::Range<usize>, words: &mut [u64]) {
        let trees = &self.trees[range.clone()];
        let masks = &self.masks[range];
        for (&t, &m) in trees.iter().zip(masks) {
            words[t as usize] &= m;
        }
    }
}

/// The numeric nodes of one feature, sorted by threshold.
#[derive(Debug, Default)]
struct NumericFeature {
    feature: usize,
    thresholds: Vec<f64>,
    nodes: NodeList,
    /// The nodes that send NaN right.
    nan_right: NodeList,
}

/// The categorical nodes of one feature, listed per code.
#[derive(Debug, Default)]
struct CategoricalFeature {
    feature: usize,
    /// Codes `0..n_codes` have lists; other values are invalid.
    n_codes: u32,
    /// Code `c`'s nodes are `offsets[c]..offsets[c + 1]`; the invalid list is the last.
    offsets: Vec<u32>,
    nodes: NodeList,
}

/// A forest laid out for QuickScorer.
#[derive(Debug)]
pub(crate) struct QuickScorer {
    numeric: Vec<NumericFeature>,
    categorical: Vec<CategoricalFeature>,
    /// Per tree: its output and where its leaf values start in `leaf_values`.
    groups: Vec<u32>,
    value_base: Vec<u32>,
    leaf_values: Vec<f64>,
    /// The smallest value read as a category code (codes are the value truncated).
    cat_lo: f64,
    /// The same nodes as whole words per value range, when they fit in [`MAX_DENSE_WORDS`].
    dense: Option<Dense>,
}

/// The words of [`QuickScorer`] precomputed per feature and value range: for a numeric
/// feature with distinct thresholds `t_0 < … < t_{m-1}`, row `b` holds, for every tree, the
/// AND of the masks of its nodes on that feature with `t < x` for values with `b`
/// thresholds below them (row `m + 1` for NaN); for a categorical feature, row `c` those
/// code `c` sends right (row `n_codes` for an invalid value). A row is scored with one
/// binary search and one vectorized AND of `n_trees` words per feature.
#[derive(Debug)]
struct Dense {
    /// Per numeric feature: its column, distinct thresholds and first row in `words`.
    numeric: Vec<(usize, Vec<f64>, usize)>,
    /// Per categorical feature: its column, number of codes and first row in `words`.
    categorical: Vec<(usize, u32, usize)>,
    /// Rows of `n_trees` words.
    words: Vec<u64>,
}

/// Rows scored together by [`QuickScorer::add`].
const ROWS: usize = 8;

/// The most words the dense rows may take (16 MiB): beyond, nodes are scanned.
const MAX_DENSE_WORDS: usize = 1 << 21;

/// Each leaf's position left to right, and each node's mask (its left subtree's leaves
/// cleared); `None` for more than 64 leaves or nodes that do not form one tree.
fn number_leaves(tree: &TreeDesc<'_>) -> Option<(Vec<u32>, Vec<u64>)> {
    let ni = tree.nodes.len();
    let nl = ni + 1;
    if nl > 64 || tree.leaf_values.len() != nl {
        return None;
    }
    // Position (0..nl, left to right) of each leaf, and each node's leaf span.
    let mut position = vec![u32::MAX; nl];
    let mut span = vec![0u32; ni];
    if ni == 0 {
        position[0] = 0;
        return Some((position, Vec::new()));
    }
    let mut next = 0u32;
    // Iterative post-order: (node, children done).
    let mut stack = vec![(0i32, false)];
    let mut steps = 0usize;
    while let Some((c, done)) = stack.pop() {
        steps += 1;
        if steps > 4 * nl + 4 {
            return None;
        }
        if c < 0 {
            let l = (!c) as usize;
            if l >= nl || position[l] != u32::MAX {
                return None;
            }
            position[l] = next;
            next += 1;
            continue;
        }
        let i = c as usize;
        let n = tree.nodes.get(i)?;
        if !done {
            span[i] = next;
            stack.push((c, true));
            stack.push((n.right, false));
            stack.push((n.left, false));
        }
    }
    if next as usize != nl {
        return None;
    }
    // A node's left subtree spans from its start to its right child's start.
    let start_of = |c: i32, span: &[u32], position: &[u32]| {
        if c < 0 {
            position[(!c) as usize]
        } else {
            span[c as usize]
        }
    };
    let masks = tree
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let lo = span[i];
            let hi = start_of(n.right, &span, &position);
            let width = hi - lo;
            let left_bits = if width >= 64 {
                u64::MAX
            } else {
                ((1u64 << width) - 1) << lo
            };
            !left_bits
        })
        .collect();
    Some((position, masks))
}

impl QuickScorer {
    /// Lays out `trees` over `n_features` features, or `None` when a tree has more than 64
    /// leaves, a threshold is NaN or a categorical bitset is too wide. Category codes are the
    /// truncated values `x` with `cat_lo <= x < 32 · words`.
    pub(crate) fn new(trees: &[TreeDesc<'_>], n_features: usize, cat_lo: f64) -> Option<Self> {
        let mut numeric: Vec<NumericFeature> = (0..n_features)
            .map(|feature| NumericFeature {
                feature,
                ..Default::default()
            })
            .collect();
        // Per feature: (tree, mask, bits) of its categorical nodes.
        let mut cat_nodes: Vec<Vec<(u32, u64, &[u32])>> = vec![Vec::new(); n_features];
        let mut entries: Vec<Vec<(f64, u32, u64)>> = vec![Vec::new(); n_features];
        let mut groups = Vec::with_capacity(trees.len());
        let mut value_base = Vec::with_capacity(trees.len());
        let mut leaf_values = Vec::new();
        for (t, tree) in trees.iter().enumerate() {
            let (position, masks) = number_leaves(tree)?;
            let t = u32::try_from(t).ok()?;
            groups.push(tree.group);
            value_base.push(u32::try_from(leaf_values.len()).ok()?);
            let base = leaf_values.len();
            leaf_values.resize(base + tree.leaf_values.len(), 0.0);
            for (l, &p) in position.iter().enumerate() {
                leaf_values[base + p as usize] = tree.leaf_values[l];
            }
            for (n, &mask) in tree.nodes.iter().zip(&masks) {
                let f = n.feature as usize;
                if f >= n_features {
                    return None;
                }
                match n.split {
                    Split::Numeric {
                        threshold,
                        nan_left,
                    } => {
                        if threshold.is_nan() {
                            return None;
                        }
                        entries[f].push((threshold, t, mask));
                        if !nan_left {
                            numeric[f].nan_right.push(t, mask);
                        }
                    }
                    Split::Categorical { bits } => {
                        if bits.len() as u64 * 32 > u64::from(MAX_CODES) {
                            return None;
                        }
                        cat_nodes[f].push((t, mask, bits));
                    }
                }
            }
        }
        for (nf, mut e) in numeric.iter_mut().zip(entries) {
            // Stable: equal thresholds keep tree order (any order gives the same words).
            e.sort_by(|a, b| a.0.total_cmp(&b.0));
            for (threshold, t, mask) in e {
                nf.thresholds.push(threshold);
                nf.nodes.push(t, mask);
            }
        }
        numeric.retain(|f| !f.thresholds.is_empty() || !f.nan_right.trees.is_empty());
        let categorical = cat_nodes
            .into_iter()
            .enumerate()
            .filter(|(_, nodes)| !nodes.is_empty())
            .map(|(feature, nodes)| {
                let n_codes = nodes
                    .iter()
                    .map(|(_, _, bits)| bits.len() as u32 * 32)
                    .max()
                    .unwrap_or(0);
                let mut offsets = Vec::with_capacity(n_codes as usize + 2);
                let mut list = NodeList::default();
                for c in 0..n_codes {
                    offsets.push(list.trees.len() as u32);
                    for &(t, mask, bits) in &nodes {
                        let w = (c / 32) as usize;
                        let left = w < bits.len() && (bits[w] >> (c % 32)) & 1 == 1;
                        if !left {
                            list.push(t, mask);
                        }
                    }
                }
                // Invalid values go right at every node.
                offsets.push(list.trees.len() as u32);
                for &(t, mask, _) in &nodes {
                    list.push(t, mask);
                }
                offsets.push(list.trees.len() as u32);
                CategoricalFeature {
                    feature,
                    n_codes,
                    offsets,
                    nodes: list,
                }
            })
            .collect();
        let mut q = QuickScorer {
            numeric,
            categorical,
            groups,
            value_base,
            leaf_values,
            cat_lo,
            dense: None,
        };
        q.dense = q.dense();
        Some(q)
    }

    /// The dense rows, if they fit.
    fn dense(&self) -> Option<Dense> {
        let nt = self.n_trees();
        let numeric_rows: usize = self
            .numeric
            .iter()
            .map(|f| {
                let mut d = f.thresholds.clone();
                d.dedup();
                d.len() + 2
            })
            .sum();
        let categorical_rows: usize = self
            .categorical
            .iter()
            .map(|f| f.n_codes as usize + 1)
            .sum();
        if (numeric_rows + categorical_rows).saturating_mul(nt) > MAX_DENSE_WORDS {
            return None;
        }
        let mut words = Vec::with_capacity((numeric_rows + categorical_rows) * nt);
        let mut numeric = Vec::with_capacity(self.numeric.len());
        for f in &self.numeric {
            let first = words.len() / nt.max(1);
            let mut distinct = Vec::new();
            let mut cur = vec![u64::MAX; nt];
            words.extend_from_slice(&cur);
            let mut i = 0;
            while i < f.thresholds.len() {
                let t = f.thresholds[i];
                let mut j = i;
                while j < f.thresholds.len() && f.thresholds[j] == t {
                    j += 1;
                }
                f.nodes.apply(i..j, &mut cur);
                words.extend_from_slice(&cur);
                distinct.push(t);
                i = j;
            }
            let mut nan = vec![u64::MAX; nt];
            f.nan_right.apply(0..f.nan_right.trees.len(), &mut nan);
            words.extend_from_slice(&nan);
            numeric.push((f.feature, distinct, first));
        }
        let mut categorical = Vec::with_capacity(self.categorical.len());
        for f in &self.categorical {
            let first = words.len() / nt.max(1);
            for c in 0..=f.n_codes as usize {
                let mut cur = vec![u64::MAX; nt];
                f.nodes
                    .apply(f.offsets[c] as usize..f.offsets[c + 1] as usize, &mut cur);
                words.extend_from_slice(&cur);
            }
            categorical.push((f.feature, f.n_codes, first));
        }
        Some(Dense {
            numeric,
            categorical,
            words,
        })
    }

    /// Number of trees.
    pub(crate) fn n_trees(&self) -> usize {
        self.groups.len()
    }

    /// Adds every tree's output to `out` (row-major, `k` columns) for the rows of `rows`
    /// (row-major, `nf` columns).
    ///
    /// Rows go [`ROWS`] at a time: their words first, then the leaves tree by tree, each
    /// row's sums kept apart, so that the additions of different rows (each a chain that
    /// must run in tree order) overlap instead of waiting on one another.
    pub(crate) fn add(&self, k: usize, rows: &[f64], nf: usize, out: &mut [f64]) {
        let nt = self.n_trees();
        let nfs = nf.max(1);
        let mut words = vec![0u64; nt * ROWS];
        for (block, o) in out.chunks_mut(ROWS * k).enumerate() {
            let m = o.len() / k;
            let r0 = block * ROWS;
            for (j, w) in words.chunks_exact_mut(nt.max(1)).take(m).enumerate() {
                let r = r0 + j;
                self.clear_false(&rows[r * nfs..(r + 1) * nfs], &mut w[..nt]);
            }
            self.add_leaves(k, &words, m, o);
        }
    }

    /// Adds to the scores of `m` rows (`out`, row-major, `k` columns) the leaves their
    /// words (`m` runs of [`QuickScorer::n_trees`] in `words`) select, tree by tree.
    #[inline(always)]
    fn add_leaves(&self, k: usize, words: &[u64], m: usize, out: &mut [f64]) {
        let nt = self.n_trees();
        let leaf = |j: usize, t: usize| {
            self.leaf_values
                [self.value_base[t] as usize + words[j * nt + t].trailing_zeros() as usize]
        };
        if k == 1 && m == ROWS {
            // The sums in registers.
            let mut acc = [0.0f64; ROWS];
            acc.copy_from_slice(out);
            for t in 0..nt {
                for (j, a) in acc.iter_mut().enumerate() {
                    *a += leaf(j, t);
                }
            }
            out.copy_from_slice(&acc);
        } else if k == 1 {
            for (j, o) in out.iter_mut().enumerate() {
                let mut a = *o;
                for t in 0..nt {
                    a += leaf(j, t);
                }
                *o = a;
            }
        } else {
            for (t, &g) in self.groups.iter().enumerate() {
                for j in 0..m {
                    out[j * k + g as usize] += leaf(j, t);
                }
            }
        }
    }

    /// Clears from `words` (one per tree) the left subtrees of `row`'s false nodes: what is
    /// left set lowest in each word is the leaf the row reaches.
    #[inline]
    fn clear_false(&self, row: &[f64], words: &mut [u64]) {
        words.fill(u64::MAX);
        if let Some(d) = &self.dense {
            let nt = words.len();
            let mut and = |r: usize| {
                for (w, &m) in words.iter_mut().zip(&d.words[r * nt..(r + 1) * nt]) {
                    *w &= m;
                }
            };
            for (feature, thresholds, first) in &d.numeric {
                let x = row[*feature];
                let b = if x.is_nan() {
                    thresholds.len() + 1
                } else {
                    thresholds.partition_point(|&t| t < x)
                };
                and(first + b);
            }
            for &(feature, n_codes, first) in &d.categorical {
                let x = row[feature];
                let code = if x >= self.cat_lo && x < f64::from(n_codes) {
                    x as u32
                } else {
                    n_codes
                };
                and(first + code as usize);
            }
        } else {
            self.scan(row, words);
        }
    }

    /// Clears the words of `row`'s false nodes, feature by feature.
    fn scan(&self, row: &[f64], words: &mut [u64]) {
        for f in &self.numeric {
            let x = row[f.feature];
            if x.is_nan() {
                f.nan_right.apply(0..f.nan_right.trees.len(), words);
            } else {
                let i = f.thresholds.partition_point(|&t| t < x);
                f.nodes.apply(0..i, words);
            }
        }
        for f in &self.categorical {
            let x = row[f.feature];
            // NaN fails both comparisons.
            let code = if x >= self.cat_lo && x < f64::from(f.n_codes) {
                x as u32
            } else {
                f.n_codes
            } as usize;
            let (a, b) = (f.offsets[code] as usize, f.offsets[code + 1] as usize);
            f.nodes.apply(a..b, words);
        }
    }
}

/// A value built on first use and kept, that is not part of its owner's value: equal,
/// cloned and serialized as if absent.
pub(crate) struct Lazy<T>(std::sync::OnceLock<T>);

impl<T> Default for Lazy<T> {
    fn default() -> Self {
        Lazy(std::sync::OnceLock::new())
    }
}

impl<T> Lazy<T> {
    pub(crate) fn get_or_init(&self, f: impl FnOnce() -> T) -> &T {
        self.0.get_or_init(f)
    }
}

impl<T> Clone for Lazy<T> {
    fn clone(&self) -> Self {
        Lazy(std::sync::OnceLock::new())
    }
}

impl<T> PartialEq for Lazy<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<T> std::fmt::Debug for Lazy<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Lazy")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// A random tree of `leaves` leaves over `nf` features: numeric nodes on thresholds
    /// from a small set (so that rows hit them exactly), categorical nodes on features
    /// `>= nf / 2` with bitsets of 1 to 3 words.
    fn random_tree(rng: &mut ChaCha8Rng, leaves: usize, nf: u32) -> (Vec<Node<'static>>, Vec<f64>) {
        // Grow by splitting random leaves: `slots` are the (parent, is_left) of each leaf.
        let mut nodes: Vec<Node<'static>> = Vec::new();
        let mut slots: Vec<Option<(usize, bool)>> = vec![None];
        while slots.len() < leaves {
            let l = rng.random_range(0..slots.len());
            let feature = rng.random_range(0..nf);
            let split = if feature >= nf / 2 {
                let words = rng.random_range(1..4);
                let bits: Vec<u32> = (0..words).map(|_| rng.random()).collect();
                Split::Categorical {
                    bits: Box::leak(bits.into_boxed_slice()),
                }
            } else {
                Split::Numeric {
                    threshold: [-1.0, 0.0, 0.5, 1.0, 2.0, f64::INFINITY][rng.random_range(0..6)],
                    nan_left: rng.random(),
                }
            };
            let me = nodes.len();
            // The leaf becomes this node; its children are leaf `l` and a new leaf.
            let new_leaf = slots.len();
            nodes.push(Node {
                feature,
                split,
                left: !(l as i32),
                right: !(new_leaf as i32),
            });
            if let Some((p, is_left)) = slots[l] {
                if is_left {
                    nodes[p].left = me as i32;
                } else {
                    nodes[p].right = me as i32;
                }
            }
            slots[l] = Some((me, true));
            slots.push(Some((me, false)));
        }
        let values = (0..leaves).map(|_| rng.random_range(-1.0..1.0)).collect();
        (nodes, values)
    }

    fn walk(nodes: &[Node<'_>], values: &[f64], row: &[f64], cat_lo: f64) -> f64 {
        if nodes.is_empty() {
            return values[0];
        }
        let mut c = 0i32;
        while c >= 0 {
            let n = &nodes[c as usize];
            let v = row[n.feature as usize];
            let left = match n.split {
                Split::Numeric {
                    threshold,
                    nan_left,
                } => v <= threshold || (v.is_nan() && nan_left),
                Split::Categorical { bits } => {
                    if v >= cat_lo && v < bits.len() as f64 * 32.0 {
                        let code = v as u32;
                        (bits[(code / 32) as usize] >> (code % 32)) & 1 == 1
                    } else {
                        false
                    }
                }
            };
            c = if left { n.left } else { n.right };
        }
        values[!c as usize]
    }

    #[test]
    fn quickscorer_equals_a_tree_walk_bit_for_bit() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let nf = 6u32;
        let trees: Vec<(Vec<Node<'static>>, Vec<f64>)> = (0..40)
            .map(|t| {
                let leaves = [1, 2, 3, 17, 63, 64][t % 6];
                random_tree(&mut rng, leaves, nf)
            })
            .collect();
        let cells = [
            f64::NAN,
            f64::NEG_INFINITY,
            -1.0,
            -0.5,
            -0.0,
            0.0,
            0.5,
            0.7,
            1.0,
            2.0,
            31.0,
            33.9,
            95.0,
            96.0,
            1e12,
            f64::INFINITY,
        ];
        // Not a multiple of the rows scored together.
        let n = 2997;
        let mut rows = Vec::new();
        for _ in 0..n * nf as usize {
            rows.push(cells[rng.random_range(0..cells.len())]);
        }
        for (k, cat_lo) in [
            (1, 0.0),
            (2, f64::from_bits((-1.0f64).to_bits() - 1)),
            (3, 0.0),
        ] {
            let descs: Vec<TreeDesc<'_>> = trees
                .iter()
                .enumerate()
                .map(|(t, (nodes, values))| TreeDesc {
                    group: (t % k) as u32,
                    nodes: nodes.clone(),
                    leaf_values: values,
                })
                .collect();
            let mut q = QuickScorer::new(&descs, nf as usize, cat_lo).expect("covered");
            assert!(q.dense.is_some());
            // The dense rows, then the scan; all rows at once, then one by one.
            for dense in [true, false] {
                if !dense {
                    q.dense = None;
                }
                let mut out = vec![0.25; n * k];
                q.add(k, &rows, nf as usize, &mut out);
                let mut alone = vec![0.25; n * k];
                for (r, o) in alone.chunks_exact_mut(k).enumerate() {
                    q.add(
                        k,
                        &rows[r * nf as usize..(r + 1) * nf as usize],
                        nf as usize,
                        o,
                    );
                }
                for (r, row) in rows.chunks_exact(nf as usize).enumerate() {
                    let mut want = vec![0.25; k];
                    for (t, (nodes, values)) in trees.iter().enumerate() {
                        want[t % k] += walk(nodes, values, row, cat_lo);
                    }
                    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(
                        bits(&out[r * k..r * k + k]),
                        bits(&want),
                        "row {row:?}, k {k}, dense {dense}"
                    );
                    assert_eq!(
                        bits(&alone[r * k..r * k + k]),
                        bits(&want),
                        "alone: row {r}"
                    );
                }
            }
        }
    }

    #[test]
    fn trees_it_does_not_cover_get_no_scorer() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let (nodes, values) = random_tree(&mut rng, 65, 4);
        let desc = TreeDesc {
            group: 0,
            nodes,
            leaf_values: &values,
        };
        assert!(QuickScorer::new(std::slice::from_ref(&desc), 4, 0.0).is_none());
        let nan = [Node {
            feature: 0,
            split: Split::Numeric {
                threshold: f64::NAN,
                nan_left: true,
            },
            left: !0,
            right: !1,
        }];
        let desc = TreeDesc {
            group: 0,
            nodes: nan.to_vec(),
            leaf_values: &[1.0, 2.0],
        };
        assert!(QuickScorer::new(std::slice::from_ref(&desc), 1, 0.0).is_none());
        // A cycle, and a leaf reached twice.
        let cycle = [Node {
            feature: 0,
            split: Split::Numeric {
                threshold: 0.0,
                nan_left: true,
            },
            left: 0,
            right: !0,
        }];
        let desc = TreeDesc {
            group: 0,
            nodes: cycle.to_vec(),
            leaf_values: &[1.0, 2.0],
        };
        assert!(QuickScorer::new(std::slice::from_ref(&desc), 1, 0.0).is_none());
    }
}
