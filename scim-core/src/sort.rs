//! Sorting.
