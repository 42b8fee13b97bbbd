//! An A/B test's readout from the server's prediction log: the exposures are the logged
//! predictions with their `arm`, the outcomes the feedback that arrived by prediction id.
//!
//! The server reads the log's Parquet segments (I/O is its job) and hands each one to a
//! [`LoggedExposures`]: [`LoggedExposures::add_predictions`] keeps the rows of the
//! deployment's time window that a deployment routed (a non-null `arm`), with the named
//! covariate and segment fields; [`LoggedExposures::add_feedback`] keeps the latest label of
//! each prediction id; [`LoggedExposures::readout`] joins them and computes the
//! [`crate::readout::readout`] of the result.
//!
//! # The rules of the join
//!
//! - A prediction is one exposure. Rows in the window without an arm (served while no
//!   deployment routed the model) are counted as `unrouted`, never as exposures.
//! - The outcome of a prediction is the latest feedback label for its id (a later post
//!   corrects an earlier one); `1` / `0` / `true` / `false` are conversions, other numbers
//!   numeric outcomes; any other text is an error naming the prediction id.
//! - Rows are read in prediction order (their UUIDv7 ids are time-ordered), which is the
//!   order the mSPRT takes its looks in.
//! - The covariate (for CUPED) and the segment are logged input fields. The log stores an
//!   input named like one of its own columns as `input.<name>`; both spellings are looked up.
//! - Arm labels name the versions that answered in each arm (`version 3`).

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use slipway_data::Table;

use crate::assign::Arm;
use crate::readout::{Exposure, OutcomeKind, Readout, ReadoutOptions, number, readout};
use crate::{Error, Result};

/// Which logged input fields feed the readout besides the arm and the outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogFields {
    /// A pre-period covariate (a numeric input field) for CUPED.
    pub covariate: Option<String>,
    /// A segment field: the sample ratio is also checked within each of its values.
    pub segment: Option<String>,
}

/// The readout of a deployment, with what the join read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogReadout {
    /// The deployment.
    pub deployment: String,
    /// The window read (UTC milliseconds): from the deployment's creation to its end (or
    /// now, while it runs).
    pub since_ms: i64,
    /// See `since_ms`; `None` while the deployment runs.
    pub until_ms: Option<i64>,
    /// Predictions in the window that a deployment routed (the exposures).
    pub exposures: u64,
    /// Predictions in the window that no deployment routed (not exposures).
    pub unrouted: u64,
    /// Feedback labels read (the latest per prediction id), and how many of them matched an
    /// exposure.
    pub feedback: u64,
    /// See `feedback`.
    pub feedback_matched: u64,
    /// The fields used.
    pub fields: LogFields,
    /// The readout.
    pub readout: Readout,
}

struct Row {
    id: String,
    arm: Arm,
    covariate: Option<f64>,
    segment: Option<String>,
}

/// Exposures and outcomes gathered segment by segment (see the module documentation).
pub struct LoggedExposures {
    fields: LogFields,
    since_ms: i64,
    until_ms: Option<i64>,
    rows: Vec<Row>,
    unrouted: u64,
    versions: [BTreeSet<String>; 2],
    labels: HashMap<String, (i64, String)>,
}

/// The column of `table` that holds the logged input `name`.
fn input_column(table: &Table, name: &str, role: &str, source: &str) -> Result<String> {
    let prefixed = format!("input.{name}");
    if table.schema().field(&prefixed).is_some() {
        return Ok(prefixed);
    }
    if table.schema().field(name).is_some() {
        return Ok(name.to_string());
    }
    let names = table.schema().names();
    let hint = slipway_data::closest(name, names.iter().copied())
        .map(|c| format!("; did you mean \"{c}\"?"))
        .unwrap_or_default();
    Err(Error::Invalid(format!(
        "{role} field \"{name}\" is not logged in {source} (it must be one of the model's \
         input fields){hint}"
    )))
}

impl LoggedExposures {
    /// Gathers the exposures of the window `[since_ms, until_ms)` with `fields`.
    pub fn new(fields: LogFields, since_ms: i64, until_ms: Option<i64>) -> Self {
        LoggedExposures {
            fields,
            since_ms,
            until_ms,
            rows: Vec::new(),
            unrouted: 0,
            versions: Default::default(),
            labels: HashMap::new(),
        }
    }

