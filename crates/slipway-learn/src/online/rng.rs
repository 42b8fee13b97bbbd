//! The stored form of the online learners' ChaCha8 generator: its seed, stream and word
//! position, so a reloaded learner draws exactly the numbers the original would have.
//! The position is written as decimal text (it is a 68-bit number; JSON numbers are not
//! safe past 2^53 in every reader).

use rand_chacha::ChaCha8Rng;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RngState {
    seed: [u8; 32],
    stream: u64,
    word_pos: String,
}

/// Serializes a generator's state (`#[serde(with = "rng")]`).
pub(crate) fn serialize<S: Serializer>(rng: &ChaCha8Rng, s: S) -> Result<S::Ok, S::Error> {
    RngState {
        seed: rng.get_seed(),
        stream: rng.get_stream(),
        word_pos: rng.get_word_pos().to_string(),
    }
    .serialize(s)
}

/// Restores a generator from its state.
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ChaCha8Rng, D::Error> {
    use rand::SeedableRng;
    let state = RngState::deserialize(d)?;
    let word_pos: u128 = state.word_pos.parse().map_err(|_| {
        D::Error::custom(format!(
            "rng word_pos \"{}\" is not a whole number",
            state.word_pos
        ))
    })?;
    let mut rng = ChaCha8Rng::from_seed(state.seed);
    rng.set_stream(state.stream);
    rng.set_word_pos(word_pos);
    Ok(rng)
}
