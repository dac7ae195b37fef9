//! Protocol messages against the JSON examples of RFC 7644 (§3.4.2, §3.4.2.4, §3.4.3, §3.7)
//! and RFC 9865 (§2, §2.3, §3, §4): each parses into the typed message and serialises back
//! to an equal `serde_json::Value`.
//!
//! Where an RFC example elides the resources (`"Resources":[{ ... }]`) a small resource
//! stands in for them; where an example is not valid JSON (RFC 7644 §3.7.3's PATCH `data`,
//! RFC 9865 §2's missing quote after `previousCursor`) the corrected form is used and
//! marked.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use scim_core::messages::{
    BulkMethod, BulkOperationResponse, BulkRequest, BulkResponse, CursorPage, IndexPage,
    ListResponse, PageRequest, PaginationConfig, PaginationMethod, Query, SearchRequest,
    bulk_id_refs, substitute_bulk_ids,
};
use scim_core::{Resource, ScimError, ScimType};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Parses `v` as `T`, serialises it back and checks nothing was lost or added.
fn round_trip<T: Serialize + DeserializeOwned>(v: Value) -> T {
    let typed: T = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(serde_json::to_value(&typed).unwrap(), v);
    typed
}

/// Stands in for an elided `{ ... }` resource.
fn elided() -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "2819c223-7f76-453a-919d-413861904646"})
}

// ---------------------------------------------------------------------------------------
// ListResponse
// ---------------------------------------------------------------------------------------

#[test]
fn rfc7644_3_4_2_list_response_with_attributes_username() {
    // GET /Users?attributes=userName
    let list: ListResponse = round_trip(json!({
        "schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults":2,
        "Resources":[
            {
                "id":"2819c223-7f76-453a-919d-413861904646",
                "userName":"bjensen"
            },
            {
                "id":"c75ad752-64ae-4823-840d-ffa80929976c",
                "userName":"jsmith"
            }
        ]
    }));
    assert_eq!(list.total_results, Some(2));
    assert_eq!(list.start_index, None);
    assert_eq!(
        list.resources[1].id(),
        Some("c75ad752-64ae-4823-840d-ffa80929976c")
    );
}

#[test]
fn rfc7644_3_4_2_4_pagination_response() {
    // GET /Users?startIndex=1&count=10
    let q = Query::from_params([("startIndex", "1"), ("count", "10")]).unwrap();
    assert_eq!(
        q.page,
        PageRequest::Index(IndexPage {
            start_index: 1,
            count: Some(10)
        })
    );
    let list: ListResponse = round_trip(json!({
        "totalResults":100,
        "itemsPerPage":10,
        "startIndex":1,
        "schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "Resources":[elided()]
    }));
    assert_eq!(list.items_per_page, Some(10));
    assert_eq!(list.start_index, Some(1));
}

#[test]
fn rfc7644_3_4_2_list_response_of_a_filter_query() {
    // A full resource survives the list response untouched.
    let list: ListResponse<Value> = round_trip(json!({
        "schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults":1,
        "Resources":[{
            "schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id":"2819c223-7f76-453a-919d-413861904646",
            "externalId":"bjensen",
            "meta":{
                "resourceType":"User",
                "created":"2011-08-01T18:29:49.793Z",
                "lastModified":"2011-08-01T18:29:49.793Z",
                "location":"https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646",
                "version":"W/\"f250dd84f0671c3\""
            },
            "name":{"familyName":"Jensen", "givenName":"Barbara"},
            "userName":"bjensen"
        }]
    }));
    assert_eq!(
        list.resources[0]["meta"]["version"],
        "W/\"f250dd84f0671c3\""
    );
}

#[test]
fn entra_test_connection_empty_list_response() {
    // A filter that matches nothing is 200 with an empty ListResponse (RFC 7644 §3.4.2; Entra ID's Test Connection relies on it).
    let empty: ListResponse = ListResponse::new(Vec::new());
    let v = serde_json::to_value(&empty).unwrap();
    assert_eq!(
        v,
        json!({
            "schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults":0,
            "Resources":[]
        })
    );
    // Missing "Resources" (allowed when totalResults is 0) parses as empty.
    let parsed: ListResponse = serde_json::from_value(json!({
        "schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults":0
    }))
    .unwrap();
    assert!(parsed.resources.is_empty());
}

