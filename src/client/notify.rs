//! Browser notifications: asking permission (only ever from a click, as browsers require) and
//! showing the ones the chat state decides a live message deserves (`ChatState::notice_for`).

use leptos::prelude::*;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{Notification, NotificationOptions, NotificationPermission};

use crate::state::reducer::Notice;
use crate::state::ChatState;

/// "default" (not asked yet), "granted", "denied"; `None` where the browser has no notifications.
pub fn permission() -> Option<String> {
    // Looked for first: some browsers (many phones, pages not served securely) have no
    // `Notification` at all, and touching it there would throw.
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
        // The answer is read back from `Notification.permission`, the one place the page reads
        // it, rather than from the promise's value.
        let _ = wasm_bindgen_futures::JsFuture::from(asked).await;
        chat.notify_permission.set(permission());
    });
}

/// Shows a notification the chat state decided on, if the user granted permission.
pub fn show(notice: &Notice) {
    // Asked again for each notice: the user may have withdrawn it in the site settings since.
    if permission().as_deref() != Some("granted") {
        return;
    }
    let options = NotificationOptions::new();
    options.set_body(&notice.text);
    options.set_tag(&notice.tag);
    let Ok(shown) = Notification::new_with_options(&notice.title, &options) else { return };
    let target = notice.target.clone();
    // The tab comes forward, then loads the message's permalink: a page load of its own, like
    // every move to another room.
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