    /// Adds the rows of one predictions segment (`source` names it in errors): its
    /// `prediction_id`, `timestamp`, `arm` and `version` columns and the named fields.
    pub fn add_predictions(&mut self, table: &Table, source: &str) -> Result<()> {
        let ids = table.string_values("prediction_id")?;
        let times = table.numeric_values("timestamp")?;
        let arms = table.string_values("arm")?;
        let covariate = match &self.fields.covariate {
            Some(c) => Some(input_column(table, c, "covariate", source)?),
            None => None,
        };
        let segment = match &self.fields.segment {
            Some(c) => Some(input_column(table, c, "segment", source)?),
            None => None,
        };
        for row in 0..table.n_rows() {
            let t = times[row];
            if t.is_nan()
                || t < self.since_ms as f64
                || self.until_ms.is_some_and(|u| t >= u as f64)
            {
                continue;
            }
            let arm = match arms[row] {
                Some("A") => Arm::A,
                Some("B") => Arm::B,
                None => {
                    self.unrouted += 1;
                    continue;
                }
                Some(other) => {
                    return Err(Error::Invalid(format!(
                        "{source}: arm \"{other}\" at row {} is neither A nor B",
                        row + 1
                    )));
                }
            };
            let Some(id) = ids[row] else {
                return Err(Error::Invalid(format!(
                    "{source}: row {} has no prediction_id",
                    row + 1
                )));
            };
            let covariate = match (&covariate, &self.fields.covariate) {
                (Some(col), Some(name)) => match table.display_value(col, row)? {
                    Some(v) => Some(number(&v, name, row, "covariate")?),
                    None => None,
                },
                _ => None,
            };
            let segment = match &segment {
                Some(col) => Some(
                    table
                        .display_value(col, row)?
                        .unwrap_or_else(|| "(missing)".into()),
                ),
                None => None,
            };
            if let Some(v) = table.display_value("version", row)? {
                self.versions[arm as usize].insert(v);
            }
            self.rows.push(Row {
                id: id.to_string(),
                arm,
                covariate,
                segment,
            });
        }
        Ok(())
    }

    /// The smallest and largest prediction id gathered (to find the feedback segments that
    /// can hold their outcomes); `None` before any exposure.
    pub fn id_range(&self) -> Option<(String, String)> {
        let lo = self.rows.iter().map(|r| &r.id).min()?;
        let hi = self.rows.iter().map(|r| &r.id).max()?;
        Some((lo.clone(), hi.clone()))
    }

    /// Adds the rows of one feedback segment: `prediction_id`, `label` (text) and
    /// `timestamp` (arrival); the latest label of an id wins.
    pub fn add_feedback(&mut self, table: &Table) -> Result<()> {
        let ids = table.string_values("prediction_id")?;
        let times = table.numeric_values("timestamp")?;
        for row in 0..table.n_rows() {
            if let (Some(id), Some(label)) = (ids[row], table.display_value("label", row)?) {
                let at = if times[row].is_nan() {
                    i64::MIN
                } else {
                    times[row] as i64
                };
                match self.labels.get_mut(id) {
                    Some(e) if at >= e.0 => *e = (at, label),
                    Some(_) => {}
                    None => {
                        self.labels.insert(id.to_string(), (at, label));
                    }
                }
            }
        }
        Ok(())
    }

    /// The exposures joined with their outcomes, in prediction order, and the outcome kind.
    pub fn exposures(&self) -> Result<(Vec<Exposure>, OutcomeKind)> {
        let mut order: Vec<usize> = (0..self.rows.len()).collect();
        order.sort_by(|&a, &b| self.rows[a].id.cmp(&self.rows[b].id));
        let mut binary = true;
        let mut out = Vec::with_capacity(order.len());
        for i in order {
            let r = &self.rows[i];
            let outcome = match self.labels.get(&r.id) {
                Some((_, label)) => {
                    let y = number(label, "label", 0, "outcome").map_err(|_| {
                        Error::Invalid(format!(
                            "feedback for prediction {}: label \"{}\" is not an outcome (a \
                             conversion is 1/0 or true/false, a value a number)",
                            r.id,
                            label.chars().take(60).collect::<String>()
                        ))
                    })?;
                    binary &= y == 0.0 || y == 1.0;
                    Some(y)
                }
                None => None,
            };
            out.push(Exposure {
                arm: r.arm,
                outcome,
                covariate: r.covariate,
                segment: r.segment.clone(),
            });
        }
        let kind = if binary {
            OutcomeKind::Conversion
        } else {
            OutcomeKind::Numeric
        };
        Ok((out, kind))
    }