// ---------------------------------------------------------------------------------------
// SearchRequest
// ---------------------------------------------------------------------------------------

#[test]
fn rfc7644_3_4_3_search_request() {
    let req: SearchRequest = round_trip(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "attributes": ["displayName", "userName"],
        "filter":
            "displayName sw \"smith\"",
        "startIndex": 1,
        "count": 10
    }));
    assert!(req.has_schema());
    let q = Query::from_search_request(&req).unwrap();
    assert_eq!(q.filter.unwrap().to_string(), "displayName sw \"smith\"");
    assert_eq!(
        q.page,
        PageRequest::Index(IndexPage {
            start_index: 1,
            count: Some(10)
        })
    );
    let names: Vec<String> = q
        .projection
        .attributes
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(names, ["displayName", "userName"]);
    assert!(q.sort.is_none());
}

#[test]
fn search_request_with_every_member() {
    let req: SearchRequest = round_trip(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "excludedAttributes": ["members", "meta.location"],
        "filter": "emails[type eq \"work\" and value co \"@example.com\"]",
        "sortBy": "name.familyName",
        "sortOrder": "descending",
        "startIndex": 11,
        "count": 10
    }));
    let q = Query::try_from(req).unwrap();
    let sort = q.sort.unwrap();
    assert_eq!(sort.by.to_string(), "name.familyName");
    assert_eq!(sort.order, scim_core::sort::SortOrder::Descending);
    assert_eq!(q.projection.excluded_attributes.len(), 2);
    assert_eq!(
        q.page,
        PageRequest::Index(IndexPage {
            start_index: 11,
            count: Some(10)
        })
    );

    let bad = SearchRequest::from_value(json!({"filter": "userName eq"})).unwrap();
    let err = Query::try_from(bad).unwrap_err();
    assert_eq!(err.scim_type(), Some(ScimType::InvalidFilter));
}

// ---------------------------------------------------------------------------------------
// RFC 9865 cursor paging
// ---------------------------------------------------------------------------------------

#[test]
fn rfc9865_2_first_and_next_page() {
    // GET /Users?filter=userName%20sw%20J&cursor&count=10 (decoded by the server; the
    // RFC's unquoted `J` is quoted here, the filter grammar is not what this test is about).
    let q = Query::from_params([
        ("filter", "userName sw \"J\""),
        ("cursor", ""),
        ("count", "10"),
    ])
    .unwrap();
    assert_eq!(
        q.page,
        PageRequest::Cursor(CursorPage {
            cursor: None,
            count: Some(10)
        })
    );
    let first: ListResponse = round_trip(json!({
        "totalResults":100,
        "itemsPerPage":10,
        "nextCursor":"VZUTiyhEQJ94IR",
        "schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "Resources":[elided()]
    }));
    assert_eq!(first.next_cursor.as_deref(), Some("VZUTiyhEQJ94IR"));
    assert_eq!(first.previous_cursor, None);

    // GET /Users?filter=username%20sw%20J&cursor=VZUTiyhEQJ94IR&count=10
    let q = Query::from_params([("cursor", "VZUTiyhEQJ94IR"), ("count", "10")]).unwrap();
    assert_eq!(
        q.page,
        PageRequest::Cursor(CursorPage {
            cursor: Some("VZUTiyhEQJ94IR".into()),
            count: Some(10)
        })
    );
    // The RFC prints `"previousCursor: "ze7L30kMiiLX6x"` (a quote missing); corrected.
    let second: ListResponse = round_trip(json!({
        "totalResults": 100,
        "itemsPerPage": 10,
        "previousCursor": "ze7L30kMiiLX6x",
        "nextCursor": "YkU3OF86Pz0rGv",
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "Resources":[elided()]
    }));
    assert_eq!(second.previous_cursor.as_deref(), Some("ze7L30kMiiLX6x"));
}

#[test]
fn rfc9865_2_3_cursor_only_provider() {
    // GET /Users with no paging parameters; the provider's default method applies.
    let q = Query::from_params(std::iter::empty()).unwrap();
    assert_eq!(q.page, PageRequest::Unspecified { count: None });
    assert_eq!(
        q.page.resolve(PaginationMethod::Cursor),
        PageRequest::Cursor(CursorPage::default())
    );
    let list: ListResponse = round_trip(json!({
        "totalResults": 5000,
        "itemsPerPage": 100,
        "nextCursor": "HPq72Pax3JUaNa",
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "Resources": [elided()]
    }));
    assert_eq!(list.total_results, Some(5000));
}

