//! Search results (`/search?q=…&before=ID`): newest first, each with its room, author, time and the
//! matching text highlighted, linking to the message in context. Rendered on the server, so results
//! are readable without JavaScript; "Older results" is a plain link to the next page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::search;
use crate::components::common::local_time::LocalTime;
use crate::components::rooms::search_box::SearchBox;
use crate::error::AppError;
use crate::protocol::{MessageId, SearchHit, SearchResults};

#[component]
pub fn SearchPage() -> impl IntoView {
    let query = use_query_map();
    let results = Resource::new(
        move || query.with(|q| (q.get("q").unwrap_or_default(), q.get("before"))),
        |(q, before)| async move {
            let before = match before.map(|before| before.parse::<MessageId>()) {
                Some(Ok(before)) => Some(before),
                Some(Err(_)) => {
                    let refused = crate::protocol::Rejection::new(
                        crate::protocol::ErrorCode::InvalidRequest,
                        "before must be a message id.",
                    );
                    return (q, Err(AppError::from(refused)));
                }
                None => None,
            };
            let answer = search(q.clone(), before).await;
            (q, answer)
        },
    );
    // Effects run only in the browser: the mark tells tests (and people debugging) the page is live.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    view! {
        <Title text="Search · Natter"/>
        <div class="app search-page" data-hydrated=move || hydrated.get().then_some("true")>
            <header class="topbar">
                <h1><a href="/" rel="external">"Natter"</a></h1>
                <SearchBox query=query.with_untracked(|q| q.get("q").unwrap_or_default())/>
            </header>
            <main class="search-results">
                <Suspense fallback=|| view! { <p class="loading">"Searching…"</p> }>
                    {move || Suspend::new(async move {
                        let (q, answer) = results.await;
                        match answer {
                            Ok(found) => view! { <Results q found/> }.into_any(),
                            Err(error) => view! { <SearchError error/> }.into_any(),
                        }
                    })}
                </Suspense>
            </main>
        </div>
    }
}

#[component]
fn Results(q: String, found: SearchResults) -> impl IntoView {
    let SearchResults { hits, next_before } = found;
    let summary = match hits.len() {
        0 => "No messages match.".to_owned(),
        1 => "1 message".to_owned(),
        n if next_before.is_some() => format!("{n} newest messages"),
        n => format!("{n} messages"),
    };
    let older = next_before.map(|before| {
        let href = format!("/search?q={}&before={before}", crate::text::url_encoding::percent_encode(&q));
        view! { <p class="more"><a href=href rel="external">"Older results →"</a></p> }
    });
    view! {
        <p class="summary" role="status">{summary}</p>
        <ol class="hits" aria-label="Search results">
            {hits.into_iter().map(|hit| view! { <Hit hit/> }).collect_view()}
        </ol>
        {older}
    }
}

#[component]
fn Hit(hit: SearchHit) -> impl IntoView {
    let SearchHit { message, room_name, permalink, snippet } = hit;
    let millis = message.sent_at;
    let place = if permalink.starts_with("/dm/") { room_name } else { format!("#{room_name}") };
    view! {
        <li class="hit">
            <a class="hit-link" href=permalink rel="external">
                <span class="meta">
                    <span class="room">{place}</span>
                    <span class="nick">{message.nickname}</span>
                    <LocalTime millis/>
                </span>
                <span class="snippet">
                    {snippet
                        .into_iter()
                        .map(|part| {
                            if part.hit {
                                view! { <mark>{part.text}</mark> }.into_any()
                            } else {
                                part.text.into_any()
                            }
                        })
                        .collect_view()}
                </span>
            </a>
        </li>
    }
}

#[component]
fn SearchError(error: AppError) -> impl IntoView {
    super::answer_with_status(&error);
    view! { <p class="search-error" role="alert">{error.to_string()}</p> }
}
