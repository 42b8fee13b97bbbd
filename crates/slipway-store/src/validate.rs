//! Limits and naming rules checked before anything is written (MLflow's own limits).

use crate::error::{Error, Result};
use crate::model::{DatasetInput, KeyValue, LogBatch, Metric};

/// Longest param, metric or tag key.
pub const MAX_KEY_LENGTH: usize = 250;
/// Longest param value.
pub const MAX_PARAM_VALUE_LENGTH: usize = 6000;
/// Longest run tag value.
pub const MAX_TAG_VALUE_LENGTH: usize = 8000;
/// Longest experiment tag value.
pub const MAX_EXPERIMENT_TAG_VALUE_LENGTH: usize = 5000;
/// Longest experiment or run name.
pub const MAX_NAME_LENGTH: usize = 500;
/// Most metrics in one batch.
pub const MAX_BATCH_METRICS: usize = 1000;
/// Most params in one batch.
pub const MAX_BATCH_PARAMS: usize = 100;
/// Most tags in one batch.
pub const MAX_BATCH_TAGS: usize = 100;
/// Most items of all kinds in one batch.
pub const MAX_BATCH_TOTAL: usize = 1000;

/// A key holds letters, digits, `_ - . / :` and spaces, and is not path-like.
pub(crate) fn key(what: &str, key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(Error::invalid(format!("{what} key must not be empty")));
    }
    if key.chars().count() > MAX_KEY_LENGTH {
        return Err(Error::invalid(format!(
            "{what} key '{}…' is longer than {MAX_KEY_LENGTH} characters",
            key.chars().take(40).collect::<String>()
        )));
    }
    if !key
        .chars()
        .all(|c| c.is_alphanumeric() || "_-./: ".contains(c))
    {
        return Err(Error::invalid(format!(
            "Invalid {what} name: '{key}'. Names may only contain alphanumerics, underscores (_), \
             dashes (-), periods (.), spaces ( ), colons (:) and slashes (/)."
        )));
    }
    if path_not_unique(key) {
        return Err(Error::invalid(format!(
            "Invalid {what} name: '{key}'. Names may be treated as files in certain cases, and \
             must not resolve to other names when treated as such. This name would resolve to \
             '{}'.",
            normpath(key)
        )));
    }
    Ok(())
}

/// MLflow's `path_not_unique`: a key that, read as a relative file path, is not already in
/// normal form (`a//b`, `a/./b`, `a/`, `a/../b`), is `.`, climbs out (`..`) or is absolute.
pub(crate) fn path_not_unique(name: &str) -> bool {
    let norm = normpath(name);
    norm != name || norm == "." || norm.starts_with("..") || norm.starts_with('/')
}

/// Python's `posixpath.normpath`, which MLflow's rule is written against.
fn normpath(path: &str) -> String {
    if path.is_empty() {
        return ".".to_string();
    }
    let initial_slashes = if path.starts_with("//") && !path.starts_with("///") {
        2
    } else if path.starts_with('/') {
        1
    } else {
        0
    };
    let mut parts: Vec<&str> = Vec::new();
    for comp in path.split('/') {
        if comp.is_empty() || comp == "." {
            continue;
        }
        if comp != ".." || (initial_slashes == 0 && parts.is_empty()) || parts.last() == Some(&"..")
        {
            parts.push(comp);
        } else if !parts.is_empty() {
            parts.pop();
        }
    }
    let joined = format!("{}{}", "/".repeat(initial_slashes), parts.join("/"));
    if joined.is_empty() {
        ".".to_string()
    } else {
        joined
    }
}

/// Refuses U+0000, naming the field: PostgreSQL cannot store it in text, and SQLite must
/// not accept what PostgreSQL refuses.
pub(crate) fn no_nul(what: &str, field: &str, text: &str) -> Result<()> {
    if text.contains('\0') {
        return Err(Error::invalid(format!(
            "{what} '{}': the value contains a NUL character (U+0000), which no text may hold",
            field.replace('\0', "\\0")
        )));
    }
    Ok(())
}

pub(crate) fn value(what: &str, key: &str, value: &str, max: usize) -> Result<()> {
    no_nul(what, key, value)?;
    let n = value.chars().count();
    if n > max {
        return Err(Error::invalid(format!(
            "{what} '{key}' has a value of {n} characters; the limit is {max}"
        )));
    }
    Ok(())
}

pub(crate) fn name(what: &str, name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::invalid(format!("{what} name must not be empty")));
    }
    value(what, "name", name, MAX_NAME_LENGTH)
}

pub(crate) fn tag(t: &KeyValue) -> Result<()> {
    key("tag", &t.key)?;
    value("tag", &t.key, &t.value, MAX_TAG_VALUE_LENGTH)
}

pub(crate) fn experiment_tag(t: &KeyValue) -> Result<()> {
    key("tag", &t.key)?;
    value("tag", &t.key, &t.value, MAX_EXPERIMENT_TAG_VALUE_LENGTH)
}

pub(crate) fn param(p: &KeyValue) -> Result<()> {
    key("param", &p.key)?;
    value("param", &p.key, &p.value, MAX_PARAM_VALUE_LENGTH)
}

pub(crate) fn metric(m: &Metric) -> Result<()> {
    key("metric", &m.key)
}

