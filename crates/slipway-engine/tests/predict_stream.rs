//! `predict` streams: a file scored a few rows at a time gives the same output bytes as the
//! whole file in one chunk (CSV and Parquet in; CSV, Parquet and JSON lines out; a
//! classification and a regression bundle), and a predict that fails halfway leaves no
//! output behind.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use slipway_data::ingest::{self, ReadOptions};
use slipway_engine::{Engine, NoProgress, PipelineConfig, PredictOptions, Progress};

/// A small deterministic generator (no extra dependency).
struct Lcg(u64);

impl Lcg {
    fn uniform(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 11) as f64) / ((1u64 << 53) as f64)
    }
}

const COLORS: [&str; 3] = ["red", "green", "blue"];

/// Rows with an integer id `rid`, a numeric `age` and `x`, a categorical `color`, targets
/// `y` (yes/no) and `amount`, and a `note` nobody uses. `messy` adds missing values, a
/// colour never seen in training, a `tag` column (text-formatted numbers) to keep, and one
/// id late in the file that is not an integer.
fn write_rows(path: &Path, n: usize, seed: u64, messy: bool) {
    let mut rng = Lcg(seed);
    let mut csv = String::from("rid,age,color,x,note,y,amount");
    csv.push_str(if messy { ",tag\n" } else { "\n" });
    for i in 0..n {
        let age = 18 + (rng.uniform() * 60.0) as i64;
        let c = (rng.uniform() * 3.0) as usize;
        let x = rng.uniform() * 10.0 - 5.0;
        let p = 0.2 + 0.5 * (c == 1) as u8 as f64 + 0.03 * x;
        let y = if rng.uniform() < p { "yes" } else { "no" };
        let amount = 3.0 * x + age as f64 * 0.1 + c as f64 + rng.uniform();
        let rid = if messy && i == n - 300 {
            "X-17".to_string()
        } else {
            (1000 + i).to_string()
        };
        let age = if messy && i % 11 == 3 {
            String::new()
        } else {
            age.to_string()
        };
        let color = match (messy, i % 13) {
            (true, 5) => "NA",
            (true, 7) => "purple",
            _ => COLORS[c],
        };
        let x = if messy && i % 17 == 2 {
            String::new()
        } else {
            format!("{x:.6}")
        };
        csv.push_str(&format!(
            "{rid},{age},{color},{x},\"note {i}, unused\",{y},{amount:.4}"
        ));
        if messy {
            csv.push_str(&format!(",{:.2}", i as f64 / 8.0));
        }
        csv.push('\n');
    }
    std::fs::write(path, csv).unwrap();
}

/// Trains a small bundle on `dir/train.csv` predicting `target` (the other target ignored).
fn train(dir: &Path, name: &str, target: &str, ignored: &str) -> PathBuf {
    let text = format!(
        "name: {name}\ndata: {{train: {}}}\ntarget: {target}\nroles: {{id: [rid], ignored: [note, {ignored}]}}\n\
         models:\n  - {{type: gbdt, params: {{n_estimators: 20, num_leaves: 7}}}}\n\
         cv: {{folds: 2}}\nseed: 1\nthreads: 2\noutput: {}\n",
        dir.join("train.csv").display(),
        dir.join(name).display()
    );
    let cfg = PipelineConfig::parse(&text, Path::new("test.yaml")).unwrap();
    let o = Engine::default().train(&cfg, None, &NoProgress).unwrap();
    o.bundle.expect("the gate passes")
}

fn predict(model: &Path, input: &Path, output: &Path, chunk_rows: usize) {
    let options = PredictOptions {
        keep: vec!["tag".into()],
        chunk_rows,
    };
    let out = Engine::default()
        .predict(model, input, output, &options)
        .unwrap();
    assert_eq!(out.rows, 3000);
    assert_eq!(out.ignored_columns, ["note", "y", "amount"]);
}

/// Records the stages begun and the positions reached.
#[derive(Default)]
struct Positions(Mutex<Vec<(String, u64)>>);

impl Progress for Positions {
    fn begin(&self, label: &str, total: u64) {
        self.0
            .lock()
            .unwrap()
            .push((format!("begin {label}"), total));
    }
    fn set_position(&self, done: u64) {
        self.0.lock().unwrap().push(("at".into(), done));
    }
    fn advance(&self, _: &str) {}
    fn end(&self) {}
    fn note(&self, _: &str) {}
}

