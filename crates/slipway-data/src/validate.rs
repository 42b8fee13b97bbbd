//! Checking a [`Table`] against declared [`Rules`].
//!
//! [`validate`] never stops at the first problem: the [`ValidationReport`] lists every broken
//! rule with how many rows break it and the first few of them, so a user can fix a file in
//! one go. [`Rules::check`] rejects rules that contradict themselves before any data is read.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{DataType, Error, Result, Table};

/// How many offending rows a [`Violation`] lists.
pub const MAX_EXAMPLES: usize = 5;

/// What a table must satisfy. Deserializable from a config file (unknown keys are errors, so
/// a typo in a rule name is reported instead of silently ignored).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// Columns that must exist.
    #[serde(default)]
    pub required: Vec<String>,
    /// Rules per column. A column named here must exist.
    #[serde(default)]
    pub columns: BTreeMap<String, ColumnRules>,
    /// Whether two identical rows are an error.
    #[serde(default)]
    pub no_duplicate_rows: bool,
}

/// Rules for one column. Every rule that is set is checked.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnRules {
    /// The logical type the column must have. An integer column satisfies `float`.
    #[serde(rename = "type")]
    pub dtype: Option<DataType>,
    /// The smallest allowed value (numeric columns; booleans are 0/1, datetimes epoch
    /// milliseconds).
    pub min: Option<f64>,
    /// The largest allowed value (numeric columns, as for `min`).
    pub max: Option<f64>,
    /// The only values allowed, as text (`"1"` for the integer 1, `"true"` for a boolean).
    pub allowed: Option<Vec<String>>,
    /// The largest allowed fraction of missing values, in `[0, 1]`.
    pub max_missing_fraction: Option<f64>,
    /// Whether every non-missing value must be different.
    #[serde(default)]
    pub unique: bool,
    /// Whether the column must exist (any column named in [`Rules::columns`] must exist;
    /// this lets an entry say so without any other rule).
    #[serde(default)]
    pub required: bool,
}

impl Rules {
    /// True when there is nothing to check: no required column, no column rule (a column
    /// named with no rule set still must exist, so it counts) and no duplicate-row rule.
    pub fn is_empty(&self) -> bool {
        self.required.is_empty() && self.columns.is_empty() && !self.no_duplicate_rows
    }

    /// Rejects rules that could never pass or make no sense: `min` above `max`, a bound that
    /// is not a finite number, a missing fraction outside `[0, 1]`, an empty `allowed` list,
    /// `min`/`max` on a column declared non-numeric, or an empty column name.
    pub fn check(&self) -> Result<()> {
        let bad = |column: &str, msg: String| {
            Err(Error::InvalidRules(format!("column \"{column}\": {msg}")))
        };
        for name in &self.required {
            if name.is_empty() {
                return Err(Error::InvalidRules(
                    "required lists an empty column name".into(),
                ));
            }
        }
        for (name, r) in &self.columns {
            if name.is_empty() {
                return Err(Error::InvalidRules(
                    "columns has an entry with an empty name".into(),
                ));
            }
            for (rule, bound) in [("min", r.min), ("max", r.max)] {
                if let Some(b) = bound {
                    if !b.is_finite() {
                        return bad(name, format!("{rule} must be a finite number, not {b}"));
                    }
                    if let Some(t) = r.dtype.filter(|t| !t.is_numeric()) {
                        return bad(
                            name,
                            format!("rule {rule} needs a numeric column, but type is {t}"),
                        );
                    }
                }
            }
            if let (Some(lo), Some(hi)) = (r.min, r.max) {
                if lo > hi {
                    return bad(name, format!("min {lo} is greater than max {hi}"));
                }
            }
            if let Some(f) = r.max_missing_fraction.filter(|f| !(0.0..=1.0).contains(f)) {
                return bad(name, format!("max_missing_fraction {f} is outside [0, 1]"));
            }
            if r.allowed.as_ref().is_some_and(|a| a.is_empty()) {
                return bad(name, "allowed is empty, so no value could pass".into());
            }
        }
        Ok(())
    }
}

/// Every broken rule found in one table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationReport {
    /// Rows in the table checked.
    pub n_rows: usize,
    /// The broken rules, in order: required columns, then each column's rules (columns in
    /// name order), then duplicate rows.
    pub violations: Vec<Violation>,
}

