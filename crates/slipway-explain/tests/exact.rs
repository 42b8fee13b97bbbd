//! TreeSHAP against the definition: Shapley values by enumerating every coalition (at most 8
//! features), with the path-dependent value function `v(S)` = the tree's output when the
//! features in `S` follow the row and the others are averaged over the node covers. On random
//! trees (repeated features, zero-cover-free and with empty leaves, categorical and numeric
//! splits, NaN) and, in `forests.rs`, on trained trees and forests.

mod common;

use common::brute_force;
use proptest::prelude::*;
use slipway_explain::TreeShap;
use slipway_learn::Matrix;
use slipway_learn::trees::{Child, Ensemble, NodeView, RawSpace, Split, TreeView};

/// A random tree over `m` features: `n_internal` splits, covers that add up.
fn random_tree(seed: u64, m: usize, n_internal: usize, output: usize) -> TreeView {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    // Grow by splitting a random leaf; leaves carry (cover).
    let mut nodes: Vec<NodeView> = Vec::new();
    let mut leaf_covers: Vec<f64> = vec![1000.0];
    let mut leaf_parent: Vec<Option<(usize, bool)>> = vec![None];
    for _ in 0..n_internal {
        let l = (next() % leaf_covers.len() as u64) as usize;
        let cover = leaf_covers[l];
        let frac = 0.05 + 0.9 * (next() % 1000) as f64 / 1000.0;
        let feature = (next() % m as u64) as usize;
        let split = if next() % 4 == 0 {
            let mut left: Vec<u32> = (0..6).filter(|_| next() % 2 == 0).collect();
            left.dedup();
            Split::Categories {
                left,
                nan_left: next() % 2 == 0,
            }
        } else {
            Split::LessEqual {
                threshold: (next() % 100) as f64 / 100.0,
                nan_left: next() % 2 == 0,
            }
        };
        let ni = nodes.len();
        let r = leaf_covers.len();
        nodes.push(NodeView {
            feature,
            split,
            left: Child::Leaf(l),
            right: Child::Leaf(r),
        });
        if let Some((p, is_left)) = leaf_parent[l] {
            if is_left {
                nodes[p].left = Child::Node(ni);
            } else {
                nodes[p].right = Child::Node(ni);
            }
        }
        leaf_covers[l] = (cover * frac).round().max(1.0);
        leaf_covers.push((cover - leaf_covers[l]).max(1.0));
        leaf_parent[l] = Some((ni, true));
        leaf_parent.push(Some((ni, false)));
    }
    // Internal covers: sums of their leaves.
    fn sum(nodes: &[NodeView], leaves: &[f64], c: Child, out: &mut [f64]) -> f64 {
        match c {
            Child::Leaf(l) => leaves[l],
            Child::Node(i) => {
                let s = sum(nodes, leaves, nodes[i].left, out)
                    + sum(nodes, leaves, nodes[i].right, out);
                out[i] = s;
                s
            }
        }
    }
    let mut node_covers = vec![0.0; nodes.len()];
    if !nodes.is_empty() {
        sum(&nodes, &leaf_covers, Child::Node(0), &mut node_covers);
    }
    let leaf_values = (0..leaf_covers.len())
        .map(|_| (next() % 2001) as f64 / 1000.0 - 1.0)
        .collect();
    TreeView {
        output,
        nodes,
        leaf_values,
        node_covers,
        leaf_covers,
    }
}

fn ensemble(seed: u64, m: usize, trees: usize, leaves: usize, outputs: usize) -> Ensemble {
    Ensemble {
        n_features: m,
        n_outputs: outputs,
        base: (0..outputs).map(|k| 0.25 * k as f64 - 0.1).collect(),
        scale: if seed % 2 == 0 {
            1.0
        } else {
            1.0 / trees as f64
        },
        trees: (0..trees)
            .map(|t| random_tree(seed * 1000 + t as u64, m, leaves, t % outputs))
            .collect(),
        raw_space: RawSpace::Value,
        f32_sums: false,
    }
}

fn rows(seed: u64, m: usize, n: usize) -> Vec<Vec<f64>> {
    let mut s = seed | 1;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    (0..n)
        .map(|_| {
            (0..m)
                .map(|_| match next() % 10 {
                    0 => f64::NAN,
                    1..=3 => (next() % 7) as f64,
                    _ => (next() % 1000) as f64 / 1000.0,
                })
                .collect()
        })
        .collect()
}

