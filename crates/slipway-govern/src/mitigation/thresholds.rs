//! Post-processing with per-group randomized thresholds: Fairlearn's `ThresholdOptimizer`
//! (Hardt, Price and Srebro, "Equality of opportunity in supervised learning", 2016) with
//! `objective="accuracy_score"`, `flip=False`, `tol=None`, ported step for step so that, on
//! the same scores, the chosen thresholds and probabilities are Fairlearn 0.15's.
//!
//! For each group, every threshold between distinct scores gives a point (demographic parity:
//! selection rate, accuracy; equalized odds: false positive rate, true positive rate); the
//! upper convex hull of those points is interpolated on a grid of `grid_size + 1` values of x
//! in [0, 1]. Demographic parity picks the x where the groups' accuracies weighted by group
//! size are highest; equalized odds takes the lowest TPR of the groups at each FPR and picks
//! the FPR where overall accuracy is highest, then mixes each group's point with the constant
//! predictor `x_best` (`p_ignore`) to land on the common TPR. A row of group `g` with score `s`
//! is positive with probability `p0·[op0(s)] + p1·[op1(s)]` (then mixed for equalized odds);
//! [`ThresholdRule::predict`] draws against that probability with a seeded generator.

use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::{Error, GroupCodes, Result};

/// The fairness constraint the thresholds satisfy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Constraint {
    /// Equal selection rates across groups.
    DemographicParity,
    /// Equal true and false positive rates across groups.
    EqualizedOdds,
}

impl Constraint {
    /// The constraint's name (as Fairlearn spells it).
    pub fn name(self) -> &'static str {
        match self {
            Constraint::DemographicParity => "demographic_parity",
            Constraint::EqualizedOdds => "equalized_odds",
        }
    }
}

/// What the thresholds maximize under the constraint (Fairlearn's `objective`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// `accuracy_score` (Fairlearn's default).
    #[default]
    AccuracyScore,
    /// `balanced_accuracy_score`: the mean of the true positive and true negative rates.
    BalancedAccuracyScore,
}

impl Objective {
    /// The objective's name (as Fairlearn spells it).
    pub fn name(self) -> &'static str {
        match self {
            Objective::AccuracyScore => "accuracy_score",
            Objective::BalancedAccuracyScore => "balanced_accuracy_score",
        }
    }

    /// Fairlearn's `METRIC_DICT[objective]` on confusion counts, same float operations.
    fn value(self, tp: f64, fp: f64, tn: f64, fneg: f64) -> f64 {
        match self {
            Objective::AccuracyScore => (tp + tn) / (tp + tn + fp + fneg),
            Objective::BalancedAccuracyScore => 0.5 * tp / (tp + fneg) + 0.5 * tn / (tn + fp),
        }
    }
}

/// `score > threshold` (Fairlearn's `ThresholdOperation(">", t)`; `t` may be ±∞).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Threshold(pub f64);

impl Threshold {
    fn fires(self, score: f64) -> f64 {
        if score > self.0 { 1.0 } else { 0.0 }
    }
}

/// One group's randomized rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupRule {
    /// The group.
    pub group: String,
    /// Weight of the first threshold.
    pub p0: f64,
    /// The first threshold.
    pub threshold0: Threshold,
    /// Weight of the second threshold (`1 - p0`).
    pub p1: f64,
    /// The second threshold.
    pub threshold1: Threshold,
    /// Equalized odds: the probability of answering with the constant `x_best` instead.
    pub p_ignore: f64,
}

/// The fitted post-processor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdRule {
    /// The protected column.
    pub column: String,
    /// The constraint.
    pub constraint: Constraint,
    /// What the thresholds maximize (absent in rules written before it was a choice:
    /// accuracy).
    #[serde(default)]
    pub objective: Objective,
    /// Grid size (Fairlearn's default 1000).
    pub grid_size: usize,
    /// The chosen x (selection rate, or false positive rate).
    pub x_best: f64,
    /// The objective there (accuracy for demographic parity; the common TPR for equalized
    /// odds).
    pub y_best: f64,
    /// One rule per group seen when fitting.
    pub groups: Vec<GroupRule>,
}

struct Point {
    x: f64,
    y: f64,
    threshold: f64,
}