impl ValidationReport {
    /// Whether every rule passed.
    pub fn is_ok(&self) -> bool {
        self.violations.is_empty()
    }
}

impl fmt::Display for ValidationReport {
    /// One line per violation; a single line saying all rules pass when none is broken.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_ok() {
            return write!(f, "all rules pass ({} rows)", self.n_rows);
        }
        for (i, v) in self.violations.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{v}")?;
        }
        Ok(())
    }
}

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Violation {
    /// The column, or `None` for a rule about whole rows.
    pub column: Option<String>,
    /// The rule: `required`, `type`, `min`, `max`, `allowed`, `max_missing_fraction`,
    /// `unique` or `no_duplicate_rows`.
    pub rule: String,
    /// What is wrong, in words.
    pub message: String,
    /// How many rows break the rule (for a rule about the column as a whole, such as a
    /// missing column, 1).
    pub count: usize,
    /// The first [`MAX_EXAMPLES`] offending rows.
    pub examples: Vec<Example>,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(c) = &self.column {
            write!(f, "column \"{c}\": ")?;
        }
        write!(f, "[{}] {}", self.rule, self.message)?;
        if !self.examples.is_empty() {
            let shown: Vec<String> = self
                .examples
                .iter()
                .map(|e| match &e.value {
                    Some(v) => format!("row {} ({v:?})", e.row),
                    None => format!("row {} (missing)", e.row),
                })
                .collect();
            let more = if self.count > self.examples.len() {
                ", ..."
            } else {
                ""
            };
            write!(f, "; {}{more}", shown.join(", "))?;
        }
        Ok(())
    }
}

/// One offending row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Example {
    /// The 1-based data row (the header is not counted).
    pub row: usize,
    /// The value there, as text; `None` when missing.
    pub value: Option<String>,
}

/// Checks every rule against `table` and reports all that are broken.
pub fn validate(table: &Table, rules: &Rules) -> ValidationReport {
    let schema = table.schema();
    let mut violations = Vec::new();
    let mut reported_missing = BTreeSet::new();
    let required = rules
        .required
        .iter()
        .chain(rules.columns.keys())
        .map(String::as_str);
    for name in required {
        if schema.field(name).is_none() && reported_missing.insert(name) {
            violations.push(Violation {
                column: Some(name.to_string()),
                rule: "required".into(),
                message: format!(
                    "column \"{name}\" is missing; the columns are: {}",
                    schema.names().join(", ")
                ),
                count: 1,
                examples: Vec::new(),
            });
        }
    }
    for (name, r) in &rules.columns {
        if schema.field(name).is_some() {
            check_column(table, name, r, &mut violations);
        }
    }
    if rules.no_duplicate_rows {
        violations.extend(duplicate_rows(table));
    }
    ValidationReport {
        n_rows: table.n_rows(),
        violations,
    }
}

/// A column's values as text (missing as `None`), borrowing where the column holds strings.
fn texts<'a>(table: &'a Table, name: &str) -> Vec<Option<Cow<'a, str>>> {
    if let Ok(values) = table.string_values(name) {
        return values.into_iter().map(|v| v.map(Cow::Borrowed)).collect();
    }
    (0..table.n_rows())
        .map(|row| {
            table
                .display_value(name, row)
                .ok()
                .flatten()
                .map(Cow::Owned)
        })
        .collect()
}

/// Collects the rows where `bad` holds: their count and the first few as examples.
fn offending<'a>(
    values: impl Iterator<Item = (usize, Option<Cow<'a, str>>)>,
) -> (usize, Vec<Example>) {
    let mut count = 0;
    let mut examples = Vec::new();
    for (row, value) in values {
        count += 1;
        if examples.len() < MAX_EXAMPLES {
            examples.push(Example {
                row: row + 1,
                value: value.map(Cow::into_owned),
            });
        }
    }
    (count, examples)
}

fn violation(
    name: &str,
    rule: &str,
    message: String,
    count: usize,
    examples: Vec<Example>,
) -> Violation {
    Violation {
        column: Some(name.to_string()),
        rule: rule.into(),
        message,
        count,
        examples,
    }
}

