//! Who is online now.

use leptos::prelude::*;

use crate::chat::ChatState;

#[component]
pub fn OnlineList() -> impl IntoView {
    let chat = expect_context::<ChatState>();
    let count = move || chat.online.with(Vec::len);
    view! {
        <aside class="online" aria-labelledby="online-heading">
            <h2 id="online-heading">"Online " <span class="count">"(" {count} ")"</span></h2>
            <ul aria-label="Online users">
                <For each=move || chat.online.get() key=|name| name.clone() children=|name| view! { <li>{name}</li> }/>
            </ul>
        </aside>
    }
}
