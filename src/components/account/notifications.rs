//! Desktop notifications: a button that asks the browser's permission (browsers only allow asking
//! from a user action, and Natter asks only when the user chooses to), and what happens once answered.

use leptos::prelude::*;

use crate::state::ChatState;

/// Nothing shows once permission is granted (there is nothing left to do), nor where the browser
/// has no notifications. The permission is `None` in the server's render too, so the button only
/// appears after hydration, when the socket task has read the real answer.
#[component]
pub fn NotificationsToggle() -> impl IntoView {
    let chat = expect_context::<ChatState>();
    // Asked from the click itself: browsers refuse, or quietly ignore, a permission request that
    // no user gesture made.
    let ask = move |_| crate::dom::request_notifications(chat);
    view! {
        <Show when=move || chat.me.with(Option::is_some)>
            {move || match chat.notify_permission.get().as_deref() {
                Some("default") => Some(
                    view! {
                        <button type="button" class="link notify-ask" on:click=ask>
                            "Enable desktop notifications"
                        </button>
                    }
                    .into_any(),
                ),
                Some("denied") => Some(
                    view! { <p class="notify-note">"Notifications are blocked in this browser's site settings."</p> }
                        .into_any(),
                ),
                _ => None,
            }}
        </Show>
    }
}
