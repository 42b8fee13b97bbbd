//! TreeSHAP throughput: imports a LightGBM text model with a sample file (as `slipway models
//! import` does), explains the rows of a CSV on a pool of N threads, and prints rows/s; with
//! a reference file (LightGBM's `pred_contrib` of the first rows, one row per line) it also
//! prints the largest difference from it.
//!
//! With a background file it also times interventional TreeSHAP (those rows as the
//! background) on the first 1,000 rows and checks its additivity.
//!
//! Usage: treeshap_bench MODEL.txt SAMPLE.csv ROWS.csv THREADS [REFERENCE.csv [BACKGROUND.csv]]
//! Prints `name: value unit` lines.

use std::path::Path;
use std::time::Instant;

use slipway_data::ingest::{ReadOptions, read_table};
use slipway_explain::TreeShap;
use slipway_learn::import::{self, ImportedSpec, Library, lightgbm};
use slipway_learn::trees::Ensemble;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        eprintln!(
            "usage: treeshap_bench MODEL.txt SAMPLE.csv ROWS.csv THREADS [REFERENCE.csv [BACKGROUND.csv]]"
        );
        std::process::exit(2);
    }
    let text = std::fs::read_to_string(&args[1]).expect("model file");
    let file = lightgbm::parse(&text, &args[1]).expect("a LightGBM model");
    let spec = ImportedSpec {
        library: Library::Lightgbm,
        file: args[1].clone(),
        sha256: "sha256:bench".into(),
        objective: file.model.objective().to_string(),
        format_version: file.format_version.clone(),
    };
    let sample = read_table(Path::new(&args[2]), &ReadOptions::default()).expect("sample");
    let pipeline = import::import_pipeline(file, spec, &sample, "sample").expect("import");
    let rows = read_table(Path::new(&args[3]), &ReadOptions::default()).expect("rows");
    let x = pipeline
        .preprocessor
        .transform(&rows)
        .expect("rows fit the model");
    let threads: usize = args[4].parse().expect("threads");
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let t0 = Instant::now();
    let shap = TreeShap::new(&Ensemble::of(&pipeline.model).unwrap()).unwrap();
    let prepare = t0.elapsed().as_secs_f64();
    // One warm-up pass over a few rows, then the timed pass over all of them.
    let warm = x.n_rows().min(256);
    let head = slipway_learn::Matrix::from_columns(
        (0..x.n_cols()).map(|j| x.col(j)[..warm].to_vec()).collect(),
    )
    .unwrap();
    pool.install(|| shap.explain(&head).unwrap());
    let t = Instant::now();
    let values = pool.install(|| shap.explain(&x).unwrap());
    let secs = t.elapsed().as_secs_f64();
    println!("slipway_prepare: {:.1} ms", prepare * 1e3);
    println!("slipway_rows: {} rows", x.n_rows());
    println!("slipway_seconds: {secs:.3} s");
    println!("slipway_tree_shap: {:.0} rows/s", x.n_rows() as f64 / secs);
    if let Some(reference) = args.get(5) {
        let w = shap.row_len();
        let mut max = 0.0f64;
        let mut n = 0;
        for (r, line) in std::fs::read_to_string(reference)
            .unwrap()
            .lines()
            .enumerate()
        {
            for (j, v) in line.split(',').enumerate() {
                let want: f64 = v.parse().unwrap();
                max = max.max((values[r * w + j] - want).abs());
            }
            n += 1;
        }
        println!("slipway_vs_pred_contrib_rows: {n} rows");
        println!("slipway_vs_pred_contrib_max_abs_diff: {max:.3e}");
    }
    if let Some(bg) = args.get(6) {
        let bg = read_table(Path::new(bg), &ReadOptions::default()).expect("background");
        let bgx = pipeline
            .preprocessor
            .transform(&bg)
            .expect("background fits the model");
        let e = Ensemble::of(&pipeline.model).unwrap();
        let iv = slipway_explain::interventional::Interventional::new(&e, &bgx).unwrap();
        let n = x.n_rows().min(1000);
        let xi = slipway_learn::Matrix::from_columns(
            (0..x.n_cols()).map(|j| x.col(j)[..n].to_vec()).collect(),
        )
        .unwrap();
        let t = Instant::now();
        let v = pool.install(|| iv.explain(&xi).unwrap());
        let secs = t.elapsed().as_secs_f64();
        println!("slipway_interventional: {:.0} rows/s", n as f64 / secs);
        let raw = match &pipeline.model {
            slipway_learn::pipeline::FittedModel::Imported(m) => m.predict_raw(&xi),
            _ => unreachable!("an imported model"),
        };
        let w = iv.row_len();
        let worst = (0..n)
            .map(|r| (v[r * w..(r + 1) * w].iter().sum::<f64>() - raw[r]).abs())
            .fold(0.0f64, f64::max);
        println!("slipway_interventional_additivity_error: {worst:.3e}");
    }
}
