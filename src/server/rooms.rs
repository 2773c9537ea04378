//! Rooms and direct conversations: who may read, post, join, invite, leave and archive. Server
//! functions, the bot API and sockets all ask here, so each rule lives in one place. Membership
//! changes are broadcast from the database writer right after they commit, so they reach sockets in
//! order with the messages around them.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use crate::error::AppError;
use crate::protocol::{
    validate_room_name, Account, ChatMessage, ErrorCode, Member, MessageId, NotifyLevel, OnlineUser, Role, Room,
    RoomId, RoomKind, UserId, GENERAL_ROOM, GENERAL_ROOM_ID, HISTORY_PAGE,
};
use crate::protocol::{DirectoryRoom, RoomPage};
use crate::server::store::{DbError, ReadMark, RoomRecord};
use crate::server::AppState;

fn no_such_room() -> AppError {
    AppError::refused(ErrorCode::NoSuchRoom, "There is no such room.")
}

fn no_such_message() -> AppError {
    AppError::refused(ErrorCode::NoSuchMessage, "There is no such message in this room.")
}

fn no_such_user() -> AppError {
    AppError::refused(ErrorCode::NoSuchUser, "There is no such user.")
}

fn member_of(account: &Account) -> Member {
    Member { user_id: account.id, nickname: account.nickname.clone(), is_bot: account.is_bot }
}

/// The room, if `viewer` may read it: anyone may read a public room (visitors included); private
/// rooms and direct conversations only their members.
pub(crate) async fn readable(
    state: &AppState,
    viewer: Option<&Account>,
    room_id: RoomId,
) -> Result<RoomRecord, AppError> {
    let room = state.store.room_by_id(room_id).await?.ok_or_else(no_such_room)?;
    if room.kind == RoomKind::Public {
        return Ok(room);
    }
    let is_member = match viewer {
        Some(viewer) => state.store.member_room(room_id, viewer.id).await?.is_some(),
        None => false,
    };
    if is_member {
        Ok(room)
    } else {
        Err(AppError::refused(ErrorCode::NotAMember, "This room is private: only its members can read it."))
    }
}

/// A named room (not a direct conversation), by the name in its URL.
pub(crate) async fn by_name(state: &AppState, name: &str) -> Result<RoomRecord, AppError> {
    let name = validate_room_name(name).map_err(|_| no_such_room())?;
    state.store.room_by_name(name).await?.ok_or_else(no_such_room)
}

/// Why a user who is not known to be in `room_id` cannot post there.
pub(crate) async fn why_not_postable(state: &AppState, room_id: RoomId) -> AppError {
    match state.store.room_by_id(room_id).await {
        Ok(None) => no_such_room(),
        Ok(Some(room)) if room.archived => {
            AppError::refused(ErrorCode::RoomArchived, "This room is archived: it takes no new messages.")
        }
        Ok(Some(room)) if room.kind == RoomKind::Public => {
            AppError::refused(ErrorCode::NotAMember, format!("Join #{} to post there.", room.name))
        }
        Ok(Some(_)) => AppError::refused(ErrorCode::NotAMember, "You are not a member of this room."),
        Err(error) => error.into(),
    }
}

/// Creates a public or private room with `creator` as its first member.
pub(crate) async fn create(state: &AppState, creator: &Account, name: &str, private: bool) -> Result<Room, AppError> {
    let name = validate_room_name(name)?;
    let kind = if private { RoomKind::Private } else { RoomKind::Public };
    match state.store.create_room(name.clone(), kind, creator.id).await {
        Ok(room) => {
            tracing::info!(room = %room.name, ?kind, by = %creator.nickname, "room created");
            Ok(room)
        }
        Err(DbError::RoomNameTaken) => {
            Err(AppError::refused(ErrorCode::RoomNameTaken, format!("There is already a room called {name}.")))
        }
        Err(error) => Err(error.into()),
    }
}

/// Joins a public room (private rooms need an invitation).
pub(crate) async fn join(state: &AppState, account: &Account, room_id: RoomId) -> Result<Room, AppError> {
    joinable(state, room_id).await?;
    add(state, room_id, account.id).await?;
    state.store.member_room(room_id, account.id).await?.ok_or_else(no_such_room)
}

