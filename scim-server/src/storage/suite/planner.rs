//! The planner: fallbacks when a backend pushes down only the lookups.

use super::*;

/// A wrapper that pushes down only `eq` on userName / externalId / displayName / id (what
/// every backend must support) and `or`s of them, which it answers itself as the union of
/// one backend query per `eq`. So the planner's fallback is exercised whatever the backend
/// supports.
pub(crate) struct EqOnly<S>(S);

pub(super) fn is_lookup_eq(schema: &ResourceSchema, f: &Filter) -> bool {
    match f {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: CompValue::String(_),
        } => {
            path.sub_attr.is_none()
                && (["userName", "externalId", "id"]
                    .iter()
                    .any(|n| path.name.eq_ignore_ascii_case(n))
                    || (schema.name() == "Group" && path.name.eq_ignore_ascii_case("displayName")))
        }
        _ => false,
    }
}

pub(super) fn or_leaves<'f>(
    schema: &ResourceSchema,
    f: &'f Filter,
    out: &mut Vec<&'f Filter>,
) -> bool {
    match f {
        Filter::Or(a, b) => or_leaves(schema, a, out) && or_leaves(schema, b, out),
        other if is_lookup_eq(schema, other) => {
            out.push(other);
            true
        }
        _ => false,
    }
}

#[async_trait]
impl<S: Storage> Storage for EqOnly<S> {
    fn can_filter(&self, schema: &ResourceSchema, filter: &Filter) -> bool {
        or_leaves(schema, filter, &mut Vec::new())
    }
    async fn create(
        &self,
        scope: Scope<'_>,
        new: NewResource,
    ) -> Result<StoredResource, StorageError> {
        self.0.create(scope, new).await
    }
    async fn get(
        &self,
        scope: Scope<'_>,
        id: &str,
        load: Load,
    ) -> Result<StoredResource, StorageError> {
        self.0.get(scope, id, load).await
    }
    async fn replace(
        &self,
        scope: Scope<'_>,
        id: &str,
        r: Replacement,
        v: Option<u64>,
    ) -> Result<StoredResource, StorageError> {
        self.0.replace(scope, id, r, v).await
    }
    async fn delete(&self, scope: Scope<'_>, id: &str, v: Option<u64>) -> Result<(), StorageError> {
        self.0.delete(scope, id, v).await
    }
    async fn query(
        &self,
        scope: Scope<'_>,
        query: StorageQuery<'_>,
    ) -> Result<QueryPage, StorageError> {
        let Some(f) = query.filter else {
            return self.0.query(scope, query).await;
        };
        assert!(query.sort.is_none(), "EqOnly never claims a sort");
        let mut leaves = Vec::new();
        assert!(
            or_leaves(scope.schema, f, &mut leaves),
            "the planner passed an unclaimed filter"
        );
        let mut out: Vec<StoredResource> = Vec::new();
        for leaf in leaves {
            let page = self
                .0
                .query(
                    scope,
                    StorageQuery {
                        filter: Some(leaf),
                        sort: None,
                        page: &offset(0, 10),
                        load: query.load,
                    },
                )
                .await?;
            for r in page.resources {
                if !out.iter().any(|o| o.id == r.id) {
                    out.push(r);
                }
            }
        }
        let total = out.len() as u64;
        let StoragePage::Offset { offset, limit } = query.page else {
            panic!("EqOnly answers offset pages only (a planner candidate query)");
        };
        Ok(QueryPage {
            resources: out
                .into_iter()
                .skip(*offset as usize)
                .take(*limit as usize)
                .collect(),
            total_results: total,
            next_cursor: None,
        })
    }
    async fn modify_members(
        &self,
        scope: Scope<'_>,
        id: &str,
        c: MembersChange,
        v: Option<u64>,
    ) -> Result<StoredResource, StorageError> {
        self.0.modify_members(scope, id, c, v).await
    }
    async fn groups_of(
        &self,
        tenant: &TenantId,
        member_id: &str,
    ) -> Result<Vec<GroupRef>, StorageError> {
        self.0.groups_of(tenant, member_id).await
    }
}

