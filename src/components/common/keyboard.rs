//! Keyboard ways around the chat page: a "Skip to message box" link as the page's first stop, and
//! single-key shortcuts (when not typing in a field) listed in a help dialog that `?` opens.

use leptos::prelude::*;

use crate::components::conversation::composer::MESSAGE_FIELD;
use crate::dom::FocusReturn;

/// The search field's element id (in the top bar).
pub const SEARCH_FIELD: &str = "search";
/// The help dialog's one control, focused when it opens.
const HELP_CLOSE: &str = "keyboard-help-close";

/// The shortcuts, as the help dialog lists them: the only place a user learns of them, so a key
/// the handler below learns belongs here too.
const SHORTCUTS: &[(&str, &str)] = &[
    ("c", "Write a message (focus the message box)"),
    ("/", "Search messages"),
    ("?", "Show these shortcuts"),
    ("Esc", "Close this dialog, the image viewer or a menu"),
    ("Enter", "Send (in the message box); Shift+Enter for a new line"),
];

/// The page's first focusable element: one Tab and Enter reach the message box.
#[component]
pub fn SkipLink() -> impl IntoView {
    view! {
        // The link works without JavaScript too (it scrolls there); once hydrated it also moves
        // focus, which following a fragment link does not do in every browser.
        <a
            class="skip-link"
            href=format!("#{MESSAGE_FIELD}")
            on:click=|ev| {
                ev.prevent_default();
                crate::dom::focus(MESSAGE_FIELD);
            }
        >
            "Skip to message box"
        </a>
    }
}

/// Whether the shortcuts' help is open, and where focus goes back when it closes. Shared by the
/// dialog (at the page's root, so no closed menu or drawer hides it) and its button.
#[derive(Clone, Copy)]
pub struct ShortcutsHelp {
    open: RwSignal<bool>,
    came_from: StoredValue<Option<FocusReturn>>,
}

impl ShortcutsHelp {
    pub fn new() -> Self {
        Self { open: RwSignal::new(false), came_from: StoredValue::new(None) }
    }

    /// Remembers where focus was before opening: the `?` key or the button may be pressed from
    /// anywhere, and closing puts the user back there.
    fn show(self) {
        self.came_from.set_value(Some(FocusReturn::remember()));
        self.open.set(true);
    }
}

impl Default for ShortcutsHelp {
    fn default() -> Self {
        Self::new()
    }
}

/// Opens the shortcuts' help.
#[component]
pub fn ShortcutsButton() -> impl IntoView {
    let help = expect_context::<ShortcutsHelp>();
    // `aria-keyshortcuts` tells screen reader users on this button that `?` does the same. Focus
    // moves on the next frame: only then is the dialog drawn, with its Close button.
    view! {
        <button
            type="button"
            class="link shortcuts-button"
            aria-keyshortcuts="?"
            on:click=move |_| {
                help.show();
                request_animation_frame(|| crate::dom::focus(HELP_CLOSE));
            }
        >
            "Shortcuts"
        </button>
    }
}

/// Listens for the shortcuts and shows their help dialog. Placed once, at the page's root, so no
/// closed menu or drawer around it hides the dialog.
#[component]
pub fn KeyboardShortcuts() -> impl IntoView {
    let help = expect_context::<ShortcutsHelp>();
    let ShortcutsHelp { open, came_from } = help;
    let close = move || {
        open.set(false);
        if let Some(focus) = came_from.try_update_value(Option::take).flatten() {
            focus.restore();
        }
    };
    let handle = window_event_listener(leptos::ev::keydown, move |ev| {
        // Modified keys belong to the browser and the system (Ctrl+C, Cmd+/), and a key inside an
        // input method's composition is part of a word.
        if ev.ctrl_key() || ev.meta_key() || ev.alt_key() || ev.is_composing() {
            return;
        }
        // While the help is open the other shortcuts are off: `c` would move focus out from under
        // a modal dialog.
        if open.get_untracked() {
            match ev.key().as_str() {
                "Escape" => {
                    ev.prevent_default();
                    close();
                }
                // The dialog holds one control: Tab stays on it rather than leaving the dialog.
                "Tab" => {
                    ev.prevent_default();
                    crate::dom::focus(HELP_CLOSE);
                }
                _ => {}
            }
            return;
        }
        // In a field a letter is text: a `c` typed in the composer stays a `c`.
        if crate::dom::typing_in_a_field(&ev) {
            return;
        }
        let go_to = match ev.key().as_str() {
            "c" => MESSAGE_FIELD,
            "/" => SEARCH_FIELD,
            "?" => {
                help.show();
                HELP_CLOSE
            }
            _ => return,
        };
        // The key is the page's now: Firefox, for one, would open its quick find on `/`.
        ev.prevent_default();
        // The dialog's button exists once it has rendered.
        request_animation_frame(move || crate::dom::focus(go_to));
    });
    // The listener is the window's, which outlives this component.
    on_cleanup(move || handle.remove());
    view! {
        <Show when=move || open.get()>
            <div class="dialog-backdrop" on:click=move |_| close()>
                <div
                    class="dialog"
                    role="dialog"
                    aria-modal="true"
                    aria-labelledby="keyboard-help-heading"
                    // A click inside the dialog must not reach the backdrop, which closes it.
                    on:click=|ev| ev.stop_propagation()
                >
                    <h2 id="keyboard-help-heading">"Keyboard shortcuts"</h2>
                    <dl class="shortcuts">
                        {SHORTCUTS
                            .iter()
                            .map(|(key, what)| view! { <div><dt><kbd>{*key}</kbd></dt><dd>{*what}</dd></div> })
                            .collect_view()}
                    </dl>
                    <button type="button" id=HELP_CLOSE on:click=move |_| close()>"Close"</button>
                </div>
            </div>
        </Show>
    }
}
