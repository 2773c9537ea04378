//! A menu that drops down from a button: a `<details>` element, so it opens and closes without
//! JavaScript too; once hydrated, Escape closes it (focus back on its button) and so does a click
//! anywhere beside it.

use leptos::html::Details;
use leptos::prelude::*;

/// A drop-down menu. Escape gives focus back to its button, since focus is usually inside the menu
/// and would otherwise fall to the page; a click beside it does not, since the click put the
/// user's attention where they clicked.
#[component]
pub fn Menu(
    /// The menu's own class (for its place in the layout).
    class: &'static str,
    /// What its button shows.
    #[prop(into)]
    button: ViewFn,
    children: Children,
) -> impl IntoView {
    let menu = NodeRef::<Details>::new();
    let close = move |refocus: bool| {
        let Some(details) = menu.get_untracked() else { return };
        if details.open() {
            details.set_open(false);
            if refocus {
                // The summary is the `<details>`' first child: the menu's own button.
                if let Some(summary) = details.first_element_child() {
                    let _ = summary.unchecked_into::<leptos::web_sys::HtmlElement>().focus();
                }
            }
        }
    };
    // On the window: a click beside the menu never reaches the menu itself. Every menu closes
    // only itself, and only if it is open.
    let keys = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape" {
            close(true);
        }
    });
    let clicks = window_event_listener(leptos::ev::click, move |ev| {
        if menu.get_untracked().is_some_and(|details| crate::dom::outside(&details, &ev)) {
            close(false);
        }
    });
    // Menus sit in parts of the page that come and go (the header's `Show`): the window outlives
    // them, so their listeners must go with them.
    on_cleanup(move || {
        keys.remove();
        clicks.remove();
    });
    view! {
        <details class=format!("menu {class}") node_ref=menu>
            <summary class="menu-button">{button.run()}</summary>
            <div class="menu-panel">{children()}</div>
        </details>
    }
}

use wasm_bindgen::JsCast;
