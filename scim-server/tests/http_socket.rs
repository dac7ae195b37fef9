//! End to end over a real socket: hyper serves the ScimServer on 127.0.0.1, a hyper client
//! creates, reads and lists a user.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod http_support;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use http_support::{TOKEN, server, user};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};

async fn send(
    addr: std::net::SocketAddr,
    req: Request<Full<Bytes>>,
) -> (StatusCode, http::HeaderMap, serde_json::Value) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    let conn = tokio::spawn(conn);
    let res = sender.send_request(req).await.unwrap();
    let (parts, body) = res.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    drop(sender);
    let _ = conn.await;
    let json = if bytes.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (parts.status, parts.headers, json)
}

#[tokio::test]
async fn create_get_and_list_over_tcp() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let scim = server();
    let accept = tokio::spawn(async move {
        // Serve a bounded number of connections, then stop.
        for _ in 0..4 {
            let (stream, _) = listener.accept().await.unwrap();
            let svc = TowerToHyperService::new(scim.clone());
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    let base = format!("http://{addr}");
    let auth = format!("Bearer {TOKEN}");

    let req = Request::post(format!("{base}/Users"))
        .header("host", addr.to_string())
        .header("authorization", &auth)
        .header("content-type", "application/scim+json")
        .body(Full::new(Bytes::from(
            serde_json::to_vec(&user("tcp")).unwrap(),
        )))
        .unwrap();
    let (status, headers, body) = send(addr, req).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let location = headers["location"].to_str().unwrap().to_string();
    assert_eq!(
        location,
        format!("{base}/Users/{}", body["id"].as_str().unwrap())
    );

    let req = Request::get(&location)
        .header("host", addr.to_string())
        .header("authorization", &auth)
        .body(Full::new(Bytes::new()))
        .unwrap();
    let (status, headers, body) = send(addr, req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/scim+json");
    assert_eq!(body["userName"], "tcp");

    let req = Request::get(format!("{base}/Users?filter=userName%20eq%20%22tcp%22"))
        .header("host", addr.to_string())
        .header("authorization", &auth)
        .body(Full::new(Bytes::new()))
        .unwrap();
    let (status, _, body) = send(addr, req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["totalResults"], 1);

    let req = Request::get(format!("{base}/Users"))
        .header("host", addr.to_string())
        .body(Full::new(Bytes::new()))
        .unwrap();
    let (status, headers, _) = send(addr, req).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers["www-authenticate"], "Bearer realm=\"scim\"");
    accept.await.unwrap();
}
