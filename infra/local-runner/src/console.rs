//! The agent console, served as static files at `/console/` from the built
//! app (`console/dist`, or `WADESK_CONSOLE_DIR`), with its run-time settings
//! at `/console/config.json`: locally, sign-in through `POST /_local/token`
//! and live updates from the runner's `/live`.

use std::path::{Component, Path, PathBuf};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use hyper::{Method, Request, Response, StatusCode};

use crate::Settings;

type HyperResponse = Response<Full<Bytes>>;

/// The console's answer to `request`, or `None` when it is not a console path.
pub fn serve<B>(settings: &Settings, request: &Request<B>) -> Option<HyperResponse> {
    let path = request.uri().path();
    if path != "/console" && !path.starts_with("/console/") {
        return None;
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return Some(status(StatusCode::METHOD_NOT_ALLOWED, "GET only"));
    }
    if path == "/console" {
        let mut response = status(StatusCode::PERMANENT_REDIRECT, "");
        response
            .headers_mut()
            .insert(LOCATION, HeaderValue::from_static("/console/"));
        return Some(response);
    }
    let relative = &path["/console/".len()..];
    if relative == "config.json" {
        let config = serde_json::json!({
            "api_base_url": "",
            "live_url": "/live",
            "auth": {"mode": "local"},
            "offer_timeout_seconds": settings.offer_timeout_seconds,
        });
        return Some(file(
            config.to_string().into_bytes(),
            "application/json",
            false,
        ));
    }
    Some(static_file(&settings.console_dir, relative))
}

fn static_file(root: &Path, relative: &str) -> HyperResponse {
    let Some(path) = safe_join(root, relative) else {
        return status(StatusCode::NOT_FOUND, "not found");
    };
    // A path without an extension is a route of the single-page app.
    let path = if path.extension().is_none() {
        root.join("index.html")
    } else {
        path
    };
    match std::fs::read(&path) {
        Ok(bytes) => {
            let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            // Built assets carry a content hash in their names: cache them.
            let immutable = relative.starts_with("assets/");
            file(bytes, content_type(extension), immutable)
        }
        Err(_) if !root.join("index.html").exists() => status(
            StatusCode::NOT_FOUND,
            "the console is not built: run `npm ci && npm run build` in console/, or set WADESK_CONSOLE_DIR",
        ),
        Err(_) => status(StatusCode::NOT_FOUND, "not found"),
    }
}

/// `root/relative`, refusing anything that could leave `root`.
fn safe_join(root: &Path, relative: &str) -> Option<PathBuf> {
    let decoded = percent_encoding::percent_decode_str(relative)
        .decode_utf8()
        .ok()?;
    let mut path = root.to_path_buf();
    for component in Path::new(decoded.as_ref()).components() {
        match component {
            Component::Normal(part) => path.push(part),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(path)
}

fn content_type(extension: &str) -> &'static str {
    match extension {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn file(bytes: Vec<u8>, content_type: &'static str, immutable: bool) -> HyperResponse {
    let mut response = Response::new(Full::new(Bytes::from(bytes)));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static(if immutable {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        }),
    );
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn status(code: StatusCode, message: &str) -> HyperResponse {
    let mut response = Response::new(Full::new(Bytes::from(message.to_owned())));
    *response.status_mut() = code;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_cannot_leave_the_console_directory() {
        let root = Path::new("/srv/console");
        assert_eq!(
            safe_join(root, "assets/app.js"),
            Some(PathBuf::from("/srv/console/assets/app.js"))
        );
        assert_eq!(safe_join(root, "../secret"), None);
        assert_eq!(safe_join(root, "%2e%2e/secret"), None);
        assert_eq!(safe_join(root, "/etc/passwd"), None);
    }
}
