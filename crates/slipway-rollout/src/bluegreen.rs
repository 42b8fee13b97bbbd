//! Blue-green: the green version (the challenger) is loaded next to the blue one (the
//! champion), smoke-tested with recorded requests, and then takes all traffic at once; the
//! blue stays loaded for [`BlueGreenParams::keep_blue_seconds`] so that a rollback inside
//! that window is instant (no download, no load), and is unloaded after it.
//!
//! The rules are here; the server replays the requests and loads and drops the versions:
//!
//! - [`judge`] turns the replayed requests' outcomes ([`SmokeOutcome`]) into a
//!   [`SmokeVerdict`]. It fails safe: no recorded requests, any failed request, or an
//!   answer of another kind than the blue's (a regression model replacing a classifier, other
//!   classes) refuses the flip; the verdict names the first failures.
//! - [`crate::deployment::DeploymentState::flipped`], `smoke_refused`, `blue_rollback` and
//!   `blue_released` are the state changes, each with its event.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{Error, Result};

/// Most recorded requests a plan may carry, and most replayed from the prediction log.
pub const MAX_SMOKE_REQUESTS: u32 = 1_000;

/// Longest time the blue may be kept loaded after the flip (7 days).
pub const MAX_KEEP_BLUE_SECONDS: f64 = 7.0 * 86_400.0;

/// The parameters of a blue-green deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BlueGreenParams {
    /// Seconds the blue stays loaded after the flip (a rollback inside them is instant).
    pub keep_blue_seconds: f64,
    /// Recent requests of the prediction log replayed against green before the flip (when
    /// `recorded_requests` is not given).
    pub smoke_requests: u32,
    /// Requests recorded elsewhere (one JSON object per request row, e.g. from a file
    /// named at create time), replayed instead of the prediction log's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded_requests: Option<Vec<Map<String, Value>>>,
}

impl Default for BlueGreenParams {
    fn default() -> Self {
        BlueGreenParams {
            keep_blue_seconds: 600.0,
            smoke_requests: 100,
            recorded_requests: None,
        }
    }
}

impl BlueGreenParams {
    /// Checks every parameter; the error names the field and the rule.
    pub fn validate(&self) -> Result<()> {
        if !(self.keep_blue_seconds.is_finite()
            && (0.0..=MAX_KEEP_BLUE_SECONDS).contains(&self.keep_blue_seconds))
        {
            return Err(Error::Invalid(format!(
                "keep_blue_seconds: {} must be between 0 and {MAX_KEEP_BLUE_SECONDS} (7 days)",
                self.keep_blue_seconds
            )));
        }
        if self.smoke_requests == 0 || self.smoke_requests > MAX_SMOKE_REQUESTS {
            return Err(Error::Invalid(format!(
                "smoke_requests: {} must be 1 to {MAX_SMOKE_REQUESTS} (a flip is never \
                 untested)",
                self.smoke_requests
            )));
        }
        if let Some(rows) = &self.recorded_requests {
            if rows.is_empty() {
                return Err(Error::Invalid(
                    "recorded_requests: empty; give at least one request row, or leave it out \
                     to replay the prediction log"
                        .into(),
                ));
            }
            if rows.len() > MAX_SMOKE_REQUESTS as usize {
                return Err(Error::Invalid(format!(
                    "recorded_requests: {} rows; at most {MAX_SMOKE_REQUESTS}",
                    rows.len()
                )));
            }
            if let Some(i) = rows.iter().position(Map::is_empty) {
                return Err(Error::Invalid(format!(
                    "recorded_requests: row {i} has no columns"
                )));
            }
        }
        Ok(())
    }

    /// Where the smoke test's requests come from, in words.
    pub fn source(&self) -> &'static str {
        if self.recorded_requests.is_some() {
            "recorded_requests"
        } else {
            "prediction_log"
        }
    }
}

/// What a model answers with, for the comparison of green with blue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerShape {
    /// `binary`, `multiclass`, `regression` or `clustering`.
    pub kind: String,
    /// The class labels of a classifier (empty otherwise).
    pub classes: Vec<String>,
}

