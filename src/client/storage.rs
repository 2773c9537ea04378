//! What the browser remembers between visits.

const NICKNAME_KEY: &str = "natter.nickname";

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

pub fn load_nickname() -> Option<String> {
    local_storage()?.get_item(NICKNAME_KEY).ok()?.filter(|name| !name.is_empty())
}

pub fn save_nickname(nickname: &str) {
    if let Some(storage) = local_storage() {
        let _ = storage.set_item(NICKNAME_KEY, nickname);
    }
}
