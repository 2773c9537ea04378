//! The browser build's DOM calls, behind `dom`'s functions.

use wasm_bindgen::JsCast;

use crate::state::ChatState;

pub fn after(delay: std::time::Duration, then: impl FnOnce() + 'static) {
    leptos::prelude::set_timeout(then, delay);
}

fn element(id: &str) -> Option<web_sys::Element> {
    web_sys::window()?.document()?.get_element_by_id(id)
}

pub fn field_value(id: &str) -> Option<String> {
    let element = element(id)?;
    if let Some(textarea) = element.dyn_ref::<web_sys::HtmlTextAreaElement>() {
        return Some(textarea.value());
    }
    element.dyn_ref::<web_sys::HtmlInputElement>().map(web_sys::HtmlInputElement::value)
}

pub fn focus(id: &str) {
    if let Some(element) = element(id).and_then(|element| element.dyn_into::<web_sys::HtmlElement>().ok()) {
        let _ = element.focus();
    }
}

pub fn typing_in_a_field(ev: &leptos::ev::KeyboardEvent) -> bool {
    let Some(target) = ev.target().and_then(|target| target.dyn_into::<web_sys::HtmlElement>().ok()) else {
        return false;
    };
    matches!(target.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT") || target.is_content_editable()
}

fn active() -> Option<web_sys::Element> {
    web_sys::window()?.document()?.active_element()
}

pub fn focus_was_lost() -> bool {
    active().is_none_or(|element| element.tag_name() == "BODY")
}

pub fn on_resize(elements: &[web_sys::Element], changed: impl Fn() + 'static) {
    let callback = wasm_bindgen::closure::Closure::<dyn Fn()>::new(changed);
    if let Ok(observer) = web_sys::ResizeObserver::new(callback.as_ref().unchecked_ref()) {
        for element in elements {
            observer.observe(element);
        }
    }
    // The observer lives as long as the page: so must its callback.
    callback.forget();
}

const FOCUSABLE: &str = "a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), \
    select:not([disabled]), textarea:not([disabled]), summary, [tabindex]:not([tabindex='-1'])";

fn focusable(container: &web_sys::Element) -> Vec<web_sys::HtmlElement> {
    let Ok(found) = container.query_selector_all(FOCUSABLE) else { return Vec::new() };
    (0..found.length())
        .filter_map(|index| found.item(index)?.dyn_into::<web_sys::HtmlElement>().ok())
        // Hidden ones (a closed menu's contents) take no focus.
        .filter(|element| element.offset_parent().is_some() || element.get_client_rects().length() > 0)
        .collect()
}

pub fn trap_tab(container: &web_sys::Element, ev: &web_sys::KeyboardEvent) {
    if ev.key() != "Tab" {
        return;
    }
    let controls = focusable(container);
    let (Some(first), Some(last)) = (controls.first(), controls.last()) else { return };
    let current = active();
    let at = |element: &web_sys::HtmlElement| {
        current.as_ref().is_some_and(|active| active == element.as_ref() as &web_sys::Element)
    };
    let outside = current.as_ref().is_none_or(|active| !container.contains(Some(active)));
    if ev.shift_key() && (at(first) || outside) {
        ev.prevent_default();
        let _ = last.focus();
    } else if !ev.shift_key() && (at(last) || outside) {
        ev.prevent_default();
        let _ = first.focus();
    }
}

pub fn focus_selector(selector: &str) {
    let found =
        web_sys::window().and_then(|window| window.document()).and_then(|d| d.query_selector(selector).ok().flatten());
    if let Some(element) = found.and_then(|element| element.dyn_into::<web_sys::HtmlElement>().ok()) {
        let _ = element.focus();
    }
}

pub fn focus_first(container: &web_sys::Element) {
    let controls = focusable(container);
    let field = controls.iter().find(|element| matches!(element.tag_name().as_str(), "INPUT" | "SELECT" | "TEXTAREA"));
    if let Some(first) = field.or(controls.first()) {
        let _ = first.focus();
    }
}

pub fn outside(container: &web_sys::Element, ev: &web_sys::MouseEvent) -> bool {
    let Some(target) = ev.target().and_then(|target| target.dyn_into::<web_sys::Node>().ok()) else {
        return false;
    };
    // A control that its own click removed (a menu item that turns into its confirmation) is
    // no longer in the page by the time the click reaches the window: it was not outside.
    target.is_connected() && !container.contains(Some(&target))
}

pub fn in_open_menu(ev: &web_sys::KeyboardEvent) -> bool {
    ev.target()
        .and_then(|target| target.dyn_into::<web_sys::Element>().ok())
        .and_then(|element| element.closest("details.menu[open]").ok().flatten())
        .is_some()
}

pub fn fragment_names(id: &str) -> bool {
    web_sys::window().and_then(|window| window.location().hash().ok()).is_some_and(|hash| hash == format!("#{id}"))
}

pub fn forget_fragment(id: &str) {
    let Some(window) = web_sys::window() else { return };
    if fragment_names(id) {
        if let Ok(history) = window.history() {
            let path =
                window.location().pathname().unwrap_or_default() + &window.location().search().unwrap_or_default();
            let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&path));
        }
    }
}