pub(crate) fn eq_only<S: Storage>(s: S) -> EqOnly<S> {
    EqOnly(s)
}

/// Ten users for the planner cases: `u0`..`u9`, userName `user0`.., titles Boss on the even
/// ones (except u8, without title), work emails on u0..u4.
pub(super) async fn planner_fixture<S: Storage>(s: &S, t: &TenantId) {
    let schema = users();
    for i in 0..10 {
        let mut extra = json!({});
        if i != 8 {
            extra["title"] = json!(if i % 2 == 0 {
                "Boss".to_string()
            } else {
                format!("Staff {}", 9 - i)
            });
        }
        if i < 5 {
            extra["emails"] = json!([{"value": format!("user{i}@example.com"), "type": "work"}]);
        }
        s.create(
            Scope::new(t, &schema),
            new_user(&format!("u{i}"), &format!("user{i}"), extra),
        )
        .await
        .unwrap();
    }
}

pub(super) fn all_users_or(n: usize) -> String {
    (0..n)
        .map(|i| format!(r#"userName eq "USER{i}""#))
        .collect::<Vec<_>>()
        .join(" or ")
}

pub(super) async fn plan<S: Storage>(
    s: &S,
    t: &TenantId,
    f: Option<&str>,
    sort: Option<&SortSpec>,
    page: &StoragePage,
    limits: &PlannerLimits,
) -> Result<QueryPage, StorageError> {
    let schema = users();
    let f = f.map(filter);
    execute(
        s,
        Scope::new(t, &schema),
        f.as_ref(),
        sort,
        page,
        Load::ALL,
        limits,
    )
    .await
}

/// What `f` finds through the planner (one page) is `expected`, and totalResults counts it.
async fn assert_planned<S: Storage>(
    s: &S,
    t: &TenantId,
    f: &str,
    expected: &[&str],
    limits: &PlannerLimits,
) {
    let page = plan(s, t, Some(f), None, &offset(0, 100), limits)
        .await
        .unwrap_or_else(|e| panic!("{f}: {e:?}"));
    assert_eq!(ids(&page), expected, "{f}");
    assert_eq!(page.total_results, expected.len() as u64, "{f}");
}

/// Mixed filters: an indexed clause selects candidates, the rest is evaluated in memory
/// exactly (value filters, `not`, `sw`, `pr`).
pub async fn planner_fallback_mixed_filters<S: Storage>(s: S) {
    let t = tenant("t1");
    let s = eq_only(s);
    planner_fixture(&s, &t).await;
    let limits = PlannerLimits::default();
    let cases: [(String, &[&str]); 6] = [
        (r#"userName eq "user2" and title eq "boss""#.into(), &["u2"]),
        (r#"userName eq "user3" and title eq "Boss""#.into(), &[]),
        (
            format!("({}) and title eq \"Boss\"", all_users_or(10)),
            &["u0", "u2", "u4", "u6"],
        ),
        (
            format!("({}) and not (title pr)", all_users_or(10)),
            &["u8"],
        ),
        (
            format!(
                r#"({}) and emails[type eq "work" and value sw "USER1"] "#,
                all_users_or(10)
            ),
            &["u1"],
        ),
        (
            format!(
                r#"title sw "staff" and ({}) and userName sw "user"  "#,
                all_users_or(6)
            ),
            &["u1", "u3", "u5"],
        ),
    ];
    for (f, expected) in cases {
        let page = plan(&s, &t, Some(&f), None, &offset(0, 100), &limits)
            .await
            .unwrap();
        assert_eq!(ids(&page), expected, "{f}");
        assert_eq!(page.total_results, expected.len() as u64, "{f}");
    }
}

/// Valid filters a backend may not evaluate itself (RFC 7644 §3.4.2.2's `valFilter` allows
/// `not` inside brackets; `co ""` holds for every string) are answered exactly through the
/// planner, by the backend itself or by the fallback. A backend that says it refuses what
/// it cannot evaluate ([`Storage::refuses_unsupported_filters`], so that the planner sends
/// it queries without asking [`Storage::can_filter`]) refuses exactly those filters, with
/// `UnsupportedFilter`.
pub async fn planner_answers_what_the_backend_refuses<S: Storage>(s: S) {
    let t = tenant("t1");
    planner_fixture(&s, &t).await;
    let schema = users();
    let limits = PlannerLimits::default();
    let cases: [(&str, &[&str]); 4] = [
        (
            r#"emails[not (value ew "1@example.com")]"#,
            &["u0", "u2", "u3", "u4"],
        ),
        (
            r#"title co """#,
            &["u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7", "u9"],
        ),
        (
            r#"userName eq "user2" and emails[not (type eq "home")]"#,
            &["u2"],
        ),
        (
            r#"title eq "Boss" and not (emails[not (type eq "work")])"#,
            &["u0", "u2", "u4", "u6"],
        ),
    ];
    for (f, expected) in cases {
        assert_planned(&s, &t, f, expected, &limits).await;
        let parsed = filter(f);
        if s.refuses_unsupported_filters() && !s.can_filter(&schema, &parsed) {
            let direct = query_direct(&s, &t, &schema, &parsed).await;
            expect_kind(direct, &StorageErrorKind::UnsupportedFilter, f);
        }
    }
    if s.refuses_unsupported_filters() {
        // A filter that does not compile against the schema is refused too (the only kind a
        // backend that evaluates every valid filter refuses); the planner, asking after the
        // refusal, answers with the compile error.
        let f = r#"userName eq "user2" and nosuchattribute eq "x""#;
        let parsed = filter(f);
        assert!(!s.can_filter(&schema, &parsed), "{f}");
        let direct = query_direct(&s, &t, &schema, &parsed).await;
        expect_kind(direct, &StorageErrorKind::UnsupportedFilter, f);
        expect_kind(
            plan(&s, &t, Some(f), None, &offset(0, 10), &limits).await,
            &StorageErrorKind::UnsupportedFilter,
            f,
        );
    }
}

/// No clause the backend can evaluate: the planner scans the type's resources in pages with
/// the compiled filter and answers exactly (never 400 `invalidFilter` for a valid filter). An
/// `or` with one unsupported branch is scanned as a whole.
pub async fn planner_scans_when_nothing_narrows<S: Storage>(s: S) {
    let t = tenant("t1");
    let s = eq_only(s);
    planner_fixture(&s, &t).await;
    let limits = PlannerLimits::default();
    let all: Vec<String> = (0..10).map(|i| format!("u{i}")).collect();
    let cases: [(&str, Vec<&str>); 5] = [
        (r#"title eq "Boss""#, vec!["u0", "u2", "u4", "u6"]),
        (
            r#"userName sw "user""#,
            all.iter().map(String::as_str).collect(),
        ),
        (
            r#"title eq "Boss" or userName eq "user1""#,
            vec!["u0", "u1", "u2", "u4", "u6"],
        ),
        (
            r#"not (userName eq "user1")"#,
            all.iter()
                .map(String::as_str)
                .filter(|id| *id != "u1")
                .collect(),
        ),
        (r#"emails[value eq "user1@example.com"]"#, vec!["u1"]),
    ];
    for (f, expected) in cases {
        assert_planned(&s, &t, f, &expected, &limits).await;
    }
    // A scan longer than the bound: 400 tooMany, naming the bound.
    let small = PlannerLimits {
        max_scanned: 9,
        max_page_size: 100,
    };
    let e = plan(
        &s,
        &t,
        Some(r#"title eq "Boss""#),
        None,
        &offset(0, 10),
        &small,
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), &StorageErrorKind::TooMany);
    assert!(
        e.message().contains("more than 9 resources"),
        "{}",
        e.message()
    );
}

/// The in-memory part names an unknown attribute or compares wrongly (RFC 7644 §3.4.2.2:
/// gt on a boolean SHALL be 400 invalidFilter): `UnsupportedFilter`.
pub async fn planner_residual_compile_error<S: Storage>(s: S) {
    let t = tenant("t1");
    let s = eq_only(s);
    planner_fixture(&s, &t).await;
    let limits = PlannerLimits::default();
    for f in [
        r#"userName eq "user1" and nosuchattribute eq "x""#,
        r#"userName eq "user1" and active gt true"#,
    ] {
        expect_kind(
            plan(&s, &t, Some(f), None, &offset(0, 10), &limits).await,
            &StorageErrorKind::UnsupportedFilter,
            f,
        );
    }
}

/// More candidates than `max_scanned`: 400 `tooMany`; at the limit it is answered.
pub async fn planner_too_many<S: Storage>(s: S) {
    let t = tenant("t1");
    let s = eq_only(s);
    planner_fixture(&s, &t).await;
    let small = PlannerLimits {
        max_scanned: 3,
        max_page_size: 100,
    };
    let f = format!("({}) and title pr", all_users_or(4));
    expect_kind(
        plan(&s, &t, Some(&f), None, &offset(0, 10), &small).await,
        &StorageErrorKind::TooMany,
        &f,
    );
    let f3 = format!("({}) and title pr", all_users_or(3));
    let page = plan(&s, &t, Some(&f3), None, &offset(0, 10), &small)
        .await
        .unwrap();
    assert_eq!(page.total_results, 3);
    // A sort the backend cannot do, over all ten users, is bounded too.
    let sort = SortSpec::new(scim_core::AttrPath::new("title"), SortOrder::Ascending);
    expect_kind(
        plan(&s, &t, None, Some(&sort), &offset(0, 10), &small).await,
        &StorageErrorKind::TooMany,
        "sort",
    );
}

/// Offset paging in the fallback: totalResults counts matches after the in-memory filter,
/// pages slice the filtered, ordered matches.
pub async fn planner_offset_paging_counts_after_filter<S: Storage>(s: S) {
    let t = tenant("t1");
    let s = eq_only(s);
    planner_fixture(&s, &t).await;
    let limits = PlannerLimits {
        max_scanned: 100,
        max_page_size: 2,
    };
    let f = format!("({}) and title pr", all_users_or(10)); // 9 matches (u8 has no title)
    let mut seen = Vec::new();
    for start in [0, 2, 4, 6, 8] {
        // limit 5 is capped at max_page_size 2
        let page = plan(&s, &t, Some(&f), None, &offset(start, 5), &limits)
            .await
            .unwrap();
        assert_eq!(page.total_results, 9);
        assert!(page.resources.len() <= 2);
        seen.extend(ids(&page));
    }
    assert_eq!(seen, ["u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7", "u9"]);
}

/// Cursors the planner issues walk every match exactly once while resources are deleted
/// between pages (RFC 9865), with and without a sort.
pub async fn planner_cursor_paging_survives_deletes<S: Storage>(s: S) {
    let backend = eq_only(s);
    // One tenant per round, so each round starts empty.
    for (t, sort) in [
        (tenant("t1"), None),
        (
            tenant("t2"),
            Some(SortSpec::new(
                scim_core::AttrPath::new("title"),
                SortOrder::Descending,
            )),
        ),
    ] {
        planner_fixture(&backend, &t).await;
        let schema = users();
        let f = format!("({}) and userName pr", all_users_or(10)); // evaluated in memory
        let limits = PlannerLimits::default();
        let deleted: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
        let first = plan(
            &backend,
            &t,
            Some(&f),
            sort.as_ref(),
            &offset(0, 100),
            &limits,
        )
        .await
        .unwrap();
        let order = ids(&first);
        let seen = walk_cursor(
            |after, limit| {
                let backend = &backend;
                let (t, f, sort) = (&t, &f, &sort);
                async move {
                    plan(
                        backend,
                        t,
                        Some(f),
                        sort.as_ref(),
                        &StoragePage::Cursor { after, limit },
                        &limits,
                    )
                    .await
                    .unwrap()
                }
            },
            3,
            async |round| {
                if round == 0 {
                    // One already returned, one not yet returned.
                    for v in [order[1].clone(), order[7].clone()] {
                        backend
                            .delete(Scope::new(&t, &schema), &v, None)
                            .await
                            .unwrap();
                        deleted.lock().unwrap().push(v);
                    }
                }
            },
        )
        .await;
        let deleted = deleted.into_inner().unwrap();
        let expected: Vec<String> = order
            .iter()
            .filter(|id| **id != deleted[1])
            .cloned()
            .collect();
        assert_eq!(seen, expected, "sort {sort:?}");
    }
}

/// The planner sorts what the backend cannot (RFC 7644 §3.4.2.3): missing values last when
/// ascending, first when descending; case-insensitive for caseExact=false.
pub async fn planner_sort<S: Storage>(s: S) {
    let t = tenant("t1");
    let s = eq_only(s);
    planner_fixture(&s, &t).await;
    let limits = PlannerLimits::default();
    let f = all_users_or(10);
    let by_title = |order| SortSpec::new(scim_core::AttrPath::new("title"), order);
    // Titles: Boss (u0,u2,u4,u6), "Staff 8" u1, "Staff 6" u3, "Staff 4" u5, "Staff 2" u7,
    // "Staff 0" u9, none u8. Ties break by id.
    let asc = plan(
        &s,
        &t,
        Some(&f),
        Some(&by_title(SortOrder::Ascending)),
        &offset(0, 100),
        &limits,
    )
    .await
    .unwrap();
    assert_eq!(
        ids(&asc),
        ["u0", "u2", "u4", "u6", "u9", "u7", "u5", "u3", "u1", "u8"]
    );
    let desc = plan(
        &s,
        &t,
        Some(&f),
        Some(&by_title(SortOrder::Descending)),
        &offset(0, 100),
        &limits,
    )
    .await
    .unwrap();
    assert_eq!(
        ids(&desc),
        ["u8", "u1", "u3", "u5", "u7", "u9", "u0", "u2", "u4", "u6"]
    );
    let by_name = SortSpec::new(scim_core::AttrPath::new("userName"), SortOrder::Descending);
    let page = plan(
        &s,
        &t,
        Some(&all_users_or(3)),
        Some(&by_name),
        &offset(1, 1),
        &limits,
    )
    .await
    .unwrap();
    assert_eq!(ids(&page), ["u1"]);
    assert_eq!(page.total_results, 3);
}

/// A cursor the planner did not issue for this query is 400 `invalidCursor`.
pub async fn planner_rejects_foreign_cursor<S: Storage>(s: S) {
    let t = tenant("t1");
    let s = eq_only(s);
    planner_fixture(&s, &t).await;
    let limits = PlannerLimits::default();
    let f = format!("({}) and userName pr", all_users_or(10));
    let first = plan(
        &s,
        &t,
        Some(&f),
        None,
        &StoragePage::Cursor {
            after: None,
            limit: 2,
        },
        &limits,
    )
    .await
    .unwrap();
    let cursor = first.next_cursor.expect("a next cursor");
    let other = format!("({}) and userName pr", all_users_or(9));
    expect_kind(
        plan(
            &s,
            &t,
            Some(&other),
            None,
            &StoragePage::Cursor {
                after: Some(cursor),
                limit: 2,
            },
            &limits,
        )
        .await,
        &StorageErrorKind::InvalidCursor,
        "a cursor of another query",
    );
    expect_kind(
        plan(
            &s,
            &t,
            Some(&f),
            None,
            &StoragePage::Cursor {
                after: Some("p1.garbage".into()),
                limit: 2,
            },
            &limits,
        )
        .await,
        &StorageErrorKind::InvalidCursor,
        "a forged cursor",
    );
}
