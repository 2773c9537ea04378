//! The conversation. Follows new messages only while the reader is at the bottom, so scrolling up to
//! read is never interrupted; scrolling near the top loads older messages without moving what the
//! reader is looking at; "Jump to latest" appears whenever the newest message is out of sight. A page
//! opened at a permalink starts at that message, highlighted.

use leptos::html::Div;
use leptos::prelude::*;

use crate::components::conversation::message::MessageLine;
use crate::protocol::{MessageId, MessageKind};
use crate::state::timeline::{Line, LineStatus};
use crate::state::ChatState;

/// How close to the bottom (in pixels) still counts as "at the bottom": fractional scroll positions
/// and a last line half in view must not stop the list following new messages.
const STICKY_MARGIN: i32 = 48;
/// How close to the top (or, above older history, to the bottom) a page of history starts loading:
/// early enough that the page is usually in before the reader reaches the edge.
const LOAD_MARGIN: i32 = 300;

/// The room's lines between the header and the dock. The server renders the whole stretch of
/// history the page holds, so without JavaScript the conversation is readable as plain HTML; the
/// scrolling rules below only start once the page has hydrated, since effects never run on the
/// server.
#[component]
pub fn MessageList() -> impl IntoView {
    let chat = expect_context::<ChatState>();
    let list = NodeRef::<Div>::new();
    // The `<ol>` is watched for size as well as the frame: its lines can grow (a picture loads)
    // while the frame keeps its size, and only the list's own size shows that.
    let lines_ref = NodeRef::<leptos::html::Ol>::new();
    // The list's height when its last scroll event came: a scroll with another height is the
    // browser's, moving the content as the list grew or shrank, not the reader's.
    let seen_height = StoredValue::new(0);
    // A permalink page starts at its message, not at the bottom.
    let at_bottom = RwSignal::new(chat.focus.get_value().is_none());
    // Follows new lines. Only the timeline is tracked: `at_bottom` is read untracked because the
    // reader reaching the bottom by scrolling needs no scroll of ours, only a change of the lines
    // does.
    Effect::new(move |_| {
        chat.timeline.track();
        if let (Some(element), true) = (list.get(), at_bottom.get_untracked()) {
            element.set_scroll_top(element.scroll_height());
            // Lines drawn after this effect (a run regrouped, the welcome) are in by the next frame.
            request_animation_frame(move || {
                if let (Some(element), true) = (list.get_untracked(), at_bottom.get_untracked()) {
                    element.set_scroll_top(element.scroll_height());
                }
            });
        }
    });
    // The list is shorter or taller when something below or above it changes (after joining, the
    // composer replaces the join bar), and its lines grow after they are drawn (a run broken by the
    // unread marker gains a header, a picture loads): a reader at the bottom stays at the bottom.
    Effect::new(move |_| {
        if let (Some(element), Some(lines)) = (list.get(), lines_ref.get()) {
            seen_height.set_value(element.client_height());
            let element: leptos::web_sys::Element = (*element).clone().into();
            let scrolled = element.clone();
            crate::dom::on_resize(&[element, (*lines).clone().into()], move || {
                if at_bottom.get_untracked() {
                    scrolled.set_scroll_top(scrolled.scroll_height());
                }
            });
        }
    });
    // A permalink page: once the list is in the document, its message is brought into view.
    // `focus` is a stored value, not a signal, so this runs once, when the node ref is set.
    Effect::new(move |_| {
        if let (Some(_), Some(id)) = (list.get(), chat.focus.get_value()) {
            scroll_to_message(id);
        }
    });
    let load_older = move || {
        let Some(element) = list.get_untracked() else { return };
        // The height before the load: afterwards, the difference is what was added above.
        let height = element.scroll_height();
        leptos::task::spawn_local(async move {
            let loaded = chat.load_older().await;
            // The lines are in the DOM by the next frame: move down by what was added above, so
            // what the reader was looking at stays where it was. By then the "Load older" button
            // is gone if the start was reached: focus it had stays in the list.
            request_animation_frame(move || {
                let Some(element) = list.get_untracked() else { return };
                // Nothing loaded (a failure, or the start reached meanwhile): nothing to make up.
                if loaded {
                    element.set_scroll_top(element.scroll_top() + element.scroll_height() - height);
                }
                if crate::dom::focus_was_lost() {
                    let _ = element.focus();
                }
            });
        });
    };
    let on_scroll = move |_| {
        let Some(element) = list.get() else { return };
        let height = element.client_height();
        // The frame changed size (the on-screen keyboard, the composer replacing the join bar), so
        // this scroll is the browser's (see `seen_height`). It says nothing about where the reader
        // wants to be: `at_bottom` keeps its value, and a reader at the bottom is put back there.
        if height != seen_height.get_value() {
            seen_height.set_value(height);
            if at_bottom.get_untracked() {
                element.set_scroll_top(element.scroll_height());
            }
            return;
        }
        let distance = element.scroll_height() - element.scroll_top() - element.client_height();
        // On an older stretch (newer pages still to load) the reader is never "at the bottom": a
        // page appended by `load_newer` must not pull them to its end, where the next page would
        // load, and the next, all the way to the present.
        at_bottom.set(distance <= STICKY_MARGIN && !chat.has_newer.get_untracked());
        // `loading` holds back further requests: scroll events keep coming while a page is on its
        // way, and each would otherwise ask for the same page again.
        if element.scroll_top() < LOAD_MARGIN && chat.has_older.get_untracked() && !chat.loading.get_untracked() {
            load_older();
        }
        if distance < LOAD_MARGIN && chat.has_newer.get_untracked() && !chat.loading.get_untracked() {
            leptos::task::spawn_local(chat.load_newer());
        }
    };
    let jump_to_latest = move |_| {
        if chat.has_newer.get_untracked() {
            // Far back in an older stretch: the room's own page is the quickest way to the present.
            if let Some(path) = chat.room.with_untracked(|room| room.as_ref().map(|room| room.path())) {
                crate::dom::go_to(&path);
            }
        } else if let Some(element) = list.get_untracked() {
            // From here on the list follows new lines again.
            at_bottom.set(true);
            element.set_scroll_top(element.scroll_height());
        }
    };
    // The first message by someone else that was unread when the page opened: the marker goes above it.
    // A memo, because every line's marker `Show` compares against it: they re-run only when the
    // answer changes, not whenever the timeline does.
    let first_unread = Memo::new(move |_| {
        let read_before = chat.read_before.get_value()?;
        let me = chat.me.with(|me| me.as_ref().map(|me| me.id));
        chat.timeline.with(|timeline| {
            timeline
                .lines()
                .iter()
                .filter(|line| line.author_id != me)
                .find_map(|line| line.id.filter(|&id| id > read_before))
        })
    });
    // The zone is tracked: the page hydrates with the server's zone (so the separators match the
    // server's HTML) and then switches to the browser's, which moves them if the two differ. Today
    // is read whenever the lines are placed again, so a page left open past midnight relabels its
    // separators with the next change rather than on a timer.
    let lines = move || {
        let zone = chat.zone_minutes.get();
        let today = crate::text::time_format::day_number(crate::dom::wall_clock_millis(), zone);
        let unread = first_unread.get();
        chat.timeline.with(|timeline| places(timeline.lines(), zone, today, unread))
    };
    // The list is a `role="log"`: screen readers read out lines added at its end (new messages)
    // without moving focus, and `tabindex="0"` lets a keyboard user scroll it with the arrow keys.
    // Each line's key holds everything its drawing depends on (status, id, nickname, revision,
    // place), because a `MessageLine` reads its line once: a pending line that is stored, an edit,
    // a rename or a regrouped run is drawn afresh instead of updated in place. "Jump to latest"
    // shows at the bottom of an older stretch too: the present is still pages away there.
    view! {
        <div class="messages-frame">
            <div class="messages" role="log" aria-label="Messages" tabindex="0" node_ref=list on:scroll=on_scroll>
                <Show when=move || chat.has_older.get()>
                    <p class="history-edge">
                        // Not `disabled` while loading: a focused button that is disabled drops
                        // focus to the page, and a keyboard user loses their place.
                        <button type="button" class="link" aria-disabled=move || chat.loading.get().to_string() on:click=move |_| load_older()>
                            {move || if chat.loading.get() { "Loading older messages…" } else { "Load older messages" }}
                        </button>
                    </p>
                </Show>
                <ol node_ref=lines_ref>
                    <For
                        each=lines
                        key=|(line, place)| {
                            (line.key.clone(), line.status.clone(), line.id, line.nickname.clone(), line.rev, place.clone())
                        }
                        children=move |(line, place)| {
                            let id = line.id;
                            view! {
                                {place.day.map(|day| view! {
                                    <li class="day-divider"><span role="separator" aria-label=day.clone()>{day.clone()}</span></li>
                                })}
                                <Show when=move || id.is_some() && first_unread.get() == id>
                                    // A plain item holding the separator: a list may hold only items.
                                    <li class="unread-marker">
                                        <span role="separator" aria-label="New messages">"New messages"</span>
                                    </li>
                                </Show>
                                <MessageLine line continued=place.continued/>
                            }
                        }
                    />
                </ol>
                <Show when=move || chat.has_newer.get()>
                    <p class="history-edge">
                        // `aria-disabled` for the reason "Load older" has it: focus stays on it.
                        <button type="button" class="link" aria-disabled=move || chat.loading.get().to_string() on:click=move |_| leptos::task::spawn_local(chat.load_newer())>
                            {move || if chat.loading.get() { "Loading newer messages…" } else { "Load newer messages" }}
                        </button>
                    </p>
                </Show>
            </div>
            <Show when=move || !at_bottom.get() || chat.has_newer.get()>
                <button type="button" class="jump-to-latest" on:click=jump_to_latest>"Jump to latest ↓"</button>
            </Show>
        </div>
    }
}

