//! Column summaries: counts, moments, quantiles, histograms and top categories.
//!
//! A [`Profile`] is stored with every model as its drift baseline, so it serializes without
//! NaN and is exactly reproducible: every statistic is computed from sorted values, which
//! makes a profile independent of row order. Quantiles and histograms follow numpy's
//! defaults (`np.quantile(method="linear")`, `np.histogram(bins=20)`) and the standard
//! deviation is pandas' sample one (`ddof=1`).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::html::{self, ChartOptions, Page};
use crate::{DataType, Role, Table};

/// The quantiles every [`NumericSummary`] reports.
pub const QUANTILES: [f64; 7] = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99];
/// Bins in every [`Histogram`].
pub const HISTOGRAM_BINS: usize = 20;
/// Categories listed by name in a [`CategorySummary`]; the rest are counted in `other`.
pub const TOP_CATEGORIES: usize = 20;

/// A summary of every column of a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// Rows in the table.
    pub n_rows: usize,
    /// One summary per column, in table order.
    pub columns: Vec<ColumnProfile>,
}

impl Profile {
    /// The summary of column `name`.
    pub fn column(&self, name: &str) -> Option<&ColumnProfile> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// A summary of one column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnProfile {
    /// The column name.
    pub name: String,
    /// Its logical type.
    pub dtype: DataType,
    /// Its role.
    pub role: Role,
    /// Non-missing values.
    pub count: usize,
    /// Missing values (for floats, NaN counts as missing).
    pub missing: usize,
    /// Distinct non-missing values.
    pub distinct: usize,
    /// For numeric columns (integer, float, boolean as 0/1, datetime as epoch
    /// milliseconds) with at least one value.
    pub numeric: Option<NumericSummary>,
    /// For categorical, text and boolean columns.
    pub categories: Option<CategorySummary>,
}

/// Moments, quantiles and a histogram of a numeric column's non-missing values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumericSummary {
    /// The mean.
    pub mean: f64,
    /// The sample standard deviation (`ddof = 1`, like pandas); 0 for a single value.
    pub std: f64,
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
    /// The [`QUANTILES`], linearly interpolated like numpy's default.
    pub quantiles: Vec<Quantile>,
    /// [`HISTOGRAM_BINS`] equal-width bins from `min` to `max`, like `numpy.histogram`.
    pub histogram: Histogram,
}

impl NumericSummary {
    /// The value at quantile `q`, if `q` is one of the [`QUANTILES`].
    pub fn quantile(&self, q: f64) -> Option<f64> {
        self.quantiles.iter().find(|x| x.q == q).map(|x| x.value)
    }
}

/// One quantile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quantile {
    /// The probability, in `[0, 1]`.
    pub q: f64,
    /// The value below which that fraction of values falls.
    pub value: f64,
}

/// Counts of values in equal-width bins. Bin `i` holds `edges[i] <= x < edges[i + 1]`; the
/// last bin also holds its right edge. When all values are equal the bins span
/// `value ± 0.5`, as in numpy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    /// Bin edges; one more than the counts.
    pub edges: Vec<f64>,
    /// Values per bin.
    pub counts: Vec<u64>,
}

/// The most frequent values of a column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategorySummary {
    /// Up to [`TOP_CATEGORIES`] values, most frequent first, ties by value.
    pub top: Vec<CategoryCount>,
    /// Non-missing values not in `top`.
    pub other: u64,
}

/// One value and how often it occurs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryCount {
    /// The value.
    pub value: String,
    /// Occurrences.
    pub count: u64,
}

/// Summarizes every column of `table`.
pub fn profile(table: &Table) -> Profile {
    Profile {
        n_rows: table.n_rows(),
        columns: table
            .schema()
            .fields
            .iter()
            .map(|f| profile_column(table, &f.name, f.dtype, f.role))
            .collect(),
    }
}