#[test]
fn chunked_predictions_equal_whole_file_predictions_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_rows(&d.join("train.csv"), 600, 1, false);
    write_rows(&d.join("score.csv"), 3000, 2, true);
    // The same rows as Parquet, with the types a whole-file read gives them.
    let table = ingest::read_table(&d.join("score.csv"), &ReadOptions::default()).unwrap();
    ingest::write_table(&table, &d.join("score.parquet")).unwrap();

    let bundles = [
        train(d, "classify", "y", "amount"),
        train(d, "regress", "amount", "y"),
    ];
    for (b, bundle) in bundles.iter().enumerate() {
        for input in ["score.csv", "score.parquet"] {
            for ext in ["csv", "parquet", "jsonl"] {
                let whole = d.join(format!("whole_{b}_{input}.{ext}"));
                let chunked = d.join(format!("chunked_{b}_{input}.{ext}"));
                predict(bundle, &d.join(input), &whole, 1 << 20);
                predict(bundle, &d.join(input), &chunked, 7);
                assert!(
                    std::fs::read(&whole).unwrap() == std::fs::read(&chunked).unwrap(),
                    "bundle {b}, {input} → {ext}: chunked output differs"
                );
            }
        }
        // The late non-integer id made the id column text, as a whole-file read does.
        let out = std::fs::read_to_string(d.join(format!("chunked_{b}_score.csv.csv"))).unwrap();
        assert!(out.contains("\nX-17,"), "{}", &out[..200]);
        assert!(out.starts_with("rid,tag,prediction"));
        assert!(out.contains("\n1000,0.0,"));
    }
}

#[test]
fn a_predict_that_fails_halfway_leaves_the_old_output_alone() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_rows(&d.join("train.csv"), 600, 1, false);
    write_rows(&d.join("score.csv"), 3000, 2, true);
    let bundle = train(d, "classify", "y", "amount");
    // A bad age on line 2502 (row 2500): far past the first chunks.
    let text = std::fs::read_to_string(d.join("score.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let fields: Vec<&str> = lines[2501].split(',').collect();
    let mut bad = fields.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    bad[1] = "abc".into();
    lines[2501] = bad.join(",");
    std::fs::write(d.join("bad.csv"), lines.join("\n") + "\n").unwrap();

    let out_dir = d.join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    for ext in ["csv", "parquet"] {
        let output = out_dir.join(format!("p.{ext}"));
        std::fs::write(&output, "old").unwrap();
        let options = PredictOptions {
            keep: vec!["tag".into()],
            chunk_rows: 64,
        };
        let err = Engine::default()
            .predict(&bundle, &d.join("bad.csv"), &output, &options)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("bad.csv:2502: column \"age\": value \"abc\" is not a number"),
            "{err}"
        );
        assert_eq!(std::fs::read_to_string(&output).unwrap(), "old");
    }
    let left: Vec<_> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(left.len(), 2, "{left:?}");
}

#[test]
fn progress_counts_rows_of_parquet_and_mib_of_csv() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_rows(&d.join("train.csv"), 600, 1, false);
    // Clean rows: a late id that breaks its training type would start the pass (and the
    // progress stage) over.
    write_rows(&d.join("score.csv"), 3000, 2, false);
    let table = ingest::read_table(&d.join("score.csv"), &ReadOptions::default()).unwrap();
    ingest::write_table(&table, &d.join("score.parquet")).unwrap();
    let bundle = train(d, "classify", "y", "amount");
    let options = PredictOptions {
        chunk_rows: 500,
        ..PredictOptions::default()
    };
    let seen = Positions::default();
    Engine::default()
        .predict_with_progress(
            &bundle,
            &d.join("score.parquet"),
            &d.join("p.csv"),
            &options,
            &seen,
        )
        .unwrap();
    let seen = seen.0.into_inner().unwrap();
    assert_eq!(seen[0], ("begin scoring rows".to_string(), 3000));
    let at: Vec<u64> = seen[1..].iter().map(|(_, n)| *n).collect();
    assert!(at.windows(2).all(|w| w[0] <= w[1]), "{at:?}");
    assert_eq!(at.last(), Some(&3000));

    let seen = Positions::default();
    Engine::default()
        .predict_with_progress(
            &bundle,
            &d.join("score.csv"),
            &d.join("p.csv"),
            &options,
            &seen,
        )
        .unwrap();
    let seen = seen.0.into_inner().unwrap();
    // The CSV is under 1 MiB: one MiB to read, read once done.
    assert_eq!(seen[0], ("begin scoring (MiB read)".to_string(), 1));
    assert_eq!(seen.last().unwrap().1, 1);
}
