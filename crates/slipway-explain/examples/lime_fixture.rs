//! Writes the LIME reference fixture (`tests/reference/lime_train.csv` and
//! `lime_neighbourhood.json`): the training sample (the Adult test rows of the import
//! reference with every numeric input present, input columns only) and the neighbourhoods
//! Slipway draws for its first rows under the Slipway Adult GBDT; `make_lime.py` then runs
//! the `lime` package on the same numbers and `tests/lime.rs` compares.
//!
//! ```sh
//! cargo run -p slipway-explain --example lime_fixture
//! /work/venv-explain/bin/python crates/slipway-explain/tests/reference/make_lime.py
//! ```

use std::path::Path;

use serde_json::json;
use slipway_data::ingest::{ReadOptions, TableWriter, read_table};
use slipway_data::{DataType, Table};
use slipway_explain::lime::{ColumnStats, LimeOptions, LimeTabular};
use slipway_learn::exact_json;
use slipway_learn::pipeline::FittedPipeline;

/// Rows whose neighbourhoods are written, samples per neighbourhood, the seed.
const ROWS: usize = 3;
const SAMPLES: usize = 1000;
const SEED: u64 = 7;

fn main() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference");
    let p: FittedPipeline = exact_json::from_slice(
        &std::fs::read(here.join("slipway_binary_adult.pipeline.json")).unwrap(),
    )
    .unwrap();
    let mut read = ReadOptions::default();
    for (n, t) in p.input_schema() {
        read.types.insert(n, t);
    }
    let all = read_table(
        &here.join("../../../slipway-learn/tests/reference/import/adult.test.csv"),
        &read,
    )
    .unwrap();
    let inputs: Vec<(String, DataType)> = p.input_schema();
    let names: Vec<&str> = inputs.iter().map(|(n, _)| n.as_str()).collect();
    let all = all.select(&names).unwrap();
    // Rows with every numeric input present (the package bins NaN into no quartile).
    let numeric: Vec<Vec<f64>> = inputs
        .iter()
        .filter(|(_, t)| matches!(t, DataType::Integer | DataType::Float))
        .map(|(n, _)| all.numeric_values(n).unwrap())
        .collect();
    let keep: Vec<usize> = (0..all.n_rows())
        .filter(|&r| numeric.iter().all(|c| !c[r].is_nan()))
        .collect();
    let train = all.take(&keep).unwrap();
    let csv = here.join("lime_train.csv");
    let mut w = TableWriter::create(&csv).unwrap();
    w.write(&train).unwrap();
    w.finish().unwrap();
    // Read back as the test reads it.
    let train: Table = read_table(&csv, &read).unwrap();
    let opts = LimeOptions {
        num_samples: SAMPLES,
        num_features: 10,
        seed: SEED,
    };
    let lime = LimeTabular::new(&p, &train, opts).unwrap();
    let rows = train.take(&(0..ROWS).collect::<Vec<_>>()).unwrap();
    let nbs = lime.neighbourhoods(&p, &rows, 0).unwrap();
    let kinds: Vec<&str> = lime
        .stats()
        .iter()
        .map(|s| match s {
            ColumnStats::Numeric { .. } => "numeric",
            ColumnStats::Categorical { .. } => "categorical",
        })
        .collect();
    let doc = json!({
        "pipeline": "slipway_binary_adult.pipeline.json",
        "train": "lime_train.csv",
        "columns": lime.columns(),
        "kinds": kinds,
        "num_samples": SAMPLES,
        "seed": SEED,
        "kernel_width": lime.kernel_width(),
        "rows": nbs.iter().map(|nb| json!({
            "binary": nb.binary.chunks_exact(nb.n_columns)
                .map(|s| s.iter().map(|b| if *b == 1 { '1' } else { '0' }).collect::<String>())
                .collect::<Vec<_>>(),
            "labels": nb.labels,
            "distances": nb.distances,
        })).collect::<Vec<_>>(),
    });
    let out = here.join("lime_neighbourhood.json");
    std::fs::write(&out, serde_json::to_string(&doc).unwrap() + "\n").unwrap();
    println!(
        "{} training rows to {}, {ROWS} neighbourhoods of {SAMPLES} samples to {}",
        train.n_rows(),
        csv.display(),
        out.display()
    );
}
