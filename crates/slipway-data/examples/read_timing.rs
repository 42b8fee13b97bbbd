//! Reads a data file and reports its shape, column types and how long reading took.
//!
//! `cargo run --release -p slipway-data --example read_timing -- FILE [FILE...]`

use std::path::Path;
use std::time::Instant;

use slipway_data::ingest::{ReadOptions, read_table};

fn main() {
    for arg in std::env::args().skip(1) {
        let start = Instant::now();
        match read_table(Path::new(&arg), &ReadOptions::default()) {
            Ok(table) => {
                let secs = start.elapsed().as_secs_f64();
                println!(
                    "{arg}: {} rows x {} columns in {secs:.3} s",
                    table.n_rows(),
                    table.n_cols()
                );
                for f in &table.schema().fields {
                    println!("  {}: {}", f.name, f.dtype);
                }
            }
            Err(e) => println!("{arg}: error: {e}"),
        }
    }
}
