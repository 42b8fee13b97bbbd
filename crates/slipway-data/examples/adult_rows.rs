//! Makes a large Adult-like file for `bench/predict_stream`: rows of an Adult CSV drawn at
//! random and perturbed a little (age ±2, hours per week ±3, fnlwgt ±5%), written a chunk
//! at a time with `TableWriter` so that memory stays small whatever the row count.
//!
//! Usage: adult_rows ADULT_CSV ROWS OUTPUT...   (each OUTPUT: .csv, .parquet, .jsonl)

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array};
use slipway_data::Table;
use slipway_data::ingest::{self, ReadOptions, TableWriter};

/// A small deterministic generator (no extra dependency).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [adult, rows, outputs @ ..] = args.as_slice() else {
        return Err("usage: adult_rows ADULT_CSV ROWS OUTPUT...".into());
    };
    let rows: usize = rows.parse()?;
    let adult = ingest::read_table(Path::new(adult), &ReadOptions::default())?;
    let mut writers = outputs
        .iter()
        .map(|o| TableWriter::create(Path::new(o)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut rng = Lcg(42);
    let chunk = 64 * 1024;
    let mut done = 0;
    while done < rows {
        let n = chunk.min(rows - done);
        let take: Vec<usize> = (0..n)
            .map(|_| rng.below(adult.n_rows() as u64) as usize)
            .collect();
        let picked = adult.take(&take)?;
        let mut columns: Vec<ArrayRef> = picked.record_batch().columns().to_vec();
        for (name, spread, pct) in [
            ("age", 2, false),
            ("hours_per_week", 3, false),
            ("fnlwgt", 5, true),
        ] {
            let j = picked.schema().names().iter().position(|c| *c == name);
            let Some(j) = j else { continue };
            let old = columns[j]
                .as_any()
                .downcast_ref::<Int64Array>()
                .ok_or("an integer column")?;
            let new: Int64Array = old
                .iter()
                .map(|v| {
                    v.map(|x| {
                        let d = rng.below(2 * spread + 1) as i64 - spread as i64;
                        if pct {
                            (x + x * d / 100).max(1)
                        } else {
                            (x + d).max(1)
                        }
                    })
                })
                .collect();
            columns[j] = Arc::new(new);
        }
        let table = Table::new(picked.schema().clone(), columns)?;
        for w in &mut writers {
            w.write(&table)?;
        }
        done += n;
    }
    for w in writers {
        w.finish()?;
    }
    Ok(())
}
