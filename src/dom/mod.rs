//! The few things components read straight from the page's DOM, outside Leptos's rendering. In the
//! browser build they read the document; in the server build they are inert (there is no DOM), so
//! components call them without `cfg` of their own.

/// What the visitor already typed into the field with this id before the page hydrated (the
/// server-rendered form accepts typing long before the WASM arrives on a slow link). Components
/// start their signal from it, so hydration keeps the text instead of wiping it.
pub fn typed_before_hydration(id: &str) -> Option<String> {
    imp::field_value(id).filter(|value| !value.is_empty())
}

/// Moves keyboard focus to the element with this id, if there is one.
pub fn focus(id: &str) {
    imp::focus(id);
}

/// Whether a key pressed now is typing into a field (so single-key shortcuts must leave it alone).
pub fn typing_in_a_field(ev: &leptos::ev::KeyboardEvent) -> bool {
    imp::typing_in_a_field(ev)
}

/// Whether keyboard focus fell back to the page itself (its element was removed or disabled).
pub fn focus_was_lost() -> bool {
    imp::focus_was_lost()
}

/// Calls `changed` whenever one of the elements changes size (something appeared or went below or
/// above it, or its content grew), for as long as the page lives.
pub fn on_resize(elements: &[leptos::web_sys::Element], changed: impl Fn() + 'static) {
    imp::on_resize(elements, changed);
}

/// Keeps Tab and Shift+Tab inside `container` (an open dialog or drawer): from its last control
/// Tab goes to its first, and back.
pub fn trap_tab(container: &leptos::web_sys::Element, ev: &leptos::ev::KeyboardEvent) {
    imp::trap_tab(container, ev);
}

/// Moves keyboard focus to the first element that matches a CSS selector.
pub fn focus_selector(selector: &str) {
    imp::focus_selector(selector);
}

/// Moves focus into `container`: to its first field, or else its first control.
pub fn focus_first(container: &leptos::web_sys::Element) {
    imp::focus_first(container);
}

/// Whether the event happened outside `container` (a click beside an open menu closes it).
pub fn outside(container: &leptos::web_sys::Element, ev: &leptos::ev::MouseEvent) -> bool {
    imp::outside(container, ev)
}

/// Whether a key was pressed inside an open drop-down menu (its Escape is the menu's, not the
/// drawer's around it).
pub fn in_open_menu(ev: &leptos::ev::KeyboardEvent) -> bool {
    imp::in_open_menu(ev)
}

/// Whether the address's `#fragment` names `id`: a dialog or panel the stylesheet shows by
/// `:target`, because it was opened before the page hydrated or by a link to it.
pub fn fragment_names(id: &str) -> bool {
    imp::fragment_names(id)
}

/// Drops `#fragment` from the address when it names `id`: a dialog opened without JavaScript (by
/// its fragment, `:target`) stays closed once closed.
pub fn forget_fragment(id: &str) {
    imp::forget_fragment(id);
}

/// Whether a media query (one of the stylesheet's breakpoints) matches now; calls `changed` whenever
/// that flips. The server has no screen: there it never matches.
pub fn media_matches(query: &str, changed: impl Fn(bool) + 'static) -> bool {
    imp::media_matches(query, changed)
}

/// Keeps the page as tall as the part of the screen the on-screen keyboard leaves (the
/// `--viewport-height` custom property), so the composer stays above the keyboard.
pub fn follow_visual_viewport() {
    imp::follow_visual_viewport();
}

/// The theme chosen in this browser ("light" or "dark"), or `None` to follow the system.
pub fn stored_theme() -> Option<String> {
    imp::stored_theme()
}

/// Applies a theme to the page at once and remembers it in this browser; `None` follows the system.
pub fn choose_theme(theme: Option<&str>) {
    imp::choose_theme(theme);
}

/// Puts text on the clipboard (a message's link), where the browser allows it.
pub fn copy_text(text: &str) {
    imp::copy_text(text);
}

