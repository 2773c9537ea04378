//! The message box and Send button. Enter sends, Shift+Enter makes a new line. Typing `@` offers the
//! room's members: arrows choose, Enter or Tab completes, Escape closes.

use leptos::html::Textarea;
use leptos::prelude::*;

use crate::components::conversation::upload_tray::AttachButton;
use crate::protocol::{body_chars, MAX_MESSAGE_CHARS};
use crate::state::{ChatState, NICKNAME_FIELD};
use crate::text::autocomplete::{byte_offset, complete, partial_mention, suggestions, utf16_offset};

/// The message box's element id: its label points at it, the skip link and the `c` shortcut
/// focus it, and hydration reads what was typed into it before the WASM arrived.
pub const MESSAGE_FIELD: &str = "message";
/// What a visitor who sends without a nickname is told.
const NICKNAME_FIRST: &str =
    "Type a nickname in the Nickname field first: sending then joins you and posts your message.";

/// Show how many characters are left once fewer than this remain: far from the limit a counter
/// is only noise.
const COUNTER_FROM: usize = 500;

/// The message box. Sending goes through `ChatState::submit`, which validates with the same
/// `protocol` rules the server enforces (a refusal shows before anything is queued) and works
/// offline through the outbox; the socket is never touched here.
#[component]
pub fn Composer() -> impl IntoView {
    let chat = expect_context::<ChatState>();
    // What was typed before the page hydrated is kept, and sent like anything typed after.
    let body = RwSignal::new(crate::dom::typed_before_hydration(MESSAGE_FIELD).unwrap_or_default());
    // Counted in `char`s (Unicode scalar values), as the protocol counts the limit: not bytes, and
    // not the UTF-16 units the browser's own `maxlength` would count.
    // Counted as the server will store it, so trailing blank lines never disable Send.
    let remaining = move || MAX_MESSAGE_CHARS as i64 - body.with(|text| body_chars(text)) as i64;
    // Offline is fine: the message waits in the outbox until the socket is back. A visitor may send
    // too: sending joins them with the nickname they typed, as the chat this grew from did.
    let can_send = move || {
        (chat.can_post() || chat.visitor_could_post()) && !body.with(|text| text.trim().is_empty()) && remaining() >= 0
    };
    // A visitor's join is under way: Send is disabled until it is done.
    let sending = RwSignal::new(false);
    let send = move || {
        // A visitor's first send waits for the join: a second Enter meanwhile must not join or
        // post twice.
        if !can_send() || sending.get_untracked() {
            return;
        }
        if chat.me.with_untracked(Option::is_some) {
            // A refused body stays in the box (the alert says why), so nothing typed is lost.
            if chat.submit(&body.get_untracked()) {
                body.set(String::new());
            }
            return;
        }
        if chat.nickname.with_untracked(|nickname| nickname.trim().is_empty()) {
            chat.alert.set(Some(NICKNAME_FIRST.into()));
            crate::dom::focus(NICKNAME_FIELD);
            return;
        }
        sending.set(true);
        // One request makes the account (and with it the page's socket) and stores the message. A
        // failed join or post leaves the text in the box and says why.
        leptos::task::spawn_local(async move {
            if chat.join_and_send(&body.get_untracked()).await {
                body.set(String::new());
            }
            sending.set(false);
        });
    };
    let field = NodeRef::<Textarea>::new();
    // The mention being typed (its `@` and the cursor, as byte offsets), its matches, the highlighted one.
    let mention = RwSignal::new(None::<(usize, usize)>);
    let matches = RwSignal::new(Vec::<String>::new());
    // An index into `matches`, reset to the first whenever the list is replaced, so it never
    // points past its end.
    let chosen = RwSignal::new(0_usize);
    // Called from the input handler, outside any reactive context: everything is read untracked,
    // since nothing here should run again when a signal changes.
    let look_for_mention = move || {
        let Some(textarea) = field.get_untracked() else { return };
        let text = body.get_untracked();
        // The textarea counts in UTF-16 code units, the string in bytes.
        let cursor = byte_offset(&text, textarea.selection_start().ok().flatten().unwrap_or(0) as usize);
        let found = partial_mention(&text, cursor).map(|(at, typed)| {
            let me = chat.me.with_untracked(|me| me.as_ref().map(|me| me.nickname.clone()));
            let nicknames = chat.members.with_untracked(|members| {
                suggestions(typed, members.iter().map(|member| member.nickname.as_str()), me.as_deref())
            });
            ((at, cursor), nicknames)
        });
        match found {
            Some((place, nicknames)) if !nicknames.is_empty() => {
                mention.set(Some(place));
                matches.set(nicknames);
                chosen.set(0);
            }
            // No match closes the list: an empty listbox would only be noise.
            _ => mention.set(None),
        }
    };
    let pick = move |nickname: String| {
        let Some((at, cursor)) = mention.get_untracked() else { return };
        let text = body.get_untracked();
        // `complete` answers in bytes; the textarea's selection counts UTF-16 units.
        let (completed, after) = complete(&text, at, cursor, &nickname);
        let caret = utf16_offset(&completed, after) as u32;
        body.set(completed);
        mention.set(None);
        if let Some(textarea) = field.get_untracked() {
            // The value updates on the next render; the caret follows it there.
            request_animation_frame(move || {
                let _ = textarea.focus();
                let _ = textarea.set_selection_range(caret, caret);
            });
        }
    };
    // While suggestions show, the arrows, Enter, Tab and Escape are theirs: `prevent_default` keeps
    // the caret still, Tab from leaving the box and Enter from sending. Shift+Enter still makes a
    // new line.
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        if mention.with_untracked(Option::is_some) {
            let count = matches.with_untracked(Vec::len);
            match ev.key().as_str() {
                "ArrowDown" => {
                    ev.prevent_default();
                    chosen.update(|index| *index = (*index + 1) % count);
                    return;
                }
                "ArrowUp" => {
                    ev.prevent_default();
                    chosen.update(|index| *index = (*index + count - 1) % count);
                    return;
                }
                "Enter" | "Tab" if !ev.shift_key() => {
                    ev.prevent_default();
                    if let Some(nickname) = matches.with_untracked(|found| found.get(chosen.get_untracked()).cloned()) {
                        pick(nickname);
                    }
                    return;
                }
                "Escape" => {
                    ev.prevent_default();
                    mention.set(None);
                    return;
                }
                _ => {}
            }
        }
        // An Enter that ends an input method's composition (Japanese, Chinese) picks the word; it
        // must not send.
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            send();
        }
    };
    let counter = move || {
        let left = remaining();
        (left < COUNTER_FROM as i64).then(|| {
            let text =
                if left >= 0 { format!("{left} characters left") } else { format!("{} characters too many", -left) };
            view! { <span class="counter" class:over=left < 0>{text}</span> }
        })
    };
    // Each keystroke tells `typed` (which sends at most one typing signal every 2 s) and looks
    // for a mention under the caret. Focus stays in the textarea while suggestions show:
    // `aria-activedescendant` names the option the arrows chose, which is how a screen reader
    // follows a listbox that never takes focus.
    // Send is `type="button"`: sending is Enter's and the click's, never a submission of the form
    // around the composer (whose submit the page prevents). `composer-status` is an alert so a
    // refusal is read out at once; the textarea is described by it, so it is read again on focus.
    // The counter sits outside that alert: inside, every keystroke near the limit would be read out
    // over the reader's own typing. It describes the textarea too, so it is heard on focus.
    view! {
        <div class="field composer-field">
            <label for="message" class="visually-hidden">"Message"</label>
            <div class="composer-box">
            <AttachButton/>
            <textarea
                id=MESSAGE_FIELD
                name="message"
                rows="1"
                placeholder=move || {
                    if chat.me.with(Option::is_some) {
                        format!("Message {}", chat.place_name())
                    } else {
                        "Pick a nickname above, then write here and press Enter".to_owned()
                    }
                }
                aria-describedby="composer-status composer-counter"
                aria-autocomplete="list"
                aria-controls=move || mention.with(Option::is_some).then_some("mention-suggestions")
                aria-activedescendant=move || mention.with(Option::is_some).then(|| format!("mention-{}", chosen.get()))
                node_ref=field
                bind:value=body
                on:keydown=on_keydown
                on:input=move |_| {
                    chat.typed(crate::dom::now_millis());
                    look_for_mention();
                }
                on:blur=move |_| mention.set(None)
                on:paste=move |ev: leptos::ev::ClipboardEvent| crate::dom::send_pasted_files(chat, &ev)
            ></textarea>
            <button type="button" class="send primary" disabled=move || !can_send() || sending.get() on:click=move |_| send()>
                "Send"
            </button>
            </div>
            <Show when=move || mention.with(Option::is_some)>
                <ul id="mention-suggestions" class="mention-suggestions" role="listbox" aria-label="Mention someone">
                    {move || {
                        matches
                            .get()
                            .into_iter()
                            .enumerate()
                            .map(|(index, nickname)| {
                                let label = nickname.clone();
                                view! {
                                    <li
                                        id=format!("mention-{index}")
                                        role="option"
                                        aria-selected=move || if chosen.get() == index { "true" } else { "false" }
                                        // mousedown, not click: the textarea must not lose focus first.
                                        on:mousedown=move |ev| {
                                            ev.prevent_default();
                                            pick(nickname.clone());
                                        }
                                    >
                                        "@" {label}
                                    </li>
                                }
                            })
                            .collect_view()
                    }}
                </ul>
            </Show>
        </div>
        <div class="composer-status">
            <p id="composer-status" role="alert">{move || chat.alert.get()}</p>
            <p id="composer-counter">{counter}</p>
        </div>
    }
}
