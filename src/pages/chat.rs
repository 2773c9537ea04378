//! The chat page for one room (`/`, `/r/:room`) or one direct conversation (`/dm/:user_id`). Its data
//! comes from one server function, so it is in the server-rendered HTML; then the live chat takes
//! over. Moving to another room is a page load: the socket resumes from where this page left off.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::api::get_room_page;
use crate::components::{
    common::keyboard::{KeyboardShortcuts, ShortcutsHelp, SkipLink},
    common::panels::{overlay_keys, Panels, MEMBERS},
    conversation::composer::Composer,
    conversation::join_bar::JoinBar,
    conversation::message_list::MessageList,
    conversation::online_list::OnlineList,
    conversation::room_header::RoomHeader,
    conversation::typing_indicator::TypingIndicator,
    conversation::upload_tray::UploadTray,
    rooms::sidebar::Sidebar,
};
use crate::error::AppError;
use crate::protocol::RoomPage;
use crate::state::ChatState;

#[component]
pub fn ChatPage() -> impl IntoView {
    let params = use_params_map();
    let page = Resource::new(
        move || params.with(|p| (p.get("room"), p.get("peer"), p.get("at"))),
        |(room, peer, at)| async move {
            let peer = parse_id(peer, crate::protocol::ErrorCode::NoSuchUser, "There is no such user.")?;
            let at = parse_id(at, crate::protocol::ErrorCode::NoSuchMessage, "There is no such message.")?;
            get_room_page(room, peer, at).await
        },
    );
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading the conversation…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(page) => view! { <Chat page/> }.into_any(),
                    Err(error) => view! { <Unavailable error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// A numeric path segment (a user or message id); anything else is a missing page.
fn parse_id<Id: std::str::FromStr>(
    segment: Option<String>,
    code: crate::protocol::ErrorCode,
    why: &str,
) -> Result<Option<Id>, AppError> {
    match segment.map(|segment| segment.parse::<Id>()) {
        Some(Ok(id)) => Ok(Some(id)),
        Some(Err(_)) => Err(crate::protocol::Rejection::new(code, why).into()),
        None => Ok(None),
    }
}

/// A room that does not exist or that this visitor may not read.
#[component]
fn Unavailable(error: AppError) -> impl IntoView {
    super::answer_with_status(&error);
    view! {
        <Title text="Natter"/>
        <main class="unavailable">
            <h1>"Natter"</h1>
            <p role="alert">{error.to_string()}</p>
            <p><a href="/" rel="external">"Go to general"</a></p>
        </main>
    }
}

#[component]
fn Chat(page: RoomPage) -> impl IntoView {
    let chat = ChatState::new(page);
    provide_context(chat);
    // The socket exists only in the browser (effects never run on the server), and only while
    // signed in: it starts on sign-in and its task ends when the session does.
    Effect::new(move |running: Option<bool>| {
        let signed_in = chat.me.with(Option::is_some);
        if signed_in && running != Some(true) {
            crate::dom::start_socket(chat);
        }
        signed_in
    });
    watch_visibility(chat);
    // Effects run only in the browser, once the page is live: the marker tells tests (and styles)
    // that typing now reaches the components.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    // Day separators: hydrated in the zone the server drew them in, then the browser's own.
    Effect::new(move |_| chat.zone_minutes.set(crate::dom::local_zone_minutes()));
    let title = move || {
        let place = chat.place_name();
        match chat.total_unread() {
            0 => format!("{place} · Natter"),
            unread => format!("({unread}) {place} · Natter"),
        }
    };
    let panels = Panels::new();
    provide_context(panels);
    provide_context(ShortcutsHelp::new());
    // The composer is for members; a visitor has it too (sending joins them), and a banned user
    // reads the reason in its alert.
    let composing = move || chat.me.with(Option::is_none) || chat.joined.get() || chat.banned.get();
    let members = NodeRef::<leptos::html::Aside>::new();
    let members_keys = overlay_keys(panels, ".members-button", move || members.get_untracked().map(Into::into));
    view! {
        <Title text=live_title(title)/>
        <div class=move || panels.classes() data-hydrated=move || hydrated.get().then_some("true")>
            <SkipLink/>
            <Sidebar/>
            <main class="conversation" on:dragover=allow_drop on:drop=move |ev| drop_files(chat, ev)>
                <RoomHeader/>
                <noscript>
                    <p class="noscript">"Natter needs JavaScript to send messages; the history below is read-only."</p>
                </noscript>
                <MessageList/>
                <footer class="dock">
                    <TypingIndicator/>
                    <JoinBar/>
                    <UploadTray/>
                    <Show when=composing>
                        <form class="composer-form" on:submit=|ev| ev.prevent_default()>
                            <Composer/>
                        </form>
                    </Show>
                </footer>
            </main>
            <aside id=MEMBERS class="members-panel" aria-label="Members" node_ref=members on:keydown=members_keys>
                <div class="panel-head">
                    <a
                        id="members-close"
                        class="icon-button panel-close"
                        href="#"
                        on:click=move |ev| {
                            ev.prevent_default();
                            panels.members.set(Some(false));
                            crate::dom::focus_selector(".members-button");
                        }
                    >
                        <span aria-hidden="true">"×"</span>
                        <span class="visually-hidden">"Close members"</span>
                    </a>
                </div>
                <OnlineList/>
            </aside>
            <div class="scrim" aria-hidden="true" on:click=move |_| panels.close_overlays()></div>
            <KeyboardShortcuts/>
        </div>
    }
}

/// The tab's title, live in the browser. leptos_meta reads a title's text after the server's render,
/// outside the request's reactive arena (in leptos_axum's response future, on whichever thread polls
/// it): a text that read signals there found another visitor's arena, or none, and the response
/// panicked. So the server renders the text as it is now; the browser keeps it live.
fn live_title(text: impl Fn() -> String + Send + Sync + 'static) -> leptos::text_prop::TextProp {
    if cfg!(feature = "ssr") {
        untrack(text).into()
    } else {
        text.into()
    }
}

/// Files dragged over the conversation may be dropped there.
fn allow_drop(ev: leptos::ev::DragEvent) {
    ev.prevent_default();
}

/// Files dropped on the conversation are sent to it.
fn drop_files(chat: ChatState, ev: leptos::ev::DragEvent) {
    ev.prevent_default();
    crate::dom::send_dropped_files(chat, &ev);
}

/// Tracks whether the tab is visible: messages that arrive while it is hidden stay unread (and count
/// in the title) until the user comes back.
fn watch_visibility(chat: ChatState) {
    let hidden = crate::dom::watch_hidden(move |hidden| {
        chat.hidden.set(hidden);
        chat.mark_read();
    });
    chat.hidden.set(hidden);
}
