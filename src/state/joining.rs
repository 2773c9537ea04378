//! Joining: a visitor becomes a user with the nickname they typed, on the Join button or, the
//! gesture of the page Natter grew from, by sending a message with it.

use leptos::prelude::*;

use super::{outbox, ChatState, NICKNAME_FIELD};
use crate::protocol::{validate_body, validate_nickname, Account, Member, Room, RoomKind};

impl ChatState {
    /// A visitor joins with the nickname in the nickname field: the account is created and this
    /// browser signed in, and on a public room's page they join that room too, so that what they
    /// wrote can be posted here. `false`, with the reason shown by the nickname field, if not.
    pub async fn join(self) -> bool {
        let Some(nickname) = self.nickname_to_join() else { return false };
        match crate::api::join_chat(nickname).await {
            Ok(account) => self.signed_in_as(account),
            Err(error) => {
                self.refuse_nickname(error.to_string());
                return false;
            }
        }
        let Some(room) = self.room.get_untracked() else { return true };
        if room.id == crate::protocol::GENERAL_ROOM_ID {
            // Everyone is in general from the start.
            self.joined.set(true);
        } else if room.kind == RoomKind::Public && !room.archived {
            match crate::api::join_room(room.id).await {
                Ok(joined) => self.joined_to_post(joined),
                Err(error) => self.alert.set(Some(error.to_string())),
            }
        }
        true
    }

    /// A visitor's first send, the gesture of the page Natter grew from: joins with the nickname in
    /// the nickname field and posts `body` here, in one request, so the message is stored before a
    /// socket could even have opened. `true` once it is stored (the box may be emptied); `false`
    /// with the reason shown by the nickname field or the composer, the text left in the box.
    pub async fn join_and_send(self, body: &str) -> bool {
        let Some(nickname) = self.nickname_to_join() else { return false };
        let body = match validate_body(body) {
            Ok(body) => body,
            Err(refused) => {
                self.alert.set(Some(refused.message));
                return false;
            }
        };
        let Some(room_id) = self.room_id() else { return false };
        let sent = match crate::api::join_and_send(nickname, room_id, outbox::new_client_msg_id(), body).await {
            Ok(sent) => sent,
            Err(error) => {
                self.refuse_nickname(error.to_string());
                return false;
            }
        };
        // The stored message is drawn before the signed-in page around it: that redraw (and the
        // socket it starts) is the larger job, and the newcomer is waiting to see their message.
        // The socket's catch-up brings the message again, which the timeline knows by its id.
        let stored = match sent.posted {
            Ok(message) => {
                self.alert.set(None);
                self.timeline.update(|timeline| timeline.apply_message(message));
                true
            }
            Err(reason) => {
                self.alert.set(Some(reason));
                false
            }
        };
        self.signed_in_as(sent.account);
        match sent.room {
            Some(joined) => self.joined_to_post(joined),
            None if room_id == crate::protocol::GENERAL_ROOM_ID => self.joined.set(true),
            None => {}
        }
        stored
    }

    /// The nickname field's text if it is a valid nickname; otherwise the field says why.
    fn nickname_to_join(&self) -> Option<String> {
        match validate_nickname(&self.nickname.get_untracked()) {
            Ok(nickname) => Some(nickname),
            Err(refused) => {
                self.refuse_nickname(refused.message);
                None
            }
        }
    }

    fn refuse_nickname(&self, reason: String) {
        self.nickname_error.set(Some(reason));
        crate::dom::focus(NICKNAME_FIELD);
    }

    /// The account just made for this browser: setting `me` is what starts the page's socket.
    fn signed_in_as(&self, account: Account) {
        self.nickname_error.set(None);
        self.nickname.set(account.nickname.clone());
        self.me.set(Some(account));
    }

    /// A room this new user joined in order to post there.
    fn joined_to_post(&self, room: Room) {
        let room_id = room.id;
        self.room_joined(room);
        // The socket may not be up yet to hear its own member_joined.
        if let Some(me) = self.me.get_untracked() {
            let member = Member { user_id: me.id, nickname: me.nickname, is_bot: me.is_bot };
            self.member_joined(room_id, member);
        }
    }
}
