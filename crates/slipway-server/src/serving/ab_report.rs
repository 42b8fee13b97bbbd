//! The readout of an A/B deployment from this server's prediction log: finds the
//! deployment's predictions segments (its served model, its time window) and the feedback
//! segments that can hold their outcomes, reads them, and hands them to
//! [`slipway_rollout::logged::LoggedExposures`], which owns the join and the statistics.

use slipway_rollout::deployment::Strategy;
use slipway_rollout::logged::{LogFields, LogReadout, LoggedExposures};
use slipway_rollout::readout::ReadoutOptions;
use slipway_store::{LogSegmentKind, LogSegmentQuery, MetadataStore};

use super::Serving;
use super::log::read_segment;
use super::rollout::decode;
use crate::error::ApiError;

/// What the readout is asked for, besides the deployment.
#[derive(Debug, Clone, Default)]
pub struct ReportRequest {
    /// The logged fields (covariate, segment).
    pub fields: LogFields,
    /// Significance level; `None`: 0.05.
    pub alpha: Option<f64>,
    /// SRM alarm threshold; `None`: 0.001.
    pub srm_threshold: Option<f64>,
    /// Minimum detectable relative effect; `None`: 0.05.
    pub min_effect: Option<f64>,
    /// Read a missing outcome as 0.
    pub missing_as_zero: bool,
}

fn user(e: slipway_rollout::Error) -> ApiError {
    match e.kind() {
        slipway_rollout::ErrorKind::User => ApiError::invalid(e.to_string()),
        slipway_rollout::ErrorKind::Internal => {
            ApiError::Internal(format!("deployment readout: {e}"))
        }
    }
}

impl Serving {
    /// The readout of the A/B deployment `name` (see the module documentation).
    pub async fn deployment_readout(
        &self,
        meta: &dyn MetadataStore,
        name: &str,
        request: ReportRequest,
    ) -> Result<LogReadout, ApiError> {
        let record = meta.get_deployment(name).await?;
        let (plan, _) = decode(&record)?;
        let Strategy::Ab(ab) = &plan.strategy else {
            return Err(ApiError::invalid(format!(
                "deployment '{name}' is a {} deployment: the readout compares the two arms of \
                 an A/B test (strategy ab); see `slipway deploy status` for the others",
                plan.strategy.name()
            )));
        };
        if ab.split_percent == 0 || ab.split_percent >= 100 {
            return Err(ApiError::invalid(format!(
                "deployment '{name}' sends {} % of keys to B: a readout needs both arms",
                ab.split_percent
            )));
        }
        let Some(log) = &self.log else {
            return Err(ApiError::FeatureDisabled(
                "the prediction log is off on this server, so there are no exposures to read"
                    .into(),
            ));
        };
        let defaults = ReadoutOptions::default();
        let options = ReadoutOptions {
            split_percent_b: f64::from(ab.split_percent),
            alpha: request.alpha.unwrap_or(defaults.alpha),
            srm_threshold: request.srm_threshold.unwrap_or(defaults.srm_threshold),
            min_detectable_effect: request.min_effect.unwrap_or(defaults.min_detectable_effect),
            missing_outcome_as_zero: request.missing_as_zero,
            ..defaults
        };
        options.check().map_err(user)?;
        // The log is filed under the served model's name.
        let served = self
            .champion_of(&plan.model, &plan.champion)
            .map_or_else(|| plan.model.clone(), |d| d.spec.name.clone());
        let events = meta.deployment_events(name).await?;
        let until = events
            .iter()
            .find(|e| matches!(e.kind.as_str(), "promoted" | "rolled_back" | "ended"))
            .map(|e| e.time_ms + 1);
        let since = record.creation_time;
        // Rows still queued are written first.
        log.flush().await;
        let store = log.store();
        let internal = |e: String| ApiError::Internal(format!("reading the prediction log: {e}"));
        let mut gathered = LoggedExposures::new(request.fields, since, until);
        let segments = store
            .segments(&LogSegmentQuery {
                model: Some(served.clone()),
                since_ms: Some(since),
                until_ms: until,
                ..LogSegmentQuery::all(LogSegmentKind::Predictions)
            })
            .await
            .map_err(internal)?;
        for seg in &segments {
            let table = read_segment(store.artifacts.as_ref(), &seg.path)
                .await
                .map_err(internal)?;
            gathered
                .add_predictions(
                    &table,
                    &format!("the log of '{served}' version {}", seg.version),
                )
                .map_err(user)?;
        }
        if let Some(ids) = gathered.id_range() {
            let feedback = store
                .segments(&LogSegmentQuery {
                    ids: Some(ids),
                    // Feedback arrives after its prediction.
                    since_ms: Some(since),
                    ..LogSegmentQuery::all(LogSegmentKind::Feedback)
                })
                .await
                .map_err(internal)?;
            for seg in &feedback {
                let table = read_segment(store.artifacts.as_ref(), &seg.path)
                    .await
                    .map_err(internal)?;
                gathered.add_feedback(&table).map_err(user)?;
            }
        }
        let name = name.to_string();
        tokio::task::spawn_blocking(move || gathered.readout(&name, &options))
            .await
            .map_err(|e| ApiError::Internal(format!("deployment readout: {e}")))?
            .map_err(user)
    }
}
