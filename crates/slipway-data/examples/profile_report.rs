//! Profiles a data file and writes the self-contained HTML profile page.
//!
//! `cargo run --release -p slipway-data --example profile_report -- data.csv profile.html`

use std::path::Path;

use slipway_data::ingest::{ReadOptions, read_table};
use slipway_data::profile::{profile, render_html};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = args.as_slice() else {
        eprintln!("usage: profile_report DATA_FILE OUTPUT.html");
        std::process::exit(2);
    };
    let table = match read_table(Path::new(input), &ReadOptions::default()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let title = format!(
        "Profile of {}",
        Path::new(input)
            .file_name()
            .map_or(input.clone(), |n| n.to_string_lossy().into_owned())
    );
    std::fs::write(output, render_html(&profile(&table), &title)).unwrap_or_else(|e| {
        eprintln!("{output}: {e}");
        std::process::exit(1);
    });
}
