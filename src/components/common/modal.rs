//! A dialog over the page. Its opener is a link to `#id`, so without JavaScript the stylesheet opens
//! it (`:target`) and its Close link (`#`) shuts it. Hydrated, the opener sets `open` instead:
//! focus moves into the dialog, Tab stays inside it, Escape or a click on the backdrop closes it,
//! and focus goes back to where it was.

use leptos::html::Div;
use leptos::prelude::*;

use crate::dom::FocusReturn;

/// A dialog with its own `open` signal. It is always in the page (hidden by the stylesheet when
/// closed), because the no-JavaScript path opens it by `:target` and needs it rendered.
#[component]
pub fn Modal(id: &'static str, title: &'static str, open: RwSignal<bool>, children: Children) -> impl IntoView {
    let card = NodeRef::<Div>::new();
    // Stored, not a signal: nothing is drawn from it.
    let came_from = StoredValue::new(None::<FocusReturn>);
    // Only a change moves focus: the first run is the page loading, where focus is the reader's.
    Effect::new(move |was_open: Option<bool>| {
        let mut is_open = open.get();
        // Opened by its fragment before hydration (or by a link to it): the stylesheet shows it, so
        // the signal must say so too, or Close and Escape would set a `false` that is already false
        // and the `:target` rule would keep the dialog on screen. It is then opened here, focus
        // and all, as if its opener had been clicked.
        let opened_by_fragment = was_open.is_none() && !is_open && crate::dom::fragment_names(id);
        if opened_by_fragment {
            open.set(true);
            is_open = true;
        }
        if is_open && (was_open == Some(false) || opened_by_fragment) {
            came_from.set_value(Some(FocusReturn::remember()));
            // The dialog is displayed from the next frame on: only then can its controls take focus.
            request_animation_frame(move || {
                if let Some(card) = card.get_untracked() {
                    crate::dom::focus_first(&card);
                }
            });
        } else if !is_open && was_open == Some(true) {
            // Closing also drops `#id` from the address if it names this dialog: otherwise
            // `:target` would keep it shown after its signal closed it.
            crate::dom::forget_fragment(id);
            if let Some(focus) = came_from.try_update_value(Option::take).flatten() {
                focus.restore();
            }
        }
        is_open
    });
    // On the backdrop: keys pressed anywhere in the card bubble up to it.
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            ev.prevent_default();
            open.set(false);
        } else if let Some(card) = card.get_untracked() {
            crate::dom::trap_tab(&card, &ev);
        }
    };
    // The dialog is named by its heading, so a screen reader says which dialog it is on entering.
    // The Close link's `#` clears the fragment, which is what closes it without JavaScript.
    let heading = format!("{id}-heading");
    let labelled_by = heading.clone();
    view! {
        <div id=id class="modal" class:open=move || open.get() on:click=move |_| open.set(false) on:keydown=on_keydown>
            <div
                class="modal-card"
                role="dialog"
                aria-modal="true"
                aria-labelledby=labelled_by
                node_ref=card
                // A click inside the card must not reach the backdrop, which closes the dialog.
                on:click=|ev| ev.stop_propagation()
            >
                <div class="modal-head">
                    <h2 id=heading>{title}</h2>
                    <a class="icon-button modal-close" href="#" on:click=move |ev| {
                        ev.prevent_default();
                        open.set(false);
                    }>
                        <span aria-hidden="true">"×"</span>
                        <span class="visually-hidden">"Close"</span>
                    </a>
                </div>
                {children()}
            </div>
        </div>
    }
}

/// The link that opens a dialog: its fragment without JavaScript, the dialog's signal with it.
/// `role="button"` and `aria-haspopup="dialog"` tell a screen reader that it opens a dialog here
/// rather than going somewhere, which is what a link would otherwise promise.
#[component]
pub fn ModalLink(
    target: &'static str,
    open: RwSignal<bool>,
    #[prop(optional)] class: &'static str,
    children: Children,
) -> impl IntoView {
    view! {
        <a
            href=format!("#{target}")
            class=class
            role="button"
            aria-haspopup="dialog"
            on:click=move |ev| {
                ev.prevent_default();
                open.set(true);
            }
        >
            {children()}
        </a>
    }
}
