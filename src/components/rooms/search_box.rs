//! The search field in the top bar: a plain GET form to `/search`, so it works before (and without)
//! the WASM, and the results page has its own address to share or reload.

use leptos::prelude::*;

/// `query` refills the field on the results page, so a search is refined rather than typed again.
#[component]
pub fn SearchBox(#[prop(optional, into)] query: String) -> impl IntoView {
    // `role="search"` makes the form a landmark; `maxlength` is the server's own limit (a longer
    // search is refused as `invalid_search`), and the title is the only place the syntax is told.
    view! {
        <form class="search-box" action="/search" method="get" role="search">
            <input
                id=crate::components::common::keyboard::SEARCH_FIELD
                type="search"
                name="q"
                value=query
                aria-label="Search messages"
                placeholder="Search messages"
                title="Words, \"a phrase\", from:nick, in:room, before: and after: dates"
                maxlength="256"
            />
            <button type="submit">"Search"</button>
        </form>
    }
}
