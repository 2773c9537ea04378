//! The search field in the top bar: a plain GET form to `/search`, so it works before (and without)
//! the WASM, and the results page has its own address to share or reload.

use leptos::prelude::*;

#[component]
pub fn SearchBox(#[prop(optional, into)] query: String) -> impl IntoView {
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
