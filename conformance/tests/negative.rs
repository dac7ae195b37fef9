//! Every check is proven able to fail: it passes against the correct fake server and FAILS
//! against a fake that breaks exactly the rule it enforces.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use conformance::{Outcome, Profile, Suite, SuiteConfig};
use support::{Break, FakeScim};

const ALL_PROFILES: &[Profile] = &[Profile::Rfc, Profile::Entra, Profile::Okta];

/// Each check id with a break that must make it fail.
const CASES: &[(&str, Break)] = &[
    (
        "discovery.spc.returns-200-scim-json",
        Break::SpcJsonContentType,
    ),
    ("discovery.spc.required-attributes", Break::SpcMissingEtag),
    (
        "discovery.spc.supported-flags-boolean",
        Break::SpcFlagString,
    ),
    (
        "discovery.resource-types.list-response",
        Break::ResourceTypesBareArray,
    ),
    (
        "discovery.resource-types.required-attributes",
        Break::ResourceTypeMissingEndpoint,
    ),
    (
        "discovery.schemas.list-covers-resource-types",
        Break::SchemasMissingEnterprise,
    ),
    (
        "discovery.schemas.attribute-characteristics",
        Break::SchemaAttributeWithoutType,
    ),
    ("users.create.returns-201-location", Break::LocationMismatch),
    (
        "users.create.returns-id-and-schemas",
        Break::CreateNoSchemas,
    ),
    (
        "users.create.content-type-scim-json",
        Break::CreateJsonContentType,
    ),
    ("users.create.meta-resource-type", Break::NoMeta),
    ("users.create.password-not-returned", Break::ReturnsPassword),
    ("users.create.client-id-ignored", Break::UseClientId),
    ("users.create.duplicate-username-409", Break::NoUniqueness),
    (
        "users.create.duplicate-username-case-409",
        Break::UniquenessCaseSensitive,
    ),
    (
        "users.create.missing-username-400",
        Break::AcceptMissingUserName,
    ),
    ("users.read.returns-200", Break::ReadOmitsUserName),
    ("users.read.password-never-returned", Break::ReturnsPassword),
    ("users.read.unknown-id-404", Break::ErrorWithoutSchema),
    ("users.replace.put-returns-200", Break::PutIgnored),
    ("users.replace.unknown-id-404", Break::PutUnknownCreates),
    ("users.replace.id-immutable", Break::PutChangesId),
    ("users.delete.returns-204-then-404", Break::DeleteKeeps),
    ("users.delete.unknown-id-404", Break::DeleteUnknown204),
    (
        "errors.body.schema-and-status-string",
        Break::ErrorStatusNumber,
    ),
    ("errors.body.status-matches-http", Break::ErrorStatusWrong),
    ("errors.malformed-json-400", Break::MalformedJson500),
    (
        "filters.eq.username-case-insensitive",
        Break::FilterCaseSensitive,
    ),
    ("filters.no-match.empty-list-200", Break::NoMatch404),
    ("filters.list-response.shape", Break::ListOmitsTotalResults),
    (
        "filters.total-results-after-filtering",
        Break::TotalBeforeFilter,
    ),
    (
        "filters.attribute-names-case-insensitive",
        Break::FilterAttrCaseSensitive,
    ),
    (
        "filters.operators-case-insensitive",
        Break::FilterOpCaseSensitive,
    ),
    ("filters.op.sw", Break::SwAsEq),
    ("filters.op.co", Break::CoAsSw),
    ("filters.op.ew", Break::EwAsSw),
    ("filters.op.ne", Break::NeAsEq),
    ("filters.op.pr", Break::PrAlwaysTrue),
    ("filters.logic.not", Break::NotIgnored),
    (
        "filters.logic.and-binds-tighter-than-or",
        Break::LeftToRightPrecedence,
    ),
    ("filters.logic.grouping", Break::ParenthesesIgnored),
    ("filters.value-path.emails", Break::ValuePathFilterIgnored),
    (
        "filters.invalid-400-invalid-filter",
        Break::InvalidFilterAccepted,
    ),
    ("paging.count-limits-page", Break::IgnoreCount),
    ("paging.start-index-offsets", Break::IgnoreStartIndex),
    ("paging.pages-are-disjoint", Break::IgnoreStartIndex),
    ("paging.items-per-page", Break::ItemsPerPageWrong),
    ("paging.count-zero-only-total", Break::CountZeroReturnsAll),
    ("paging.start-index-below-one", Break::StartIndexZero400),
    ("paging.negative-count-as-zero", Break::NegativeCount400),
    (
        "projection.attributes.limits-to-requested",
        Break::AttributesIgnored,
    ),
    (
        "projection.attributes.id-always-returned",
        Break::AttributesDropId,
    ),
    (
        "projection.attributes.sub-attribute",
        Break::SubAttributeWholeComplex,
    ),
    (
        "projection.attributes.on-list",
        Break::AttributesIgnoredOnList,
    ),
    (
        "projection.excluded.removes-attribute",
        Break::ExcludedIgnored,
    ),
    (
        "projection.excluded.cannot-remove-always",
        Break::ExcludedRemovesId,
    ),
    ("patch.add.single-valued", Break::PatchAddIgnored),
    (
        "patch.add.multi-valued-appends",
        Break::PatchAddReplacesMulti,
    ),
    ("patch.replace.single-valued", Break::PatchReplaceIgnored),
    ("patch.replace.value-path", Break::PatchValuePathNoop),
    ("patch.remove.attribute", Break::PatchRemoveIgnored),
    ("patch.remove.value-path", Break::PatchValuePathNoop),
    ("patch.pathless.replace", Break::PatchPathlessIgnored),
    ("patch.pathless.add", Break::PatchPathlessIgnored),
    ("patch.remove.no-path-400-no-target", Break::RemoveNoPathOk),
    ("patch.invalid-path-400", Break::InvalidPathOk),
    ("patch.replace.no-match-400-no-target", Break::NoTargetOk),
    ("patch.atomic-all-or-nothing", Break::PatchNotAtomic),
    ("groups.create.with-members", Break::GroupDropsMembers),
    (
        "groups.read.excluded-members",
        Break::ExcludedMembersIgnored,
    ),
    (
        "groups.patch.add-member-keeps-others",
        Break::AddMemberReplacesAll,
    ),
    (
        "groups.patch.remove-one-member",
        Break::RemoveMemberRemovesAll,
    ),
    ("groups.delete.returns-204", Break::DeleteReturns200),
    ("etag.read.header-matches-version", Break::EtagHeaderMissing),
    ("etag.if-none-match-304", Break::IfNoneMatchIgnored),
    ("etag.if-match-mismatch-412", Break::IfMatchIgnored),
    ("etag.version-changes-on-update", Break::VersionNotBumped),
    (
        "entra.test-connection.random-guid-empty-list",
        Break::NoMatch404,
    ),
    ("entra.lookup.username", Break::FilterIgnored),
    ("entra.lookup.external-id", Break::DropExternalId),
    ("entra.create.enterprise-extension", Break::DropEnterprise),
    ("entra.patch.capitalised-ops", Break::OpCaseSensitive),
    (
        "entra.patch.boolean-string-false",
        Break::BooleanStringsRejected,
    ),
    ("entra.patch.manager", Break::ManagerShorthandRejected),
    (
        "entra.patch.email-filter-creates",
        Break::FilterAddCreatesOff,
    ),
    (
        "entra.group.create-microsoft-schema",
        Break::RejectUnknownSchema,
    ),
    (
        "entra.group.read-excluded-members",
        Break::ExcludedMembersIgnored,
    ),
    ("entra.group.add-member", Break::AddMemberReplacesAll),
    (
        "entra.group.remove-member-value-array",
        Break::RemoveByValueOff,
    ),
    (
        "entra.group.remove-member-filter",
        Break::RemoveMemberRemovesAll,
    ),
    ("entra.user.disable", Break::PatchReplaceIgnored),
    ("entra.user.delete", Break::DeleteReturns200),
    ("okta.lookup.count-100", Break::CountOver50Rejected),
    ("okta.update.put", Break::PutIgnored),
    (
        "okta.deactivate.pathless-replace",
        Break::PatchPathlessIgnored,
    ),
    (
        "okta.group.patch-remove-and-add",
        Break::RemoveMemberRemovesAll,
    ),
    (
        "users.create.meta-client-values-ignored",
        Break::KeepClientMeta,
    ),
    (
        "users.create.returns-sent-attributes",
        Break::CreateMinimalBody,
    ),
    (
        "users.create.attribute-names-case-insensitive",
        Break::CaseSensitiveInput,
    ),
    (
        "users.read.meta-location-serves-resource",
        Break::MetaLocationWrong,
    ),
    (
        "users.read.content-type-scim-json",
        Break::GetJsonContentType,
    ),
    ("users.replace.username-conflict-409", Break::NoUniqueness),
    ("users.list.without-filter", Break::ListRequiresFilter),
    ("users.search.post-dot-search", Break::NoSearch),
    ("errors.content-type-scim-json", Break::ErrorJsonContentType),
    ("filters.op.gt", Break::GtAsGe),
    ("filters.op.ge", Break::GeAsGt),
    ("filters.op.lt", Break::LtAsLe),
    ("filters.op.le", Break::LeAsLt),
    (
        "filters.boolean.active-eq-false",
        Break::BooleanFilterIgnored,
    ),
    (
        "filters.multi-valued-sub-attribute",
        Break::DottedPathIgnored,
    ),
    ("filters.logic.or", Break::OrAsAnd),
    ("filters.logic.and", Break::AndAsOr),
    (
        "paging.start-index-defaults-to-1",
        Break::StartIndexZeroBased,
    ),
    (
        "paging.total-results-stable-across-pages",
        Break::TotalIsPageSize,
    ),
    ("projection.attributes.multiple", Break::AttributesOnlyFirst),
    ("projection.excluded.multiple", Break::ExcludedOnlyFirst),
    ("projection.excluded.on-list", Break::ExcludedIgnoredOnList),
    ("patch.add.sub-attribute", Break::SubAttrAddReplacesComplex),
    (
        "patch.replace.multi-valued-whole",
        Break::ReplaceMultiAppends,
    ),
    ("patch.remove.multi-valued-all", Break::PatchRemoveIgnored),
    ("patch.response-200-full-resource", Break::Patch200EmptyBody),
    ("patch.unknown-op-400", Break::UnknownOpIgnored),
    ("patch.readonly-id-400-mutability", Break::PatchIdIgnored),
    ("patch.unknown-id-404", Break::PatchUnknown204),
    ("groups.read.returns-200", Break::ReadOmitsUserName),
    ("groups.read.unknown-id-404", Break::ErrorWithoutSchema),
    ("groups.replace.put", Break::PutIgnored),
    ("groups.list.filter-display-name", Break::FilterIgnored),
    ("groups.patch.replace-members", Break::ReplaceMembersAppends),
    ("groups.patch.remove-all-members", Break::PatchRemoveIgnored),
    ("etag.if-match-current-succeeds", Break::IfMatchAlways412),
    (
        "discovery.spc.authentication-schemes",
        Break::AuthSchemeNoType,
    ),
    ("discovery.spc.bulk-and-filter-limits", Break::BulkNoLimits),
    (
        "discovery.resource-types.schema-extensions-shape",
        Break::ExtensionNoRequired,
    ),
    (
        "users.replace.password-not-returned",
        Break::ReturnsPassword,
    ),
    ("users.list.password-never-returned", Break::ReturnsPassword),
    (
        "users.search.attributes-in-body",
        Break::SearchIgnoresAttributes,
    ),
    (
        "groups.create.returns-201-location",
        Break::LocationMismatch,
    ),
    ("groups.create.meta-resource-type", Break::NoMeta),
    ("patch.response-excludes-password", Break::ReturnsPassword),
    ("etag.header-is-quoted-entity-tag", Break::EtagUnquoted),
    ("sort.sort-by-ascending", Break::SortIgnored),
    (
        "discovery.schemas.user-username-characteristics",
        Break::SchemaUserNameCaseExact,
    ),
    (
        "bulk.create-returns-bulk-response",
        Break::BulkStatusMissing,
    ),
    ("bulk.bulk-id-reference-resolved", Break::BulkIdNotResolved),
    ("bulk.fail-on-errors-stops", Break::BulkIgnoresFailOnErrors),
    ("bulk.max-operations-413", Break::BulkNoMaxOps),
    ("sort.sort-order-descending", Break::SortOrderIgnored),
    (
        "sort.case-insensitive-for-username",
        Break::SortCaseSensitive,
    ),
    ("search.root.all-resource-types", Break::RootSearchUsersOnly),
    (
        "search.root.content-type-scim-json",
        Break::RootSearchJsonContentType,
    ),
    (
        "search.users.count-and-total-results",
        Break::SearchIgnoresCount,
    ),
    (
        "search.invalid-filter-400",
        Break::SearchInvalidFilterAccepted,
    ),
    ("me.get.subject-or-501", Break::Me404WithoutBody),
    ("paging.cursor.first-page-next-cursor", Break::CursorNoNext),
    ("paging.cursor.walk-visits-each-once", Break::CursorOverlaps),
    (
        "paging.cursor.invalid-cursor-400",
        Break::InvalidCursorAccepted,
    ),
    (
        "groups.user-groups.lists-membership",
        Break::UserGroupsNotComputed,
    ),
    (
        "groups.user-groups.read-only-on-write",
        Break::UserGroupsWritable,
    ),
    (
        "groups.delete-user.removes-membership",
        Break::DeleteKeepsMemberships,
    ),
    ("filters.boolean.active-eq-true", Break::BooleanTrueIgnored),
    (
        "filters.datetime.last-modified-gt",
        Break::DateFilterIgnored,
    ),
    (
        "filters.external-id-case-exact",
        Break::ExternalIdCaseInsensitive,
    ),
    ("filters.lone.title-eq", Break::UnindexedFilter400),
    ("filters.lone.family-name-eq", Break::UnindexedFilter400),
    (
        "filters.lone.enterprise-employee-number-eq",
        Break::UnindexedFilter400,
    ),
    ("filters.lone.active-eq", Break::UnindexedFilter400),
    ("filters.lone.active-eq", Break::BooleanFilterIgnored),
    ("filters.lone.last-modified-gt", Break::UnindexedFilter400),
    ("filters.lone.last-modified-gt", Break::DateFilterIgnored),
    ("filters.lone.ne", Break::UnindexedFilter400),
    ("filters.lone.ne", Break::NeAsEq),
    ("filters.lone.not", Break::UnindexedFilter400),
    ("filters.lone.not", Break::NotIgnored),
    (
        "filters.membership.user-groups-value-eq",
        Break::UserGroupsNotComputed,
    ),
    (
        "filters.membership.user-groups-value-eq",
        Break::UnindexedFilter400,
    ),
    (
        "filters.membership.group-members-value",
        Break::UnindexedFilter400,
    ),
    (
        "filters.membership.group-members-value",
        Break::MemberFilterIgnored,
    ),
    (
        "entra.lookup.work-email-value-path",
        Break::ValuePathSubAttrRejected,
    ),
    (
        "entra.lookup.work-email-value-path",
        Break::ValuePathFilterIgnored,
    ),
    ("entra.lookup.group-membership", Break::MemberFilterIgnored),
    (
        "users.create.only-required-attributes",
        Break::UserDisplayNameEnforced,
    ),
    (
        "groups.create.only-required-attributes",
        Break::GroupDisplayNameEnforced,
    ),
    (
        "groups.patch.replace-no-match-adds-no-member",
        Break::ReplaceNoMatchAddsMember,
    ),
    ("sort.password-refused", Break::SortByPasswordAccepted),
];

