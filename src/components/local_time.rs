//! A timestamp: UTC in the server's HTML, the reader's local time once the page is hydrated.

use leptos::prelude::*;

use crate::time_format::{iso_utc, local_clock, utc_clock};

#[component]
pub fn LocalTime(millis: i64) -> impl IntoView {
    let hydrated = RwSignal::new(false);
    // Effects run only in the browser, after hydration: the first paint matches the server's.
    Effect::new(move |_| hydrated.set(true));
    let shown = move || if hydrated.get() { local_clock(millis) } else { (utc_clock(millis), iso_utc(millis)) };
    view! {
        <time datetime=iso_utc(millis) title=move || shown().1>
            {move || shown().0}
        </time>
    }
}
