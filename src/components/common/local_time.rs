//! A timestamp: UTC in the server's HTML, the reader's local time in the browser. The page's inline
//! script (`time_format::LOCALIZE_TIMES`) localises the server's HTML before its first paint, so
//! the time a reader sees never changes when the page hydrates.

use leptos::prelude::*;

use crate::dom::local_clock;
use crate::text::time_format::iso_utc;

/// A `<time>` whose `datetime` is always UTC, so it is exact and machine-readable whatever its
/// text says; `data-local` marks it for the inline script, and the title holds the full date.
#[component]
pub fn LocalTime(millis: i64) -> impl IntoView {
    // UTC in the server build, local in the browser's: a time never changes once shown.
    let (clock, full) = local_clock(millis);
    view! {
        <time datetime=iso_utc(millis) data-local="" title=full>
            {clock}
        </time>
    }
}
