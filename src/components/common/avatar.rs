//! A person's picture until profiles bring uploaded ones: their initials on a colour that is theirs
//! (derived from their user id, so it stays when they rename). Decorative: the name is always
//! written beside it.

use crate::protocol::UserId;
use leptos::prelude::*;

/// How many avatar colours the stylesheet defines (`.hue-0` …), each dark enough for white text.
const HUES: i64 = 8;

/// `aria-hidden`: read aloud, the initials would come before every name, which is written beside
/// them anyway.
#[component]
pub fn Avatar(nickname: String, user_id: Option<UserId>) -> impl IntoView {
    view! { <span class=avatar_class(user_id) aria-hidden="true">{initials(&nickname)}</span> }
}

/// The colour follows the id, not the name, so it survives renames; `rem_euclid` keeps the class
/// one the stylesheet defines for any id. Without a user (the server's lines) it is the server's.
fn avatar_class(user_id: Option<UserId>) -> String {
    match user_id {
        Some(id) => format!("avatar hue-{}", id.get().rem_euclid(HUES)),
        None => "avatar server".to_owned(),
    }
}

/// Up to two letters: the first of the first two words ("Ada Lovelace" → "AL", "bob-the-bot" →
/// "BT"), or of the name alone ("zoë" → "Z").
pub fn initials(nickname: &str) -> String {
    let mut words = nickname.split(|c: char| !c.is_alphanumeric()).filter(|word| !word.is_empty());
    let first = |word: &str| word.chars().next().into_iter().flat_map(char::to_uppercase);
    match (words.next(), words.next()) {
        (Some(one), Some(two)) => first(one).chain(first(two)).collect(),
        (Some(one), None) => first(one).collect(),
        // No letter or digit at all (an emoji): the name's first character, as it is.
        _ => nickname.chars().next().map(String::from).unwrap_or_else(|| "?".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_take_the_first_letters_of_two_words() {
        assert_eq!(initials("Ada Lovelace"), "AL");
        assert_eq!(initials("bob-the-bot"), "BT");
        assert_eq!(initials("zoë"), "Z");
        assert_eq!(initials("_x"), "X");
        // Uppercasing may give more than one letter: initials are a string, not two chars.
        assert_eq!(initials("ßig"), "SS");
    }

    #[test]
    fn names_without_letters_still_get_an_avatar() {
        assert_eq!(initials("🦀"), "🦀");
        assert_eq!(initials(""), "?");
    }

    #[test]
    fn a_colour_is_the_users_whatever_their_id() {
        assert_eq!(avatar_class(Some(UserId(9))), "avatar hue-1");
        assert_eq!(avatar_class(Some(UserId(-3))), "avatar hue-5");
        assert_eq!(avatar_class(None), "avatar server");
    }
}