/// Where a line stands in the conversation: under a new day's separator, or continuing a run of
/// messages by the same author (shown without their name and avatar again).
///
/// Comparable and hashable because it is part of each line's key in the list.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Place {
    /// The separator's label ("Today", "Yesterday", a date) when this line is a day's first.
    pub day: Option<String>,
    /// The line continues the previous one's run: drawn without name and avatar.
    pub continued: bool,
}

/// Messages by the same author within this long of each other read as one run.
const RUN_GAP_MS: i64 = 5 * 60_000;

/// Each line with its place, for a reader `zone` minutes east of UTC whose today is `today`. A
/// run breaks at a new day, at the unread marker, at announcements and notices, and after a pause.
pub fn places(lines: &[Line], zone: i32, today: i64, first_unread: Option<MessageId>) -> Vec<(Line, Place)> {
    let mut day_shown = None;
    let mut previous: Option<&Line> = None;
    let mut placed = Vec::with_capacity(lines.len());
    for line in lines {
        let day = line.sent_at.map(|millis| crate::text::time_format::day_number(millis, zone));
        let new_day = day.filter(|&day| day_shown != Some(day));
        if new_day.is_some() {
            day_shown = new_day;
        }
        // Announcements and the page's own notices stand apart: never part of anyone's run.
        let plain = |line: &Line| line.kind == MessageKind::Chat && line.status != LineStatus::Notice;
        let continued = previous.is_some_and(|previous| {
            plain(previous)
                && plain(line)
                // Lines without an author (the server's) never run together.
                && previous.author_id.is_some()
                && previous.author_id == line.author_id
                && new_day.is_none()
                // The line under the unread marker starts afresh, with its author's name.
                && (line.id.is_none() || line.id != first_unread)
                && match (previous.sent_at, line.sent_at) {
                    (Some(before), Some(after)) => after - before <= RUN_GAP_MS,
                    // A pending line has no time until the server stamps it: it joins the
                    // run it was written under.
                    _ => true,
                }
        });
        let day = new_day.map(|day| crate::text::time_format::day_label(day, today));
        placed.push((line.clone(), Place { day, continued }));
        previous = Some(line);
    }
    placed
}