/// One replayed request.
#[derive(Debug, Clone, PartialEq)]
pub enum SmokeOutcome {
    /// Green answered this many rows, all with finite numbers.
    Answered {
        /// Rows answered.
        rows: u64,
        /// Rows whose answer was not a finite number (NaN or infinite).
        non_finite: u64,
    },
    /// Green refused or failed the request (the message names the column and rule).
    Failed(String),
}

/// The smoke test's result, stored with the flip or its refusal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SmokeVerdict {
    /// Whether the flip may go ahead.
    pub passed: bool,
    /// `recorded_requests` or `prediction_log`.
    pub source: String,
    /// Requests replayed.
    pub replayed: u64,
    /// Requests green answered correctly.
    pub answered: u64,
    /// Requests that failed (errors, non-finite answers).
    pub failed: u64,
    /// Why the flip is refused (empty when it passed).
    pub reasons: Vec<String>,
    /// The first distinct failure messages (at most 5).
    pub errors: Vec<String>,
}

/// Judges the replayed requests. `blue` and `green` are what each version answers with.
pub fn judge(
    source: &str,
    outcomes: &[SmokeOutcome],
    blue: &AnswerShape,
    green: &AnswerShape,
) -> SmokeVerdict {
    let mut errors: Vec<String> = Vec::new();
    let mut failed = 0u64;
    for o in outcomes {
        let message = match o {
            SmokeOutcome::Answered { rows: 0, .. } => Some("an answer without rows".to_string()),
            SmokeOutcome::Answered { non_finite: 0, .. } => None,
            SmokeOutcome::Answered { non_finite, .. } => {
                Some(format!("{non_finite} answers are not finite numbers"))
            }
            SmokeOutcome::Failed(m) => Some(m.clone()),
        };
        if let Some(m) = message {
            failed += 1;
            if errors.len() < 5 && !errors.contains(&m) {
                errors.push(m);
            }
        }
    }
    let mut reasons = Vec::new();
    if outcomes.is_empty() {
        reasons.push(format!(
            "no recorded requests to smoke-test green with ({}): send traffic to the blue \
             first, or create the deployment with recorded_requests",
            if source == "prediction_log" {
                "the prediction log holds none for this model"
            } else {
                "none given"
            }
        ));
    }
    if failed > 0 {
        reasons.push(format!(
            "{failed} of {} recorded requests failed on green (first: {})",
            outcomes.len(),
            errors.first().map(String::as_str).unwrap_or("")
        ));
    }
    if blue.kind != green.kind {
        reasons.push(format!(
            "green answers as a {} model, blue as a {} model: clients would get another \
             kind of answer",
            green.kind, blue.kind
        ));
    } else if blue.classes != green.classes {
        reasons.push(format!(
            "green's classes [{}] differ from blue's [{}]",
            green.classes.join(", "),
            blue.classes.join(", ")
        ));
    }
    SmokeVerdict {
        passed: reasons.is_empty(),
        source: source.to_string(),
        replayed: outcomes.len() as u64,
        answered: outcomes.len() as u64 - failed,
        failed,
        reasons,
        errors,
    }
}

/// Where a flipped blue-green deployment stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlueGreenState {
    /// The version that served before the flip.
    pub blue_version: String,
    /// The version that serves after it.
    pub green_version: String,
    /// When traffic flipped (ms since the epoch).
    pub flipped_ms: i64,
    /// Until when the blue stays loaded (ms since the epoch).
    pub keep_blue_until_ms: i64,
    /// Whether the blue is still loaded (an instant rollback is possible).
    pub blue_loaded: bool,
}

impl BlueGreenState {
    /// Whether a rollback at `now_ms` is instant.
    pub fn can_roll_back(&self, now_ms: i64) -> bool {
        self.blue_loaded && now_ms < self.keep_blue_until_ms
    }