/// Fairlearn's `_calculate_tradeoff_points` (flip off), sorted by (x, y).
fn tradeoff_points(
    scores: &[f64],
    labels: &[bool],
    constraint: Constraint,
    objective: Objective,
    group: &str,
    column: &str,
) -> Result<Vec<Point>> {
    let n = scores.len();
    let n_pos = labels.iter().filter(|&&l| l).count();
    let n_neg = n - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return Err(Error(format!(
            "group \"{group}\" of \"{column}\" has {} among its {n} rows: per-group thresholds need both classes in every group (Fairlearn: degenerate labels)",
            if n_pos == 0 {
                "no positive label"
            } else {
                "no negative label"
            }
        )));
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut s: Vec<f64> = order.iter().map(|&i| scores[i]).collect();
    let l: Vec<bool> = order.iter().map(|&i| labels[i]).collect();
    s.push(f64::NEG_INFINITY);
    let (nf, pf, ngf) = (n as f64, n_pos as f64, n_neg as f64);
    let mut points = Vec::new();
    let mut i = 0;
    let mut count = [0usize; 2];
    while i < n {
        let threshold = if points.is_empty() {
            f64::INFINITY
        } else {
            let t = s[i];
            while s[i] == t {
                count[usize::from(l[i])] += 1;
                i += 1;
            }
            (t + s[i]) / 2.0
        };
        let (fp, tp) = (count[0] as f64, count[1] as f64);
        let tn = ngf - fp;
        let (x, y) = match constraint {
            Constraint::DemographicParity => (
                (tp + fp) / nf,
                match objective {
                    Objective::AccuracyScore => (tp + tn) / nf,
                    Objective::BalancedAccuracyScore => objective.value(tp, fp, tn, pf - tp),
                },
            ),
            Constraint::EqualizedOdds => (fp / ngf, tp / pf),
        };
        points.push(Point { x, y, threshold });
    }
    points.sort_by(|a, b| a.x.total_cmp(&b.x).then(a.y.total_cmp(&b.y)));
    Ok(points)
}

/// Fairlearn's `_filter_points_to_get_convex_hull` (Andrew's monotone chain, upper hull).
fn upper_hull(points: Vec<Point>) -> Vec<Point> {
    let mut hull: Vec<Point> = Vec::new();
    for r2 in points {
        while hull.len() >= 2 {
            let (r0, r1) = (&hull[hull.len() - 2], &hull[hull.len() - 1]);
            if (r1.y - r0.y) * (r2.x - r0.x) <= (r2.y - r0.y) * (r1.x - r0.x) {
                hull.pop();
            } else {
                break;
            }
        }
        hull.push(r2);
    }
    hull
}

/// One grid point of a group's interpolated hull.
#[derive(Clone, Copy)]
struct Interp {
    y: f64,
    p0: f64,
    t0: f64,
    p1: f64,
    t1: f64,
}

/// Fairlearn's `_interpolate_curve` with `_get_interpolation_indices`.
fn interpolate(hull: &[Point], grid: &[f64]) -> Vec<Interp> {
    grid.iter()
        .enumerate()
        .map(|(k, &g)| {
            // searchsorted(side="right") - 1: the last hull x <= g.
            let mut idx = hull.partition_point(|p| p.x <= g) as isize - 1;
            if k > 0 && idx >= 0 && hull[idx as usize].x == g {
                idx -= 1;
            }
            let idx = idx.clamp(0, hull.len() as isize - 2) as usize;
            let (a, b) = (&hull[idx], &hull[idx + 1]);
            let p0 = (b.x - g) / (b.x - a.x);
            let p1 = 1.0 - p0;
            Interp {
                y: p0 * a.y + p1 * b.y,
                p0,
                t0: a.threshold,
                p1,
                t1: b.threshold,
            }
        })
        .collect()
}

/// numpy's `linspace(0, 1, grid_size + 1)`.
fn grid(grid_size: usize) -> Vec<f64> {
    let step = 1.0 / grid_size as f64;
    let mut g: Vec<f64> = (0..=grid_size).map(|i| i as f64 * step).collect();
    g[grid_size] = 1.0;
    g
}

