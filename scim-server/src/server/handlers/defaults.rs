//! What a resource type's responses return when the request names no attributes (no
//! `attributes`, no `excludedAttributes`, RFC 7644 §3.9, none supplied): every `GET` and list
//! of the default form, the requests that Microsoft Entra ID and Okta send most. It depends on
//! the schema alone, so it is worked out once per resource type when the server is built,
//! not by looking attributes up on every request.

use scim_core::AttrPath;
use scim_core::projection::{Projection, RequestedAttrs};
use scim_core::schema::{ResourceSchema, SchemaRegistry};

use crate::server::rendered::groups_are_whole;

/// One resource type's answers for the default projection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Defaults {
    /// The computed `groups` (RFC 7643 §4.1.2) are returned.
    pub(crate) groups: bool,
    /// `members` (RFC 7643 §4.2) are returned, so they are loaded.
    pub(crate) members: bool,
    /// The `groups` are returned whole, or the schema has none: see [`groups_are_whole`].
    pub(crate) groups_whole: bool,
}

impl Defaults {
    /// Worked out from `schema`'s attribute definitions.
    pub(crate) fn of(schema: &ResourceSchema) -> Self {
        let returned = |name: &str| {
            schema
                .core
                .attribute(name)
                .is_some_and(|a| a.returned_by_default())
        };
        Defaults {
            groups: returned("groups"),
            members: returned("members"),
            groups_whole: groups_are_whole(schema),
        }
    }
}

/// The [`Defaults`] of each resource type of a registry, in the registry's order.
#[derive(Debug)]
pub(crate) struct DefaultsTable(Vec<Defaults>);

impl DefaultsTable {
    pub(crate) fn new(registry: &SchemaRegistry) -> Self {
        DefaultsTable(registry.resource_schemas().map(Defaults::of).collect())
    }

    /// The defaults of `schema`, one of `registry`'s resource types (the one this table was
    /// built from): found by identity, a comparison of addresses per resource type. A schema
    /// from elsewhere is worked out on the spot.
    pub(crate) fn of(&self, registry: &SchemaRegistry, schema: &ResourceSchema) -> Defaults {
        registry
            .resource_schemas()
            .zip(&self.0)
            .find(|(s, _)| std::ptr::eq(*s, schema))
            .map_or_else(|| Defaults::of(schema), |(_, d)| *d)
    }
}

/// The request names no attributes: the [`Defaults`] answer for it.
pub(crate) fn is_default(projection: &Projection, supplied: &RequestedAttrs) -> bool {
    projection.is_default() && supplied.paths().is_empty()
}

/// Does the core schema have the attribute `name` and a response under `projection` (one
/// that names attributes) return it?
pub(crate) fn returns(
    schema: &ResourceSchema,
    name: &str,
    projection: &Projection,
    supplied: &RequestedAttrs,
) -> bool {
    schema.core.attribute(name).is_some_and(|attribute| {
        projection.includes_with(schema, &AttrPath::new(attribute.name.clone()), supplied)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use scim_core::builtin::{group_resource_schema, user_resource_schema};
    use scim_core::schema::{Mutability, Returned};
    use std::sync::Arc;

    /// The defaults agree with the projection's own plan for the default projection, for
    /// every `returned` of `groups`, readOnly and writeOnly.
    #[test]
    fn the_defaults_agree_with_the_projection_plan() {
        let default = Projection::default();
        let none = RequestedAttrs::none();
        for returned in [
            Returned::Always,
            Returned::Never,
            Returned::Default,
            Returned::Request,
        ] {
            for mutability in [Mutability::ReadOnly, Mutability::WriteOnly] {
                let mut schema = user_resource_schema();
                let core = Arc::make_mut(&mut schema.core);
                let groups = core
                    .attributes
                    .iter_mut()
                    .find(|a| a.name == "groups")
                    .unwrap();
                groups.returned = returned;
                groups.mutability = mutability;
                let planned = default.includes_with(&schema, &AttrPath::new("groups"), &none);
                assert_eq!(
                    Defaults::of(&schema).groups,
                    planned,
                    "{returned:?} {mutability:?}"
                );
            }
        }
        let group = group_resource_schema();
        let members = default.includes_with(&group, &AttrPath::new("members"), &none);
        assert!(members);
        assert_eq!(Defaults::of(&group).members, members);
        assert!(!Defaults::of(&user_resource_schema()).members);
    }

    #[test]
    fn the_table_answers_for_its_registry_and_works_out_other_schemas() {
        let registry = SchemaRegistry::with_builtins();
        let table = DefaultsTable::new(&registry);
        for schema in registry.resource_schemas() {
            assert_eq!(table.of(&registry, schema), Defaults::of(schema));
        }
        // A copy of the User type that hides groups: not the registry's, worked out.
        let mut hidden = registry.resource_schema("User").unwrap().clone();
        let core = Arc::make_mut(&mut hidden.core);
        core.attributes
            .iter_mut()
            .find(|a| a.name == "groups")
            .unwrap()
            .returned = Returned::Never;
        assert!(!table.of(&registry, &hidden).groups);
        assert!(
            table
                .of(&registry, registry.resource_schema("User").unwrap())
                .groups
        );
    }
}