fn profile_column(table: &Table, name: &str, dtype: DataType, role: Role) -> ColumnProfile {
    let n_rows = table.n_rows();
    let mut column = ColumnProfile {
        name: name.to_string(),
        dtype,
        role,
        count: 0,
        missing: n_rows,
        distinct: 0,
        numeric: None,
        categories: None,
    };
    if dtype.is_numeric() {
        // A Table always stores numeric types as numbers, so this cannot fail.
        let mut xs: Vec<f64> = table
            .numeric_values(name)
            .unwrap_or_default()
            .into_iter()
            .filter(|x| !x.is_nan())
            // -0.0 and 0.0 are one value; `total_cmp` would order them apart.
            .map(|x| if x == 0.0 { 0.0 } else { x })
            .collect();
        xs.sort_by(f64::total_cmp);
        column.count = xs.len();
        column.missing = n_rows - xs.len();
        column.distinct = distinct_sorted(&xs);
        column.numeric = summarize(&xs);
        if dtype == DataType::Boolean {
            let trues = xs.iter().filter(|x| **x == 1.0).count() as u64;
            let falses = xs.len() as u64 - trues;
            column.categories = Some(top_categories(vec![
                ("true".to_string(), trues),
                ("false".to_string(), falses),
            ]));
        }
    } else {
        let values = table.string_values(name).unwrap_or_default();
        let mut counts: HashMap<&str, u64> = HashMap::new();
        for v in values.iter().flatten() {
            *counts.entry(v).or_default() += 1;
        }
        column.count = values.iter().flatten().count();
        column.missing = n_rows - column.count;
        column.distinct = counts.len();
        column.categories = Some(top_categories(
            counts
                .into_iter()
                .map(|(v, c)| (v.to_string(), c))
                .collect(),
        ));
    }
    column
}

fn distinct_sorted(xs: &[f64]) -> usize {
    if xs.is_empty() {
        0
    } else {
        1 + xs.windows(2).filter(|w| w[0] != w[1]).count()
    }
}

fn top_categories(mut counts: Vec<(String, u64)>) -> CategorySummary {
    counts.retain(|(_, c)| *c > 0);
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let other = counts.iter().skip(TOP_CATEGORIES).map(|(_, c)| c).sum();
    counts.truncate(TOP_CATEGORIES);
    CategorySummary {
        top: counts
            .into_iter()
            .map(|(value, count)| CategoryCount { value, count })
            .collect(),
        other,
    }
}

/// Sums with Neumaier's compensation, so that the order of terms barely matters and long
/// columns do not drift.
fn compensated_sum(xs: impl Iterator<Item = f64>) -> f64 {
    let (mut sum, mut carry) = (0.0f64, 0.0f64);
    for x in xs {
        let t = sum + x;
        if sum.abs() >= x.abs() {
            carry += (sum - t) + x;
        } else {
            carry += (x - t) + sum;
        }
        sum = t;
    }
    sum + carry
}

/// Statistics of sorted, finite values; `None` when there are none.
fn summarize(sorted: &[f64]) -> Option<NumericSummary> {
    let n = sorted.len();
    let (&min, &max) = (sorted.first()?, sorted.last()?);
    let mean = compensated_sum(sorted.iter().copied()) / n as f64;
    // Two passes: the mean first, then squared deviations from it (stable, unlike
    // sum-of-squares minus square-of-sum).
    let std = if n > 1 {
        (compensated_sum(sorted.iter().map(|x| (x - mean) * (x - mean))) / (n - 1) as f64).sqrt()
    } else {
        0.0
    };
    Some(NumericSummary {
        mean,
        std,
        min,
        max,
        quantiles: QUANTILES
            .iter()
            .map(|&q| Quantile {
                q,
                value: quantile_sorted(sorted, q),
            })
            .collect(),
        histogram: histogram_sorted(sorted, HISTOGRAM_BINS),
    })
}

