//! Browser notifications: asking permission (only ever from a click, as browsers require) and
//! showing one for a live message the user would want to hear about while the tab is hidden.

use leptos::prelude::*;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{Notification, NotificationOptions, NotificationPermission};

use crate::protocol::{ChatMessage, RoomKind};
use crate::state::ChatState;

/// Longest notification text, in characters.
const MAX_TEXT: usize = 200;

/// "default" (not asked yet), "granted", "denied"; `None` where the browser has no notifications.
pub fn permission() -> Option<String> {
    let supported = js_sys::Reflect::has(&js_sys::global(), &"Notification".into()).unwrap_or(false);
    supported
        .then(|| match Notification::permission() {
            NotificationPermission::Granted => "granted",
            NotificationPermission::Denied => "denied",
            _ => "default",
        })
        .map(str::to_owned)
}

/// Asks for permission; `chat.notify_permission` follows the answer.
pub fn request(chat: ChatState) {
    let Ok(asked) = Notification::request_permission() else { return };
    leptos::task::spawn_local(async move {
        let _ = wasm_bindgen_futures::JsFuture::from(asked).await;
        chat.notify_permission.set(permission());
    });
}

/// Shows a notification for a live message if the tab is hidden, the message is someone else's,
/// and the room's setting asks for it (mentions by default, everything from a conversation).
pub fn on_message(chat: ChatState, message: &ChatMessage) {
    if !chat.hidden.get_untracked() || permission().as_deref() != Some("granted") {
        return;
    }
    let mine = chat.me.with_untracked(|me| me.as_ref().is_some_and(|me| me.id == message.author_id));
    let room = chat.rooms.with_untracked(|rooms| rooms.iter().find(|room| room.id == message.room_id).cloned());
    let Some(room) = room.filter(|room| !mine && room.notifies(chat.mentions_me(message))) else { return };
    let title = match room.kind {
        RoomKind::Direct => message.nickname.clone(),
        _ => format!("{} in #{}", message.nickname, room.name),
    };
    let text = crate::text::format::plain_text(&crate::text::format::parse(&message.body));
    let text: String = text.chars().take(MAX_TEXT).collect();
    let options = NotificationOptions::new();
    options.set_body(&text);
    // One notification per room: a newer one replaces the last.
    options.set_tag(&format!("natter-room-{}", room.id));
    let Ok(shown) = Notification::new_with_options(&title, &options) else { return };
    let target = format!("{}/m/{}", room.path(), message.id);
    let open = Closure::<dyn Fn()>::new(move || {
        if let Some(window) = web_sys::window() {
            let _ = window.focus();
            let _ = window.location().assign(&target);
        }
    });
    shown.set_onclick(Some(open.as_ref().unchecked_ref()));
    // The notification owns the handler from here on.
    open.forget();
}
