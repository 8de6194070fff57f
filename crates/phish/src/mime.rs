//! MIME (placeholder).
