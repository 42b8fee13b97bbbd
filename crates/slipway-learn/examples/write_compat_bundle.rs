//! Writes the bundle that `tests/bundle.rs` checks old builds' models against:
//! `cargo run -p slipway-learn --example write_compat_bundle -- <dir>`.
//! Run it only when introducing a new bundle format version (into a new `bundle_vN`
//! directory); the existing directories must stay as they were written.

use std::collections::BTreeMap;
use std::path::PathBuf;

use slipway_data::Role;
use slipway_data::ingest::{ReadOptions, read_table};
use slipway_data::profile::profile;
use slipway_learn::Prediction;
use slipway_learn::bundle::{BundleContents, Lineage, write_bundle};
use slipway_learn::gbdt::GbdtParams;
use slipway_learn::pipeline::{FittedPipeline, ModelSpec, TargetInfo, TaskHint};

fn main() {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .expect("usage: write_compat_bundle <dir>"),
    );
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/adult_sample.csv");
    let mut t = read_table(&data, &ReadOptions::default()).expect("read sample");
    t.set_role("income", Role::Target).expect("target");
    t.set_role("sex", Role::Protected).expect("protected");
    let (target, y) = TargetInfo::fit(&t, "income", TaskHint::Auto).expect("target");
    let spec = ModelSpec::Gbdt(GbdtParams {
        n_estimators: 20,
        num_leaves: 7,
        min_data_in_leaf: 10,
        ..GbdtParams::default()
    });
    let rows: Vec<usize> = (0..t.n_rows()).collect();
    let p = FittedPipeline::fit(&t, &rows, &target, &y, &spec, &spec.default_preprocess())
        .expect("fit");
    write_bundle(
        &out.join("model"),
        BundleContents {
            name: "adult-sample",
            created_at: "2026-11-27T00:00:00Z",
            pipeline: &p,
            profile: &profile(&t),
            metrics: BTreeMap::new(),
            lineage: Lineage::default(),
            extra_files: Vec::new(),
        },
    )
    .expect("write bundle");
    let Prediction::Probabilities(m) = p.predict(&t).expect("predict") else {
        panic!("classification model returned values")
    };
    let lines: Vec<String> = (0..m.n_rows()).map(|i| m.get(i, 1).to_string()).collect();
    std::fs::write(out.join("expected_p1.txt"), lines.join("\n") + "\n").expect("write");
}
