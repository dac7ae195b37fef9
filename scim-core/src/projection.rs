//! Projection.