/// numpy's default (`linear`) quantile of sorted values, including its way of
/// interpolating (from the nearer end when the weight is at least one half).
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    let virtual_index = (n - 1) as f64 * q;
    let below = virtual_index.floor();
    let gamma = virtual_index - below;
    let lo = (below.max(0.0) as usize).min(n - 1);
    let hi = (lo + 1).min(n - 1);
    let (a, b) = (sorted[lo], sorted[hi]);
    let diff = b - a;
    if gamma >= 0.5 {
        b - diff * (1.0 - gamma)
    } else {
        a + diff * gamma
    }
}

/// `numpy.histogram(values, bins)` of sorted, finite values: equal-width bins from the
/// smallest to the largest value (± 0.5 when they are equal), edges as `numpy.linspace`
/// computes them, and bin indices corrected against the edges the way numpy does.
pub fn histogram_sorted(sorted: &[f64], bins: usize) -> Histogram {
    let (mut first, mut last) = match (sorted.first(), sorted.last()) {
        (Some(&a), Some(&b)) => (a, b),
        _ => (0.0, 1.0),
    };
    if first == last {
        first -= 0.5;
        last += 0.5;
    }
    let step = (last - first) / bins as f64;
    let mut edges: Vec<f64> = (0..=bins).map(|i| i as f64 * step + first).collect();
    edges[bins] = last;
    let mut counts = vec![0u64; bins];
    let width = last - first;
    for &x in sorted {
        let mut i = (((x - first) / width) * bins as f64) as usize;
        if i >= bins {
            i = bins - 1;
        }
        if x < edges[i] && i > 0 {
            i -= 1;
        }
        if x >= edges[i + 1] && i != bins - 1 {
            i += 1;
        }
        counts[i] += 1;
    }
    Histogram { edges, counts }
}

/// Formats a statistic for display: integers without decimals, others to 4 significant
/// digits (scientific when very large or small).
fn fmt_stat(x: f64) -> String {
    html::format_number(x)
}

/// A self-contained HTML page (inline CSS and SVG, no scripts) showing `profile`: an
/// overview table, then one card per column with its statistics, a histogram for numeric
/// columns and a bar chart of the top categories.
pub fn render_html(profile: &Profile, title: &str) -> String {
    let mut page = Page::new(title);
    let overview_rows: Vec<Vec<String>> = profile
        .columns
        .iter()
        .map(|c| {
            vec![
                c.name.clone(),
                c.dtype.to_string(),
                role_name(c.role).to_string(),
                c.count.to_string(),
                format!("{} ({})", c.missing, percent(c.missing, profile.n_rows)),
                c.distinct.to_string(),
            ]
        })
        .collect();
    page.section(
        "Overview",
        format!(
            "<p>{} rows, {} columns.</p>{}",
            profile.n_rows,
            profile.columns.len(),
            html::table(
                &["column", "type", "role", "values", "missing", "distinct"],
                &overview_rows
            )
        ),
    );
    for c in &profile.columns {
        page.section(&c.name, column_card(c, profile.n_rows));
    }
    page.render()
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Feature => "feature",
        Role::Target => "target",
        Role::Id => "id",
        Role::Timestamp => "timestamp",
        Role::Protected => "protected",
        Role::Ignored => "ignored",
    }
}

fn percent(part: usize, whole: usize) -> String {
    if whole == 0 {
        "0%".into()
    } else {
        format!("{:.1}%", 100.0 * part as f64 / whole as f64)
    }
}

