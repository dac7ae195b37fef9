//! Helpers shared by the integration tests (`mod common;` in each test file).
//!
//! The RFC 7643 §8 example resources, parsed from the fixture files in
//! `tests/fixtures/rfc7643/`. Those files are the RFC's JSON as printed, with the verified
//! errata applied: 5990 (§8.2) and 5991 (§8.3) write `"country": "US"` (ISO 3166-1 alpha-2,
//! as RFC 7643 §4.1.2 requires) instead of `"USA"`. A test that needs a variant derives it
//! from these values in code and says why.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use scim_core::Resource;
use serde_json::Value;

/// Parses a fixture known to be valid JSON.
fn parse(name: &str, text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// RFC 7643 §8.1, "Minimal User Representation".
pub fn rfc7643_8_1_user() -> Value {
    parse(
        "8.1-minimal-user.json",
        include_str!("../fixtures/rfc7643/8.1-minimal-user.json"),
    )
}

/// RFC 7643 §8.2, "Full User Representation" (erratum 5990 applied).
pub fn rfc7643_8_2_user() -> Value {
    parse(
        "8.2-full-user.json",
        include_str!("../fixtures/rfc7643/8.2-full-user.json"),
    )
}

/// RFC 7643 §8.3, "Enterprise User Extension Representation" (erratum 5991 applied).
pub fn rfc7643_8_3_user() -> Value {
    parse(
        "8.3-enterprise-user.json",
        include_str!("../fixtures/rfc7643/8.3-enterprise-user.json"),
    )
}

/// RFC 7643 §8.4, "Group Representation".
pub fn rfc7643_8_4_group() -> Value {
    parse(
        "8.4-group.json",
        include_str!("../fixtures/rfc7643/8.4-group.json"),
    )
}

/// The generic [`Resource`] holding `value` (which must be a JSON object).
pub fn resource(value: Value) -> Resource {
    Resource::from_value(value).expect("a JSON object")
}
