//! The one `Store` impl every engine gets from its own inherent methods. Apart from the trait
//! because it is boilerplate that changes only when the trait does: a trait method missing from
//! this list fails to compile in every engine.

/// The `Store` impl of an engine whose inherent async methods have the trait's names and
/// arguments: each trait method boxes the engine's own. One list for every engine, so a new
/// method is written here once and the compiler asks each engine for its inherent method.
/// The engine's module must have the trait's argument and result types in scope.
macro_rules! store_answered_by_inherent_methods {
    ($engine:ident) => {
        impl $crate::server::store::Store for $engine {
            fn changed_since(
                &self,
                user_id: UserId,
                after: Revision,
                limit: u32,
            ) -> BoxFuture<'_, Result<Vec<ChatMessage>, DbError>> {
                Box::pin($engine::changed_since(self, user_id, after, limit))
            }

            fn last_change(&self) -> BoxFuture<'_, Result<Revision, DbError>> {
                Box::pin($engine::last_change(self))
            }

            fn change_message(
                &self,
                id: MessageId,
                change: MessageChange,
                actor: Actor,
            ) -> BoxFuture<'_, Result<Option<ChatMessage>, DbError>> {
                Box::pin($engine::change_message(self, id, change, actor))
            }

            fn message_file(&self, id: MessageId) -> BoxFuture<'_, Result<Option<String>, DbError>> {
                Box::pin($engine::message_file(self, id))
            }

            fn file(&self, id: String) -> BoxFuture<'_, Result<Option<(Attachment, RoomId)>, DbError>> {
                Box::pin($engine::file(self, id))
            }

            fn insert(&self, message: NewMessage) -> BoxFuture<'_, Result<Inserted, DbError>> {
                Box::pin($engine::insert(self, message))
            }

            fn history(
                &self,
                room_id: RoomId,
                before: Option<MessageId>,
                limit: u32,
            ) -> BoxFuture<'_, Result<Vec<ChatMessage>, DbError>> {
                Box::pin($engine::history(self, room_id, before, limit))
            }

            fn newer(
                &self,
                room_id: RoomId,
                after: MessageId,
                limit: u32,
            ) -> BoxFuture<'_, Result<Vec<ChatMessage>, DbError>> {
                Box::pin($engine::newer(self, room_id, after, limit))
            }

            fn since(
                &self,
                user_id: UserId,
                after: MessageId,
                limit: u32,
            ) -> BoxFuture<'_, Result<Vec<ChatMessage>, DbError>> {
                Box::pin($engine::since(self, user_id, after, limit))
            }

            fn last_id(&self) -> BoxFuture<'_, Result<MessageId, DbError>> {
                Box::pin($engine::last_id(self))
            }

            fn message_room(&self, id: MessageId) -> BoxFuture<'_, Result<Option<RoomId>, DbError>> {
                Box::pin($engine::message_room(self, id))
            }

            fn sidebar(&self, user_id: UserId) -> BoxFuture<'_, Result<Sidebar, DbError>> {
                Box::pin($engine::sidebar(self, user_id))
            }

            fn member_room(&self, room_id: RoomId, user_id: UserId) -> BoxFuture<'_, Result<Option<Room>, DbError>> {
                Box::pin($engine::member_room(self, room_id, user_id))
            }

            fn room_by_id(&self, room_id: RoomId) -> BoxFuture<'_, Result<Option<RoomRecord>, DbError>> {
                Box::pin($engine::room_by_id(self, room_id))
            }

            fn room_by_name(&self, name: String) -> BoxFuture<'_, Result<Option<RoomRecord>, DbError>> {
                Box::pin($engine::room_by_name(self, name))
            }

            fn direct_room_of(
                &self,
                user_id: UserId,
                peer_id: UserId,
            ) -> BoxFuture<'_, Result<Option<RoomId>, DbError>> {
                Box::pin($engine::direct_room_of(self, user_id, peer_id))
            }

            fn members(&self, room_id: RoomId) -> BoxFuture<'_, Result<Vec<Member>, DbError>> {
                Box::pin($engine::members(self, room_id))
            }

            fn public_rooms(&self) -> BoxFuture<'_, Result<Vec<(RoomRecord, u32)>, DbError>> {
                Box::pin($engine::public_rooms(self))
            }

            fn create_room(
                &self,
                name: String,
                kind: RoomKind,
                creator: UserId,
            ) -> BoxFuture<'_, Result<Room, DbError>> {
                Box::pin($engine::create_room(self, name, kind, creator))
            }

            fn add_member(
                &self,
                room_id: RoomId,
                user_id: UserId,
            ) -> BoxFuture<'_, Result<Option<(Room, Member)>, DbError>> {
                Box::pin($engine::add_member(self, room_id, user_id))
            }

            fn remove_member(&self, room_id: RoomId, user_id: UserId) -> BoxFuture<'_, Result<bool, DbError>> {
                Box::pin($engine::remove_member(self, room_id, user_id))
            }

            fn archive_room(&self, room_id: RoomId) -> BoxFuture<'_, Result<bool, DbError>> {
                Box::pin($engine::archive_room(self, room_id))
            }

            fn open_direct(&self, user_id: UserId, peer_id: UserId) -> BoxFuture<'_, Result<RoomId, DbError>> {
                Box::pin($engine::open_direct(self, user_id, peer_id))
            }

            fn save_read_marks(&self, marks: Vec<ReadMark>) -> BoxFuture<'_, Result<(), DbError>> {
                Box::pin($engine::save_read_marks(self, marks))
            }

            fn set_notify(
                &self,
                room_id: RoomId,
                user_id: UserId,
                level: NotifyLevel,
            ) -> BoxFuture<'_, Result<bool, DbError>> {
                Box::pin($engine::set_notify(self, room_id, user_id, level))
            }

            fn search(
                &self,
                viewer: Option<UserId>,
                filter: SearchFilter,
                before: Option<MessageId>,
                limit: u32,
            ) -> BoxFuture<'_, Result<Vec<Found>, DbError>> {
                Box::pin($engine::search(self, viewer, filter, before, limit))
            }

            fn user_by_key(&self, nickname_key: String) -> BoxFuture<'_, Result<Option<Account>, DbError>> {
                Box::pin($engine::user_by_key(self, nickname_key))
            }

            fn user_by_id(&self, user_id: UserId) -> BoxFuture<'_, Result<Option<Account>, DbError>> {
                Box::pin($engine::user_by_id(self, user_id))
            }

            fn create_user(
                &self,
                nickname: Nickname,
                session_hash: Vec<u8>,
                expires_at: i64,
            ) -> BoxFuture<'_, Result<Account, DbError>> {
                Box::pin($engine::create_user(self, nickname, session_hash, expires_at))
            }

            fn session_account(&self, session_hash: Vec<u8>) -> BoxFuture<'_, Result<Option<Account>, DbError>> {
                Box::pin($engine::session_account(self, session_hash))
            }

            fn create_session(
                &self,
                user_id: UserId,
                session_hash: Vec<u8>,
                expires_at: i64,
            ) -> BoxFuture<'_, Result<(), DbError>> {
                Box::pin($engine::create_session(self, user_id, session_hash, expires_at))
            }

            fn set_password_hash(&self, user_id: UserId, password_hash: String) -> BoxFuture<'_, Result<(), DbError>> {
                Box::pin($engine::set_password_hash(self, user_id, password_hash))
            }

            fn credentials(&self, nickname_key: String) -> BoxFuture<'_, Result<Option<Credentials>, DbError>> {
                Box::pin($engine::credentials(self, nickname_key))
            }

            fn ban(&self, user_id: UserId) -> BoxFuture<'_, Result<Option<Account>, DbError>> {
                Box::pin($engine::ban(self, user_id))
            }

            fn make_admin(&self, nickname_key: String) -> BoxFuture<'_, Result<Option<Account>, DbError>> {
                Box::pin($engine::make_admin(self, nickname_key))
            }

            fn create_bot(&self, nickname: Nickname, token_hash: Vec<u8>) -> BoxFuture<'_, Result<Account, DbError>> {
                Box::pin($engine::create_bot(self, nickname, token_hash))
            }

            fn system_account(&self) -> BoxFuture<'_, Result<Account, DbError>> {
                Box::pin($engine::system_account(self))
            }

            /// Ends a session (told as `SessionEnded`, so its sockets close on every Natter).
            fn end_session(&self, session_hash: Vec<u8>) -> BoxFuture<'_, Result<(), DbError>> {
                Box::pin($engine::end_session(self, session_hash))
            }

            fn rename(&self, user_id: UserId, nickname: Nickname) -> BoxFuture<'_, Result<(), DbError>> {
                Box::pin($engine::rename(self, user_id, nickname))
            }

            fn share_presence(&self, here: Vec<Present>) -> BoxFuture<'_, Result<(), DbError>> {
                Box::pin($engine::share_presence(self, here))
            }

            fn share_typing(&self, signal: TypingSignal) {
                $engine::share_typing(self, signal)
            }

            fn shutdown(&self) -> BoxFuture<'_, ()> {
                Box::pin($engine::shutdown(self))
            }
        }
    };
}
pub(crate) use store_answered_by_inherent_methods;