fn check(e: &Ensemble, rows: &[Vec<f64>]) {
    let shap = TreeShap::new(e).unwrap();
    let m = e.n_features;
    let cols: Vec<Vec<f64>> = (0..m)
        .map(|j| rows.iter().map(|r| r[j]).collect())
        .collect();
    let x = Matrix::from_columns(cols).unwrap();
    let got = shap.explain(&x).unwrap();
    let w = shap.row_len();
    for (r, row) in rows.iter().enumerate() {
        let want = brute_force(e, row);
        let g = &got[r * w..(r + 1) * w];
        for (j, (a, b)) in g.iter().zip(&want).enumerate() {
            assert!(
                (a - b).abs() <= 1e-9,
                "row {r} value {j}: TreeSHAP {a}, enumeration {b}"
            );
        }
        let raw = e.raw(row);
        for k in 0..e.n_outputs {
            let s: f64 = g[k * (m + 1)..(k + 1) * (m + 1)].iter().sum();
            assert!((s - raw[k]).abs() <= 1e-9, "additivity: {s} vs {}", raw[k]);
        }
    }
}

#[test]
fn deep_trees_with_repeated_features_match_the_enumeration() {
    // 3 features, 40 splits: every path splits each feature many times.
    check(&ensemble(7, 3, 3, 40, 1), &rows(1, 3, 30));
    check(&ensemble(8, 8, 4, 63, 2), &rows(2, 8, 20));
}

#[test]
fn one_leaf_trees_add_to_the_base_only() {
    let mut e = ensemble(3, 4, 2, 5, 1);
    e.trees.push(TreeView {
        output: 0,
        nodes: Vec::new(),
        leaf_values: vec![0.75],
        node_covers: Vec::new(),
        leaf_covers: Vec::new(),
    });
    check(&e, &rows(3, 4, 10));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]
    #[test]
    fn random_ensembles_match_the_enumeration(
        seed in 0u64..1_000_000,
        m in 1usize..=8,
        trees in 1usize..4,
        leaves in 0usize..20,
        outputs in 1usize..3,
    ) {
        check(&ensemble(seed, m, trees, leaves, outputs), &rows(seed, m, 5));
    }
}

/// Interventional Shapley values by enumeration: `v(S)` = mean over background rows of the
/// model on the row's values in `S` and the background's elsewhere.
fn brute_force_interventional(e: &Ensemble, row: &[f64], bg: &[Vec<f64>]) -> Vec<f64> {
    let m = e.n_features;
    let fact = |n: usize| (1..=n).map(|v| v as f64).product::<f64>();
    let mut out = vec![0.0; e.n_outputs * (m + 1)];
    let v = |mask: usize| -> Vec<f64> {
        let mut acc = vec![0.0; e.n_outputs];
        for z in bg {
            let mixed: Vec<f64> = (0..m)
                .map(|j| if mask >> j & 1 == 1 { row[j] } else { z[j] })
                .collect();
            for (a, r) in acc.iter_mut().zip(e.raw(&mixed)) {
                *a += r / bg.len() as f64;
            }
        }
        acc
    };
    let values: Vec<Vec<f64>> = (0..1usize << m).map(v).collect();
    for k in 0..e.n_outputs {
        for i in 0..m {
            let mut phi = 0.0;
            for mask in 0..1usize << m {
                if mask >> i & 1 == 1 {
                    continue;
                }
                let s = mask.count_ones() as usize;
                phi += fact(s) * fact(m - s - 1) / fact(m)
                    * (values[mask | 1 << i][k] - values[mask][k]);
            }
            out[k * (m + 1) + i] = phi;
        }
        out[k * (m + 1) + m] = values[0][k];
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(30))]
    #[test]
    fn interventional_values_match_the_enumeration(
        seed in 0u64..1_000_000,
        m in 1usize..=7,
        trees in 1usize..4,
        leaves in 0usize..16,
        outputs in 1usize..3,
    ) {
        let e = ensemble(seed, m, trees, leaves, outputs);
        let bg = rows(seed + 1, m, 6);
        let x = rows(seed + 2, m, 4);
        let bgm = Matrix::from_columns((0..m).map(|j| bg.iter().map(|r| r[j]).collect()).collect()).unwrap();
        let xm = Matrix::from_columns((0..m).map(|j| x.iter().map(|r| r[j]).collect()).collect()).unwrap();
        let iv = slipway_explain::interventional::Interventional::new(&e, &bgm).unwrap();
        let got = iv.explain(&xm).unwrap();
        let w = iv.row_len();
        for (r, row) in x.iter().enumerate() {
            let want = brute_force_interventional(&e, row, &bg);
            for (j, (a, b)) in got[r * w..(r + 1) * w].iter().zip(&want).enumerate() {
                prop_assert!((a - b).abs() <= 1e-9, "row {} value {}: {} vs {}", r, j, a, b);
            }
            let raw = e.raw(row);
            for k in 0..e.n_outputs {
                let s: f64 = got[r * w + k * (m + 1)..r * w + (k + 1) * (m + 1)].iter().sum();
                prop_assert!((s - raw[k]).abs() <= 1e-9);
            }
        }
    }
}

