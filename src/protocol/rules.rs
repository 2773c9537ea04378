//! The validation rules both ends apply to what a person types: nicknames, room names, passwords,
//! message bodies, client message ids and reactions.

use super::*;

/// Characters that render as nothing or reorder text around them: allowed in a nickname they let one
/// person pass for another.
fn is_invisible_or_bidi(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}'
        | '\u{FFF0}'..='\u{FFF8}' | '\u{E0000}'..='\u{E0FFF}')
}

/// Names nobody may take, so nothing a user says reads as the server speaking: its own name and the
/// words chat software uses for itself. The server also refuses every look-alike of these (the same
/// confusable-skeleton rule that keeps one user from passing for another: see `identity`).
pub const RESERVED_NICKNAMES: &[&str] =
    &[SERVER_NAME, "The Server", "Server", "System", "Admin", "Administrator", "Moderator"];

/// Why a reserved nickname was refused.
pub fn reserved_nickname(reserved: &str) -> String {
    if reserved == SERVER_NAME {
        format!("\"{SERVER_NAME}\" is the server's own name.")
    } else {
        format!("\"{reserved}\" is reserved: pick a name of your own.")
    }
}

/// Checks a nickname and returns it trimmed.
pub fn validate_nickname(raw: &str) -> Result<String, Rejection> {
    let nickname = raw.trim();
    let invalid = |why: &str| Rejection::new(ErrorCode::InvalidNickname, why);
    if nickname.is_empty() {
        return Err(invalid("Choose a nickname first."));
    }
    if nickname.chars().count() > MAX_NICKNAME_CHARS {
        return Err(invalid(&format!("Nicknames are at most {MAX_NICKNAME_CHARS} characters.")));
    }
    if nickname.chars().any(|c| c.is_control() || is_invisible_or_bidi(c)) {
        return Err(invalid("Nicknames cannot contain control or invisible characters."));
    }
    if let Some(reserved) = RESERVED_NICKNAMES.iter().find(|reserved| nickname.eq_ignore_ascii_case(reserved)) {
        return Err(invalid(&reserved_nickname(reserved)));
    }
    Ok(nickname.to_owned())
}

/// Checks a room name and returns its stored form: lowercase ASCII letters, digits, `-` and `_`
/// (spaces become `-`), starting with a letter or digit. ASCII only, so two names never look alike
/// and every name is its own URL path segment.
pub fn validate_room_name(raw: &str) -> Result<String, Rejection> {
    let name: String = raw.trim().to_lowercase().split_whitespace().collect::<Vec<_>>().join("-");
    let invalid = |why: String| Rejection::new(ErrorCode::InvalidRoomName, why);
    let chars = name.chars().count();
    if !(MIN_ROOM_NAME_CHARS..=MAX_ROOM_NAME_CHARS).contains(&chars) {
        return Err(invalid(format!("Room names are {MIN_ROOM_NAME_CHARS} to {MAX_ROOM_NAME_CHARS} characters.")));
    }
    if !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_') {
        return Err(invalid("Room names use only letters a-z, digits, - and _.".into()));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(invalid("Room names start with a letter or digit.".into()));
    }
    Ok(name)
}

/// Checks a new password's length (any characters are fine: it is only ever hashed).
pub fn validate_password(password: &str) -> Result<(), Rejection> {
    let chars = password.chars().count();
    if (MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
        Ok(())
    } else {
        Err(Rejection::new(
            ErrorCode::InvalidPassword,
            format!("Passwords are {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters."),
        ))
    }
}

/// Checks a message body and returns what is stored: line breaks normalised to `\n`, blank lines
/// around the text removed (indentation inside it is kept, for code).
pub fn validate_body(raw: &str) -> Result<String, Rejection> {
    let normalised = normalise_line_ends(raw);
    let Some(body) = stored_part(&normalised) else {
        return Err(Rejection::new(ErrorCode::EmptyMessage, "Type a message first."));
    };
    let chars = body.chars().count();
    if chars > MAX_MESSAGE_CHARS {
        return Err(Rejection::new(
            ErrorCode::MessageTooLong,
            format!("Messages are at most {MAX_MESSAGE_CHARS} characters; this one has {chars}."),
        ));
    }
    if body.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(Rejection::new(ErrorCode::InvalidCharacters, "Messages cannot contain control characters."));
    }
    Ok(body.to_owned())
}

/// How many characters of `raw` a message would keep once stored: what the composer's counter
/// counts, so that it never disables Send for a body the server takes (blank lines around it and
/// trailing spaces are not kept, so they do not count).
pub fn body_chars(raw: &str) -> usize {
    stored_part(&normalise_line_ends(raw)).map_or(0, |body| body.chars().count())
}

fn normalise_line_ends(raw: &str) -> String {
    raw.replace("\r\n", "\n").replace('\r', "\n")
}

