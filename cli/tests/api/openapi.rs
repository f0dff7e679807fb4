//! The OpenAPI document: generated from the code, current in the repository, covering every
//! route the routers serve.

use std::path::PathBuf;

use crate::app;

fn committed() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../openapi.json")
}

#[test]
fn the_committed_document_is_current() {
    let generated = identity_cli::openapi_json();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(committed(), &generated).unwrap();
    }
    let on_disk = std::fs::read_to_string(committed()).unwrap();
    assert!(
        on_disk == generated,
        "openapi.json is stale: run `UPDATE_OPENAPI=1 cargo test -p identity-cli openapi` and commit it"
    );
    let doc: serde_json::Value = serde_json::from_str(&on_disk).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
}

#[tokio::test]
async fn every_route_and_method_the_routers_serve_is_documented() {
    let doc: serde_json::Value = serde_json::from_str(&identity_cli::openapi_json()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    let app = app().await;
    let mut served = 0;
    for (route, _) in crate::events::watch_routes() {
        // The hosted pages answer HTML to browsers; they are not part of the API's document.
        if route.starts_with("/pages/") {
            assert!(paths.get(&route).is_none(), "{route} is a page, not an API operation");
            continue;
        }
        let path = route
            .split('/')
            .map(|s| if s.starts_with('{') { "00000000-0000-7000-8000-000000000000" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        for method in ["get", "post", "put", "patch", "delete"] {
            let res = app.call(method.to_uppercase().parse().unwrap(), path.clone(), None, None).await;
            let routed =
                res.status != 405 && !(res.status == 404 && res.json["detail"] == "No route matches this path.");
            if routed {
                served += 1;
                let operation = &paths.get(&route).unwrap_or_else(|| panic!("{route} is not in openapi.json"))[method];
                assert!(operation.is_object(), "{} {route} is served but not documented", method.to_uppercase());
                let responses = operation["responses"].as_object().unwrap();
                // A browser's endpoint (the sign-in's start) succeeds with a redirect.
                let success = |k: &String| k.starts_with('2') || k == "303";
                assert!(responses.keys().any(success), "{method} {route} documents no success");
            }
        }
    }
    let documented: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(served, documented, "the document has operations no router serves");
}

#[tokio::test]
async fn the_api_serves_its_document() {
    let app = app().await;
    let res = app.get("/openapi.json", None).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), Some("application/json"));
    assert_eq!(res.json["info"]["title"], "Identity API");
    let problem = &res.json["components"]["schemas"]["Problem"];
    assert!(problem["properties"]["type"].is_object(), "problem+json is described");
}
