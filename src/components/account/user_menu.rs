//! The signed-in user's menu at the foot of the sidebar: their nickname (rename), a password for
//! other devices, desktop notifications, the theme and signing out. A visitor gets the theme alone.

use leptos::prelude::*;

use crate::components::{
    account::nickname::NicknameField, account::notifications::NotificationsToggle, account::password::PasswordForm,
    account::sign_out::SignOutButton, common::avatar::Avatar, common::menu::Menu,
};
use crate::state::ChatState;

/// The user menu. A visitor's holds the theme only: the account's settings appear once there is an
/// account, and the nickname field is the join bar's until then.
#[component]
pub fn UserMenu() -> impl IntoView {
    let chat = expect_context::<ChatState>();
    let signed_in = move || chat.me.with(Option::is_some);
    // Tracked: the button shows who is signed in, so a join or a rename changes it at once.
    let button = move || {
        chat.me.get().map_or_else(
            || view! { <span class="me-name">"Settings"</span> }.into_any(),
            |me| {
                view! {
                    <Avatar nickname=me.nickname.clone() user_id=Some(me.id)/>
                    <span class="me-name">{me.nickname}</span>
                }
                .into_any()
            },
        )
    };
    view! {
        <Menu class="user-menu" button=button>
            <Show when=signed_in>
                <NicknameField/>
                <PasswordForm/>
                <NotificationsToggle/>
            </Show>
            <ThemeChoice/>
            <SignOutButton/>
        </Menu>
    }
}

/// Light, dark, or whatever the system says. Kept in this browser; the page's first script applies
/// it before the first paint (see `app::THEME_SCRIPT`).
#[component]
fn ThemeChoice() -> impl IntoView {
    // "system" on the server and at hydration, so both render the same; then what this browser chose.
    let theme = RwSignal::new("system".to_owned());
    // In an effect, which runs only in the browser after hydration: read while rendering, the
    // stored choice would make the browser's first render differ from the server's.
    Effect::new(move |_| {
        if let Some(stored) = crate::dom::stored_theme() {
            theme.set(stored);
        }
    });
    // "system" is kept as no choice at all, so the page follows `prefers-color-scheme` again.
    let choose = move |ev: leptos::ev::Event| {
        let chosen = event_target_value(&ev);
        crate::dom::choose_theme(matches!(chosen.as_str(), "light" | "dark").then_some(chosen.as_str()));
        theme.set(chosen);
    };
    view! {
        <label class="menu-field">
            "Theme"
            <select prop:value=move || theme.get() on:change=choose>
                <option value="system">"Same as the system"</option>
                <option value="light">"Light"</option>
                <option value="dark">"Dark"</option>
            </select>
        </label>
    }
}
