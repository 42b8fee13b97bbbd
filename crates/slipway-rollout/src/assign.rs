//! Sticky A/B assignment: the same key always lands in the same arm.
//!
//! The rule (the seed's): `md5(text) mod 100 < split_percent_b` → arm B, where `text` is the
//! bare key, or `salt:key` when a salt is set (a per-experiment salt reshuffles who sees B
//! without changing the rule), and the 16 digest bytes are read as one big-endian 128-bit
//! integer — the same number as Python's `int(hashlib.md5(text.encode()).hexdigest(), 16)`.

use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

/// An experiment arm: A is the control (champion), B the challenger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Arm {
    /// The control.
    A,
    /// The challenger.
    B,
}

impl Arm {
    /// `"A"` or `"B"`.
    pub fn name(self) -> &'static str {
        match self {
            Arm::A => "A",
            Arm::B => "B",
        }
    }
}

/// The bucket in 0..100 of `key` (with `salt`, as `salt:key`).
pub fn bucket(key: &str, salt: Option<&str>) -> u8 {
    let mut h = Md5::new();
    if let Some(s) = salt {
        h.update(s.as_bytes());
        h.update(b":");
    }
    h.update(key.as_bytes());
    let digest: [u8; 16] = h.finalize().into();
    (u128::from_be_bytes(digest) % 100) as u8
}

/// The arm of `key`: B when its bucket is below `split_percent_b` (0: everyone in A, 100 or
/// more: everyone in B).
pub fn assign(key: &str, salt: Option<&str>, split_percent_b: u8) -> Arm {
    if bucket(key, salt) < split_percent_b {
        Arm::B
    } else {
        Arm::A
    }
}