async fn outcome(id: &str, breaks: &[Break]) -> Outcome {
    let fake = FakeScim::breaking(breaks).await;
    let config = SuiteConfig::new(fake.url()).profiles(ALL_PROFILES).only(id);
    let report = Suite::new(config).run().await.expect("discovery");
    let r = report
        .get(id)
        .unwrap_or_else(|| panic!("{id} not in the report"));
    if !breaks.contains(&Break::DeleteKeeps) {
        assert!(
            r.cleanup_failures.is_empty(),
            "{id} left {:?}",
            r.cleanup_failures
        );
        assert_eq!(fake.resource_count(), 0, "{id} did not clean up");
    }
    r.outcome.clone()
}

#[tokio::test]
async fn every_check_passes_against_the_correct_fake() {
    let fake = FakeScim::start().await;
    let config = SuiteConfig::new(fake.url()).profiles(ALL_PROFILES);
    let report = Suite::new(config).run().await.expect("discovery");
    let text = conformance::report::text::render(&report);
    for r in &report.results {
        match &r.outcome {
            Outcome::Pass => {}
            Outcome::Skip { reason } => {
                panic!("{} skipped against the correct fake: {reason}", r.id)
            }
            Outcome::Fail { reason, .. } => {
                panic!("{} failed against the correct fake: {reason}\n{text}", r.id)
            }
        }
    }
    assert!(report.success());
    assert_eq!(fake.resource_count(), 0, "the run left resources behind");
}