pub fn media_matches(query: &str, changed: impl Fn(bool) + 'static) -> bool {
    let Some(query) = web_sys::window().and_then(|window| window.match_media(query).ok().flatten()) else {
        return false;
    };
    let watched = query.clone();
    let callback = wasm_bindgen::closure::Closure::<dyn Fn()>::new(move || changed(watched.matches()));
    let _ = query.add_event_listener_with_callback("change", callback.as_ref().unchecked_ref());
    // Watched for as long as the page lives.
    callback.forget();
    query.matches()
}

pub fn follow_visual_viewport() {
    let Some(window) = web_sys::window() else { return };
    let (Some(viewport), Some(root)) = (window.visual_viewport(), window.document().and_then(|d| d.document_element()))
    else {
        return;
    };
    let Ok(root) = root.dyn_into::<web_sys::HtmlElement>() else { return };
    let measured = viewport.clone();
    let update = move || {
        let _ = root.style().set_property("--viewport-height", &format!("{}px", measured.height()));
    };
    update();
    let callback = wasm_bindgen::closure::Closure::<dyn Fn()>::new(update);
    let _ = viewport.add_event_listener_with_callback("resize", callback.as_ref().unchecked_ref());
    callback.forget();
}

const THEME_KEY: &str = "natter-theme";

pub fn stored_theme() -> Option<String> {
    web_sys::window()?.local_storage().ok()??.get_item(THEME_KEY).ok()?
}

pub fn choose_theme(theme: Option<&str>) {
    let Some(window) = web_sys::window() else { return };
    if let Some(root) = window.document().and_then(|document| document.document_element()) {
        let _ = match theme {
            Some(theme) => root.set_attribute("data-theme", theme),
            None => root.remove_attribute("data-theme"),
        };
    }
    if let Ok(Some(storage)) = window.local_storage() {
        let _ = match theme {
            Some(theme) => storage.set_item(THEME_KEY, theme),
            None => storage.remove_item(THEME_KEY),
        };
    }
}

pub fn copy_text(text: &str) {
    if let Some(window) = web_sys::window() {
        let _ = window.navigator().clipboard().write_text(text);
    }
}

/// The browser has one thread; the wrapper lets it live in ordinary (thread-safe) storage.
pub type Focused = Option<send_wrapper::SendWrapper<web_sys::HtmlElement>>;

pub fn focused() -> Focused {
    active().and_then(|element| element.dyn_into::<web_sys::HtmlElement>().ok()).map(send_wrapper::SendWrapper::new)
}

pub fn refocus(focused: &Focused) {
    if let Some(element) = focused {
        let _ = element.focus();
    }
}