    /// The readout of the joined exposures, for the deployment `deployment`.
    pub fn readout(&self, deployment: &str, options: &ReadoutOptions) -> Result<LogReadout> {
        options.check()?;
        if self.rows.is_empty() {
            return Err(Error::Invalid(format!(
                "deployment '{deployment}': the prediction log holds no routed predictions \
                 since it was created{} (send traffic first)",
                if self.unrouted > 0 {
                    format!(" ({} predictions without an arm)", self.unrouted)
                } else {
                    String::new()
                }
            )));
        }
        let (exposures, kind) = self.exposures()?;
        let mut r = readout(&exposures, kind, options).map_err(|e| match e {
            Error::Invalid(m) => Error::Invalid(format!("deployment '{deployment}': {m}")),
            other => other,
        })?;
        for (counts, versions) in r.arms.iter_mut().zip(&self.versions) {
            if !versions.is_empty() {
                counts.label = format!(
                    "version {}",
                    versions.iter().cloned().collect::<Vec<_>>().join(", ")
                );
            }
        }
        let matched = self
            .rows
            .iter()
            .filter(|r| self.labels.contains_key(&r.id))
            .count();
        Ok(LogReadout {
            deployment: deployment.to_string(),
            since_ms: self.since_ms,
            until_ms: self.until_ms,
            exposures: self.rows.len() as u64,
            unrouted: self.unrouted,
            feedback: self.labels.len() as u64,
            feedback_matched: matched as u64,
            fields: self.fields.clone(),
            readout: r,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use slipway_data::ingest::{ReadOptions, read_table};

    fn table(csv: &str) -> Table {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, csv).unwrap();
        read_table(&path, &ReadOptions::default()).unwrap()
    }

    const PREDICTIONS: &str = "prediction_id,timestamp,arm,version,input.arm,seg\n\
        id-04,1004,B,2,5.0,x\n\
        id-01,1001,A,1,1.0,x\n\
        id-00,900,A,1,9.0,x\n\
        id-02,1002,,1,2.0,y\n\
        id-03,1003,A,1,,y\n\
        id-05,1005,B,2,3.0,\n\
        id-06,2000,B,2,3.0,y\n";

    #[test]
    fn joins_the_latest_feedback_in_prediction_order_within_the_window() {
        let fields = LogFields {
            covariate: Some("arm".into()),
            segment: Some("seg".into()),
        };
        let mut g = LoggedExposures::new(fields, 1000, Some(2000));
        g.add_predictions(&table(PREDICTIONS), "segment 1").unwrap();
        assert_eq!(g.id_range(), Some(("id-01".into(), "id-05".into())));
        g.add_feedback(&table(
            "prediction_id,label,timestamp\nid-01,1,10\nid-04,true,10\nid-01,0,5\nid-99,1,10\n",
        ))
        .unwrap();
        g.add_feedback(&table("prediction_id,label,timestamp\nid-04,0,11\n"))
            .unwrap();
        let (e, kind) = g.exposures().unwrap();
        assert_eq!(kind, OutcomeKind::Conversion);
        let got: Vec<_> = e
            .iter()
            .map(|x| (x.arm, x.outcome, x.covariate, x.segment.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                (Arm::A, Some(1.0), Some(1.0), Some("x".into())),
                (Arm::A, None, None, Some("y".into())),
                (Arm::B, Some(0.0), Some(5.0), Some("x".into())),
                (Arm::B, None, Some(3.0), Some("(missing)".into())),
            ]
        );
        assert_eq!(g.unrouted, 1);
        assert_eq!(g.versions[0].iter().collect::<Vec<_>>(), ["1"]);
    }

    #[test]
    fn bad_labels_and_unknown_fields_are_named() {
        let fields = LogFields {
            covariate: Some("ag".into()),
            segment: None,
        };
        let mut g = LoggedExposures::new(fields, 0, None);
        let e = g
            .add_predictions(
                &table("prediction_id,timestamp,arm,version,age\nid,1,A,1,3\n"),
                "s",
            )
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("\"ag\"") && e.contains("did you mean \"age\""),
            "{e}"
        );
        let mut g = LoggedExposures::new(LogFields::default(), 0, None);
        let e = g
            .add_predictions(
                &table("prediction_id,timestamp,arm,version\nid,1,C,1\n"),
                "s",
            )
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"C\""), "{e}");
        let mut g = LoggedExposures::new(LogFields::default(), 0, None);
        g.add_predictions(
            &table("prediction_id,timestamp,arm,version\nid-1,1,A,1\nid-2,1,B,1\n"),
            "s",
        )
        .unwrap();
        g.add_feedback(&table("prediction_id,label,timestamp\nid-1,yes,1\n"))
            .unwrap();
        let e = g
            .readout("d", &ReadoutOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("id-1") && e.contains("\"yes\""), "{e}");
        let g = LoggedExposures::new(LogFields::default(), 0, None);
        let e = g
            .readout("d", &ReadoutOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("no routed predictions"), "{e}");
    }
}
