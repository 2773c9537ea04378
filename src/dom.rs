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

/// Calls `changed` whenever the element's size changes (something appeared or went below or above
/// it), for as long as the page lives.
pub fn on_resize(element: &leptos::web_sys::Element, changed: impl Fn() + 'static) {
    imp::on_resize(element, changed);
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
mod imp {
    use wasm_bindgen::JsCast;

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

    pub fn on_resize(element: &web_sys::Element, changed: impl Fn() + 'static) {
        let callback = wasm_bindgen::closure::Closure::<dyn Fn()>::new(changed);
        if let Ok(observer) = web_sys::ResizeObserver::new(callback.as_ref().unchecked_ref()) {
            observer.observe(element);
        }
        // The observer lives as long as the page: so must its callback.
        callback.forget();
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
}

#[cfg(not(feature = "hydrate"))]
mod imp {
    pub fn field_value(_id: &str) -> Option<String> {
        None
    }

    pub fn focus(_id: &str) {}

    pub fn on_resize(_element: &leptos::web_sys::Element, _changed: impl Fn() + 'static) {}

    pub fn typing_in_a_field(_ev: &leptos::ev::KeyboardEvent) -> bool {
        false
    }

    pub fn focus_was_lost() -> bool {
        false
    }

    pub struct Focused;

    pub fn focused() -> Focused {
        Focused
    }

    pub fn refocus(_focused: &Focused) {}
}
