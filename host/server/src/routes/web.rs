//! The browser host's page (web/): `GET /` is the demo page, which scores every served model in
//! the browser; `GET /web/{file}` its scripts, styles and the host layer compiled to Wasm — the
//! committed build in `web/dist/` (`scripts/build-web.sh`), embedded at compile time so a fresh
//! clone serves it with no wasm32 target, wasm-bindgen or node; `GET /web/demo/{file}` the demo
//! data the embedding program hands over (`ServerConfig::demo_files`); and
//! `GET /v1/models/{name}/module` a served model's module file, the very bytes the server runs,
//! which the page scores with.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::App;
use crate::error::ApiError;

/// (file name, media type, contents) of the page's assets: the scripts as `scripts/build-web.sh`
/// minified them from `web/js/`, and the glue it built.
const ASSETS: &[(&str, &str, &[u8])] = &[
    ("scorekit.js", JS, include_bytes!("../../../../web/dist/scorekit.js")),
    ("scorekit-model.js", JS, include_bytes!("../../../../web/dist/scorekit-model.js")),
    ("charts.js", JS, include_bytes!("../../../../web/dist/charts.js")),
    ("scorekit_web.js", JS, include_bytes!("../../../../web/dist/scorekit_web.js")),
    ("scorekit_web_bg.wasm", "application/wasm", include_bytes!("../../../../web/dist/scorekit_web_bg.wasm")),
    ("demo.js", JS, include_bytes!("../../../../web/demo/demo.js")),
    ("demo.css", "text/css; charset=utf-8", include_bytes!("../../../../web/demo/demo.css")),
];

const JS: &str = "text/javascript; charset=utf-8";
const INDEX: &[u8] = include_bytes!("../../../../web/demo/index.html");

fn asset(media: &'static str, body: &'static [u8]) -> Response {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    // Revalidate on every load: a rebuilt server must never leave a page on old glue.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

fn no_such(path: String) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no such file: {path}"))
}

/// `GET /`: the demo page.
pub async fn index() -> Response {
    asset("text/html; charset=utf-8", INDEX)
}

/// `GET /web/{file}`: an asset of the page.
pub async fn file(State(app): State<App>, Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, media, body)) => asset(media, body),
        None => app.unrouted(no_such(format!("/web/{name}"))),
    }
}

/// `GET /web/demo/{file}`: a demo data file.
pub async fn demo_file(State(app): State<App>, Path(name): Path<String>) -> Response {
    match app.config.demo_files.0.iter().find(|(n, _)| *n == name) {
        Some((n, text)) => {
            let media = if n.ends_with(".json") { "application/json" } else { "text/csv; charset=utf-8" };
            asset(media, text.as_bytes())
        }
        None => app.unrouted(no_such(format!("/web/demo/{name}"))),
    }
}

/// `GET /v1/models/{name}/module`: the module file of a served model (`ETag`: its SHA-256).
pub async fn module(State(app): State<App>, Path(name): Path<String>, headers: HeaderMap) -> Response {
    let entry = match app.registry.resolve(&name) {
        Ok(e) => e,
        Err(e) => return app.unrouted(e),
    };
    if entry.module.is_empty() {
        let msg = format!(
            "model '{}' is served by its remote endpoint: there is no module file to send",
            entry.alias
        );
        return crate::error::ApiError::new(StatusCode::NOT_FOUND, "no_module_file", msg).into_response();
    }
    let etag = format!("\"{}\"", entry.sha256());
    let tag = HeaderValue::from_str(&etag).ok();
    let mut resp = if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str())
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = axum::body::Bytes::from_owner(entry.module.clone()).into_response();
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/wasm"));
        if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}.wasm\"", entry.alias)) {
            r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
        }
        r
    };
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Some(t) = tag {
        h.insert(header::ETAG, t);
    }
    if let Ok(v) = HeaderValue::from_str(entry.sha256()) {
        h.insert("x-scorekit-model-sha256", v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::ASSETS;

    /// The glue the page loads is the pair wasm-bindgen wrote together, and every script the
    /// page imports is served.
    #[test]
    fn every_import_of_the_page_is_served() {
        let names: Vec<&str> = ASSETS.iter().map(|a| a.0).collect();
        let mut imports = 0;
        for (_, _, body) in ASSETS.iter().filter(|a| a.0.ends_with(".js")) {
            let text = std::str::from_utf8(body).expect("scripts are UTF-8");
            // Minified scripts hold several imports on a line: every `from "<path>"`.
            for (at, _) in text.match_indices("from") {
                let rest = text[at + 4..].trim_start();
                let Some(quote) = rest.chars().next().filter(|c| matches!(c, '\'' | '"')) else { continue };
                let Some(from) = rest[1..].split(quote).next() else { continue };
                if !(from.starts_with("./") || from.starts_with("/web/")) {
                    continue;
                }
                let file = from.trim_start_matches("./").trim_start_matches("/web/");
                assert!(names.contains(&file), "{from} is imported but not served");
                imports += 1;
            }
        }
        // scorekit-model.js → scorekit.js, charts.js; scorekit.js → scorekit_web.js.
        assert!(imports >= 3, "only {imports} imports found");
        let wasm = ASSETS.iter().find(|a| a.0 == "scorekit_web_bg.wasm").expect("glue wasm");
        assert_eq!(&wasm.2[..4], b"\0asm");
    }
}
