//! Node covers of a grown tree: how many training rows reached each node.

use super::grow::GrownTree;

impl GrownTree {
    /// The rows that reached each internal node, then each leaf (exact partition counts,
    /// bagged rows only when bagging), as LightGBM's `internal_count` and `leaf_count`.
    pub(crate) fn covers(&self) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.nodes.len() + self.leaf_ranges.len());
        out.extend(
            self.nodes
                .iter()
                .map(|n| f64::from(n.split.left.n) + f64::from(n.split.right.n)),
        );
        out.extend(self.leaf_ranges.iter().map(|&(_, len)| len as f64));
        out
    }
}
