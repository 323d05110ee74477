//! The web UI: one HTML page, one script and one style sheet, embedded in the binary and
//! served by every REST server at `/` (the page) and under `/flinkrs/web/` (its assets), a
//! prefix no Flink REST path uses. The sources are `runtime/cluster/web/`, served as written:
//! no build step, so what is in the repository is what the browser gets.
//!
//! The page reads only the REST API, from the same origin.

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// Where the assets are served.
pub const ASSETS_PREFIX: &str = "/flinkrs/web";

/// Every file of the UI: its path under [`ASSETS_PREFIX`] (the page's is empty: it is `/`),
/// content type and bytes.
pub const ASSETS: [(&str, &str, &str); 3] = [
    (
        "",
        "text/html; charset=utf-8",
        include_str!("../../web/index.html"),
    ),
    (
        "/app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/app.js"),
    ),
    (
        "/app.css",
        "text/css; charset=utf-8",
        include_str!("../../web/app.css"),
    ),
];

/// Only this origin's scripts, styles and REST API; no inline script.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; \
                                       object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// The routes of the UI, to merge into the REST API's.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    let mut router = Router::new();
    for (path, content_type, body) in ASSETS {
        let route = if path.is_empty() {
            "/".to_owned()
        } else {
            format!("{ASSETS_PREFIX}{path}")
        };
        router = router.route(
            &route,
            get(move || async move { asset(content_type, body) }),
        );
    }
    router
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_load_is_under_300_kb() {
        let bytes: usize = ASSETS.iter().map(|(_, _, body)| body.len()).sum();
        assert!(bytes < 300 * 1024, "{bytes} bytes");
    }

    #[test]
    fn the_page_names_every_asset_under_the_prefix() {
        let page = ASSETS[0].2;
        for (path, _, _) in &ASSETS[1..] {
            assert!(
                page.contains(&format!("\"{ASSETS_PREFIX}{path}\"")),
                "index.html does not load {path}"
            );
        }
    }
}
