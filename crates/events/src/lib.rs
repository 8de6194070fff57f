//! Event streams: reading, enrichment, replay, simulation and evaluation.