/// numpy's `around(x, 15)`.
fn around15(x: f64) -> f64 {
    (x * 1e15).round_ties_even() / 1e15
}

/// The first index of the greatest value (pandas' `idxmax`, NaN skipped).
fn argmax(v: &[f64]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] || v[best].is_nan() {
            best = i;
        }
    }
    best
}

impl ThresholdRule {
    /// Fits per-group thresholds on `scores` (the base model's positive-class scores),
    /// `labels` and `groups` (group codes; groups without rows are left out), maximizing
    /// accuracy.
    pub fn fit(
        column: &str,
        constraint: Constraint,
        scores: &[f64],
        labels: &[bool],
        groups: &GroupCodes,
        grid_size: usize,
    ) -> Result<ThresholdRule> {
        Self::fit_objective(
            column,
            constraint,
            Objective::AccuracyScore,
            scores,
            labels,
            groups,
            grid_size,
        )
    }

    /// [`ThresholdRule::fit`] maximizing `objective`.
    pub fn fit_objective(
        column: &str,
        constraint: Constraint,
        objective: Objective,
        scores: &[f64],
        labels: &[bool],
        groups: &GroupCodes,
        grid_size: usize,
    ) -> Result<ThresholdRule> {
        let n = labels.len();
        if scores.len() != n || groups.codes.len() != n {
            return Err(Error(format!(
                "per-group thresholds by \"{column}\": {} scores and {} group values for {n} labels",
                scores.len(),
                groups.codes.len()
            )));
        }
        if n == 0 {
            return Err(Error(format!(
                "per-group thresholds by \"{column}\": no rows"
            )));
        }
        if grid_size == 0 {
            return Err(Error("grid_size: must be at least 1".into()));
        }
        if let Some(i) = scores.iter().position(|s| s.is_nan()) {
            return Err(Error(format!(
                "per-group thresholds by \"{column}\": the score of row {i} is NaN"
            )));
        }
        let x_grid = grid(grid_size);
        let mut curves = Vec::new();
        let mut names = Vec::new();
        let mut shares = Vec::new();
        for (g, name) in groups.names.iter().enumerate() {
            let rows: Vec<usize> = (0..n).filter(|&i| groups.codes[i] == g as u32).collect();
            if rows.is_empty() {
                continue;
            }
            let s: Vec<f64> = rows.iter().map(|&i| scores[i]).collect();
            let l: Vec<bool> = rows.iter().map(|&i| labels[i]).collect();
            let hull = upper_hull(tradeoff_points(
                &s, &l, constraint, objective, name, column,
            )?);
            curves.push(interpolate(&hull, &x_grid));
            names.push(name.clone());
            shares.push(rows.len() as f64 / n as f64);
        }
        let (i_best, x_best, y_best, p_ignore) = match constraint {
            Constraint::DemographicParity => {
                let overall: Vec<f64> = (0..x_grid.len())
                    .map(|k| {
                        curves
                            .iter()
                            .zip(&shares)
                            .fold(0.0, |acc, (c, p)| acc + p * c[k].y)
                    })
                    .collect();
                let i = argmax(&overall);
                (i, x_grid[i], overall[i], vec![0.0; curves.len()])
            }
            Constraint::EqualizedOdds => {
                let n_pos = labels.iter().filter(|&&l| l).count() as f64;
                let n_neg = n as f64 - n_pos;
                let y_min: Vec<f64> = (0..x_grid.len())
                    .map(|k| curves.iter().map(|c| c[k].y).fold(f64::INFINITY, f64::min))
                    .collect();
                let objective: Vec<f64> = x_grid
                    .iter()
                    .zip(&y_min)
                    .map(|(&x, &y)| {
                        let (fp, tn) = (n_neg * x, n_neg * (1.0 - x));
                        let (tp, fneg) = (n_pos * y, n_pos * (1.0 - y));
                        around15(objective.value(tp, fp, tn, fneg))
                    })
                    .collect();
                let i = argmax(&objective);
                let (x_best, y_best) = (x_grid[i], y_min[i]);
                let p_ignore = curves
                    .iter()
                    .map(|c| {
                        let (x, y) = (x_grid[i], c[i].y);
                        if y == x { 0.0 } else { (y - y_best) / (y - x) }
                    })
                    .collect();
                (i, x_best, y_best, p_ignore)
            }
        };
        let groups = names
            .into_iter()
            .zip(&curves)
            .zip(p_ignore)
            .map(|((group, c), p_ignore)| {
                let r = c[i_best];
                GroupRule {
                    group,
                    p0: r.p0,
                    threshold0: Threshold(r.t0),
                    p1: r.p1,
                    threshold1: Threshold(r.t1),
                    p_ignore,
                }
            })
            .collect();
        Ok(ThresholdRule {
            column: column.to_string(),
            constraint,
            objective,
            grid_size,
            x_best,
            y_best,
            groups,
        })
    }