#[tokio::test]
async fn every_check_fails_against_the_server_that_breaks_its_rule() {
    let mut problems = Vec::new();
    for (id, brk) in CASES {
        let o = outcome(id, &[*brk]).await;
        if !o.is_fail() {
            problems.push(format!("{id} did not fail against {brk:?}: {o:?}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_check_has_a_negative_case() {
    let suite = Suite::new(SuiteConfig::new("http://unused").profiles(ALL_PROFILES));
    let missing: Vec<&str> = suite
        .selected()
        .iter()
        .map(|c| c.id)
        .filter(|id| !CASES.iter().any(|(c, _)| c == id))
        .collect();
    assert!(
        missing.is_empty(),
        "checks without a negative test: {missing:?}"
    );
    for (id, _) in CASES {
        assert!(
            suite.selected().iter().any(|c| c.id == *id),
            "{id} is not in the catalogue"
        );
    }
}

#[tokio::test]
async fn a_feature_the_server_says_it_lacks_is_skipped_with_the_reason() {
    let fake = FakeScim::breaking(&[Break::AnnounceNoPatch, Break::AnnounceNoGroups]).await;
    let config = SuiteConfig::new(fake.url()).profiles(ALL_PROFILES);
    let report = Suite::new(config).run().await.expect("discovery");
    let patch = report.get("patch.replace.single-valued").unwrap();
    assert_eq!(
        patch.outcome.reason(),
        Some("the server says patch.supported=false (/ServiceProviderConfig)")
    );
    assert!(patch.outcome.is_skip());
    let groups = report.get("groups.read.returns-200").unwrap();
    assert!(groups.outcome.is_skip(), "{:?}", groups.outcome);
    assert!(groups.outcome.reason().unwrap().contains("Group schema"));
    // What the server does support still runs, and nothing fails.
    assert!(
        report
            .get("users.read.returns-200")
            .unwrap()
            .outcome
            .is_pass()
    );
    assert!(
        report.success(),
        "{}",
        conformance::report::text::render(&report)
    );
    assert!(report.skipped() > 20);
}

#[tokio::test]
async fn cursor_checks_skip_when_the_server_does_not_announce_cursor_paging() {
    let fake = FakeScim::breaking(&[Break::AnnounceNoCursor]).await;
    let config = SuiteConfig::new(fake.url())
        .profiles(ALL_PROFILES)
        .only("paging.*");
    let report = Suite::new(config).run().await.expect("discovery");
    for id in [
        "paging.cursor.first-page-next-cursor",
        "paging.cursor.walk-visits-each-once",
        "paging.cursor.invalid-cursor-400",
    ] {
        let r = report.get(id).unwrap();
        assert!(r.outcome.is_skip(), "{id}: {:?}", r.outcome);
        assert!(r.outcome.reason().unwrap().contains("cursor pagination"));
    }
    assert!(
        report
            .get("paging.count-limits-page")
            .unwrap()
            .outcome
            .is_pass()
    );
}
