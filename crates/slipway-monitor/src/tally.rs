//! Accumulating a column's values straight from the Arrow arrays of a [`Table`], for the
//! reference summary and for each current chunk: numbers appended to a buffer with missing
//! values (nulls and NaN) counted, labels counted in a [`Tally`] (one hash lookup per value,
//! with a multiply-rotate hash: the labels come from the user's own files, and a category
//! lookup is the hot loop of a categorical column).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;

use arrow_array::types::{Float64Type, Int64Type, TimestampMillisecondType};
use arrow_array::{Array, ArrowPrimitiveType, PrimitiveArray, StringArray};
use slipway_data::{DataType, Table};

use crate::Result;

/// FxHash (rustc's): a multiply and a rotate per 8 bytes.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

const FX_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(FX_SEED);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Counts of labels.
#[derive(Default, Clone)]
pub(crate) struct Tally {
    index: HashMap<Box<str>, usize, BuildHasherDefault<FxHasher>>,
    counts: Vec<u64>,
}

impl Tally {
    /// Counts one `label`.
    pub(crate) fn add(&mut self, label: &str) {
        match self.index.get(label) {
            Some(&i) => self.counts[i] += 1,
            None => {
                self.index.insert(label.into(), self.counts.len());
                self.counts.push(1);
            }
        }
    }

    /// Whether nothing was counted.
    pub(crate) fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// Every label with its count.
    pub(crate) fn into_map(self) -> HashMap<String, u64> {
        let counts = self.counts;
        self.index
            .into_iter()
            .map(|(label, i)| (label.into_string(), counts[i]))
            .collect()
    }

    /// Every label with its count, sorted by label.
    pub(crate) fn into_sorted(self) -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = self.into_map().into_iter().collect();
        v.sort();
        v
    }
}

/// One column's accumulated values: rows, missing values, and the numbers (in file order)
/// or the label counts.
#[derive(Default, Clone)]
pub(crate) struct Values {
    pub(crate) rows: u64,
    pub(crate) missing: u64,
    pub(crate) numbers: Vec<f64>,
    pub(crate) labels: Tally,
}

fn push_primitive<T: ArrowPrimitiveType>(
    a: &PrimitiveArray<T>,
    rows: Range<usize>,
    out: &mut Vec<f64>,
    f: impl Fn(T::Native) -> f64,
) -> u64 {
    let before = out.len();
    let values = &a.values()[rows.clone()];
    match a.nulls() {
        None => out.extend(values.iter().map(|v| f(*v)).filter(|v| !v.is_nan())),
        Some(nulls) => {
            for (r, v) in rows.clone().zip(values) {
                let x = f(*v);
                if nulls.is_valid(r) && !x.is_nan() {
                    out.push(x);
                }
            }
        }
    }
    (rows.len() - (out.len() - before)) as u64
}

impl Values {
    /// Adds `rows` of column `name` of `table` as numbers (NaN and nulls are missing).
    pub(crate) fn push_numbers(
        &mut self,
        table: &Table,
        name: &str,
        rows: Range<usize>,
    ) -> Result<()> {
        let col = table.column(name)?;
        let any = col.as_any();
        self.rows += rows.len() as u64;
        let out = &mut self.numbers;
        self.missing += if let Some(a) = any.downcast_ref::<PrimitiveArray<Float64Type>>() {
            push_primitive(a, rows, out, |v| v)
        } else if let Some(a) = any.downcast_ref::<PrimitiveArray<Int64Type>>() {
            push_primitive(a, rows, out, |v| v as f64)
        } else if let Some(a) = any.downcast_ref::<PrimitiveArray<TimestampMillisecondType>>() {
            push_primitive(a, rows, out, |v| v as f64)
        } else {
            let all = table.numeric_values(name)?;
            let before = out.len();
            out.extend(all[rows.clone()].iter().filter(|v| !v.is_nan()));
            (rows.len() - (out.len() - before)) as u64
        };
        Ok(())
    }

    /// Adds `rows` of column `name` of `table` as labels: strings as they are, booleans
    /// as `true`/`false`, numbers as Slipway displays them.
    pub(crate) fn push_labels(
        &mut self,
        table: &Table,
        name: &str,
        rows: Range<usize>,
    ) -> Result<()> {
        self.rows += rows.len() as u64;
        let dtype = table.schema().require(name)?.dtype;
        let col = table.column(name)?;
        match (dtype, col.as_any().downcast_ref::<StringArray>()) {
            (DataType::Categorical | DataType::Text, Some(a)) => {
                if a.null_count() == 0 {
                    for r in rows {
                        self.labels.add(a.value(r));
                    }
                } else {
                    for r in rows {
                        if a.is_null(r) {
                            self.missing += 1;
                        } else {
                            self.labels.add(a.value(r));
                        }
                    }
                }
            }
            _ => {
                for r in rows {
                    match table.display_value(name, r)? {
                        Some(v) => self.labels.add(&v),
                        None => self.missing += 1,
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tally_counts() {
        let mut a = Tally::default();
        for s in [
            "b",
            "a",
            "b",
            "a long label of more than eight bytes",
            "b",
            "a",
            "c",
        ] {
            a.add(s);
        }
        assert_eq!(
            a.into_sorted(),
            vec![
                ("a".to_string(), 2),
                ("a long label of more than eight bytes".to_string(), 1),
                ("b".to_string(), 3),
                ("c".to_string(), 1)
            ]
        );
    }
}
