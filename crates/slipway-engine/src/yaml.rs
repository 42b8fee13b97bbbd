//! YAML for pipeline configs, validation rules and promotion policies.
//!
//! Parsing goes through `serde_norway`, a maintained fork of
//! `serde_yaml` (which is deprecated and unmaintained: see ARCHITECTURE.md for the
//! comparison). Every error names the file, the line and the column
//! (`pipeline.yaml:7:15: ...`), and [`Locations`] finds the line and column of any key so
//! that checks made after parsing (a model's parameters, a misspelled target) point at the
//! line too.

use std::fmt;
use std::path::Path;

use serde::de::{
    self, Deserialize, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor,
};

/// A YAML document that did not parse into the expected type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// 1-based line of the offending value, when known.
    pub line: Option<u64>,
    /// 1-based column of the offending value, when known.
    pub column: Option<u64>,
    /// What is wrong, without the location.
    pub message: String,
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "line {l} column {c}: {}", self.message),
            (Some(l), None) => write!(f, "line {l}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for YamlError {}

/// Parses YAML text into `T`.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    serde_norway::from_str(text).map_err(|e| yaml_error(&e))
}

fn yaml_error(e: &serde_norway::Error) -> YamlError {
    let location = e.location();
    YamlError {
        line: location.as_ref().map(|l| l.line() as u64),
        column: location.as_ref().map(|l| l.column() as u64),
        message: message_of(e),
    }
}

/// The error's text without the location the parser appends (" at line L column C"): the
/// location is reported on its own.
fn message_of(e: &serde_norway::Error) -> String {
    let text = e.to_string();
    let cut = text.find(" at line ").unwrap_or(text.len());
    text[..cut].trim().to_string()
}

/// `path:line:column` (as much as is known), the prefix of a located message.
pub fn at(path: &Path, line: Option<u64>, column: Option<u64>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!("{}:{l}:{c}", path.display()),
        (Some(l), None) => format!("{}:{l}", path.display()),
        _ => path.display().to_string(),
    }
}

/// Parses the YAML file text at `path` into `T`; the error is a config error at
/// `path:line:column`.
pub fn from_file_text<T: DeserializeOwned>(text: &str, path: &Path) -> crate::Result<T> {
    from_str(text).map_err(|e| crate::Error::Config {
        path: at(path, e.line, e.column),
        message: e.message,
    })
}

/// Finds the line and column of any key or list item of a YAML document by its path
/// (`models[0].params`, `roles.ignored[1]`, `target`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Locations {
    text: String,
}

/// The error a [`Probe`] raises on reaching its value, so that the parser stamps the value's
/// position on it.
const FOUND: &str = "\u{0}slipway: probe reached its value";

impl Locations {
    /// The locations in `text`.
    pub fn of(text: &str) -> Locations {
        Locations {
            text: text.to_string(),
        }
    }

    /// Line and column of the value at `key`, or of its nearest enclosing value that is in
    /// the document (`models[0].params.num_leaves` falls back to `models[0].params`, then to
    /// `models[0]`). `None` when not even the first part of the path is there.
    pub fn find(&self, key: &str) -> Option<(u64, u64)> {
        let path = parse_path(key);
        (1..=path.len()).rev().find_map(|n| self.probe(&path[..n]))
    }

    /// Walks the document along `path` and fails on arrival: the parser's error carries the
    /// position of the value it was reading.
    fn probe(&self, path: &[Seg]) -> Option<(u64, u64)> {
        let de = serde_norway::Deserializer::from_str(&self.text);
        let e = Probe { path }.deserialize(de).err()?;
        // The message carries the path before it ("models[0]: ...").
        if !e.to_string().contains(FOUND) {
            return None;
        }
        let l = e.location()?;
        Some((l.line() as u64, l.column() as u64))
    }
}

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
}

/// `models[0].params` → `models`, `0`, `params`.
fn parse_path(key: &str) -> Vec<Seg> {
    let mut out = Vec::new();
    for part in key.split('.').filter(|p| !p.is_empty()) {
        let mut rest = part;
        if let Some(i) = rest.find('[') {
            if i > 0 {
                out.push(Seg::Key(rest[..i].to_string()));
            }
            rest = &rest[i..];
            while let Some(r) = rest.strip_prefix('[') {
                let Some(end) = r.find(']') else { break };
                match r[..end].parse() {
                    Ok(n) => out.push(Seg::Index(n)),
                    Err(_) => return out,
                }
                rest = &r[end + 1..];
            }
        } else {
            out.push(Seg::Key(rest.to_string()));
        }
    }
    out
}

/// Follows `path` through the document and fails with [`FOUND`] at its end.
struct Probe<'a> {
    path: &'a [Seg],
}

impl<'de> DeserializeSeed<'de> for Probe<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Probe<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.scalar()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.scalar()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.scalar()
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.scalar()
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
    fn visit_newtype_struct<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        // A tagged value (`!tag x`): as far as the path goes, a leaf.
        self.scalar()
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Some((Seg::Index(want), rest)) = self.path.split_first() else {
            return Err(de::Error::custom(FOUND));
        };
        for _ in 0..*want {
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Err(de::Error::custom("no such item"));
            }
        }
        seq.next_element_seed(Probe { path: rest })?;
        Err(de::Error::custom("no such item"))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some((Seg::Key(want), rest)) = self.path.split_first() else {
            return Err(de::Error::custom(FOUND));
        };
        while let Some(k) = map.next_key::<KeyText>()? {
            if &k.0 == want {
                map.next_value_seed(Probe { path: rest })?;
                return Err(de::Error::custom("no such key"));
            }
            map.next_value::<IgnoredAny>()?;
        }
        Err(de::Error::custom("no such key"))
    }
}

impl Probe<'_> {
    fn scalar<E: de::Error>(&self) -> Result<(), E> {
        Err(de::Error::custom(if self.path.is_empty() {
            FOUND
        } else {
            "no such key"
        }))
    }
}

/// A mapping key as text, whatever its YAML type (`1: ...` is key "1").
struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = KeyText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping key")
            }
            fn visit_str<E>(self, v: &str) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_bool<E>(self, v: bool) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_unit<E>(self) -> Result<KeyText, E> {
                Ok(KeyText("null".into()))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_and_keys_carry_line_and_column() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Doc {
            a: u32,
            b: Vec<u32>,
        }
        let e = from_str::<Doc>("a: 1\nb:\n  - 2\n  - x\n").unwrap_err();
        assert_eq!(e.line, Some(4), "{e}");
        assert_eq!(e.column, Some(5), "{e}");
        assert!(!e.message.contains("line"), "{e}");
        let loc = Locations::of(
            "a: 1\nmodels:\n  - {type: gbdt, params: {x: 1}}\n  - type: svm\n    params:\n      c: 2\n",
        );
        assert_eq!(loc.find("a"), Some((1, 4)));
        assert_eq!(loc.find("models[1]").map(|p| p.0), Some(4));
        assert_eq!(loc.find("models[1].params").map(|p| p.0), Some(6));
        assert_eq!(loc.find("models[0].params.x").map(|p| p.0), Some(3));
        assert_eq!(loc.find("models[1].params.nope").map(|p| p.0), Some(6));
        assert_eq!(loc.find("nothing"), None);
    }
}