/// The body as stored: from the start of the first line with something visible (its indentation
/// kept, for code) to the last visible character. `None` when nothing is visible.
fn stored_part(normalised: &str) -> Option<&str> {
    let first_visible = normalised.find(|c: char| !c.is_whitespace())?;
    let first_line_start = normalised[..first_visible].rfind('\n').map_or(0, |i| i + 1);
    Some(normalised[first_line_start..].trim_end())
}

/// Checks a client's message id: short, printable ASCII without spaces, so it is safe in logs.
pub fn validate_client_msg_id(id: &str) -> Result<(), Rejection> {
    let ok = !id.is_empty()
        && id.len() <= MAX_CLIENT_MSG_ID_CHARS
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    if ok {
        Ok(())
    } else {
        Err(Rejection::new(
            ErrorCode::InvalidClientMsgId,
            format!("client_msg_id must be 1 to {MAX_CLIENT_MSG_ID_CHARS} characters of A-Z a-z 0-9 - _ . :"),
        ))
    }
}

/// Checks a reaction: one emoji (a pictograph, optionally with skin tone, variation selector, keycap
/// or ZWJ sequence, or a flag), nothing else. Returns it trimmed.
pub fn validate_reaction(raw: &str) -> Result<String, Rejection> {
    let emoji = raw.trim();
    let invalid = || Rejection::new(ErrorCode::InvalidReaction, "A reaction is one emoji.");
    if emoji.is_empty() || emoji.len() > MAX_REACTION_BYTES {
        return Err(invalid());
    }
    let mut pictographs = 0;
    let mut after_joiner = true;
    // A regional indicator waiting for the second letter of its flag.
    let mut open_flag = false;
    let mut keycap_base = false;
    for c in emoji.chars() {
        match emoji_part(c) {
            EmojiPart::RegionalIndicator if open_flag => open_flag = false,
            EmojiPart::RegionalIndicator if after_joiner => {
                pictographs += 1;
                after_joiner = false;
                open_flag = true;
            }
            part @ (EmojiPart::Pictograph | EmojiPart::KeycapBase) if after_joiner => {
                pictographs += 1;
                after_joiner = false;
                keycap_base |= matches!(part, EmojiPart::KeycapBase);
            }
            EmojiPart::Joiner if !after_joiner && !open_flag => after_joiner = true,
            EmojiPart::Modifier if !after_joiner && !open_flag => {}
            _ => return Err(invalid()),
        }
    }
    // A digit, `#` or `*` is an emoji only as a keycap.
    if pictographs == 0 || after_joiner || open_flag || keycap_base && !emoji.contains('\u{20E3}') {
        return Err(invalid());
    }
    Ok(emoji.to_owned())
}

enum EmojiPart {
    Pictograph,
    /// A digit, `#` or `*`: the base of a keycap emoji.
    KeycapBase,
    /// One letter of a two-letter flag.
    RegionalIndicator,
    /// Zero-width joiner: glues two pictographs into one emoji.
    Joiner,
    /// Changes the emoji before it: variation selector, skin tone, keycap or tag.
    Modifier,
    Other,
}

/// Which part of an emoji `c` can be. The ranges cover Unicode's emoji blocks (Extended_Pictographic
/// and the symbols with emoji presentation); digits, `#` and `*` count only as keycap bases.
fn emoji_part(c: char) -> EmojiPart {
    match c {
        '\u{200D}' => EmojiPart::Joiner,
        '\u{FE0F}' | '\u{20E3}' | '\u{1F3FB}'..='\u{1F3FF}' | '\u{E0020}'..='\u{E007F}' => EmojiPart::Modifier,
        '0'..='9' | '#' | '*' => EmojiPart::KeycapBase,
        '\u{1F1E6}'..='\u{1F1FF}' => EmojiPart::RegionalIndicator,
        '\u{1F000}'..='\u{1FAFF}'
        | '\u{2600}'..='\u{27BF}'
        | '\u{2300}'..='\u{23FF}'
        | '\u{2B00}'..='\u{2BFF}'
        | '\u{2190}'..='\u{21FF}'
        | '\u{25A0}'..='\u{25FF}'
        | '\u{2900}'..='\u{297F}'
        | '\u{00A9}'
        | '\u{00AE}'
        | '\u{203C}'
        | '\u{2049}'
        | '\u{2122}'
        | '\u{2139}'
        | '\u{24C2}'
        | '\u{3030}'
        | '\u{303D}'
        | '\u{3297}'
        | '\u{3299}' => EmojiPart::Pictograph,
        _ => EmojiPart::Other,
    }
}

/// Clamps a requested history page size to what the server serves.
pub fn history_limit(requested: Option<u32>) -> u32 {
    requested.unwrap_or(HISTORY_PAGE).clamp(1, MAX_HISTORY_PAGE)
}
