//! Every ```yaml block in README.md is parsed by the real config parser, so the README cannot
//! show a config that Slipway refuses.
//!
//! An HTML comment on the line before each block says what it is:
//! - `<!-- yaml: pipeline ... -->`: a complete pipeline config;
//! - `<!-- yaml: pipeline-part ... -->`: some top-level keys of one, checked on top of a
//!   minimal config (`name`, `data`, `target`, one model) for the keys it does not set;
//! - `<!-- yaml: rules ... -->`: a validation rules file (`slipway validate --rules`);
//! - `<!-- yaml: policy ... -->`: a promotion policy (`slipway serve --policy`);
//! - `<!-- yaml: retrain ... -->`: a retrain policy (`slipway monitor retrain --policy`);
//! - `<!-- yaml: monitors ... -->`: scheduled monitors (`slipway serve --monitors`).
//!
//! A block without a known marker fails the test: every block is checked by something.

use std::path::Path;

use slipway_data::validate::Rules;
use slipway_engine::PipelineConfig;

/// One ```yaml block: the 1-based line of its opening fence, its marker and its text.
struct Block {
    line: usize,
    kind: Option<String>,
    text: String,
}

fn yaml_blocks(readme: &str) -> Vec<Block> {
    let lines: Vec<&str> = readme.lines().collect();
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim_start().starts_with("```yaml") {
            let kind = lines[..i]
                .iter()
                .rev()
                .find(|l| !l.trim().is_empty())
                .and_then(|l| l.trim().strip_prefix("<!-- yaml:"))
                .and_then(|rest| rest.split_whitespace().next())
                .map(str::to_string);
            let start = i;
            let mut text = String::new();
            i += 1;
            while i < lines.len() && !lines[i].trim_start().starts_with("```") {
                text.push_str(lines[i]);
                text.push('\n');
                i += 1;
            }
            blocks.push(Block {
                line: start + 1,
                kind,
                text,
            });
        }
        i += 1;
    }
    blocks
}

/// Top-level keys of a YAML mapping written in block style (`key:` at column 0).
fn top_level_keys(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.starts_with([' ', '\t', '#', '-']) && !l.trim().is_empty())
        .filter_map(|l| l.split_once(':').map(|(k, _)| k.trim().to_string()))
        .collect()
}

fn check_pipeline(text: &str, origin: &str) -> Result<(), String> {
    let cfg = PipelineConfig::parse(text, Path::new(origin)).map_err(|e| e.to_string())?;
    if !cfg.is_clustering() {
        cfg.candidates().map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn check(block: &Block) -> Result<(), String> {
    let origin = format!("README.md block at line {}", block.line);
    match block.kind.as_deref() {
        Some("pipeline") => check_pipeline(&block.text, &origin),
        Some("pipeline-part") => {
            let keys = top_level_keys(&block.text);
            let mut text = String::new();
            for (key, base) in [
                ("name", "name: readme\n"),
                ("data", "data: {train: train.csv}\n"),
                ("target", "target: y\n"),
                ("models", "models:\n  - {type: gbdt}\n"),
            ] {
                if !keys.iter().any(|k| k == key) {
                    text.push_str(base);
                }
            }
            text.push_str(&block.text);
            check_pipeline(&text, &origin)
        }
        Some("rules") => {
            let rules: Rules = slipway_engine::yaml::from_str(&block.text)
                .map_err(|e| format!("{origin}: {e}"))?;
            rules.check().map_err(|e| format!("{origin}: {e}"))
        }
        Some("policy") => slipway_govern::Policy::parse(&block.text, &origin)
            .map(drop)
            .map_err(|e| e.to_string()),
        Some("alerts") => slipway_monitor::alerts::config::AlertConfig::parse(&block.text)
            .map(drop)
            .map_err(|e| format!("{origin}: {e}")),
        Some("retrain") => {
            slipway_monitor::retrain::RetrainPolicy::parse(&block.text, Path::new("."))
                .map(drop)
                .map_err(|e| format!("{origin}: {e}"))
        }
        Some("monitors") => {
            slipway_monitor::scheduled::MonitorsFile::parse(&block.text, Path::new("."))
                .map(|_| ())
                .map_err(|e| format!("{origin}: {e}"))
        }
        Some(other) => Err(format!(
            "{origin}: unknown marker `yaml: {other}` (pipeline, pipeline-part, rules, policy, alerts, retrain or monitors)"
        )),
        None => Err(format!(
            "{origin}: no `<!-- yaml: pipeline|pipeline-part|rules|policy|alerts -->` marker before it, so nothing checks it"
        )),
    }
}

#[test]
fn every_yaml_block_in_the_readme_is_a_valid_config() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .expect("README.md");
    let blocks = yaml_blocks(&readme);
    assert!(
        blocks.len() >= 2,
        "expected the README's config examples, found {} yaml blocks",
        blocks.len()
    );
    let failures: Vec<String> = blocks.iter().filter_map(|b| check(b).err()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_checker_catches_what_the_readme_used_to_show() {
    // `test_fraction` inside `data:` is refused, so a block showing it fails.
    let block = Block {
        line: 1,
        kind: Some("pipeline".into()),
        text:
            "name: x\ndata: {train: t.csv, test_fraction: 0.2}\ntarget: y\nmodels: [{type: gbdt}]\n"
                .into(),
    };
    let e = check(&block).unwrap_err();
    assert!(e.contains("test_fraction"), "{e}");
    // An unmarked block is refused too.
    let block = Block {
        line: 7,
        kind: None,
        text: "name: x\n".into(),
    };
    assert!(check(&block).unwrap_err().contains("line 7"));
    // A bad parameter inside a part is found by the candidates check.
    let block = Block {
        line: 9,
        kind: Some("pipeline-part".into()),
        text: "models:\n  - {type: random_forest, params: {n_estimatorz: 5}}\n".into(),
    };
    assert!(check(&block).unwrap_err().contains("n_estimatorz"));
}
