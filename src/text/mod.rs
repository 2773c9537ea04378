//! Pure text code shared by both builds: message markup to spans, nickname and emoji completion,
//! times and dates in the reader's zone, and percent-encoding. No signals, no I/O, so every rule is
//! tested natively.

pub mod autocomplete;
pub mod format;
pub mod time_format;
pub mod url_encoding;