/// The room, if anyone may join it: public and not archived.
pub(crate) async fn joinable(state: &AppState, room_id: RoomId) -> Result<RoomRecord, AppError> {
    let room = state.store.room_by_id(room_id).await?.ok_or_else(no_such_room)?;
    if room.kind != RoomKind::Public {
        return Err(AppError::refused(ErrorCode::NotAMember, "This room is private: a member must invite you."));
    }
    if room.archived {
        return Err(AppError::refused(ErrorCode::RoomArchived, "This room is archived: nobody can join it."));
    }
    Ok(room)
}

/// Adds a member and tells their sockets and the room; `false` if they already were one.
async fn add(state: &AppState, room_id: RoomId, user_id: UserId) -> Result<bool, AppError> {
    let added = state.store.add_member(room_id, user_id).await?;
    Ok(added.is_some())
}

/// A member of a room adds another user to it.
pub(crate) async fn invite(
    state: &AppState,
    inviter: &Account,
    room_id: RoomId,
    nickname: &str,
) -> Result<Member, AppError> {
    let Some(room) = state.store.member_room(room_id, inviter.id).await? else {
        return Err(AppError::refused(ErrorCode::NotAMember, "Only members of a room can invite people to it."));
    };
    if room.kind == RoomKind::Direct {
        return Err(AppError::refused(ErrorCode::InvalidRequest, "A direct conversation is for two people."));
    }
    if room.archived {
        return Err(AppError::refused(ErrorCode::RoomArchived, "This room is archived: nobody can join it."));
    }
    let key = crate::server::identity::nickname(nickname)?.key;
    let Some(invitee) = state.store.user_by_key(key).await? else {
        return Err(AppError::refused(
            ErrorCode::InvalidRequest,
            format!("There is nobody called {}.", nickname.trim()),
        ));
    };
    if !add(state, room_id, invitee.id).await? {
        return Err(AppError::refused(
            ErrorCode::InvalidRequest,
            format!("{} is already in this room.", invitee.nickname),
        ));
    }
    tracing::info!(room = %room.name, invitee = %invitee.nickname, by = %inviter.nickname, "invited");
    Ok(member_of(&invitee))
}

/// Leaves a room. Everyone stays in general, and direct conversations cannot be left.
pub(crate) async fn leave(state: &AppState, account: &Account, room_id: RoomId) -> Result<(), AppError> {
    if room_id == GENERAL_ROOM_ID {
        return Err(AppError::refused(ErrorCode::InvalidRequest, "Everyone stays in general."));
    }
    let room = state.store.room_by_id(room_id).await?.ok_or_else(no_such_room)?;
    if room.kind == RoomKind::Direct {
        return Err(AppError::refused(ErrorCode::InvalidRequest, "Direct conversations cannot be left."));
    }
    if state.store.remove_member(room_id, account.id).await? {
        Ok(())
    } else {
        Err(AppError::refused(ErrorCode::NotAMember, "You are not in this room."))
    }
}

/// Archives a room (admins only): its history stays readable by its members; nothing new is posted.
pub(crate) async fn archive(state: &AppState, admin: &Account, room_id: RoomId) -> Result<(), AppError> {
    if admin.role != Role::Admin {
        return Err(AppError::refused(ErrorCode::Forbidden, "Only admins can archive rooms."));
    }
    if room_id == GENERAL_ROOM_ID {
        return Err(AppError::refused(ErrorCode::InvalidRequest, "general cannot be archived."));
    }
    let room = state.store.room_by_id(room_id).await?.ok_or_else(no_such_room)?;
    if room.kind == RoomKind::Direct {
        return Err(AppError::refused(ErrorCode::InvalidRequest, "Direct conversations cannot be archived."));
    }
    if state.store.archive_room(room_id).await? {
        tracing::info!(room = %room.name, by = %admin.nickname, "room archived");
    }
    Ok(())
}

/// The direct conversation between `account` and `peer_id`, started if new (both become members).
pub(crate) async fn open_direct(state: &AppState, account: &Account, peer_id: UserId) -> Result<Room, AppError> {
    if peer_id == account.id {
        return Err(AppError::refused(ErrorCode::InvalidRequest, "You cannot start a conversation with yourself."));
    }
    if state.store.user_by_id(peer_id).await?.is_none() {
        return Err(no_such_user());
    }
    let room_id = state.store.open_direct(account.id, peer_id).await?;
    state.store.member_room(room_id, account.id).await?.ok_or_else(no_such_room)
}