#[test]
fn rfc9865_3_search_request_with_cursor() {
    let req: SearchRequest = round_trip(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "attributes": ["displayName", "userName"],
        "filter": "displayName sw \"smith\"",
        "cursor": "",
        "count": 10
    }));
    let q = Query::from_search_request(&req).unwrap();
    assert_eq!(
        q.page,
        PageRequest::Cursor(CursorPage {
            cursor: None,
            count: Some(10)
        })
    );
    let both = SearchRequest {
        start_index: Some(1),
        ..req
    };
    let err = Query::from_search_request(&both).unwrap_err();
    assert_eq!(err.scim_type(), Some(ScimType::InvalidValue));
}

#[test]
fn rfc9865_4_service_provider_config_pagination() {
    let config: PaginationConfig = round_trip(json!({
        "cursor": true,
        "index": true,
        "defaultPaginationMethod": "cursor",
        "defaultPageSize": 100,
        "maxPageSize": 250,
        "cursorTimeout": 3600
    }));
    assert_eq!(
        config.default_pagination_method,
        Some(PaginationMethod::Cursor)
    );
    // RFC 9865 §2.1 invalidCount: a count above maxPageSize.
    let page = CursorPage::from_params(Some(""), Some("251")).unwrap();
    let err = page.check_count(250).unwrap_err();
    assert_eq!(err.scim_type(), Some(ScimType::InvalidCount));
    assert_eq!(err.to_json()["scimType"], "invalidCount");
}

#[test]
fn rfc9865_2_1_error_types_render() {
    for (t, word) in [
        (ScimType::InvalidCursor, "invalidCursor"),
        (ScimType::ExpiredCursor, "expiredCursor"),
        (ScimType::InvalidCount, "invalidCount"),
    ] {
        let e = ScimError::with_type(t, "x");
        assert_eq!(e.status(), 400);
        assert_eq!(e.to_json()["scimType"], word);
    }
}

// ---------------------------------------------------------------------------------------
// Bulk
// ---------------------------------------------------------------------------------------

#[test]
fn rfc7644_3_7_1_circular_reference_request() {
    let req: BulkRequest = round_trip(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {
                "method": "POST",
                "path": "/Groups",
                "bulkId": "qwerty",
                "data": {
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": "Group A",
                    "members": [
                        {
                            "type": "Group",
                            "value": "bulkId:ytrewq"
                        }
                    ]
                }
            },
            {
                "method": "POST",
                "path": "/Groups",
                "bulkId": "ytrewq",
                "data": {
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": "Group B",
                    "members": [
                        {
                            "type": "Group",
                            "value": "bulkId:qwerty"
                        }
                    ]
                }
            }
        ]
    }));
    req.validate().unwrap();
    assert_eq!(req.operations[0].bulk_id_refs(), ["ytrewq"]);
    assert_eq!(req.operations[1].bulk_id_refs(), ["qwerty"]);
    let plan = req.plan();
    assert!(plan.order.is_empty());
    assert_eq!(plan.unresolved.len(), 2);
    assert!(plan.unresolved.iter().all(|u| u.circular));
    assert_eq!(plan.unresolved[0].error().status(), 409);
}

#[test]
fn rfc7644_3_7_2_bulk_id_references() {
    let req: BulkRequest = round_trip(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "qwerty",
                "data": {
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": "Alice"
                }
            },
            {
                "method": "POST",
                "path": "/Groups",
                "bulkId": "ytrewq",
                "data": {
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": "Tour Guides",
                    "members": [
                        {
                            "type": "User",
                            "value": "bulkId:qwerty"
                        }
                    ]
                }
            }
        ]
    }));
    req.validate().unwrap();
    assert_eq!(req.plan().order, [0, 1]);
    // "The service provider MUST replace the string "bulkId:qwerty" with the permanent
    // resource id once created."
    let mut group = req.operations[1].clone();
    group
        .substitute_bulk_ids(|id| {
            (id == "qwerty").then(|| "92b725cd-9465-4e7d-8c16-01f8e146b87a".into())
        })
        .unwrap();
    assert_eq!(
        group.data.unwrap()["members"][0]["value"],
        "92b725cd-9465-4e7d-8c16-01f8e146b87a"
    );

    let resp: BulkResponse = round_trip(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkResponse"],
        "Operations": [
            {
                "location": "https://example.com/v2/Users/92b725cd-9465-4e7d-8c16-01f8e146b87a",
                "method": "POST",
                "bulkId": "qwerty",
                "version": "W/\"4weymrEsh5O6cAEK\"",
                "status": "201"
            },
            {
                "location": "https://example.com/v2/Groups/e9e30dba-f08f-4109-8486-d5c6a331660a",
                "method": "POST",
                "bulkId": "ytrewq",
                "version": "W/\"lha5bbazU3fNvfe5\"",
                "status": "201"
            }
        ]
    }));
    assert!(
        resp.operations
            .iter()
            .all(BulkOperationResponse::is_success)
    );
}

