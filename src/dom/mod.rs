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
