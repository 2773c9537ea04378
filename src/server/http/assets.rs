//! The built site as the browser gets it: static files from the site root (cargo-leptos's output),
//! precompressed at build time and named by their content, and the caching rules for them and for
//! pages.
//!
//! `cargo leptos build --release --precompress` writes a `.br` and a `.gz` beside every file, and
//! `hash-files` (Cargo.toml) puts each file's content hash in its name under `/pkg`, recording the
//! names in `hash.txt` beside the server binary. A name under `/pkg` therefore never changes
//! meaning: the browser may keep it for a year without asking again. Pages change with every
//! message and are always revalidated.

use std::path::{Path, PathBuf};

use axum::extract::Request;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use leptos::config::LeptosOptions;
use tower_http::services::ServeDir;

/// Where cargo-leptos puts the browser bundle, under the site root.
pub(crate) const PKG_PREFIX: &str = "/pkg/";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Pages carry the visitor's own data and change all the time: never from a cache without asking.
const PAGE: &str = "no-cache, private";

/// The site root's files, served precompressed when the browser accepts it; anything missing goes to
/// `not_found` (the app's 404 page).
pub(crate) fn site<F>(options: &LeptosOptions, not_found: F) -> ServeDir<F> {
    ServeDir::new(options.site_root.as_ref()).precompressed_br().precompressed_gzip().fallback(not_found)
}

/// Middleware: `/pkg` files are cached for good (their names change with their content); HTML pages
/// are revalidated every time. Other responses keep whatever their handler chose.
pub(crate) async fn cache_policy(request: Request, next: Next) -> Response {
    let bundle = request.uri().path().starts_with(PKG_PREFIX);
    let mut response = next.run(request).await;
    let found = response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED;
    let headers = response.headers_mut();
    if bundle && found {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
    } else if is_html(headers.get(CONTENT_TYPE)) && !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static(PAGE));
    }
    response
}

fn is_html(content_type: Option<&HeaderValue>) -> bool {
    content_type.and_then(|value| value.to_str().ok()).is_some_and(|value| value.starts_with("text/html"))
}

/// The bundle's file names for this build: content-hashed when cargo-leptos recorded hashes beside
/// the server binary, plain otherwise (a debug build without `hash-files`, or the test binaries).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Bundle {
    /// Whether Leptos should read the hashed names (its `hash_files` option).
    pub hashed: bool,
    /// The stylesheet's URL.
    pub stylesheet: String,
}

impl Bundle {
    /// Reads `hash.txt` beside the running binary, if there is one.
    pub(crate) fn of_this_build(output_name: &str) -> Self {
        let hashes = hash_file().and_then(|path| std::fs::read_to_string(path).ok());
        Self::from_hashes(output_name, hashes.as_deref())
    }

    fn from_hashes(output_name: &str, hashes: Option<&str>) -> Self {
        let css_hash = hashes.and_then(|hashes| {
            hashes.lines().find_map(|line| line.split_once(':').filter(|(kind, _)| kind.trim() == "css"))
        });
        match css_hash {
            Some((_, hash)) => {
                Self { hashed: true, stylesheet: format!("{PKG_PREFIX}{output_name}.{}.css", hash.trim()) }
            }
            None => Self { hashed: false, stylesheet: format!("{PKG_PREFIX}{output_name}.css") },
        }
    }
}

/// Where cargo-leptos writes the hashes, and where Leptos looks for them: beside the binary.
fn hash_file() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent().unwrap_or(Path::new(".")).join(HASH_FILE))
}

/// cargo-leptos's default name for it (Leptos's default too).
const HASH_FILE: &str = "hash.txt";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_build_with_hashes_links_the_hashed_stylesheet() {
        let hashes = "js: AAA\nwasm: BBB\ncss: Q1w2-e3_R4\nmanifest: MMM\n";
        let bundle = Bundle::from_hashes("natter", Some(hashes));
        assert_eq!(bundle, Bundle { hashed: true, stylesheet: "/pkg/natter.Q1w2-e3_R4.css".into() });
    }

    #[test]
    fn a_build_without_hashes_links_the_plain_names() {
        assert_eq!(Bundle::from_hashes("natter", None), Bundle { hashed: false, stylesheet: "/pkg/natter.css".into() });
        assert!(!Bundle::from_hashes("natter", Some("js: AAA\n")).hashed, "no stylesheet hash: plain names");
    }

    #[test]
    fn only_html_counts_as_a_page() {
        assert!(is_html(Some(&HeaderValue::from_static("text/html; charset=utf-8"))));
        assert!(!is_html(Some(&HeaderValue::from_static("application/json"))));
        assert!(!is_html(None));
    }
}