    /// Whether the blue should be unloaded at `now_ms`.
    pub fn release_due(&self, now_ms: i64) -> bool {
        self.blue_loaded && now_ms >= self.keep_blue_until_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(kind: &str) -> AnswerShape {
        AnswerShape {
            kind: kind.into(),
            classes: vec!["<=50K".into(), ">50K".into()],
        }
    }

    #[test]
    fn a_clean_replay_passes_and_anything_else_refuses() {
        let ok = SmokeOutcome::Answered {
            rows: 1,
            non_finite: 0,
        };
        let twenty: Vec<SmokeOutcome> = std::iter::repeat_n(ok.clone(), 20).collect();
        let v = judge(
            "prediction_log",
            &twenty,
            &shape("binary"),
            &shape("binary"),
        );
        assert!(v.passed, "{v:?}");
        assert_eq!((v.replayed, v.answered, v.failed), (20, 20, 0));

        // One failure is enough; the message is kept once.
        let mut outcomes = vec![ok.clone(); 10];
        outcomes.push(SmokeOutcome::Failed(
            "column \"fnlwgt\": missing from the request".into(),
        ));
        outcomes.push(SmokeOutcome::Failed(
            "column \"fnlwgt\": missing from the request".into(),
        ));
        let v = judge(
            "prediction_log",
            &outcomes,
            &shape("binary"),
            &shape("binary"),
        );
        assert!(!v.passed);
        assert_eq!(v.failed, 2);
        assert_eq!(v.errors.len(), 1);
        assert!(v.reasons[0].contains("2 of 12"), "{:?}", v.reasons);
        assert!(v.reasons[0].contains("fnlwgt"), "{:?}", v.reasons);

        // Non-finite answers and empty answers fail.
        let v = judge(
            "recorded_requests",
            &[SmokeOutcome::Answered {
                rows: 3,
                non_finite: 1,
            }],
            &shape("regression"),
            &shape("regression"),
        );
        assert!(!v.passed);
        assert!(v.errors[0].contains("not finite"), "{v:?}");

        // No data never passes.
        let v = judge("prediction_log", &[], &shape("binary"), &shape("binary"));
        assert!(!v.passed);
        assert!(v.reasons[0].contains("no recorded requests"), "{v:?}");

        // Another kind of answer, or other classes, refuses.
        let v = judge(
            "prediction_log",
            std::slice::from_ref(&ok),
            &shape("binary"),
            &shape("regression"),
        );
        assert!(!v.passed);
        assert!(v.reasons[0].contains("regression"), "{v:?}");
        let mut other = shape("binary");
        other.classes = vec!["no".into(), "yes".into()];
        let v = judge("prediction_log", &[ok], &shape("binary"), &other);
        assert!(!v.passed);
        assert!(v.reasons[0].contains("classes"), "{v:?}");
    }

    #[test]
    fn parameters_are_checked() {
        BlueGreenParams::default().validate().unwrap();
        for bad in [
            BlueGreenParams {
                keep_blue_seconds: -1.0,
                ..Default::default()
            },
            BlueGreenParams {
                keep_blue_seconds: f64::NAN,
                ..Default::default()
            },
            BlueGreenParams {
                smoke_requests: 0,
                ..Default::default()
            },
            BlueGreenParams {
                recorded_requests: Some(vec![]),
                ..Default::default()
            },
            BlueGreenParams {
                recorded_requests: Some(vec![Map::new()]),
                ..Default::default()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_window_decides_rollback_and_release() {
        let s = BlueGreenState {
            blue_version: "1".into(),
            green_version: "2".into(),
            flipped_ms: 1_000,
            keep_blue_until_ms: 5_000,
            blue_loaded: true,
        };
        assert!(s.can_roll_back(4_999));
        assert!(!s.release_due(4_999));
        assert!(!s.can_roll_back(5_000));
        assert!(s.release_due(5_000));
        let released = BlueGreenState {
            blue_loaded: false,
            ..s
        };
        assert!(!released.can_roll_back(1_000));
        assert!(!released.release_due(9_000));
    }
}
