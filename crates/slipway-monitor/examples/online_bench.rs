//! Slipway's side of `bench/online/run.sh`: progressive validation rows/s of the Hoeffding
//! tree and the adaptive random forest (10 trees) on a stream CSV (numeric features, a
//! boolean `target` last), rows/s and MAE of the Hoeffding tree regressor and the adaptive
//! random forest regressor (10 trees, median), both behind a standard scaler, on regression
//! stream CSVs (numeric target last), and ADWIN updates/s on a Bernoulli error stream.
//!
//! Usage: online_bench STREAM.csv... [--regression REGRESSION_STREAM.csv...]; prints
//! `name: value unit` lines.

use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use slipway_monitor::online::detect::{Adwin, DriftDetector};
use slipway_monitor::online::forest::AdaptiveRandomForest;
use slipway_monitor::online::forest_regressor::{Aggregation, ArfRegressor};
use slipway_monitor::online::linear::StandardScaler;
use slipway_monitor::online::tree::{ClassOrder, HoeffdingTree, TreeParams};
use slipway_monitor::online::tree_regressor::{HoeffdingTreeRegressor, RegressorParams};

fn read(path: &str) -> (Vec<Vec<f64>>, Vec<u32>) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        let (y, x) = fields.split_last().expect("a row");
        xs.push(x.iter().map(|v| v.parse().expect("a number")).collect());
        ys.push(u32::from(*y == "true"));
    }
    (xs, ys)
}

fn read_regression(path: &str) -> (Vec<Vec<f64>>, Vec<f64>) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    for line in text.lines().skip(1) {
        let v: Vec<f64> = line
            .split(',')
            .map(|f| f.parse().expect("a number"))
            .collect();
        let (y, x) = v.split_last().expect("a row");
        xs.push(x.to_vec());
        ys.push(*y);
    }
    (xs, ys)
}

fn stem(path: &str) -> String {
    std::path::Path::new(path)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("stream")
        .trim_start_matches("online_")
        .to_string()
}

/// Test-then-train through a standard scaler; returns (rows/s, MAE).
fn progressive_regression(
    xs: &[Vec<f64>],
    ys: &[f64],
    mut predict: impl FnMut(&[f64]) -> f64,
    mut learn: impl FnMut(&[f64], f64),
) -> (f64, f64) {
    let n = xs[0].len();
    let start = Instant::now();
    let mut scaler = StandardScaler::new(n);
    let mut z = Vec::with_capacity(n);
    let mut abs = 0.0;
    for (x, &y) in xs.iter().zip(ys) {
        scaler.transform_into(x, &mut z);
        abs += (y - predict(&z)).abs();
        scaler.learn_one(x);
        scaler.transform_into(x, &mut z);
        learn(&z, y);
    }
    let secs = start.elapsed().as_secs_f64();
    (xs.len() as f64 / secs, abs / xs.len() as f64)
}

fn main() {
    let order = ClassOrder { rank: vec![0, 1] };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let split = args
        .iter()
        .position(|a| a == "--regression")
        .unwrap_or(args.len());
    for path in args.iter().skip(split + 1) {
        let name = stem(path);
        let (xs, ys) = read_regression(path);
        let n = xs[0].len();
        let tree =
            std::cell::RefCell::new(HoeffdingTreeRegressor::new(n, RegressorParams::default()));
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let (rate, mae) = progressive_regression(
            &xs,
            &ys,
            |z| tree.borrow().predict(z),
            |z, y| tree.borrow_mut().learn_one(z, y, 1.0, &mut rng),
        );
        println!("slipway_htr_{name}_rows_per_s: {rate:.0} rows/s");
        println!("slipway_htr_{name}_mae: {mae:.4} mae");
        let arf = std::cell::RefCell::new(ArfRegressor::new(n, 10, Aggregation::Median, 42));
        let (rate, mae) = progressive_regression(
            &xs,
            &ys,
            |z| arf.borrow_mut().predict(z),
            |z, y| arf.borrow_mut().learn_one(z, y),
        );
        println!("slipway_arfr_{name}_rows_per_s: {rate:.0} rows/s");
        println!("slipway_arfr_{name}_mae: {mae:.4} mae");
    }
    for path in &args[..split] {
        let name = stem(path);
        let path = path.as_str();
        let (xs, ys) = read(path);
        let n = xs.len() as f64;
        let mut proba = vec![0.0; 2];

        let start = Instant::now();
        let mut tree = HoeffdingTree::new(xs[0].len(), TreeParams::default());
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let mut correct = 0u64;
        for (x, &y) in xs.iter().zip(&ys) {
            correct += u64::from(tree.predict(x, &order, &mut proba) == Some(y));
            tree.learn_one(x, y, 1.0, &mut rng);
        }
        let secs = start.elapsed().as_secs_f64();
        println!("slipway_ht_{name}_rows_per_s: {:.0} rows/s", n / secs);
        println!(
            "slipway_ht_{name}_accuracy: {:.4} fraction",
            correct as f64 / n
        );

        let start = Instant::now();
        let mut arf = AdaptiveRandomForest::new(xs[0].len(), 10, 42);
        let mut correct = 0u64;
        for (x, &y) in xs.iter().zip(&ys) {
            correct += u64::from(arf.predict(x, &order, &mut proba) == Some(y));
            arf.learn_one(x, y, &order, 2);
        }
        let secs = start.elapsed().as_secs_f64();
        println!("slipway_arf_{name}_rows_per_s: {:.0} rows/s", n / secs);
        println!(
            "slipway_arf_{name}_accuracy: {:.4} fraction",
            correct as f64 / n
        );
    }
    // ADWIN on 1,000,000 Bernoulli errors (rate 0.1, then 0.4 after the middle).
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let values: Vec<f64> = (0..1_000_000)
        .map(|i| {
            let p = if i < 500_000 { 0.1 } else { 0.4 };
            f64::from(u8::from(rng.random::<f64>() < p))
        })
        .collect();
    let start = Instant::now();
    let mut adwin = Adwin::default();
    let mut alarms = 0;
    for &v in &values {
        alarms += usize::from(adwin.update(v));
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "slipway_adwin_updates_per_s: {:.0} updates/s",
        values.len() as f64 / secs
    );
    println!("slipway_adwin_alarms: {alarms} alarms");
}
