//! Pure text code shared by both builds: message markup to spans, `@nick` completion, times and
//! dates in the reader's zone, and percent-encoding. No signals, no I/O, so every rule is tested
//! natively. Shared rather than browser-only because the server must render exactly what the
//! browser will hydrate (the same spans, the same day separators), and it formats text of its
//! own with the same rules: search snippets, exports, the mention keys it counts.

pub mod autocomplete;
pub mod format;
pub mod time_format;
pub mod url_encoding;