#[test]
fn rfc7644_3_7_2_reference_to_a_later_operation_and_extension_manager() {
    // The group references a user created later in the request: it must run second.
    let req = BulkRequest::from_value(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {"method": "POST", "path": "/Groups", "bulkId": "ytrewq",
             "data": {"displayName": "Tour Guides", "members": [{"type": "User", "value": "bulkId:qwerty"}]}},
            {"method": "POST", "path": "/Users", "bulkId": "qwerty", "data": {"userName": "Alice"}}
        ]
    }))
    .unwrap();
    assert_eq!(req.plan().order, [1, 0]);

    let req: BulkRequest = round_trip(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "qwerty",
                "data": {
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": "Alice"
                }
            },
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "ytrewq",
                "data": {
                    "schemas": [
                        "urn:ietf:params:scim:schemas:core:2.0:User",
                        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
                    ],
                    "userName": "Bob",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                        "employeeNumber": "11250",
                        "manager": {
                            "value": "bulkId:qwerty"
                        }
                    }
                }
            }
        ]
    }));
    let data = req.operations[1].data.as_ref().unwrap();
    assert_eq!(bulk_id_refs(data), ["qwerty"]);
    let mut data = data.clone();
    let n = substitute_bulk_ids(&mut data, |_| Some("92b725cd".into())).unwrap();
    assert_eq!(n, 1);
    assert_eq!(
        data["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"]["value"],
        "92b725cd"
    );
}

#[test]
fn rfc7644_3_7_3_bulk_request_and_response() {
    // The RFC's PATCH `data` (`{[ {...}, {...} ]}`) is not JSON; corrected to a PatchOp.
    let req: BulkRequest = round_trip(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "failOnErrors":1,
        "Operations":[
            {
                "method":"POST",
                "path":"/Users",
                "bulkId":"qwerty",
                "data":{
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName":"Alice"
                }
            },
            {
                "method":"PUT",
                "path":"/Users/b7c14771-226c-4d05-8860-134711653041",
                "version":"W/\"3694e05e9dff591\"",
                "data":{
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "id":"b7c14771-226c-4d05-8860-134711653041",
                    "userName":"Bob"
                }
            },
            {
                "method": "PATCH",
                "path": "/Users/5d8d29d3-342c-4b5f-8683-a3cb6763ffcc",
                "version": "W/\"edac3253e2c0ef2\"",
                "data": {
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [
                        {
                            "op": "remove",
                            "path": "nickName"
                        },
                        {
                            "op": "add",
                            "path": "userName",
                            "value": "Dave"
                        }
                    ]
                }
            },
            {
                "method":"DELETE",
                "path":"/Users/e9025315-6bea-44e1-899c-1e07454e468b",
                "version":"W/\"0ee8add0a938e1a\""
            }
        ]
    }));
    req.validate().unwrap();
    assert_eq!(req.fail_on_errors, Some(1));
    let methods: Vec<BulkMethod> = req.operations.iter().map(|o| o.method).collect();
    assert_eq!(
        methods,
        [
            BulkMethod::Post,
            BulkMethod::Put,
            BulkMethod::Patch,
            BulkMethod::Delete
        ]
    );
    assert_eq!(req.plan().order, [0, 1, 2, 3]);

    let resp: BulkResponse = round_trip(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkResponse"],
        "Operations": [
            {
                "location": "https://example.com/v2/Users/92b725cd-9465-4e7d-8c16-01f8e146b87a",
                "method": "POST",
                "bulkId": "qwerty",
                "version": "W/\"oY4m4wn58tkVjJxK\"",
                "status": "201"
            },
            {
                "location": "https://example.com/v2/Users/b7c14771-226c-4d05-8860-134711653041",
                "method": "PUT",
                "version": "W/\"huJj29dMNgu3WXPD\"",
                "status": "200"
            },
            {
                "location": "https://example.com/v2/Users/5d8d29d3-342c-4b5f-8683-a3cb6763ffcc",
                "method": "PATCH",
                "version": "W/\"huJj29dMNgu3WXPD\"",
                "status": "200"
            },
            {
                "location": "https://example.com/v2/Users/e9025315-6bea-44e1-899c-1e07454e468b",
                "method": "DELETE",
                "status": "204"
            }
        ]
    }));
    let statuses: Vec<u16> = resp.operations.iter().map(|o| o.status).collect();
    assert_eq!(statuses, [201, 200, 200, 204]);
}

