//! A message's reactions: one button per emoji with its count (pressed when it is yours; its title
//! says who reacted), and a picker offering the quick set or any emoji typed in, opened by the React
//! button in the message's meta line (so a line is no taller for being reactable). Clicking toggles
//! your reaction; the server's broadcast updates every screen, this one included.

use leptos::prelude::*;

use crate::api::react;
use crate::protocol::{MessageId, Reaction, QUICK_REACTIONS};
use crate::state::ChatState;

/// A line's reactions, drawn once from what the line carries: after a toggle, the server's
/// `message_updated` gives the message a new revision, and the list draws the line afresh.
#[component]
pub fn Reactions(id: MessageId, reactions: Vec<Reaction>, picking: RwSignal<bool>) -> impl IntoView {
    let chat = expect_context::<ChatState>();
    // Reacting is a kind of posting: members only, and not in an archived room.
    let can_react = move || chat.can_post();
    // While empty the row stays in the page, hidden: the picker opens inside it.
    let has_reactions = !reactions.is_empty();
    let typed = RwSignal::new(String::new());
    // The click says which way (add or remove) from what this screen shows, so a double click asks
    // for the same state twice instead of undoing itself.
    let toggle = move |emoji: String, remove: bool| {
        leptos::task::spawn_local(async move {
            if let Err(refused) = react(id, emoji, Some(remove)).await {
                chat.alert.set(Some(refused.to_string()));
            }
        });
    };
    // Read once, like the mention highlight: the same on the server and at hydration.
    let me = chat.me.get_untracked().map(|account| account.id);
    let mine_in = |reaction: &Reaction| me.is_some_and(|me| reaction.users.iter().any(|user| user.user_id == me));
    // The reader's own emoji, for the picker: choosing one of them again takes it back, as its
    // button would, rather than asking to add it twice.
    let mine: Vec<String> = reactions.iter().filter(|r| mine_in(r)).map(|r| r.emoji.clone()).collect();
    let buttons = reactions
        .into_iter()
        .map(|reaction| {
            let pressed = mine_in(&reaction);
            let names: Vec<&str> = reaction.users.iter().map(|user| user.nickname.as_str()).collect();
            let who = format!("{} reacted with {}", names.join(", "), reaction.emoji);
            let count = reaction.users.len();
            let emoji = reaction.emoji.clone();
            // `aria-pressed` makes each a toggle for screen readers: pressed is "yours is among
            // these". Readers who may not react still see the counts, on disabled buttons.
            view! {
                <button
                    type="button"
                    class="reaction"
                    class:mine=pressed
                    aria-pressed=if pressed { "true" } else { "false" }
                    title=who.clone()
                    disabled=move || !can_react()
                    on:click=move |_| toggle(emoji.clone(), pressed)
                >
                    // The name is what the button shows ("🎉 2"), then who: screen readers and
                    // voice control users reach it by the words on it.
                    <span class="emoji">{reaction.emoji}</span>
                    <span class="count">{count}</span>
                    <span class="visually-hidden">{format!(": {who}")}</span>
                </button>
            }
        })
        .collect_view();
    let pick = move |emoji: String| {
        picking.set(false);
        let remove = mine.contains(&emoji);
        toggle(emoji, remove);
    };
    let pick_typed = pick.clone();
    // Any emoji is a small form, so Enter in its field adds it. Whether the text is exactly one
    // emoji is the server's to judge (`invalid_reaction`), and its refusal shows as an alert. The
    // quick buttons are labelled "React with …": an emoji alone is read by its Unicode name at
    // best, and the label says what pressing it does.
    view! {
        <div class="reactions" hidden=move || !has_reactions && !picking.get()>
            {buttons}
            <Show when=move || picking.get()>
                <div class="picker" role="group" aria-label="Choose a reaction">
                    {QUICK_REACTIONS
                        .iter()
                        .map(|emoji| {
                            let pick = pick.clone();
                            view! {
                                <button type="button" class="quick" aria-label=format!("React with {emoji}") on:click=move |_| pick(emoji.to_string())>
                                    {*emoji}
                                </button>
                            }
                        })
                        .collect_view()}
                    <form
                        class="any-emoji"
                        on:submit={
                            let pick_typed = pick_typed.clone();
                            move |ev: leptos::ev::SubmitEvent| {
                                ev.prevent_default();
                                let emoji = typed.get_untracked().trim().to_owned();
                                if !emoji.is_empty() {
                                    typed.set(String::new());
                                    pick_typed(emoji);
                                }
                            }
                        }
                    >
                        <input
                            aria-label="Any emoji"
                            placeholder="any emoji"
                            size="6"
                            prop:value=move || typed.get()
                            on:input=move |ev| typed.set(event_target_value(&ev))
                        />
                        <button type="submit" class="link">"Add"</button>
                    </form>
                </div>
            </Show>
        </div>
    }
}

/// Opens and closes a message's reaction picker; shown to those who may react.
#[component]
pub fn ReactButton(picking: RwSignal<bool>) -> impl IntoView {
    let chat = expect_context::<ChatState>();
    // `aria-expanded` tells a screen reader that the button opens the picker, and whether it is
    // open, since the picker appears elsewhere in the line.
    view! {
        <Show when=move || chat.can_post()>
            <button
                type="button"
                class="link add-reaction"
                aria-expanded=move || if picking.get() { "true" } else { "false" }
                on:click=move |_| picking.update(|open| *open = !*open)
            >
                "React"
            </button>
        </Show>
    }
}
