//! The shared backend and pushdown test suites (`scim_server::storage::suite`) on the
//! in-memory backend.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use scim_server::storage::memory::MemoryStorage;

scim_server::backend_suite!(MemoryStorage::new());
scim_server::pushdown_suite!(MemoryStorage::new());