fn column_card(c: &ColumnProfile, n_rows: usize) -> String {
    let datetime = c.dtype == DataType::Datetime;
    let show = |x: f64| {
        if datetime {
            chrono::DateTime::from_timestamp_millis(x as i64)
                .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_else(|| fmt_stat(x))
        } else {
            fmt_stat(x)
        }
    };
    let mut stats = vec![
        vec!["type".to_string(), c.dtype.to_string()],
        vec!["role".to_string(), role_name(c.role).to_string()],
        vec!["values".to_string(), c.count.to_string()],
        vec![
            "missing".to_string(),
            format!("{} ({})", c.missing, percent(c.missing, n_rows)),
        ],
        vec!["distinct".to_string(), c.distinct.to_string()],
    ];
    let mut charts = String::new();
    if let Some(num) = &c.numeric {
        stats.push(vec!["mean".into(), show(num.mean)]);
        if !datetime {
            stats.push(vec!["std".into(), fmt_stat(num.std)]);
        }
        stats.push(vec!["min".into(), show(num.min)]);
        for q in &num.quantiles {
            stats.push(vec![format!("{}%", q.q * 100.0), show(q.value)]);
        }
        stats.push(vec!["max".into(), show(num.max)]);
        if c.dtype != DataType::Boolean {
            charts.push_str(&html::histogram(
                &num.histogram.edges,
                &num.histogram.counts,
                &ChartOptions {
                    title: "Distribution".into(),
                    x_label: if datetime {
                        format!("{} (epoch ms)", c.name)
                    } else {
                        c.name.clone()
                    },
                    y_label: "rows".into(),
                    width: 460,
                    height: 260,
                    ..ChartOptions::default()
                },
            ));
        }
    }
    if let Some(cats) = &c.categories {
        let mut labels: Vec<String> = cats.top.iter().map(|t| t.value.clone()).collect();
        let mut values: Vec<f64> = cats.top.iter().map(|t| t.count as f64).collect();
        if cats.other > 0 {
            labels.push("(other values)".into());
            values.push(cats.other as f64);
        }
        if c.missing > 0 {
            labels.push("(missing)".into());
            values.push(c.missing as f64);
        }
        charts.push_str(&html::bar_chart(
            &labels,
            &values,
            &ChartOptions {
                title: "Most frequent values".into(),
                x_label: "rows".into(),
                y_label: String::new(),
                width: 460,
                height: (40 + 22 * labels.len() as u32).max(120),
                ..ChartOptions::default()
            },
        ));
    }
    let stats: Vec<Vec<String>> = stats;
    format!(
        "<div class=\"card\"><div class=\"stats\">{}</div><div class=\"charts\">{charts}</div></div>",
        html::table(&["statistic", "value"], &stats)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_numpy_by_hand() {
        let xs = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile_sorted(&xs, 0.5), 2.5);
        assert_eq!(quantile_sorted(&xs, 0.0), 1.0);
        assert_eq!(quantile_sorted(&xs, 1.0), 4.0);
        assert!((quantile_sorted(&xs, 0.25) - 1.75).abs() < 1e-15);
    }

    #[test]
    fn histogram_puts_max_in_last_bin() {
        let h = histogram_sorted(&[0.0, 1.0, 2.0, 10.0], 20);
        assert_eq!(h.edges.len(), 21);
        assert_eq!(h.counts.iter().sum::<u64>(), 4);
        assert_eq!(h.counts[19], 1);
        assert_eq!(h.counts[0], 1);
        assert_eq!(h.counts[2], 1);
        assert_eq!(h.counts[4], 1);
        let same = histogram_sorted(&[3.0, 3.0], 20);
        assert_eq!(same.edges[0], 2.5);
        assert_eq!(same.edges[20], 3.5);
        assert_eq!(same.counts[10], 2);
    }

    #[test]
    fn single_value_has_zero_std() {
        let s = summarize(&[5.0]).unwrap();
        assert_eq!((s.mean, s.std, s.min, s.max), (5.0, 0.0, 5.0, 5.0));
    }

    #[test]
    fn categories_sorted_by_count_then_value() {
        let c = top_categories(vec![("b".into(), 2), ("a".into(), 2), ("c".into(), 5)]);
        let order: Vec<&str> = c.top.iter().map(|t| t.value.as_str()).collect();
        assert_eq!(order, ["c", "a", "b"]);
    }
}
