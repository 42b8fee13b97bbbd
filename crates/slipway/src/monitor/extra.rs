//! `monitor drift --multivariate pca|domain` and `--calibrate K`: what needs the reference's
//! rows rather than its summary (the work is `slipway_monitor::multivariate` and
//! `slipway_monitor::calibrate`; this file checks flags, runs them and prints).

use anyhow::bail;
use console::style;
use serde::Serialize;
use slipway_monitor::calibrate::{self, Calibration};
use slipway_monitor::drift::DriftOptions;
use slipway_monitor::multivariate::{self, Method, MultivariateOptions, MultivariateReport};
use slipway_monitor::run::{Chunking, DriftReport};
use slipway_monitor::summary::{ReferenceSource, ReferenceSummary};

use super::{DriftArgs, fmt_value};

/// The multivariate runs and the calibration of one `monitor drift`.
#[derive(Serialize, Default)]
pub struct Extra {
    /// One report per `--multivariate` method.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub multivariate: Vec<MultivariateReport>,
    /// The calibrated thresholds (`--calibrate`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calibration: Option<Calibration>,
}

impl Extra {
    /// Whether a multivariate chunk alerted.
    pub fn drifted(&self) -> bool {
        self.multivariate.iter().any(|m| m.drifted)
    }

    /// Adds the fields to a report's JSON.
    pub fn merge_json(&self, body: &mut serde_json::Value) -> anyhow::Result<()> {
        if let serde_json::Value::Object(extra) = serde_json::to_value(self)? {
            for (k, v) in extra {
                body[k] = v;
            }
        }
        Ok(())
    }
}

/// The methods of `--multivariate`.
pub fn methods(a: &DriftArgs) -> anyhow::Result<Vec<Method>> {
    let mut out = Vec::new();
    for m in &a.multivariate {
        match Method::parse(m) {
            Some(m) if !out.contains(&m) => out.push(m),
            Some(_) => {}
            None => bail!("--multivariate: unknown method \"{m}\"; the methods are pca, domain"),
        }
    }
    Ok(out)
}

/// Runs `--multivariate` and `--calibrate` (calibrated thresholds re-decide `report`).
pub fn run(
    a: &DriftArgs,
    source: &ReferenceSource,
    summary: &ReferenceSummary,
    chunking: &Chunking,
    opts: &DriftOptions,
    report: &mut DriftReport,
) -> anyhow::Result<Extra> {
    let methods = methods(a)?;
    if methods.is_empty() && a.calibrate.is_none() {
        return Ok(Extra::default());
    }
    let ReferenceSource::File(path) = source else {
        bail!(
            "--multivariate and --calibrate need the reference's rows: give --reference FILE (a bundle's profile or a saved summary holds only summaries)"
        );
    };
    let reference = slipway_data::ingest::read_table(path, &Default::default())?;
    let columns: Vec<String> = summary.columns.iter().map(|c| c.name.clone()).collect();
    let mut extra = Extra::default();
    if let Some(k) = a.calibrate {
        let cal = calibrate::calibrate(&reference, &columns, &a.categorical, chunking, opts, k)?;
        calibrate::apply(report, &cal);
        extra.calibration = Some(cal);
    }
    if !methods.is_empty() {
        let current = slipway_data::ingest::read_table(&a.current, &Default::default())?;
        for method in methods {
            let options = MultivariateOptions {
                min_rows: opts.min_rows,
                ..MultivariateOptions::new(method)
            };
            extra.multivariate.push(multivariate::run(
                &reference,
                &current,
                &columns,
                &a.categorical,
                chunking,
                &options,
            )?);
        }
    }
    Ok(extra)
}

/// The terminal lines.
pub fn print(extra: &Extra) {
    if let Some(c) = &extra.calibration {
        println!(
            "{} mean + {}·std of {} reference chunks, each against the rest of the reference ({} bounds{})",
            style("calibrated thresholds:").cyan(),
            c.k,
            c.reference_chunks.len() - c.small_reference_chunks,
            c.bounds.len(),
            if c.small_reference_chunks > 0 {
                format!(
                    ", {} small reference chunks left out",
                    c.small_reference_chunks
                )
            } else {
                String::new()
            }
        );
    }
    for m in &extra.multivariate {
        let bound = |b: Option<f64>| b.map_or("—".to_string(), fmt_value);
        let what = match m.options.method {
            Method::Pca => "PCA reconstruction error".to_string(),
            Method::Domain => "domain classifier ROC AUC".to_string(),
        };
        let pca = m
            .pca
            .as_ref()
            .map(|p| {
                format!(
                    ", {} of {} components",
                    p.n_components,
                    p.explained_variance_ratio.len()
                )
            })
            .unwrap_or_default();
        println!(
            "{} {what} (alert outside ({}, {}){pca})",
            style(format!("multivariate {}:", m.options.method.name())).bold(),
            bound(m.bounds.lower),
            bound(m.bounds.upper)
        );
        for c in &m.chunks {
            let value = match (c.value, &c.reason) {
                (Some(v), _) => fmt_value(v),
                (None, Some(r)) => format!("n/a: {r}"),
                (None, None) => "n/a".into(),
            };
            let flag = if c.small_sample {
                style("small").yellow().to_string()
            } else if c.alert {
                style("ALERT").red().bold().to_string()
            } else {
                style("ok   ").green().to_string()
            };
            println!(
                "  chunk {} · {} · {} rows  {flag}  {value}",
                c.index, c.label, c.rows
            );
        }
    }
}