#[test]
fn rfc7644_3_7_3_error_responses() {
    // failOnErrors=1: the first failure stops the job.
    let resp: BulkResponse = round_trip(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkResponse"],
        "Operations": [
            {
                "method": "POST",
                "bulkId": "qwerty",
                "status": "400",
                "response":{
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                    "scimType":"invalidSyntax",
                    "detail": "Request is unparsable, syntactically incorrect, or violates schema.",
                    "status":"400"
                }
            }
        ]
    }));
    // Built from a ScimError, the same entry comes out.
    let err = ScimError::invalid_syntax(
        "Request is unparsable, syntactically incorrect, or violates schema.",
    );
    let built = BulkResponse::new(vec![
        BulkOperationResponse::failure(BulkMethod::Post, &err).with_bulk_id("qwerty"),
    ]);
    assert_eq!(built, resp);

    // Several failures.
    let resp: BulkResponse = round_trip(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkResponse"],
        "Operations": [
            {
                "method": "POST",
                "bulkId": "qwerty",
                "status": "400",
                "response":{
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                    "scimType":"invalidSyntax",
                    "detail":"Request is unparsable, syntactically incorrect, or violates schema.",
                    "status":"400"
                }
            },
            {
                "location": "https://example.com/v2/Users/b7c14771-226c-4d05-8860-134711653041",
                "method": "PUT",
                "status": "412",
                "response":{
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                    "detail":"Failed to update.  Resource changed on the server.",
                    "status":"412"
                }
            },
            {
                "location": "https://example.com/v2/Users/5d8d29d3-342c-4b5f-8683-a3cb6763ffcc",
                "method": "PATCH",
                "status": "412",
                "response":{
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                    "detail":"Failed to update.  Resource changed on the server.",
                    "status":"412"
                }
            },
            {
                "location": "https://example.com/v2/Users/e9025315-6bea-44e1-899c-1e07454e468b",
                "method": "DELETE",
                "status": "404",
                "response":{
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                    "detail":"Resource does not exist.",
                    "status":"404"
                }
            }
        ]
    }));
    assert!(resp.operations.iter().all(|o| !o.is_success()));
    let e = ScimError::from(
        serde_json::from_value::<scim_core::error::ErrorMessage>(
            resp.operations[1].response.clone().unwrap(),
        )
        .unwrap(),
    );
    assert_eq!(e.status(), 412);
}

#[test]
fn bulk_bodies_that_are_not_messages_are_invalid_syntax() {
    for bad in [
        json!({"Operations": "x"}),
        json!({"Operations": [{"method": "GET", "path": "/Users"}]}),
        json!({"Operations": [{"method": "POST"}]}),
        json!([1, 2]),
    ] {
        let err = BulkRequest::from_value(bad).unwrap_err();
        assert_eq!(err.scim_type(), Some(ScimType::InvalidSyntax));
    }
}

#[test]
fn list_response_of_typed_resources() {
    let r = Resource::from_value(elided()).unwrap();
    let list = ListResponse::page(42, 11, vec![r]);
    let v = serde_json::to_value(&list).unwrap();
    assert_eq!(v["totalResults"], 42);
    assert_eq!(v["startIndex"], 11);
    assert_eq!(v["itemsPerPage"], 1);
    let back: ListResponse = serde_json::from_value(v).unwrap();
    assert_eq!(back, list);
}