/// The members of a room who are online now, if `viewer` may read the room.
pub(crate) async fn online_in(
    state: &AppState,
    viewer: Option<&Account>,
    room_id: RoomId,
) -> Result<Vec<OnlineUser>, AppError> {
    let room = readable(state, viewer, room_id).await?;
    let members: HashSet<UserId> = state.store.members(room.id).await?.iter().map(|member| member.user_id).collect();
    Ok(state.hub.online().into_iter().filter(|user| members.contains(&user.user_id)).collect())
}

/// Sets when a member gets a browser notification from a room.
pub(crate) async fn set_notify(
    state: &AppState,
    member: &Account,
    room_id: RoomId,
    level: NotifyLevel,
) -> Result<(), AppError> {
    if state.store.set_notify(room_id, member.id, level).await? {
        Ok(())
    } else {
        Err(AppError::refused(ErrorCode::NotAMember, "You are not in this room."))
    }
}

/// Read marks, kept in memory and stored in batches. A busy room makes every reader report often;
/// collecting the reports turns them into one transaction per flush instead of one fsync each.
#[derive(Default)]
pub(crate) struct ReadMarks(Mutex<PendingMarks>);

#[derive(Default)]
struct PendingMarks {
    /// The highest mark reported since start per (room, user), so echoes never move back.
    highest: HashMap<(RoomId, UserId), MessageId>,
    /// Marks reported since the last flush.
    unsaved: HashSet<(RoomId, UserId)>,
}

impl ReadMarks {
    /// Records a report and returns the mark to tell the user's tabs (never lower than before).
    fn note(&self, room_id: RoomId, user_id: UserId, last_read_id: MessageId) -> MessageId {
        let mut marks = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let highest = marks.highest.entry((room_id, user_id)).or_default();
        if last_read_id <= *highest {
            return *highest;
        }
        *highest = last_read_id;
        marks.unsaved.insert((room_id, user_id));
        last_read_id
    }

    fn take(&self) -> Vec<ReadMark> {
        let mut marks = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let PendingMarks { highest, unsaved } = &mut *marks;
        let mark = |key: (RoomId, UserId)| {
            let last_read_id = highest.get(&key).copied().unwrap_or_default();
            ReadMark { room_id: key.0, user_id: key.1, last_read_id }
        };
        unsaved.drain().map(mark).collect()
    }
}

/// A member read a room up to `last_read_id`: their tabs hear it now, the database at the next flush
/// (or before anyone reads unread counts). The caller has checked membership.
pub(crate) fn mark_read(state: &AppState, account: &Account, room_id: RoomId, last_read_id: MessageId) {
    let mark = state.read_marks.note(room_id, account.id, last_read_id);
    state.hub.read(account.id, room_id, mark);
}

/// Stores the read marks collected since the last flush.
pub(crate) async fn flush_read_marks(state: &AppState) {
    let marks = state.read_marks.take();
    if !marks.is_empty() {
        if let Err(error) = state.store.save_read_marks(marks).await {
            tracing::error!(%error, "cannot store read marks");
        }
    }
}

/// The chat page's data for a named room (general by default) or the direct conversation with
/// `peer`. The sidebar snapshot (with `last_id`) is read before the history, so a socket resuming
/// from `last_id` may see a message twice (merged by id) but never misses one.
pub(crate) async fn page(
    name: Option<String>,
    peer: Option<UserId>,
    at: Option<MessageId>,
) -> Result<RoomPage, AppError> {
    let state = crate::server::context::app_state()?;
    let me = crate::server::context::current_session(&state).await?.map(|(account, _)| account);
    let (rooms, last_id, last_change) = match &me {
        Some(me) => {
            flush_read_marks(&state).await;
            let sidebar = state.store.sidebar(me.id).await?;
            (sidebar.rooms, sidebar.last_id, sidebar.last_change)
        }
        None => {
            let last_change = state.store.last_change().await?;
            (Vec::new(), state.store.last_id().await?, last_change)
        }
    };
    let (room_id, peer) = match peer {
        Some(peer_id) => {
            let me = me.as_ref().ok_or_else(crate::server::context::sign_in_first)?;
            let peer = state.store.user_by_id(peer_id).await?.ok_or_else(no_such_user)?;
            let room_id = state.store.direct_room_of(me.id, peer_id).await?;
            (room_id, Some(member_of(&peer)))
        }
        None => (Some(by_name(&state, name.as_deref().unwrap_or(GENERAL_ROOM)).await?.id), None),
    };
    let online = state.hub.online();
    let directory = directory(&state).await?;
    let Some(room_id) = room_id else {
        if at.is_some() {
            return Err(no_such_message());
        }
        let (history, members) = (Vec::new(), Vec::new());
        return Ok(RoomPage {
            me,
            room: None,
            peer,
            joined: false,
            history,
            members,
            online,
            rooms,
            directory,
            focus: None,
            has_older: false,
            has_newer: false,
            last_id,
            last_change,
            zone_minutes: crate::server::context::reader_zone_minutes(),
        });
    };
    let record = readable(&state, me.as_ref(), room_id).await?;
    let mine = rooms.iter().find(|room| room.id == room_id).cloned();
    let joined = mine.is_some();
    let room = mine.unwrap_or(Room {
        id: record.id,
        name: record.name,
        kind: record.kind,
        archived: record.archived,
        peer_id: None,
        unread: 0,
        last_read_id: last_id,
        mentions: 0,
        notify: None,
    });
    let Window { history, has_older, has_newer } = match at {
        Some(id) => around(&state, room_id, id).await?,
        None => newest(&state, room_id).await?,
    };
    let members = state.store.members(room_id).await?;
    Ok(RoomPage {
        me,
        room: Some(room),
        peer,
        joined,
        history,
        members,
        online,
        rooms,
        directory,
        focus: at,
        has_older,
        has_newer,
        last_id,
        last_change,
        zone_minutes: crate::server::context::reader_zone_minutes(),
    })
}