pub fn go_to(path: &str) {
    if let Some(window) = web_sys::window() {
        let _ = window.location().assign(path);
    }
}

pub fn reload() {
    if let Some(window) = web_sys::window() {
        let _ = window.location().reload();
    }
}

pub fn scroll_to_center(selector: &str) {
    let Some(document) = web_sys::window().and_then(|window| window.document()) else { return };
    if let Ok(Some(element)) = document.query_selector(selector) {
        let options = web_sys::ScrollIntoViewOptions::new();
        options.set_block(web_sys::ScrollLogicalPosition::Center);
        element.scroll_into_view_with_scroll_into_view_options(&options);
    }
}

pub fn watch_hidden(changed: impl Fn(bool) + 'static) -> bool {
    let Some(document) = web_sys::window().and_then(|window| window.document()) else { return false };
    let watched = document.clone();
    let on_change = wasm_bindgen::closure::Closure::<dyn Fn()>::new(move || changed(watched.hidden()));
    let _ = document.add_event_listener_with_callback("visibilitychange", on_change.as_ref().unchecked_ref());
    // The page lives as long as the listener: keep the closure alive.
    on_change.forget();
    document.hidden()
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

pub fn stored(key: &str) -> Option<String> {
    local_storage()?.get_item(key).ok()?
}

pub fn store(key: &str, value: &str) {
    if let Some(storage) = local_storage() {
        let _ = storage.set_item(key, value);
    }
}

/// `crypto.getRandomValues` works on plain-http LAN addresses too, where `crypto.randomUUID` does
/// not exist.
pub fn random_id() -> String {
    let mut bytes = [0u8; 16];
    if let Some(crypto) = web_sys::window().and_then(|window| window.crypto().ok()) {
        let _ = crypto.get_random_values_with_u8_array(&mut bytes);
    }
    if bytes == [0; 16] {
        let fallback = (js_sys::Math::random() * 2f64.powi(52)) as u64 ^ js_sys::Date::now() as u64;
        bytes[..8].copy_from_slice(&fallback.to_le_bytes());
    }
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

pub fn now_millis() -> f64 {
    js_sys::Date::now()
}

pub fn wall_clock_millis() -> i64 {
    js_sys::Date::now() as i64
}

pub fn local_zone_minutes() -> i32 {
    -(js_sys::Date::new_0().get_timezone_offset() as i32)
}

/// The same `toLocaleTimeString` call as the page's inline script (`time_format::LOCALIZE_TIMES`),
/// so hydration finds the text that script wrote.
pub fn local_clock(millis: i64) -> (String, String) {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(millis as f64));
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"hour".into(), &"2-digit".into());
    let _ = js_sys::Reflect::set(&options, &"minute".into(), &"2-digit".into());
    let clock = date.to_locale_time_string_with_options("default", &options);
    (clock.into(), date.to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED).into())
}

pub fn start_socket(chat: ChatState) {
    crate::client::start(chat);
}

pub fn request_notifications(chat: ChatState) {
    crate::client::request_notifications(chat);
}

pub fn send_picked_files(chat: ChatState, ev: &web_sys::Event) {
    if let Some(input) = ev.target().and_then(|target| target.dyn_into::<web_sys::HtmlInputElement>().ok()) {
        crate::client::send_files(chat, crate::client::files_of(input.files()));
        input.set_value("");
    }
}

pub fn send_pasted_files(chat: ChatState, ev: &web_sys::ClipboardEvent) {
    let files = crate::client::files_of(ev.clipboard_data().and_then(|data| data.files()));
    if !files.is_empty() {
        ev.prevent_default();
        crate::client::send_files(chat, files);
    }
}

pub fn send_dropped_files(chat: ChatState, ev: &web_sys::DragEvent) {
    crate::client::send_files(chat, crate::client::files_of(ev.data_transfer().and_then(|data| data.files())));
}
