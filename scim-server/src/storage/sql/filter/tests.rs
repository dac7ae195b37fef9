use super::*;
use crate::storage::sql::index::indexed_paths;
use scim_core::builtin::user_resource_schema;

/// A dialect for tests: `:n` placeholders, `&` / `|` set operations.
struct Test;

impl Dialect for Test {
    const NAME: &'static str = "test";
    const SCANS_DRIVE: bool = true;
    type Param = String;
    fn placeholder(n: usize) -> String {
        format!(":{n}")
    }
    fn key(key: String) -> String {
        format!("k:{key}")
    }
    fn path_key(key: i64) -> String {
        format!("p:{key}")
    }
    fn value(value: String) -> String {
        format!("v:{value}")
    }
    fn num(value: f64) -> String {
        format!("n:{value}")
    }
    fn intersect(_cols: &str, parts: &[String]) -> String {
        let parts: Vec<String> = parts.iter().map(|p| format!("({p})")).collect();
        parts.join(" & ")
    }
    fn union(_cols: &str, parts: &[String]) -> String {
        let parts: Vec<String> = parts.iter().map(|p| format!("({p})")).collect();
        parts.join(" | ")
    }
    fn except(_cols: &str, a: &str, b: &str) -> String {
        format!("({a}) - ({b})")
    }
    const PRESENT: &'static str = "PRESENT";
    fn contains(p: &str) -> String {
        format!("CONTAINS({p})")
    }
    fn ends_with(p: &str) -> String {
        format!("ENDS({p})")
    }
    fn id_contains(p: &str) -> String {
        format!("ID_CONTAINS({p})")
    }
    fn id_ends_with(p: &str) -> String {
        format!("ID_ENDS({p})")
    }
    fn id_rows() -> &'static str {
        "ID_ROWS"
    }
    fn candidates(p: &str, alias: &str) -> String {
        format!("CANDS({p}) AS {alias}")
    }
    const CANDIDATES_JOIN: &'static str = "CROSS JOIN";
    const PER_CANDIDATE: &'static str = "";
    fn checked_rows(alias: Option<&str>) -> String {
        alias.map_or("attr_index".to_string(), |a| format!("attr_index {a}"))
    }
}

/// The scope of the translations below.
const KEYS: PathKeys<'static> = PathKeys::new("t", "User");

/// The parameter of the path key of `path` in [`KEYS`].
fn p(path: &str) -> String {
    format!("p:{}", KEYS.of(path))
}

/// `s` as a parameter that is not a path key.
fn v(s: &str) -> String {
    s.to_string()
}

/// `f` translated against the built-in User schema (it must translate).
fn user_set(f: &str) -> SetSql<String> {
    let schema = user_resource_schema();
    let f = f.parse::<Filter>().unwrap();
    translate::<Test>(&schema, &indexed_paths(&schema), KEYS, &f).unwrap()
}

#[test]
fn prefix_bounds() {
    assert_eq!(prefix_upper_bound("abc").as_deref(), Some("abd"));
    assert_eq!(prefix_upper_bound(""), None);
    assert_eq!(prefix_upper_bound("a\u{10FFFF}").as_deref(), Some("b"));
    assert_eq!(prefix_upper_bound("\u{10FFFF}"), None);
    assert_eq!(prefix_upper_bound("\u{D7FF}").as_deref(), Some("\u{E000}"));
}

/// A set needs no `DISTINCT` only when a resource cannot have two rows in it: one
/// comparison or `pr` on a single-valued attribute (RFC 7643 §2.4: a single-valued
/// attribute holds one value), never a multi-valued one or a combination.
#[test]
fn distinct_only_for_single_valued_leaves() {
    let distinct = |f: &str| user_set(f).distinct;
    for f in [
        "active eq true",
        "name.familyName eq \"x\"",
        "userName sw \"a\"",
        "title pr",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq \"7\"",
        "meta.lastModified gt \"2011-05-13T04:42:34Z\"",
    ] {
        assert!(distinct(f), "{f}");
    }
    for f in [
        "emails.value eq \"a@example.com\"",
        "emails eq \"a@example.com\"",
        "name pr",
        "emails[type eq \"work\"]",
        "active eq true and title pr",
        "active eq true or title pr",
        "not (active eq true)",
        "title ne \"x\"",
    ] {
        assert!(!distinct(f), "{f}");
    }
}

