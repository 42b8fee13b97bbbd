//! Slipway's data layer.
//!
//! Data flows through it like this:
//!
//! - [`ingest`] reads CSV/TSV, Parquet and JSON lines into a [`Table`]:
//!   [`ingest::read_table`] with [`ingest::ReadOptions`] (delimiter, missing-value tokens,
//!   declared types, how many rows to infer from). A table is a [`Schema`] (logical
//!   [`DataType`]s and column [`Role`]s) over Arrow arrays; types are inferred by the rule in
//!   [`ingest::infer_type`] unless declared. [`ingest::write_table`] writes a table back
//!   atomically and [`ingest::fingerprint`] hashes a file so a model records what it saw.
//! - [`validate`] checks a table against [`validate::Rules`] (required columns, types,
//!   ranges, allowed values, missing fractions, uniqueness, duplicate rows) and returns a
//!   [`validate::ValidationReport`] of every broken rule with example rows.
//! - [`profile`] summarizes each column ([`profile::Profile`]: counts, moments, quantiles,
//!   histograms, top categories); the profile is stored with every model as its drift
//!   baseline, and [`profile::render_html`] shows it as a page.
//! - [`html`] holds the self-contained HTML/SVG pieces ([`html::Page`], [`html::table`],
//!   [`html::bar_chart`], [`html::histogram`], [`html::line_chart`], [`html::heatmap`]) that
//!   the profile page and the training report are built from.
//!
//! Every fallible function returns [`Result`]; [`Error::kind`] tells a user's mistake (a bad
//! file, an unknown column) from a failure inside Slipway.
//!
//! ```no_run
//! use std::path::Path;
//! use slipway_data::ingest::{ReadOptions, read_table};
//! use slipway_data::{profile, validate};
//!
//! let table = read_table(Path::new("train.csv"), &ReadOptions::default())?;
//! let rules: validate::Rules =
//!     serde_json::from_str(r#"{"columns": {"age": {"min": 0, "max": 120}}}"#).unwrap();
//! rules.check()?;
//! let report = validate::validate(&table, &rules);
//! if !report.is_ok() {
//!     eprintln!("{report}");
//! }
//! let baseline = profile::profile(&table);
//! std::fs::write("profile.html", profile::render_html(&baseline, "train.csv")).unwrap();
//! # Ok::<(), slipway_data::Error>(())
//! ```

mod error;
pub mod html;
pub mod ingest;
pub mod profile;
mod schema;
pub mod special;
mod table;
pub mod validate;

pub use error::{Error, ErrorKind, Result, closest};
pub use schema::{DataType, Field, Role, Schema};
pub use table::Table;
