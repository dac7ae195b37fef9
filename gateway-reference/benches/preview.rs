//! Criterion benchmark: compile a rule set and preview it for a whole directory.
//!
//! Target (the gateway's issue): 10,000 users, 200 groups (each user in about 3) and 20
//! rules (all three scopes, `Always` and `IfNotSet`, a few conditions on the enterprise
//! `department`) in under 200 ms. Run with
//! `cargo bench -p gateway-reference --bench preview -- --warm-up-time 1 --measurement-time 5`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use gateway_reference::preview::{DirectoryUser, preview};
use gateway_reference::rules::RuleSet;
use serde_json::{Value, json};

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const DEPARTMENTS: [&str; 5] = ["Sales", "Support", "Marketing", "Finance", "R&D"];
const GROUPS: usize = 200;

/// A small deterministic generator (splitmix64), so every run sees the same directory.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn group(i: usize) -> String {
    format!("{i:08x}-0000-4000-8000-000000000000")
}

fn users(n: usize) -> Vec<DirectoryUser> {
    let mut rng = Rng(42);
    (0..n)
        .map(|i| {
            let groups = (0..3).map(|_| group(rng.below(GROUPS))).collect();
            let department = DEPARTMENTS[rng.below(DEPARTMENTS.len())];
            let user_name = format!("user{i}@example.com");
            let resource = json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENT],
                "id": format!("u{i}"),
                "externalId": format!("ext-{i}"),
                "userName": user_name,
                "displayName": format!("User {i}"),
                "active": true,
                "emails": [{"value": user_name, "type": "work", "primary": true}],
                ENT: {"department": department, "employeeNumber": i.to_string()}
            });
            DirectoryUser {
                id: format!("u{i}"),
                user_name,
                display_name: Some(format!("User {i}")),
                active: i % 50 != 0,
                groups,
                resource: Some(resource),
            }
        })
        .collect()
}

fn rules() -> RuleSet {
    let mut rules: Vec<Value> = Vec::new();
    for i in 0..20 {
        let apply = if i % 2 == 0 { "always" } else { "ifNotSet" };
        let scope = match i % 3 {
            0 => json!({"kind": "inGroup", "group": group(i * 7)}),
            1 => json!({"kind": "notInGroup", "group": group(i * 11)}),
            _ => json!({"kind": "allUsers"}),
        };
        let mut rule = json!({
            "id": format!("rule-{i}"),
            "name": format!("Rule {i}"),
            "enabled": i != 13,
            "scope": scope,
            "settings": {
                "role": {"value": i, "apply": apply},
                "primaryGroup": {"value": 100 + i, "apply": apply},
                "secondaryGroups": {"value": [200 + i, 300 + i], "apply": apply},
                "userPlan": {"value": {"kind": "plan", "id": 500 + i}, "apply": apply},
                "confidential": {"value": i % 4 == 0, "apply": "ifNotSet"}
            }
        });
        if i % 5 == 4 {
            let dept = DEPARTMENTS[i % DEPARTMENTS.len()];
            rule["condition"] = json!(format!("{ENT}:department eq \"{dept}\""));
        }
        rules.push(rule);
    }
    serde_json::from_value(json!({ "rules": rules })).unwrap()
}

fn bench(c: &mut Criterion) {
    let users = users(10_000);
    let rules = rules();
    let check = preview(&users, &rules.compile().unwrap());
    assert_eq!(check.users_received, 10_000);
    assert!(check.users_synced > 0 && check.users_synced < 10_000);
    c.bench_function("compile + preview, 10k users, 200 groups, 20 rules", |b| {
        b.iter(|| {
            let compiled = rules.compile().unwrap();
            black_box(preview(black_box(&users), &compiled))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
