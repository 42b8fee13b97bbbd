//! Slipway engine.