/// A stretch of a room's history, and whether there is more on either side.
struct Window {
    history: Vec<ChatMessage>,
    has_older: bool,
    has_newer: bool,
}

/// The newest page. One message more than shown is read, to know whether older ones exist.
async fn newest(state: &AppState, room_id: RoomId) -> Result<Window, AppError> {
    let mut history = state.store.history(room_id, None, HISTORY_PAGE + 1).await?;
    let has_older = history.len() > HISTORY_PAGE as usize;
    if has_older {
        history.remove(0);
    }
    Ok(Window { history, has_older, has_newer: false })
}

/// Message `id` of this room with half a page of context on each side (a permalink).
async fn around(state: &AppState, room_id: RoomId, id: MessageId) -> Result<Window, AppError> {
    if state.store.message_room(id).await? != Some(room_id) {
        return Err(no_such_message());
    }
    let side = HISTORY_PAGE / 2;
    // The message itself, `side` before it, and one more to tell whether older ones exist.
    let mut history = state.store.history(room_id, Some(MessageId(id.get() + 1)), side + 2).await?;
    let has_older = history.len() > side as usize + 1;
    if has_older {
        history.remove(0);
    }
    let mut newer = state.store.newer(room_id, id, side + 1).await?;
    let has_newer = newer.len() > side as usize;
    newer.truncate(side as usize);
    history.append(&mut newer);
    Ok(Window { history, has_older, has_newer })
}

/// Public rooms that are not archived, with their member counts.
pub(crate) async fn directory(state: &AppState) -> Result<Vec<DirectoryRoom>, AppError> {
    let rooms = state.store.public_rooms().await?;
    Ok(rooms.into_iter().map(|(room, members)| DirectoryRoom { id: room.id, name: room.name, members }).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taken(marks: &ReadMarks) -> Vec<(i64, i64, i64)> {
        let mut taken: Vec<_> =
            marks.take().iter().map(|m| (m.room_id.get(), m.user_id.get(), m.last_read_id.get())).collect();
        taken.sort_unstable();
        taken
    }

    #[test]
    fn read_marks_only_rise_and_each_is_stored_once_per_change() {
        let marks = ReadMarks::default();
        assert_eq!(marks.note(RoomId(1), UserId(7), MessageId(10)), MessageId(10));
        assert_eq!(marks.note(RoomId(1), UserId(7), MessageId(4)), MessageId(10), "a stale tab hears the higher mark");
        assert_eq!(marks.note(RoomId(2), UserId(7), MessageId(3)), MessageId(3));
        assert_eq!(taken(&marks), [(1, 7, 10), (2, 7, 3)]);
        assert!(taken(&marks).is_empty(), "nothing new to store");
        assert_eq!(marks.note(RoomId(1), UserId(7), MessageId(9)), MessageId(10));
        assert!(taken(&marks).is_empty(), "a lower report changes nothing");
        marks.note(RoomId(1), UserId(7), MessageId(11));
        assert_eq!(taken(&marks), [(1, 7, 11)]);
    }
}
