//! Slipway's data layer.
//!
//! Data flows through it like this:
//!
//! - [`ingest`] reads CSV, Parquet and JSON lines into a [`Table`]: a [`Schema`] (logical
//!   [`DataType`]s and column [`Role`]s) over Arrow arrays. Types are inferred and can be
//!   overridden.
//! - [`validate`] checks a table against [`validate::Rules`] and returns a report of every
//!   broken rule.
//! - [`profile`] summarizes each column; the [`profile::Profile`] is stored with every model
//!   as its drift baseline.

mod error;
pub mod html;
pub mod ingest;
pub mod profile;
mod schema;
mod table;
pub mod validate;

pub use error::{Error, ErrorKind, Result};
pub use schema::{DataType, Field, Role, Schema};
pub use table::Table;