/// Brings a message into the middle of the view. Found by its `<li>`'s `data-id`: the list keeps
/// no node ref per line.
fn scroll_to_message(id: MessageId) {
    crate::dom::scroll_to_center(&format!(".messages li[data-id=\"{id}\"]"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ChatMessage, UserId};
    use crate::state::timeline::Timeline;

    const MINUTE: i64 = 60_000;
    /// Monday 24 November 2025, 10:00 UTC.
    const MORNING: i64 = 1_763_978_400_000;

    fn message(id: i64, author_id: UserId, sent_at: i64) -> ChatMessage {
        ChatMessage::sample(id).by(author_id, &format!("user{author_id}")).saying(&format!("body {id}")).at(sent_at)
    }

    /// The places of a history read on the morning of `MORNING` in `zone`, so labels come out as
    /// "Today", "Yesterday" or a date relative to that Monday.
    fn placed(history: Vec<ChatMessage>, zone: i32, first_unread: Option<MessageId>) -> Vec<Place> {
        let today = crate::text::time_format::day_number(MORNING, zone);
        let timeline = Timeline::from_history(history);
        places(timeline.lines(), zone, today, first_unread).into_iter().map(|(_, place)| place).collect()
    }

    fn runs(places: &[Place]) -> Vec<bool> {
        places.iter().map(|place| place.continued).collect()
    }

    #[test]
    fn messages_by_one_author_in_quick_succession_form_a_run() {
        let history = vec![
            message(1, UserId(7), MORNING),
            message(2, UserId(7), MORNING + MINUTE),
            message(3, UserId(8), MORNING + 2 * MINUTE),
        ];
        assert_eq!(runs(&placed(history, 0, None)), [false, true, false]);
    }

    #[test]
    fn a_pause_the_unread_marker_or_an_announcement_breaks_a_run() {
        let mut announcement = message(4, UserId(7), MORNING + 12 * MINUTE);
        announcement.kind = MessageKind::Announcement;
        let history = vec![
            message(1, UserId(7), MORNING),
            message(2, UserId(7), MORNING + 6 * MINUTE),
            message(3, UserId(7), MORNING + 7 * MINUTE),
            announcement,
            message(5, UserId(7), MORNING + 13 * MINUTE),
        ];
        assert_eq!(runs(&placed(history.clone(), 0, None)), [false, false, true, false, false]);
        assert_eq!(runs(&placed(history, 0, Some(MessageId(3)))), [false, false, false, false, false]);
    }

    #[test]
    fn each_day_of_the_readers_zone_gets_one_separator() {
        let history = vec![
            message(1, UserId(7), MORNING - 24 * 60 * MINUTE),
            message(2, UserId(7), MORNING - 2 * MINUTE),
            message(3, UserId(7), MORNING),
        ];
        let days: Vec<Option<String>> = placed(history.clone(), 0, None).into_iter().map(|place| place.day).collect();
        assert_eq!(days, [Some("Yesterday".to_owned()), Some("Today".to_owned()), None]);
        // Across UTC midnight: a new day in London, the same evening an hour further west.
        let midnight = MORNING + 14 * 60 * MINUTE;
        let late = vec![message(4, UserId(7), midnight - MINUTE), message(5, UserId(7), midnight + 2 * MINUTE)];
        assert_eq!(
            placed(late.clone(), 0, None)[1],
            Place { day: Some("Tuesday, 25 November".into()), continued: false }
        );
        assert_eq!(placed(late, -60, None)[1], Place { day: None, continued: true });
    }
}