/// Runs `then` once, after `delay`. The server renders a page and never waits: there it never runs.
pub fn after(delay: std::time::Duration, then: impl FnOnce() + 'static) {
    imp::after(delay, then);
}

/// Loads another page of the app (another room): a full load, so the new page starts its own
/// socket from the server-rendered state.
pub fn go_to(path: &str) {
    imp::go_to(path);
}

/// Loads this page afresh: the simplest way to drop everything a signed-in page held.
pub fn reload() {
    imp::reload();
}

/// Scrolls the first element matching a CSS selector into the middle of the view.
pub fn scroll_to_center(selector: &str) {
    imp::scroll_to_center(selector);
}

/// Whether the tab is hidden now; calls `changed` whenever that flips. The server's page is never
/// hidden.
pub fn watch_hidden(changed: impl Fn(bool) + 'static) -> bool {
    imp::watch_hidden(changed)
}

/// The text this browser keeps under `key` (`localStorage`), if any. The server keeps nothing.
pub fn stored(key: &str) -> Option<String> {
    imp::stored(key)
}

/// Keeps `value` under `key` in this browser (`localStorage`), for every tab of this site.
pub fn store(key: &str, value: &str) {
    imp::store(key, value);
}

/// 128 random bits as 32 hex digits (a message's `client_msg_id`). Messages are only written in
/// the browser; the server build never makes one and answers an empty string.
pub fn random_id() -> String {
    imp::random_id()
}

/// Milliseconds on the browser's clock, for timing typing signals and read marks. Event handlers
/// never run on the server; there a constant keeps the shared code compiling.
pub fn now_millis() -> f64 {
    imp::now_millis()
}

/// Milliseconds since the epoch on this machine's clock (the browser's, in the browser).
pub fn wall_clock_millis() -> i64 {
    imp::wall_clock_millis()
}

/// The browser's time zone now, minutes east of UTC; UTC outside a browser.
pub fn local_zone_minutes() -> i32 {
    imp::local_zone_minutes()
}

/// A time as the reader's clock shows it (`23:05`) and in full for a tooltip. Without a browser
/// there is no local zone: UTC stands in, as in the page's first paint.
pub fn local_clock(millis: i64) -> (String, String) {
    imp::local_clock(millis)
}

// The browser's transport, for components: in the browser build these hand over to `client`
// (which exists only there); in the server build they do nothing.

/// Starts the page's socket task (once the page has an account).
pub fn start_socket(chat: crate::state::ChatState) {
    imp::start_socket(chat);
}

/// Asks the browser for permission to show notifications (call from a click).
pub fn request_notifications(chat: crate::state::ChatState) {
    imp::request_notifications(chat);
}

/// Sends the files just picked in a file input to this page's room, then empties the input so
/// picking the same file again is a change too.
pub fn send_picked_files(chat: crate::state::ChatState, ev: &leptos::ev::Event) {
    imp::send_picked_files(chat, ev);
}

/// Sends files pasted into the page (a screenshot, say) as files; a paste of text stays a paste.
pub fn send_pasted_files(chat: crate::state::ChatState, ev: &leptos::ev::ClipboardEvent) {
    imp::send_pasted_files(chat, ev);
}

/// Sends files dropped on the page to this page's room.
pub fn send_dropped_files(chat: crate::state::ChatState, ev: &leptos::ev::DragEvent) {
    imp::send_dropped_files(chat, ev);
}

/// Where keyboard focus was when a dialog opened, to give it back when the dialog closes.
pub struct FocusReturn(imp::Focused);

impl FocusReturn {
    pub fn remember() -> Self {
        Self(imp::focused())
    }

    pub fn restore(&self) {
        imp::refocus(&self.0);
    }
}

#[cfg(feature = "hydrate")]
mod browser;
#[cfg(feature = "hydrate")]
use browser as imp;
#[cfg(not(feature = "hydrate"))]
mod inert;
#[cfg(not(feature = "hydrate"))]
use inert as imp;