    /// The rule of a group, if it was seen when fitting.
    pub fn rule(&self, group: &str) -> Option<&GroupRule> {
        self.groups.iter().find(|g| g.group == group)
    }

    /// The probability that a row of `group` with `score` is predicted positive (Fairlearn's
    /// `_pmf_predict`); `None` for a group not seen when fitting.
    pub fn probability(&self, group: &str, score: f64) -> Option<f64> {
        let r = self.rule(group)?;
        let p = r.p0 * r.threshold0.fires(score) + r.p1 * r.threshold1.fires(score);
        Some(match self.constraint {
            Constraint::DemographicParity => p,
            Constraint::EqualizedOdds => r.p_ignore * self.x_best + (1.0 - r.p_ignore) * p,
        })
    }

    /// Randomized predictions: row `i` is positive when its probability is at least a
    /// uniform draw of a ChaCha8 stream seeded by `seed` (one draw per row, in order, so the
    /// same seed and rows give the same answer). Rows whose group was not seen when fitting
    /// are an error naming the group.
    pub fn predict(&self, groups: &[String], scores: &[f64], seed: u64) -> Result<Vec<bool>> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        groups
            .iter()
            .zip(scores)
            .enumerate()
            .map(|(i, (g, &s))| {
                let p = self.probability(g, s).ok_or_else(|| self.unseen(g, i))?;
                let u: f64 = rng.random();
                Ok(p >= u)
            })
            .collect()
    }

    /// [`ThresholdRule::predict`] for rows `first_row..first_row + n` of a longer input:
    /// row `first_row + i` gets the draw [`row_draw`]`(seed, first_row + i)`, which is the
    /// one `predict` gives it on the whole input, so a file scored in chunks (in any order)
    /// answers as it would in one piece.
    pub fn predict_from(
        &self,
        groups: &[String],
        scores: &[f64],
        seed: u64,
        first_row: u64,
    ) -> Result<Vec<bool>> {
        groups
            .iter()
            .zip(scores)
            .enumerate()
            .map(|(i, (g, &s))| {
                let row = first_row + i as u64;
                let p = self
                    .probability(g, s)
                    .ok_or_else(|| self.unseen(g, row as usize))?;
                Ok(p >= row_draw(seed, row))
            })
            .collect()
    }

    /// The error for a group the thresholds were not fitted on.
    pub fn unseen(&self, group: &str, row: usize) -> Error {
        Error(format!(
            "row {row}: group \"{group}\" of \"{}\" was not seen when the per-group thresholds were fitted (groups: {})",
            self.column,
            self.groups
                .iter()
                .map(|g| g.group.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}

/// The uniform draw of row `row` in the ChaCha8 stream seeded by `seed` that
/// [`ThresholdRule::predict`] uses (each draw takes two 32-bit words of the stream), found
/// without drawing the rows before it.
pub fn row_draw(seed: u64, row: u64) -> f64 {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    rng.set_word_pos(2 * u128::from(row));
    rng.random()
}

/// A uniform draw keyed by `seed` and `key` (a prediction id): the first draw of a ChaCha8
/// generator whose 32-byte seed is `seed` (8 bytes, little-endian), then `key` (16 bytes,
/// little-endian), then zeros. The same seed and key always give the same draw, whatever
/// other rows are scored with it.
pub fn keyed_draw(seed: u64, key: u128) -> f64 {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    bytes[8..24].copy_from_slice(&key.to_le_bytes());
    rand_chacha::ChaCha8Rng::from_seed(bytes).random()
}
