//! What the chat page shows beside the conversation, and the buttons that show it: on a phone the
//! rooms are a drawer and the members a sheet over the conversation; on a desk the rooms are always
//! there and the members panel opens and closes. Without JavaScript the buttons are links to the
//! panels (`#sidebar`, `#members`) and the stylesheet opens them (`:target`).

use leptos::prelude::*;

/// The sidebar's and the members panel's element ids, which are also the fragments the buttons link
/// to, so that without JavaScript the stylesheet opens them by `:target`.
pub const SIDEBAR: &str = "sidebar";
pub const MEMBERS: &str = "members";

/// The stylesheet's breakpoints: a phone (drawer and sheet), and a desk wide enough to show the
/// members beside the conversation until they are closed (narrower, they show once asked for).
const PHONE_WIDTH: &str = "(max-width: 640px)";
const WIDE_WIDTH: &str = "(min-width: 1100px)";

/// Which panels are open, provided as context by the chat page: the header's buttons, the sidebar,
/// the members panel and the page's classes all read the same signals.
#[derive(Clone, Copy)]
pub struct Panels {
    /// The rooms drawer is open (phones only: on a desk the sidebar is always shown).
    pub drawer: RwSignal<bool>,
    /// The members panel: `None` is this width's default (shown on a wide desk, hidden otherwise).
    pub members: RwSignal<Option<bool>>,
    /// The page is laid out for a phone; false on the server, set once the page is live.
    pub phone: RwSignal<bool>,
    /// The page is wide enough for the members column by default; true on the server.
    pub wide: RwSignal<bool>,
}

impl Panels {
    pub fn new() -> Self {
        // The server draws a wide desk; the stylesheet lays out other widths until hydration.
        let panels = Self {
            drawer: RwSignal::new(false),
            members: RwSignal::new(None),
            phone: RwSignal::new(false),
            wide: RwSignal::new(true),
        };
        // Effects run only in the browser, after hydration: the server's HTML stays as rendered.
        // It tracks nothing, so it runs once; the listeners it registers follow the breakpoints
        // from then on.
        Effect::new(move |_| {
            let (phone, wide) = (panels.phone, panels.wide);
            phone.set(crate::dom::media_matches(PHONE_WIDTH, move |narrow| phone.set(narrow)));
            wide.set(crate::dom::media_matches(WIDE_WIDTH, move |is_wide| wide.set(is_wide)));
            crate::dom::follow_visual_viewport();
            // A panel opened by its fragment before hydration is handed to its signal, and the
            // fragment dropped: from now on the page's classes show it, so the close button (which
            // sets the signal) closes it, where the `:target` rule would have kept it open.
            if crate::dom::fragment_names(SIDEBAR) {
                panels.drawer.set(true);
                crate::dom::forget_fragment(SIDEBAR);
            } else if crate::dom::fragment_names(MEMBERS) {
                panels.members.set(Some(true));
                crate::dom::forget_fragment(MEMBERS);
            }
        });
        panels
    }

    /// Whether the members panel shows now: the user's choice, or else this width's default, so the
    /// button's `aria-expanded` tells the truth at every width.
    pub fn members_shown(&self) -> bool {
        self.members.get().unwrap_or(self.wide.get())
    }

    /// A panel over the conversation is open: the scrim behind it shows, and closes it when touched.
    pub fn overlay(&self) -> bool {
        self.phone.get() && (self.drawer.get() || self.members.get() == Some(true))
    }

    /// Closes whatever covers the conversation. The members choice is forgotten only on a phone,
    /// where the default is closed; on a desk the panel is a column, not an overlay, and stays as
    /// the user left it.
    pub fn close_overlays(&self) {
        self.drawer.set(false);
        if self.phone.get_untracked() {
            self.members.set(None);
        }
    }

    /// The page's classes that open and close the panels. No choice adds no class: the
    /// stylesheet's breakpoints then decide, as they do for the server's HTML before hydration.
    pub fn classes(&self) -> String {
        let mut classes = String::from("app");
        if self.drawer.get() {
            classes.push_str(" drawer-open");
        }
        match self.members.get() {
            Some(true) => classes.push_str(" members-open"),
            Some(false) => classes.push_str(" members-closed"),
            None => {}
        }
        classes
    }
}

impl Default for Panels {
    fn default() -> Self {
        Self::new()
    }
}

/// Opens the rooms drawer (shown on phones only).
#[component]
pub fn DrawerButton() -> impl IntoView {
    let panels = expect_context::<Panels>();
    // A link playing a button: without JavaScript it opens the drawer by its fragment; hydrated,
    // the click opens it by signal and moves focus to the drawer's close button, so a keyboard
    // user lands inside what they opened.
    view! {
        <a
            href=format!("#{SIDEBAR}")
            class="icon-button drawer-button"
            role="button"
            aria-controls=SIDEBAR
            aria-expanded=move || panels.drawer.get().to_string()
            on:click=move |ev| {
                ev.prevent_default();
                panels.drawer.set(true);
                request_animation_frame(|| crate::dom::focus("sidebar-close"));
            }
        >
            <span aria-hidden="true">"☰"</span>
            <span class="visually-hidden">"Rooms"</span>
        </a>
    }
}

/// Shows and hides the members panel; it reads how many are online here.
#[component]
pub fn MembersButton(#[prop(into)] online: Signal<usize>) -> impl IntoView {
    let panels = expect_context::<Panels>();
    // Focus moves into the panel only on a phone, where the sheet covers the page; on a desk the
    // panel opens beside the conversation and focus stays on the button, which closes it again.
    // The visible text is only "N online": the hidden "Members, " says what the button opens.
    view! {
        <a
            href=format!("#{MEMBERS}")
            class="members-button"
            role="button"
            aria-controls=MEMBERS
            aria-expanded=move || panels.members_shown().to_string()
            on:click=move |ev| {
                ev.prevent_default();
                let shown = panels.members_shown();
                panels.members.set(Some(!shown));
                if !shown && panels.phone.get_untracked() {
                    request_animation_frame(|| crate::dom::focus("members-close"));
                }
            }
        >
            <span class="visually-hidden">"Members, "</span>
            <span class="online-dot" aria-hidden="true"></span>
            {move || format!("{} online", online.get())}
        </a>
    }
}

/// Keys inside an open drawer or sheet on a phone: Escape closes it and gives focus back to the
/// button that opened it (found by its class), Tab stays inside.
pub fn overlay_keys(
    panels: Panels,
    button: &'static str,
    container: impl Fn() -> Option<leptos::web_sys::Element> + Copy,
) -> impl Fn(leptos::ev::KeyboardEvent) + Copy {
    move |ev: leptos::ev::KeyboardEvent| {
        // Only while the panel covers the conversation: on a desk the panels are columns, and
        // Tab must move freely between them and the conversation.
        if !panels.overlay() || crate::dom::in_open_menu(&ev) {
            return;
        }
        if ev.key() == "Escape" {
            ev.prevent_default();
            panels.close_overlays();
            crate::dom::focus_selector(button);
        } else if let Some(container) = container() {
            crate::dom::trap_tab(&container, &ev);
        }
    }
}
