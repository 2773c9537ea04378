//! The HTML shell and the routes.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, Meta, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};

use crate::pages::chat::ChatPage;
use crate::pages::search::SearchPage;

/// The page around the app; only the server renders it (the browser hydrates `<App/>` inside it).
/// The stylesheet is linked here, by the name this build gave it (see `assets::Bundle`).
#[cfg(feature = "ssr")]
pub fn shell(options: LeptosOptions, stylesheet: String) -> impl IntoView {
    use leptos_meta::MetaTags;
    let nonce = leptos::nonce::use_nonce();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                // The on-screen keyboard shrinks the page instead of covering the composer.
                <meta name="viewport" content="width=device-width, initial-scale=1, interactive-widget=resizes-content"/>
                // Before anything paints: the theme this browser chose (the system's otherwise).
                <script nonce=nonce.clone() inner_html=THEME_SCRIPT></script>
                <link rel="stylesheet" href=stylesheet/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
                // Runs as the page is parsed, before its first paint: times show in the reader's
                // zone at once, as the hydrated page will show them, instead of UTC first.
                <script nonce=nonce inner_html=crate::text::time_format::LOCALIZE_TIMES></script>
            </body>
        </html>
    }
}

/// Applies the theme chosen in this browser (see `dom::choose_theme`) before the first paint, and
/// sets the `time_format::ZONE_COOKIE` that tells the server the reader's zone for the next page.
#[cfg(feature = "ssr")]
const THEME_SCRIPT: &str = concat!(
    "try{const t=localStorage.getItem('natter-theme');if(t)document.documentElement.dataset.theme=t}catch(e){}",
    "document.cookie='tz='+(-new Date().getTimezoneOffset())+';path=/;max-age=31536000;samesite=lax';"
);

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Link rel="icon" href="/favicon.svg" type_="image/svg+xml"/>
        <Meta name="color-scheme" content="light dark"/>
        <Meta name="description" content="Natter: real-time group chat"/>
        <Title text="Natter"/>
        <Router>
            <Routes fallback=NotFound>
                // Async: the history is in the first HTML response, readable without JavaScript.
                <Route path=path!("/") view=ChatPage ssr=SsrMode::Async/>
                <Route path=path!("/r/:room") view=ChatPage ssr=SsrMode::Async/>
                <Route path=path!("/dm/:peer") view=ChatPage ssr=SsrMode::Async/>
                <Route path=path!("/search") view=SearchPage ssr=SsrMode::Async/>
                // Permalinks: the room opened at one message, with context around it.
                <Route path=path!("/r/:room/m/:at") view=ChatPage ssr=SsrMode::Async/>
                <Route path=path!("/dm/:peer/m/:at") view=ChatPage ssr=SsrMode::Async/>
            </Routes>
        </Router>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    crate::pages::answer_not_found();
    view! {
        <main class="not-found">
            <h1>"Page not found"</h1>
            <p><a href="/">"Back to the chat"</a></p>
        </main>
    }
}
