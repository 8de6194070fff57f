//! Campaign grouping primitives (placeholder, filled below).