/// Longest dataset name (as MLflow).
pub const MAX_DATASET_NAME_LENGTH: usize = 500;
/// Longest dataset digest (as MLflow).
pub const MAX_DATASET_DIGEST_LENGTH: usize = 36;
/// Longest dataset source (as MLflow).
pub const MAX_DATASET_SOURCE_LENGTH: usize = 65535;
/// Longest dataset schema (as MLflow).
pub const MAX_DATASET_SCHEMA_LENGTH: usize = 1_048_575;
/// Longest dataset profile (as MLflow).
pub const MAX_DATASET_PROFILE_LENGTH: usize = 16_777_215;
/// Longest input tag key (as MLflow).
pub const MAX_INPUT_TAG_KEY_LENGTH: usize = 255;
/// Longest input tag value (as MLflow).
pub const MAX_INPUT_TAG_VALUE_LENGTH: usize = 500;

/// A dataset input's fields within MLflow's limits, naming the dataset and field at fault.
pub(crate) fn dataset_input(input: &DatasetInput) -> Result<()> {
    let d = &input.dataset;
    let what = format!("dataset '{}'", d.name.chars().take(60).collect::<String>());
    for (field, text) in [
        ("name", &d.name),
        ("digest", &d.digest),
        ("source_type", &d.source_type),
    ] {
        if text.is_empty() {
            return Err(Error::invalid(format!(
                "{what}: '{field}' must not be empty"
            )));
        }
    }
    for (field, text, max) in [
        ("name", d.name.as_str(), MAX_DATASET_NAME_LENGTH),
        ("digest", &d.digest, MAX_DATASET_DIGEST_LENGTH),
        ("source", &d.source, MAX_DATASET_SOURCE_LENGTH),
        (
            "schema",
            d.schema.as_deref().unwrap_or_default(),
            MAX_DATASET_SCHEMA_LENGTH,
        ),
        (
            "profile",
            d.profile.as_deref().unwrap_or_default(),
            MAX_DATASET_PROFILE_LENGTH,
        ),
    ] {
        value(&what, field, text, max)?;
    }
    let tag_of = format!("{what} input tag");
    for t in &input.tags {
        if t.key.is_empty() {
            return Err(Error::invalid(format!("{tag_of} key must not be empty")));
        }
        value(&tag_of, "key", &t.key, MAX_INPUT_TAG_KEY_LENGTH)?;
        value(&tag_of, &t.key, &t.value, MAX_INPUT_TAG_VALUE_LENGTH)?;
    }
    Ok(())
}

pub(crate) fn batch(b: &LogBatch) -> Result<()> {
    let limits = [
        ("metrics", b.metrics.len(), MAX_BATCH_METRICS),
        ("params", b.params.len(), MAX_BATCH_PARAMS),
        ("tags", b.tags.len(), MAX_BATCH_TAGS),
        (
            "items",
            b.metrics.len() + b.params.len() + b.tags.len(),
            MAX_BATCH_TOTAL,
        ),
    ];
    for (what, n, max) in limits {
        if n > max {
            return Err(Error::invalid(format!(
                "A batch logging request can contain at most {max} {what}. Got {n} {what}."
            )));
        }
    }
    b.metrics.iter().try_for_each(metric)?;
    b.params.iter().try_for_each(param)?;
    b.tags.iter().try_for_each(tag)?;
    for m in &b.model_metrics {
        metric(&m.metric)?;
        if m.model_id.is_empty() {
            return Err(Error::invalid(format!(
                "metric '{}': model_id must not be empty",
                m.metric.key
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert!(key("param", "lr").is_ok());
        assert!(key("metric", "train/loss:epoch 1").is_ok());
        assert!(key("param", "").is_err());
        assert!(key("param", "a\"b").is_err());
        assert!(key("param", "../etc").is_err());
        assert!(key("param", "/abs").is_err());
        assert!(key("param", &"k".repeat(251)).is_err());
    }

    #[test]
    fn path_like_keys_are_refused_as_mlflow_does() {
        for bad in [
            ".", "..", "a//b", "a/./b", "a/", "/a", "a/../b", "./a", "a/..", "//a", "..a",
        ] {
            let e = key("metric", bad).expect_err(bad).to_string();
            assert!(e.contains("resolve to"), "{bad}: {e}");
        }
        for ok in ["a/b", "a.b", "a..b", "train/loss", "a/.b"] {
            assert!(key("metric", ok).is_ok(), "{ok}");
        }
        assert_eq!(normpath("a//b/./c/"), "a/b/c");
        assert_eq!(normpath("../a/.."), "..");
        assert_eq!(normpath("///a"), "/a");
    }

    #[test]
    fn nul_is_refused_in_values_and_names() {
        let e = value("param", "lr", "0.1\0", 100).unwrap_err().to_string();
        assert!(e.contains("'lr'") && e.contains("NUL"), "{e}");
        assert!(name("experiment", "a\0b").is_err());
        assert!(key("tag", "a\0b").is_err());
    }

    #[test]
    fn batch_limits() {
        let b = LogBatch {
            params: (0..101)
                .map(|i| KeyValue::new(format!("p{i}"), "v"))
                .collect(),
            ..LogBatch::default()
        };
        let e = batch(&b).unwrap_err().to_string();
        assert!(e.contains("at most 100 params"), "{e}");
    }
}