fn check_column(table: &Table, name: &str, r: &ColumnRules, out: &mut Vec<Violation>) {
    let Some(field) = table.schema().field(name) else {
        return;
    };
    let actual = field.dtype;
    let n_rows = table.n_rows();
    let texts = texts(table, name);

    let type_ok =
        |want: DataType| actual == want || (actual == DataType::Integer && want == DataType::Float);
    if let Some(want) = r.dtype.filter(|w| !type_ok(*w)) {
        let string_like = matches!(actual, DataType::Categorical | DataType::Text);
        let parses_as_wanted = |v: &str| {
            string_like
                && (matches!(want, DataType::Categorical | DataType::Text)
                    || crate::ingest::parses_declared(v, want))
        };
        let (count, examples) = offending(
            texts
                .iter()
                .enumerate()
                .filter(|(_, v)| v.as_deref().is_some_and(|v| !parses_as_wanted(v)))
                .map(|(i, v)| (i, v.clone())),
        );
        let message = if count > 0 {
            format!("column is {actual}, expected {want}: {count} values are not {want}")
        } else {
            format!(
                "column is {actual}, expected {want}; its values all read as {want}, so \
                 declare the type when reading the file"
            )
        };
        out.push(violation(name, "type", message, count.max(1), examples));
    }

    let numbers = actual
        .is_numeric()
        .then(|| table.numeric_values(name).ok())
        .flatten();
    for (rule, bound) in [("min", r.min), ("max", r.max)] {
        let Some(bound) = bound else { continue };
        let Some(xs) = &numbers else {
            out.push(violation(
                name,
                rule,
                format!("rule {rule} needs a numeric column; \"{name}\" is {actual}"),
                1,
                Vec::new(),
            ));
            continue;
        };
        let breaks = |x: f64| if rule == "min" { x < bound } else { x > bound };
        let (count, examples) = offending(
            xs.iter()
                .enumerate()
                .filter(|(_, x)| !x.is_nan() && breaks(**x))
                .map(|(i, _)| (i, texts[i].clone())),
        );
        if count > 0 {
            let (side, word) = if rule == "min" {
                ("below", "minimum")
            } else {
                ("above", "maximum")
            };
            out.push(violation(
                name,
                rule,
                format!("{count} values are {side} the {word} {bound}"),
                count,
                examples,
            ));
        }
    }

    if let Some(allowed) = &r.allowed {
        let set: BTreeSet<&str> = allowed.iter().map(String::as_str).collect();
        let (count, examples) = offending(
            texts
                .iter()
                .enumerate()
                .filter(|(_, v)| v.as_deref().is_some_and(|v| !set.contains(v)))
                .map(|(i, v)| (i, v.clone())),
        );
        if count > 0 {
            let mut listed: Vec<&str> = allowed.iter().take(10).map(String::as_str).collect();
            if allowed.len() > 10 {
                listed.push("...");
            }
            out.push(violation(
                name,
                "allowed",
                format!(
                    "{count} values are not among the allowed values ({})",
                    listed.join(", ")
                ),
                count,
                examples,
            ));
        }
    }

    if let Some(limit) = r.max_missing_fraction {
        let missing = texts.iter().filter(|v| v.is_none()).count();
        let fraction = if n_rows == 0 {
            0.0
        } else {
            missing as f64 / n_rows as f64
        };
        if fraction > limit {
            let (_, examples) = offending(
                texts
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| v.is_none())
                    .map(|(i, _)| (i, None)),
            );
            out.push(violation(
                name,
                "max_missing_fraction",
                format!(
                    "{:.2}% of values are missing ({missing} of {n_rows} rows), more than the \
                     allowed {:.2}%",
                    100.0 * fraction,
                    100.0 * limit
                ),
                missing,
                examples,
            ));
        }
    }

    if r.unique {
        let mut seen: HashSet<&str> = HashSet::new();
        let repeats: Vec<usize> = texts
            .iter()
            .enumerate()
            .filter(|(_, v)| v.as_deref().is_some_and(|v| !seen.insert(v)))
            .map(|(i, _)| i)
            .collect();
        if !repeats.is_empty() {
            let (count, examples) = offending(repeats.iter().map(|&i| (i, texts[i].clone())));
            out.push(violation(
                name,
                "unique",
                format!("{count} rows repeat a value that appears in an earlier row"),
                count,
                examples,
            ));
        }
    }
}

