//! Drift detectors against trivial baselines on seeded synthetic streams with known change
//! points (`bench/monitor/detectors.sh` runs it).
//!
//! Every stream is a reference of `REF_ROWS` rows and a current file of `CHUNKS` chunks of
//! `CHUNK_ROWS` rows; from a change chunk drawn in `[CHANGE_FROM, CHANGE_TO]` on, one thing
//! changes (or nothing, in the `none` scenario):
//!
//! - `mean`: feature x0 moves by 0.25 of its standard deviation;
//! - `scale`: x1's standard deviation grows by 30 %;
//! - `category`: c0's shares go from 50/30/20 % to 40/35/25 %;
//! - `correlation`: x2 becomes 0.8·x0 + 0.6·noise (its marginal distribution unchanged: only a
//!   multivariate detector can see it).
//!
//! Each detector alarms per chunk (a univariate run alarms when any feature drifted). Per
//! detector: false alarms (alarmed chunks before the change, and every alarmed chunk of a
//! `none` stream) per 100 pre-change chunks, missed changes (no alarm from the change on),
//! mean detection delay in chunks (first alarm at or after the change, over detected
//! changes), per scenario and overall. Baselines: always-alarm and never-alarm.
//!
//! Usage: detectors [STREAMS_PER_SCENARIO (default 6)] [--domain]

use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use slipway_monitor::calibrate;
use slipway_monitor::drift::DriftOptions;
use slipway_monitor::multivariate::{self, Method, MultivariateOptions};
use slipway_monitor::run::{Chunking, drift_file};
use slipway_monitor::summary::ReferenceSummary;

const REF_ROWS: usize = 5_000;
const CHUNK_ROWS: usize = 500;
const CHUNKS: usize = 30;
const CHANGE_FROM: usize = 10;
const CHANGE_TO: usize = 20;
const SCENARIOS: [&str; 5] = ["none", "mean", "scale", "category", "correlation"];

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    // Box–Muller.
    let u: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let v: f64 = rng.random();
    (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
}

fn pick(rng: &mut ChaCha8Rng, shares: &[f64]) -> usize {
    let mut u: f64 = rng.random();
    for (i, s) in shares.iter().enumerate() {
        if u < *s {
            return i;
        }
        u -= s;
    }
    shares.len() - 1
}

/// `rows` rows as CSV lines, changed by `scenario` when `changed`.
fn rows(rng: &mut ChaCha8Rng, n: usize, scenario: &str, changed: bool, out: &mut String) {
    use std::fmt::Write;
    for _ in 0..n {
        let mut x0 = normal(rng);
        let mut x1 = normal(rng);
        let noise = normal(rng);
        let x3 = normal(rng).exp();
        let mut shares = [0.5, 0.3, 0.2];
        let mut x2 = noise;
        if changed {
            match scenario {
                "mean" => x0 += 0.25,
                "scale" => x1 *= 1.3,
                "category" => shares = [0.4, 0.35, 0.25],
                "correlation" => x2 = 0.8 * x0 + 0.6 * noise,
                _ => {}
            }
        }
        let c0 = ["a", "b", "c"][pick(rng, &shares)];
        let c1 = ["u", "v"][pick(rng, &[0.5, 0.5])];
        let _ = writeln!(out, "{x0},{x1},{x2},{x3},{c0},{c1}");
    }
}

const HEADER: &str = "x0,x1,x2,x3,c0,c1\n";

#[derive(Default, Clone)]
struct Tally {
    pre_change_chunks: usize,
    false_alarms: usize,
    changes: usize,
    missed: usize,
    delays: Vec<usize>,
}

impl Tally {
    fn add(&mut self, alarms: &[bool], change: Option<usize>) {
        let pre = change.unwrap_or(alarms.len());
        self.pre_change_chunks += pre;
        self.false_alarms += alarms[..pre].iter().filter(|a| **a).count();
        if let Some(c) = change {
            self.changes += 1;
            match alarms[c..].iter().position(|a| *a) {
                Some(d) => self.delays.push(d),
                None => self.missed += 1,
            }
        }
    }

    fn merge(&mut self, o: &Tally) {
        self.pre_change_chunks += o.pre_change_chunks;
        self.false_alarms += o.false_alarms;
        self.changes += o.changes;
        self.missed += o.missed;
        self.delays.extend(&o.delays);
    }

