//! The server build's twin of `dom::browser`: there is no DOM, so every call does nothing or
//! answers as a page without one would.

use crate::state::ChatState;

pub fn after(_delay: std::time::Duration, _then: impl FnOnce() + 'static) {}

pub fn field_value(_id: &str) -> Option<String> {
    None
}

pub fn focus(_id: &str) {}

pub fn on_resize(_elements: &[leptos::web_sys::Element], _changed: impl Fn() + 'static) {}

pub fn typing_in_a_field(_ev: &leptos::ev::KeyboardEvent) -> bool {
    false
}

pub fn focus_was_lost() -> bool {
    false
}

pub fn trap_tab(_container: &leptos::web_sys::Element, _ev: &leptos::ev::KeyboardEvent) {}

pub fn focus_selector(_selector: &str) {}

pub fn focus_first(_container: &leptos::web_sys::Element) {}

pub fn outside(_container: &leptos::web_sys::Element, _ev: &leptos::ev::MouseEvent) -> bool {
    false
}

pub fn in_open_menu(_ev: &leptos::ev::KeyboardEvent) -> bool {
    false
}

pub fn fragment_names(_id: &str) -> bool {
    false
}

pub fn forget_fragment(_id: &str) {}

pub fn media_matches(_query: &str, _changed: impl Fn(bool) + 'static) -> bool {
    false
}

pub fn follow_visual_viewport() {}

pub fn stored_theme() -> Option<String> {
    None
}

pub fn choose_theme(_theme: Option<&str>) {}

pub fn copy_text(_text: &str) {}

pub struct Focused;

pub fn focused() -> Focused {
    Focused
}

pub fn refocus(_focused: &Focused) {}

pub fn go_to(_path: &str) {}

pub fn reload() {}

pub fn scroll_to_center(_selector: &str) {}

pub fn watch_hidden(_changed: impl Fn(bool) + 'static) -> bool {
    false
}

#[cfg(not(test))]
pub fn stored(_key: &str) -> Option<String> {
    None
}

#[cfg(not(test))]
pub fn store(_key: &str, _value: &str) {}

#[cfg(not(test))]
pub fn random_id() -> String {
    String::new()
}

// Native tests of the page's state stand in for one browser tab: storage is a map per test thread
// and ids count up, so they can watch the outbox the way the browser keeps it.
#[cfg(test)]
thread_local! {
    static STORAGE: std::cell::RefCell<std::collections::HashMap<String, String>> = Default::default();
    static IDS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

#[cfg(test)]
pub fn stored(key: &str) -> Option<String> {
    STORAGE.with(|storage| storage.borrow().get(key).cloned())
}

#[cfg(test)]
pub fn store(key: &str, value: &str) {
    STORAGE.with(|storage| storage.borrow_mut().insert(key.to_owned(), value.to_owned()));
}

#[cfg(test)]
pub fn random_id() -> String {
    IDS.with(|ids| {
        ids.set(ids.get() + 1);
        format!("{:032x}", ids.get())
    })
}

pub fn now_millis() -> f64 {
    0.0
}

pub fn wall_clock_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| i64::try_from(since.as_millis()).unwrap_or(i64::MAX))
}

pub fn local_zone_minutes() -> i32 {
    0
}

pub fn local_clock(millis: i64) -> (String, String) {
    use crate::text::time_format::{iso_utc, utc_clock};
    (utc_clock(millis), iso_utc(millis))
}

pub fn start_socket(_chat: ChatState) {}

pub fn request_notifications(_chat: ChatState) {}

pub fn send_picked_files(_chat: ChatState, _ev: &leptos::ev::Event) {}

pub fn send_pasted_files(_chat: ChatState, _ev: &leptos::ev::ClipboardEvent) {}

pub fn send_dropped_files(_chat: ChatState, _ev: &leptos::ev::DragEvent) {}
