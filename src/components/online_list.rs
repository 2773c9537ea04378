//! Who is online now; people without activity for a while are marked idle.

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
                <For
                    each=move || chat.online.get()
                    key=|user| (user.user_id, user.nickname.clone(), user.idle)
                    children=|user| {
                        view! {
                            <li class:idle=user.idle>
                                <span class="name">{user.nickname}</span>
                                {user.idle.then(|| view! { <span class="idle-tag">" (idle)"</span> })}
                            </li>
                        }
                    }
                />
            </ul>
        </aside>
    }
}
