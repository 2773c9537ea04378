use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use serde::Deserialize;
use leptos_router::{
    components::{Route, Router, Routes, A},
    path,
};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/leptos_floor.css"/>
        <Title text="Floor"/>
        <Router>
            <nav>
                <A href="/">"Home"</A>
                " "
                <A href="/about">"About"</A>
            </nav>
            <main>
                <Routes fallback=|| "Not found.".into_view()>
                    <Route path=path!("") view=HomePage/>
                    <Route path=path!("/about") view=About/>
                </Routes>
            </main>
        </Router>
    }
}

#[component]
fn HomePage() -> impl IntoView {
    let count = RwSignal::new(0);
    view! {
        <h1>"Hello"</h1>
        <button on:click=move |_| *count.write() += 1>"Clicked " {count} " times"</button>
        <ServerButton/>
        <Chat/>
    }
}

#[server]
pub async fn add_one(x: i32) -> Result<i32, ServerFnError> {
    Ok(x + 1)
}

#[component]
fn ServerButton() -> impl IntoView {
    let action = ServerAction::<AddOne>::new();
    let value = move || match action.value().get() {
        Some(Ok(n)) => format!("server says {n}"),
        Some(Err(e)) => format!("error: {e}"),
        None => "not called".to_string(),
    };
    view! {
        <button on:click=move |_| {
            action.dispatch(AddOne { x: 41 });
        }>"Call server"</button>
        <p>{value}</p>
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Frame {
    Hello { user: String, room: String },
    Message { id: i64, body: String, author: String },
}

#[derive(Clone, Debug)]
pub struct Msg {
    pub id: i64,
    pub body: String,
    pub author: String,
}

#[component]
fn Chat() -> impl IntoView {
    let messages = RwSignal::new(Vec::<Msg>::new());
    let greeting = RwSignal::new(String::new());
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        use futures::StreamExt;
        use gloo_net::websocket::{futures::WebSocket, Message};
        let host = window().location().host().unwrap_or_default();
        let Ok(mut ws) = WebSocket::open(&format!("ws://{host}/ws")) else {
            return;
        };
        leptos::task::spawn_local(async move {
            while let Some(Ok(msg)) = ws.next().await {
                let Message::Text(text) = msg else { continue };
                match serde_json::from_str::<Frame>(&text) {
                    Ok(Frame::Hello { user, room }) => greeting.set(format!("{user} in {room}")),
                    Ok(Frame::Message { id, body, author }) => {
                        messages.update(|m| m.push(Msg { id, body, author }))
                    }
                    Err(_) => {}
                }
            }
        });
    });
    view! {
        <p>{move || greeting.get()}</p>
        <ul>
            <For each=move || messages.get() key=|m| m.id let:m>
                <li>
                    <b>{m.author}</b>
                    ": "
                    {m.body}
                </li>
            </For>
        </ul>
    }
}

#[component]
fn About() -> impl IntoView {
    view! { <h1>"About"</h1> }
}
