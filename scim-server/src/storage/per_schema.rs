//! A value derived from a resource type's schema, computed once per type and kept while the
//! schema stays the same: what a backend derives on every call (indexed paths, index specs)
//! costs more than the call's own work when computed each time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use scim_core::schema::ResourceSchema;

/// Per resource type (by name), the schema a value was derived from and the value. The
/// schema is compared by value on every use, so a changed schema is never given a stale
/// value; a clone of the same schema compares in a few pointer comparisons, since its
/// schemas are shared `Arc`s.
#[derive(Debug)]
pub(crate) struct PerSchema<T> {
    entries: Mutex<HashMap<String, (Arc<ResourceSchema>, T)>>,
}

impl<T> Default for PerSchema<T> {
    fn default() -> Self {
        PerSchema {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<T: Clone> PerSchema<T> {
    /// The value of `schema`: the kept one when it was derived from this schema, else
    /// `derive(schema)`, kept.
    pub(crate) fn get(
        &self,
        schema: &ResourceSchema,
        derive: impl FnOnce(&ResourceSchema) -> T,
    ) -> T {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        match entries.get(schema.name()) {
            Some((kept, value)) if **kept == *schema => value.clone(),
            _ => {
                let value = derive(schema);
                entries.insert(
                    schema.name().to_string(),
                    (Arc::new(schema.clone()), value.clone()),
                );
                value
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scim_core::schema::SchemaRegistry;

    #[test]
    fn a_value_is_derived_once_per_schema_and_again_when_it_changes() {
        let registry = SchemaRegistry::with_builtins();
        let users = registry.resource_schema("User").unwrap().clone();
        let kept = PerSchema::default();
        let mut derived = 0;
        for _ in 0..3 {
            let n = kept.get(&users, |s| {
                derived += 1;
                s.core.attributes.len()
            });
            assert_eq!(n, users.core.attributes.len());
        }
        assert_eq!(derived, 1);
        let mut changed = users.clone();
        Arc::make_mut(&mut changed.resource_type).description = Some("another".into());
        kept.get(&changed, |_| {
            derived += 1;
            0
        });
        assert_eq!(derived, 2, "a changed schema derives again");
    }
}
