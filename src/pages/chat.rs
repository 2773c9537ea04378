//! The chat page: loads history and presence with server functions (so they are in the server-rendered
//! HTML), then hands them to the live chat.

use leptos::prelude::*;

use crate::api::{get_history, get_me, get_online};
use crate::chat::ChatState;
use crate::components::{
    composer::Composer, connection_status::ConnectionStatus, message_list::MessageList, nickname::NicknameField,
    online_list::OnlineList, password::PasswordForm, sign_in::SignInForm, sign_out::SignOutButton,
    typing_indicator::TypingIndicator,
};
use crate::error::AppError;
use crate::protocol::{Account, ChatMessage, OnlineUser};

#[component]
pub fn ChatPage() -> impl IntoView {
    let history = Resource::new(|| (), |()| get_history(None, None, None));
    let online = Resource::new(|| (), |()| get_online(None));
    let me = Resource::new(|| (), |()| get_me());
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading the conversation…"</p> }>
            {move || Suspend::new(async move {
                let me = me.await.ok().flatten();
                view! { <Chat history=history.await online=online.await me/> }
            })}
        </Suspense>
    }
}

#[component]
fn Chat(
    history: Result<Vec<ChatMessage>, AppError>,
    online: Result<Vec<OnlineUser>, AppError>,
    me: Option<Account>,
) -> impl IntoView {
    let load_error = history.as_ref().err().map(ToString::to_string);
    let chat = ChatState::new(history.unwrap_or_default(), online.unwrap_or_default(), me);
    provide_context(chat);
    // The socket exists only in the browser (effects never run on the server), and only while
    // signed in: it starts on sign-in and its task ends when the session does.
    Effect::new(move |running: Option<bool>| {
        let signed_in = chat.me.with(Option::is_some);
        if signed_in && running != Some(true) {
            #[cfg(feature = "hydrate")]
            crate::client::start(chat);
        }
        signed_in
    });
    view! {
        <div class="app">
            <header class="topbar">
                <h1>"Natter"</h1>
                <div class="topbar-end">
                    <ConnectionStatus/>
                    <SignOutButton/>
                </div>
            </header>
            <div class="layout">
                <main class="conversation">
                    {load_error.map(|error| view! { <p class="load-error" role="alert">{error}</p> })}
                    <noscript>
                        <p class="noscript">"Natter needs JavaScript to send messages; the history below is read-only."</p>
                    </noscript>
                    <MessageList/>
                    <TypingIndicator/>
                    <NicknameField/>
                    <SignInForm/>
                    <form class="composer-form" on:submit=|ev| ev.prevent_default()>
                        <Composer/>
                    </form>
                </main>
                <div class="side">
                    <OnlineList/>
                    <PasswordForm/>
                </div>
            </div>
        </div>
    }
}