fn duplicate_rows(table: &Table) -> Option<Violation> {
    let names = table.schema().names();
    let columns: Vec<Vec<Option<Cow<str>>>> = names.iter().map(|n| texts(table, n)).collect();
    let mut seen: HashMap<Vec<Option<&str>>, usize> = HashMap::new();
    let mut repeats = Vec::new();
    for row in 0..table.n_rows() {
        let key: Vec<Option<&str>> = columns.iter().map(|c| c[row].as_deref()).collect();
        match seen.get(&key) {
            Some(&first) => repeats.push((row, first)),
            None => {
                seen.insert(key, row);
            }
        }
    }
    if repeats.is_empty() {
        return None;
    }
    let (count, examples) = offending(
        repeats
            .iter()
            .map(|&(row, first)| (row, Some(Cow::Owned(format!("same as row {}", first + 1))))),
    );
    Some(Violation {
        column: None,
        rule: "no_duplicate_rows".into(),
        message: format!("{count} rows repeat an earlier row exactly"),
        count,
        examples,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Float64Array, Int64Array, StringArray};

    use super::*;
    use crate::{Field, Schema};

    fn table() -> Table {
        let schema = Schema::new(vec![
            Field::new("age", DataType::Integer),
            Field::new("city", DataType::Categorical),
            Field::new("score", DataType::Float),
        ])
        .unwrap();
        Table::new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![
                    Some(30),
                    Some(-1),
                    None,
                    Some(200),
                    Some(30),
                ])),
                Arc::new(StringArray::from(vec![
                    Some("Oslo"),
                    Some("Rome"),
                    Some("Paris"),
                    None,
                    Some("Oslo"),
                ])),
                Arc::new(Float64Array::from(vec![
                    Some(0.5),
                    Some(0.1),
                    Some(0.2),
                    Some(0.3),
                    Some(0.5),
                ])),
            ],
        )
        .unwrap()
    }

    #[test]
    fn clean_table_passes() {
        let rules: Rules = serde_json::from_str(
            r#"{"required": ["age"], "columns": {"score": {"type": "float", "min": 0, "max": 1}}}"#,
        )
        .unwrap();
        rules.check().unwrap();
        let report = validate(&table(), &rules);
        assert!(report.is_ok(), "{report}");
        assert_eq!(report.to_string(), "all rules pass (5 rows)");
    }

    #[test]
    fn min_max_report_rows_and_values() {
        let mut rules = Rules::default();
        rules.columns.insert(
            "age".into(),
            ColumnRules {
                min: Some(0.0),
                max: Some(120.0),
                ..Default::default()
            },
        );
        let report = validate(&table(), &rules);
        assert_eq!(report.violations.len(), 2);
        let min = &report.violations[0];
        assert_eq!((min.rule.as_str(), min.count), ("min", 1));
        assert_eq!(min.examples[0].row, 2);
        assert_eq!(min.examples[0].value.as_deref(), Some("-1"));
        assert_eq!(report.violations[1].examples[0].row, 4);
        assert!(report.to_string().contains("row 2 (\"-1\")"), "{report}");
    }

    #[test]
    fn unique_and_duplicates() {
        let rules: Rules = serde_json::from_str(
            r#"{"columns": {"city": {"unique": true}}, "no_duplicate_rows": true}"#,
        )
        .unwrap();
        let report = validate(&table(), &rules);
        let rules_broken: Vec<&str> = report.violations.iter().map(|v| v.rule.as_str()).collect();
        assert_eq!(rules_broken, ["unique", "no_duplicate_rows"]);
        assert_eq!(report.violations[0].examples[0].row, 5);
        assert_eq!(
            report.violations[1].examples[0].value.as_deref(),
            Some("same as row 1")
        );
    }

    #[test]
    fn check_rejects_nonsense() {
        let bad = |json: &str| {
            let rules: Rules = serde_json::from_str(json).unwrap();
            rules.check().unwrap_err().to_string()
        };
        assert!(bad(r#"{"columns": {"a": {"min": 5, "max": 1}}}"#).contains("greater than max"));
        assert!(bad(r#"{"columns": {"a": {"max_missing_fraction": 1.5}}}"#).contains("[0, 1]"));
        assert!(bad(r#"{"columns": {"a": {"allowed": []}}}"#).contains("allowed is empty"));
        assert!(
            bad(r#"{"columns": {"a": {"type": "categorical", "min": 1}}}"#)
                .contains("needs a numeric column")
        );
        assert!(serde_json::from_str::<Rules>(r#"{"columns": {"a": {"minimum": 1}}}"#).is_err());
    }
}