    fn print(&self, name: &str) {
        println!(
            "{name}.false_alarms: {:.1} per 100 pre-change chunks",
            100.0 * self.false_alarms as f64 / self.pre_change_chunks.max(1) as f64
        );
        if self.changes > 0 {
            println!("{name}.missed: {} of {} changes", self.missed, self.changes);
            if self.delays.is_empty() {
                println!("{name}.mean_delay: n/a chunks");
            } else {
                println!(
                    "{name}.mean_delay: {:.2} chunks",
                    self.delays.iter().sum::<usize>() as f64 / self.delays.len() as f64
                );
            }
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let streams: u64 = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(6);
    let with_domain = args.iter().any(|a| a == "--domain");
    let mut detectors = vec![
        "slipway_univariate",
        "slipway_univariate_calibrated",
        "slipway_pca",
    ];
    if with_domain {
        detectors.push("slipway_domain");
    }
    detectors.extend(["always_alarm", "never_alarm"]);
    let dir = tempfile::tempdir()?;
    let reference = dir.path().join("reference.csv");
    let current = dir.path().join("current.csv");
    let chunking = Chunking::Rows {
        size: CHUNK_ROWS as u64,
    };
    let opts = DriftOptions::default();
    let columns: Vec<String> = ["x0", "x1", "x2", "x3", "c0", "c1"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut overall = vec![Tally::default(); detectors.len()];
    let started = std::time::Instant::now();
    for scenario in SCENARIOS {
        let mut tallies = vec![Tally::default(); detectors.len()];
        for s in 0..streams {
            let mut rng = ChaCha8Rng::seed_from_u64(1000 * s + scenario.len() as u64);
            let change = (scenario != "none").then(|| rng.random_range(CHANGE_FROM..=CHANGE_TO));
            let mut text = String::from(HEADER);
            rows(&mut rng, REF_ROWS, scenario, false, &mut text);
            std::fs::write(&reference, &text)?;
            let mut text = String::from(HEADER);
            for c in 0..CHUNKS {
                let changed = change.is_some_and(|ch| c >= ch);
                rows(&mut rng, CHUNK_ROWS, scenario, changed, &mut text);
            }
            std::fs::write(&current, &text)?;
            for (d, name) in detectors.iter().enumerate() {
                let alarms = alarms(name, &reference, &current, &columns, &chunking, &opts)?;
                tallies[d].add(&alarms, change);
            }
        }
        for (d, name) in detectors.iter().enumerate() {
            tallies[d].print(&format!("{scenario}.{name}"));
            overall[d].merge(&tallies[d]);
        }
    }
    for (d, name) in detectors.iter().enumerate() {
        overall[d].print(&format!("all.{name}"));
    }
    println!(
        "streams: {} ({} per scenario, {CHUNKS} chunks of {CHUNK_ROWS} rows, reference {REF_ROWS} rows)",
        streams * SCENARIOS.len() as u64,
        streams
    );
    println!("wall: {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn alarms(
    detector: &str,
    reference: &Path,
    current: &Path,
    columns: &[String],
    chunking: &Chunking,
    opts: &DriftOptions,
) -> Result<Vec<bool>, Box<dyn std::error::Error>> {
    Ok(match detector {
        "always_alarm" => vec![true; CHUNKS],
        "never_alarm" => vec![false; CHUNKS],
        "slipway_univariate" | "slipway_univariate_calibrated" => {
            let table = slipway_data::ingest::read_table(reference, &Default::default())?;
            let summary = ReferenceSummary::from_table(&table, columns, &[], "reference")?;
            let mut report = drift_file(&summary, current, chunking, opts, &[])?;
            if detector == "slipway_univariate_calibrated" {
                let cal = calibrate::calibrate(&table, columns, &[], chunking, opts, 3.0)?;
                calibrate::apply(&mut report, &cal);
            }
            report
                .chunks
                .iter()
                .map(|c| c.drifted_features > 0)
                .collect()
        }
        "slipway_pca" | "slipway_domain" => {
            let method = if detector == "slipway_pca" {
                Method::Pca
            } else {
                Method::Domain
            };
            let r = multivariate::drift_files(
                reference,
                current,
                columns,
                &[],
                chunking,
                &MultivariateOptions::new(method),
            )?;
            r.chunks.iter().map(|c| c.alert).collect()
        }
        other => return Err(format!("unknown detector {other}").into()),
    })
}