#[test]
fn translation_is_conservative() {
    let schema = user_resource_schema();
    let paths = indexed_paths(&schema);
    let ok = |f: &str| {
        let f = f.parse::<Filter>().unwrap();
        let translated = translate::<Test>(&schema, &paths, KEYS, &f).is_some();
        assert_eq!(
            translated,
            can_filter_with::<Test>(&schema, &super::super::index::indexed_paths(&schema), &f)
        );
        translated
    };
    assert!(ok(r#"userName eq "bjensen""#));
    assert!(ok(
        r#"userName sw "bj" and (externalId eq "x" or emails.value pr)"#
    ));
    assert!(ok(
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName gt "a""#
    ));
    assert!(ok(r#"userName co "bj""#));
    assert!(ok(r#"userName ew "bj""#));
    assert!(ok(r#"emails[value eq "bj"]"#));
    assert!(ok(r#"emails[type eq "work" and value co "x"]"#));
    assert!(ok(
        r#"emails[type eq "work" or (value ew "x" and value pr)] and userName sw "a""#
    ));
    assert!(ok(r#"emails.type eq "work""#));
    // Every attribute, every operator, `not` and `ne` at the resource level.
    assert!(ok(r#"userName ne "bj""#));
    assert!(ok(r#"not (userName eq "bj")"#));
    assert!(ok(r#"emails eq "bj""#));
    assert!(ok(r#"emails[display eq "bj"]"#));
    assert!(ok(r#"emails[primary eq true]"#));
    assert!(ok(r#"emails[type eq "work" and display eq "x"]"#));
    assert!(ok(r#"phoneNumbers[value eq "1"]"#));
    assert!(ok(r#"name[givenName eq "b"]"#));
    assert!(ok(r#"title eq "bj""#));
    assert!(ok("userName eq null"));
    assert!(ok("title ne null"));
    assert!(ok(r#"userName eq "a" and title eq "b""#));
    assert!(ok("active eq true"));
    assert!(ok(r#"active ne "False""#));
    assert!(ok(r#"meta.lastModified gt "2011-05-13T04:42:34Z""#));
    assert!(ok(r#"meta.created le "2011-05-13T04:42:34+02:00""#));
    assert!(ok(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "1""#
    ));
    assert!(ok(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "1""#
    ));
    assert!(ok(r#"groups.value eq "g1""#));
    assert!(ok(r#"groups[value eq "g1"]"#));
    // Left to the planner: empty substrings, `not` / `ne` inside brackets, never
    // returned attributes, other `groups` comparisons, whole extensions.
    assert!(!ok(r#"userName co """#));
    assert!(!ok(r#"userName ew """#));
    assert!(!ok(r#"emails[not (value eq "bj")]"#));
    assert!(!ok(r#"emails[type ne "work"]"#));
    assert!(!ok(r#"emails[value eq null]"#));
    assert!(!ok(r#"emails[value co ""]"#));
    assert!(!ok(r#"password eq "a""#));
    assert!(!ok(r#"groups.display eq "a""#));
    assert!(!ok(
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User pr"
    ));
    assert!(ok("emails pr"));
    assert!(ok("name pr"));
}

#[test]
fn typed_comparisons_use_their_column() {
    let sql = user_set;
    let head = "SELECT seq FROM attr_index WHERE tenant = :1 AND rtype = :2 AND path_key = :3";
    let t = sql("active eq true");
    assert_eq!(t.sql, format!("{head} AND value_norm = :4"));
    assert_eq!(t.params, [p("active"), v("v:true")]);
    let t = sql(r#"meta.lastModified gt "2011-05-13T06:42:34+02:00""#);
    assert_eq!(t.sql, format!("{head} AND value_norm > :4"));
    // RFC 7643 §2.3.5: compared as instants, in UTC.
    assert_eq!(
        t.params,
        [
            p("meta.lastmodified"),
            v("v:2011-05-13T04:42:34.000000000Z")
        ]
    );
    let t = sql(r#"meta.created lt "2011-05-13T04:42:34Z""#);
    assert_eq!(t.sql, format!("{head} AND value_norm < :4 AND PRESENT"));
    // `ne`: a value not equal, or no value at all.
    let t = sql(r#"userType ne "Employee""#);
    assert_eq!(
        t.sql,
        format!(
            "({head} AND (value_norm IS NULL OR value_norm <> :4)) | ((SELECT seq FROM \
             resources WHERE tenant = :1 AND rtype = :2) - ({head}))"
        )
    );
    assert_eq!(t.params, [p("usertype"), v("v:employee")]);
    let t = sql(r#"not (userName eq "x")"#);
    assert_eq!(
        t.sql,
        format!(
            "(SELECT seq FROM resources WHERE tenant = :1 AND rtype = :2) - ({head} AND \
             value_norm = :4)"
        )
    );
}

#[test]
fn numbers_compare_in_value_num() {
    use scim_core::schema::{ResourceSchema, ResourceType, Schema};
    let core: Schema = serde_json::from_value(serde_json::json!({
        "id": "urn:example:Thing",
        "attributes": [{"name": "size", "type": "integer"},
                       {"name": "weight", "type": "decimal"}]
    }))
    .unwrap();
    let rt: ResourceType = serde_json::from_value(serde_json::json!({
        "name": "Thing", "endpoint": "/Things", "schema": "urn:example:Thing"
    }))
    .unwrap();
    let schema = ResourceSchema::new(rt, core, vec![]);
    let paths = indexed_paths(&schema);
    let t = translate::<Test>(
        &schema,
        &paths,
        KEYS,
        &"size ge 3".parse::<Filter>().unwrap(),
    )
    .unwrap();
    assert!(t.sql.ends_with("value_num >= :4"), "{}", t.sql);
    assert_eq!(t.params, [p("size"), v("n:3")]);
    let t = translate::<Test>(
        &schema,
        &paths,
        KEYS,
        &"weight ne 2.5".parse::<Filter>().unwrap(),
    )
    .unwrap();
    assert!(
        t.sql.contains("(value_num IS NULL OR value_num <> :4)"),
        "{}",
        t.sql
    );
}

#[test]
fn parameters_are_numbered_in_order_after_tenant_and_type() {
    let set = user_set(r#"userName sw "BJ" and (externalId eq "X" or emails.value pr)"#);
    let head = |p: usize| {
        format!(
            "SELECT seq FROM attr_index WHERE tenant = :1 AND rtype = :2 AND path_key = :{p} AND "
        )
    };
    assert_eq!(
        set.sql,
        format!(
            "({}value_norm >= :4 AND value_norm < :5) & (({}value_norm = :7) | ({}PRESENT))",
            head(3),
            head(6),
            head(8)
        )
    );
    assert_eq!(
        set.params,
        [
            p("username"),
            v("v:bj"),
            v("v:bk"),
            p("externalid"),
            v("v:X"),
            p("emails.value")
        ]
    );
}

#[test]
fn value_paths_work_on_element_pairs() {
    let set = user_set(r#"emails[type eq "Work" and value co "X"]"#);
    let pairs = "SELECT seq, elem FROM attr_index WHERE tenant = :1 AND rtype = :2 AND ";
    // Driven from the substring (the type is a canonical value, RFC 7643 §4.1.2, held
    // by many), the type checked on the same element.
    assert_eq!(
        set.sql,
        format!(
            "SELECT seq FROM (SELECT seq, elem FROM ({pairs}path_key IN (:5, :6) AND \
             CONTAINS(:7)) AS c WHERE EXISTS (SELECT 1 FROM attr_index WHERE seq = c.seq \
             AND elem = c.elem AND path_key = :3 AND value_norm = :4)) AS vp"
        )
    );
    // `value` also reads the rows of primitive elements (key `emails`); operands folded
    // as the evaluator folds them (caseExact=false, RFC 7643 §4.1.2).
    assert_eq!(
        set.params,
        [
            p("emails.type"),
            v("v:work"),
            p("emails.value"),
            p("emails"),
            v("v:x")
        ]
    );
    let set = user_set(r#"emails.value ew "Ä""#);
    assert_eq!(
        set.sql,
        "SELECT seq FROM attr_index WHERE tenant = :1 AND rtype = :2 AND path_key = :3 AND \
         ENDS(:4)"
    );
    assert_eq!(set.params, [p("emails.value"), v("v:ä")]);
}

#[test]
fn scanning_conjuncts_are_checked_per_candidate_of_the_cheap_ones() {
    let sql = |f: &str| user_set(f).sql;
    assert_eq!(
        sql(r#"userName eq "x" and emails[type eq "work" and value co "y"]"#),
        "SELECT seq FROM (SELECT seq FROM attr_index WHERE tenant = :1 AND rtype = :2 AND \
         path_key = :3 AND value_norm = :4) AS c WHERE EXISTS (SELECT 1 FROM attr_index x \
         WHERE x.seq = c.seq AND x.path_key IN (:5, :7, :8) AND (EXISTS (SELECT 1 FROM \
         attr_index WHERE seq = x.seq AND elem = x.elem AND path_key = :5 AND value_norm = \
         :6) AND EXISTS (SELECT 1 FROM attr_index WHERE seq = x.seq AND elem = x.elem AND \
         path_key IN (:7, :8) AND CONTAINS(:9))))"
    );
    // The scanning side first, nested `and`s flattened: the cheap conjunct drives, every
    // scanning one (an `or` with a scanning side too) is checked.
    let head = |p: usize| {
        format!(
            "SELECT seq FROM attr_index WHERE tenant = :1 AND rtype = :2 AND path_key = :{p} AND "
        )
    };
    assert_eq!(
        sql(
            r#"userName ew "a" and (externalId eq "b" and (userName sw "c" or emails.value co "d"))"#
        ),
        format!(
            "SELECT seq FROM ({}value_norm = :6) AS c WHERE EXISTS (SELECT 1 FROM attr_index \
             WHERE seq = c.seq AND path_key = :3 AND ENDS(:4)) AND (EXISTS (SELECT 1 FROM \
             attr_index WHERE seq = c.seq AND path_key = :7 AND value_norm >= :8 AND value_norm \
             < :9) OR EXISTS (SELECT 1 FROM attr_index WHERE seq = c.seq AND path_key = :10 AND \
             CONTAINS(:11)))",
            head(5)
        )
    );
    // Only cheap, or only scanning, conjuncts: intersected.
    assert!(sql(r#"userName co "a" and emails.value ew "b""#).contains(") & ("));
    assert!(!sql(r#"userName co "a" and emails.value ew "b""#).contains("EXISTS"));
    assert!(!sql(r#"userName eq "a" and emails[type eq "b"]"#).contains("EXISTS"));
    // Inside brackets, on (seq, elem) candidates.
    assert_eq!(
        sql(r#"emails[value sw "a" and value co "y"]"#),
        "SELECT seq FROM (SELECT seq, elem FROM (SELECT seq, elem FROM attr_index WHERE \
         tenant = :1 AND rtype = :2 AND path_key IN (:3, :4) AND value_norm >= :5 AND \
         value_norm < :6) AS c WHERE EXISTS (SELECT 1 FROM attr_index WHERE seq = c.seq \
         AND elem = c.elem AND path_key IN (:7, :8) AND CONTAINS(:9))) AS vp"
    );
    // Cheap conjuncts that do not narrow (canonical values, `pr`, open ranges, `sw ""`):
    // the scans drive (a substring is rarer), the cheap conjuncts are checked per
    // candidate.
    for f in [
        r#"emails[type eq "work" and value co "y"]"#,
        r#"emails.type eq "work" and userName co "y""#,
        r#"userName pr and userName co "y""#,
        r#"userName gt "a" and userName co "y""#,
        r#"userName sw "" and userName co "y""#,
        r#"(userName eq "a" or userName pr) and userName co "y""#,
    ] {
        let sql = sql(f);
        let (drive, checks) = sql.split_once(" AS c WHERE ").unwrap_or_default();
        assert!(drive.contains("CONTAINS("), "{f}: {sql}");
        assert!(
            checks.starts_with("EXISTS") || checks.starts_with("(EXISTS"),
            "{f}: {sql}"
        );
        assert!(!checks.contains("CONTAINS("), "{f}: {sql}");
    }
    // ... but one narrowing conjunct is enough.
    for f in [
        r#"emails.type eq "work" and userName eq "a" and userName co "y""#,
        r#"(userName eq "a" or externalId sw "b") and userName co "y""#,
        r#"emails[type eq "work" and value eq "a"] and userName co "y""#,
    ] {
        assert!(sql(f).contains("EXISTS"), "{f}: {}", sql(f));
    }
    // An `or` with a scanning side is a union (nothing narrows it).
    assert!(!sql(r#"userName eq "a" or userName co "b""#).contains("EXISTS"));
}

/// A lookup by one string value of a unique attribute is the one range scan the translation
/// gives it, with the same path key and normalised operand: a backend may answer it from
/// [`EqLookup`] without translating, and accept it without compiling. Anything else is not a
/// lookup.
#[test]
fn eq_lookup_is_the_translated_leaf() {
    let users = user_resource_schema();
    let groups = scim_core::builtin::group_resource_schema();
    let leaf = "SELECT seq FROM attr_index WHERE tenant = :1 AND rtype = :2 AND path_key = :3 \
                AND value_norm = :4";
    let lookup = |schema: &ResourceSchema, f: &str| {
        let f = f.parse::<Filter>().unwrap();
        let paths = indexed_paths(schema);
        let found = eq_lookup(schema, &paths, &f)?;
        assert!(f.compile(schema).is_ok(), "{f}");
        assert!(can_filter_with::<Test>(schema, &paths, &f), "{f}");
        let set = translate::<Test>(schema, &paths, KEYS, &f).unwrap();
        assert_eq!(set.sql, leaf, "{f}");
        assert_eq!(
            set.params,
            [p(&found.key), format!("v:{}", found.value)],
            "{f}"
        );
        Some((found.key, found.value))
    };
    let some = |k: &str, v: &str| Some((k.to_string(), v.to_string()));
    // RFC 7643 §8.7.1 (the User schema): userName is caseExact false, uniqueness server.
    assert_eq!(
        lookup(&users, r#"userName eq "BJensen""#),
        some("username", "bjensen")
    );
    assert_eq!(
        lookup(
            &users,
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "BJensen""#
        ),
        some("username", "bjensen")
    );
    // RFC 7643 §3.1: id is caseExact, unique across the service provider's resources; it
    // has no index rows (the key of `resources` holds it), so it is no such lookup.
    for (schema, f) in [
        (&users, r#"id eq "Ab-1""#),
        (&groups, r#"id eq "Ab-1""#),
        (&users, r#"userName ne "bjensen""#),
        (&users, r#"userName sw "bj""#),
        (&users, r#"userName co "bj""#),
        (&users, r#"userName eq null"#),
        (&users, r#"userName eq "a" and active eq true"#),
        (&users, r#"userName eq "a" or userName eq "b""#),
        (&users, r#"not (userName eq "a")"#),
        (&users, r#"name.familyName eq "Jensen""#),
        (&users, r#"emails.value eq "a@example.com""#),
        (&users, r#"emails eq "a@example.com""#),
        (&users, r#"emails[value eq "a@example.com"]"#),
        (&users, r#"groups.value eq "g1""#),
        (&users, r#"password eq "secret""#),
        (&users, r#"nickName eq "Babs""#),
        (&groups, r#"members.value eq "u1""#),
        (&groups, r#"members[value eq "u1"]"#),
    ] {
        assert_eq!(lookup(schema, f), None, "{f}");
    }
}

/// `meta.resourceType` is the resource type's name for every resource of it (RFC 7643
/// §3.1): a comparison on it needs no rows, and a side it decides neither binds nor reads.
#[test]
fn the_resource_type_is_decided_without_rows() {
    let plain = user_set(r#"userName eq "x""#);
    for f in [
        r#"meta.resourceType eq "User" and userName eq "x""#,
        r#"userName eq "x" and meta.resourceType pr"#,
        r#"meta.resourceType eq "Group" or userName eq "x""#,
        r#"not (meta.resourceType eq "Group") and userName eq "x""#,
    ] {
        let set = user_set(f);
        assert_eq!((&set.sql, &set.params), (&plain.sql, &plain.params), "{f}");
    }
    let all = "SELECT seq FROM resources WHERE tenant = :1 AND rtype = :2";
    let none = format!("{all} AND 1 = 0");
    for (f, sql) in [
        (r#"meta.resourceType eq "User""#, all),
        (r#"meta.resourceType eq "User" or userName eq "x""#, all),
        (r#"meta.resourceType eq "user""#, none.as_str()),
        (r#"meta.resourceType eq "Group" and userName eq "x""#, &none),
        (r#"not (meta.resourceType pr)"#, &none),
    ] {
        let set = user_set(f);
        assert_eq!((set.sql.as_str(), set.params.len()), (sql, 0), "{f}");
    }
    let schema = user_resource_schema();
    assert!(
        !indexed_paths(&schema)
            .iter()
            .any(|p| p.key == "meta.resourcetype")
    );
    let by = |p: &str| {
        scim_core::sort::SortSpec::new(
            scim_core::AttrPath::parse(p).unwrap(),
            scim_core::sort::SortOrder::Descending,
        )
    };
    assert!(crate::storage::sql::can_sort(
        &schema,
        &by("meta.resourceType")
    ));
    assert!(!crate::storage::sql::can_sort(&schema, &by("password")));
}

/// Every parameter a translation binds appears in its SQL (SQLite refuses a statement given
/// more parameters than it reads): a substring leaf with candidates that ends up checked per
/// candidate of another still reads them; a side decided by `meta.resourceType` binds none.
#[test]
fn every_bound_parameter_is_read() {
    let schema = user_resource_schema();
    let paths = indexed_paths(&schema);
    for f in [
        r#"userName co "ens" and emails[type eq "work" or value co "example"]"#,
        r#"id co "5" and emails.type eq "x" and emails[type eq "work" or value co "σ9"]"#,
        r#"emails[type eq "work" and value co "u50"]"#,
        r#"userName co "abc" and title co "def""#,
        r#"meta.resourceType eq "Group" and userName co "abc""#,
        r#"not (meta.resourceType eq "User") or id sw "a""#,
    ] {
        let filter = f.parse::<Filter>().unwrap();
        let (set, _) = translate_probing::<Test>(&schema, &paths, KEYS, &filter).unwrap();
        // The filter's own (the tenant and the type are not read where candidates drive).
        for n in 3..=set.params.len() + 2 {
            let p = format!(":{n}");
            let used = set
                .sql
                .match_indices(&p)
                .any(|(i, _)| !set.sql[i + p.len()..].starts_with(|c: char| c.is_ascii_digit()));
            assert!(used, "{f}: {p} unused in {}", set.sql);
        }
    }
}
