//! The server build's twin of `dom::browser`: there is no DOM, so every call does nothing or
//! answers as a page without one would.

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