#[test]
fn interventional_values_with_many_background_rows_match_the_enumeration() {
    // 130 background rows: a bitset of three words.
    for seed in [3u64, 4] {
        let m = 5;
        let e = ensemble(seed, m, 3, 25, 2);
        let bg = rows(seed + 10, m, 130);
        let x = rows(seed + 20, m, 6);
        let to_matrix = |r: &[Vec<f64>]| {
            Matrix::from_columns((0..m).map(|j| r.iter().map(|v| v[j]).collect()).collect())
                .unwrap()
        };
        let iv = slipway_explain::interventional::Interventional::new(&e, &to_matrix(&bg)).unwrap();
        let got = iv.explain(&to_matrix(&x)).unwrap();
        let w = iv.row_len();
        for (r, row) in x.iter().enumerate() {
            let want = brute_force_interventional(&e, row, &bg);
            for (j, (a, b)) in got[r * w..(r + 1) * w].iter().zip(&want).enumerate() {
                assert!((a - b).abs() <= 1e-9, "row {r} value {j}: {a} vs {b}");
            }
        }
    }
}

#[test]
fn linear_shap_matches_the_enumeration() {
    let m = 5;
    let coef = vec![
        vec![0.5, -1.25, 2.0, 0.0, 0.75],
        vec![-0.3, 0.2, 0.1, 1.5, -2.0],
    ];
    let intercept = vec![0.1, -0.4];
    let f = |x: &[f64]| -> Vec<f64> {
        coef.iter()
            .zip(&intercept)
            .map(|(c, b)| c.iter().zip(x).map(|(c, v)| c * v).sum::<f64>() + b)
            .collect()
    };
    let bg: Vec<Vec<f64>> = (0..7)
        .map(|i| {
            (0..m)
                .map(|j| ((i * 7 + j * 3) % 11) as f64 / 5.0)
                .collect()
        })
        .collect();
    let x: Vec<Vec<f64>> = (0..4)
        .map(|i| {
            (0..m)
                .map(|j| ((i * 5 + j) % 9) as f64 / 3.0 - 1.0)
                .collect()
        })
        .collect();
    let to_matrix = |r: &[Vec<f64>]| {
        Matrix::from_columns((0..m).map(|j| r.iter().map(|v| v[j]).collect()).collect()).unwrap()
    };
    let ls =
        slipway_explain::linear::LinearShap::new(coef.clone(), intercept.clone(), &to_matrix(&bg))
            .unwrap();
    let got = ls.explain(&to_matrix(&x)).unwrap();
    let w = ls.row_len();
    let fact = |n: usize| (1..=n).map(|v| v as f64).product::<f64>();
    for (r, row) in x.iter().enumerate() {
        let v = |mask: usize| -> Vec<f64> {
            let mut acc = vec![0.0; 2];
            for z in &bg {
                let mixed: Vec<f64> = (0..m)
                    .map(|j| if mask >> j & 1 == 1 { row[j] } else { z[j] })
                    .collect();
                for (a, s) in acc.iter_mut().zip(f(&mixed)) {
                    *a += s / bg.len() as f64;
                }
            }
            acc
        };
        for k in 0..2 {
            for i in 0..m {
                let mut phi = 0.0;
                for mask in (0..1usize << m).filter(|s| s >> i & 1 == 0) {
                    let s = mask.count_ones() as usize;
                    phi += fact(s) * fact(m - s - 1) / fact(m) * (v(mask | 1 << i)[k] - v(mask)[k]);
                }
                let a = got[r * w + k * (m + 1) + i];
                assert!(
                    (a - phi).abs() <= 1e-12,
                    "row {r} output {k} feature {i}: {a} vs {phi}"
                );
            }
            let total: f64 = got[r * w + k * (m + 1)..r * w + (k + 1) * (m + 1)]
                .iter()
                .sum();
            assert!((total - f(row)[k]).abs() <= 1e-12);
        }
    }
}
