//! The shared backend suite of scim-server (one `#[test]` per case) on this crate's store.
//! A backend that passes it keeps the storage contract the server relies on.

scim_server::backend_suite!(example_custom_storage::HashMapStorage::new());
