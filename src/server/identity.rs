//! Who is speaking. Nicknames are normalised and compared by their confusable skeleton, so "аlice"
//! (Cyrillic а) cannot pass for "alice"; sessions are random tokens that the database stores only as
//! keyed hashes, so a copy of the database alone does not let anyone sign in.

use std::path::{Path, PathBuf};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::{HeaderMap, HeaderValue};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use unicode_normalization::UnicodeNormalization;
use unicode_security::confusable_detection::skeleton;

use crate::protocol::{reserved_nickname, validate_nickname, ErrorCode, Rejection, RESERVED_NICKNAMES};

pub(crate) const SESSION_COOKIE: &str = "natter_session";
/// A browser session lasts a year from its last use; signing out ends it at once.
pub(crate) const SESSION_DAYS: i64 = 365;
const SECRET_ENV: &str = "NATTER_SECRET";
const KEY_FILE: &str = "natter.key";

/// A nickname as shown, and the key that decides whether two nicknames are the same person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nickname {
    pub display: String,
    pub key: String,
}

/// Validates a nickname and computes its uniqueness key: NFKC (so full-width and ligature forms
/// become plain letters), then lower case, then the Unicode confusable skeleton (UTS #39).
pub fn nickname(raw: &str) -> Result<Nickname, Rejection> {
    let display: String = validate_nickname(raw)?.nfkc().collect();
    // Normalisation can change length or reveal characters: check the result again.
    let display = validate_nickname(&display)?;
    let key = nickname_key(&display);
    if let Some(reserved) = reserved_lookalike(&display, &key) {
        return Err(Rejection::new(ErrorCode::InvalidNickname, reserved_nickname(reserved)));
    }
    Ok(Nickname { display, key })
}

/// The reserved name this nickname looks like, if any. Compared twice: by the nickname's key, and by
/// the key of its skeleton taken before lower-casing, because lower case can part look-alikes
/// (Greek capital Ν looks like N, but its lower case ν looks like v).
fn reserved_lookalike(display: &str, key: &str) -> Option<&'static str> {
    let uppercase_key = nickname_key(&skeleton(display).collect::<String>());
    RESERVED_NICKNAMES.iter().copied().find(|reserved| {
        let reserved = nickname_key(reserved);
        reserved == key || reserved == uppercase_key
    })
}

/// The uniqueness key of a validated, normalised nickname.
fn nickname_key(display: &str) -> String {
    skeleton(&display.to_lowercase()).collect::<String>().to_lowercase()
}

pub(crate) fn nickname_taken() -> Rejection {
    Rejection::new(ErrorCode::NicknameTaken, "That nickname, or one that looks just like it, is taken.")
}

/// The server's secret for hashing session tokens.
#[derive(Clone)]
pub(crate) struct Secret(Vec<u8>);

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("{SECRET_ENV} must be at least 32 characters")]
    TooShort,
    #[error("cannot read or create the key file {path}: {source}")]
    KeyFile { path: PathBuf, source: std::io::Error },
    #[error("the key file {0} is damaged (expected 64 hex digits)")]
    Damaged(PathBuf),
    #[error("no randomness from the operating system: {0}")]
    Random(getrandom::Error),
    #[error("cannot hash the password: {0}")]
    Hash(argon2::password_hash::Error),
}

impl Secret {
    /// From `NATTER_SECRET`, or else from `natter.key` in `folder` (beside the database, see
    /// `StoreLocation::folder`), created on first start.
    pub(crate) fn load(folder: &Path) -> Result<Self, SecretError> {
        if let Ok(secret) = std::env::var(SECRET_ENV) {
            return if secret.len() >= 32 { Ok(Self(secret.into_bytes())) } else { Err(SecretError::TooShort) };
        }
        let path = folder.join(KEY_FILE);
        let key_file_error = |source| SecretError::KeyFile { path: path.clone(), source };
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                decode_hex(text.trim()).filter(|key| key.len() == 32).map(Self).ok_or(SecretError::Damaged(path))
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let key = random_bytes::<32>()?;
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(key_file_error)?;
                }
                match publish_private(&path, &encode_hex(&key)) {
                    Ok(()) => Ok(Self(key.to_vec())),
                    // Another Natter on the same folder made it first: everyone uses theirs.
                    Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Self::load(folder),
                    Err(error) => Err(key_file_error(error)),
                }
            }
            Err(error) => Err(key_file_error(error)),
        }
    }

    #[cfg(test)]
    pub(crate) fn for_tests() -> Self {
        Self(vec![7; 32])
    }

    /// What the database stores for a token: HMAC-SHA256 under the secret.
    pub(crate) fn token_hash(&self, token: &str) -> Vec<u8> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(token.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
}

/// An argon2id hash (PHC string, with its own random salt) of a password. CPU-heavy by design (tens of
/// milliseconds): call it off the async runtime.
pub(crate) fn hash_password(password: &str) -> Result<String, SecretError> {
    let salt = SaltString::encode_b64(&random_bytes::<16>()?).map_err(SecretError::Hash)?;
    Ok(Argon2::default().hash_password(password.as_bytes(), &salt).map_err(SecretError::Hash)?.to_string())
}

/// Whether `password` matches a stored hash; a damaged hash matches nothing. Also CPU-heavy.
pub(crate) fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|hash| Argon2::default().verify_password(password.as_bytes(), &hash).is_ok())
}

/// A new session or bot token: 256 random bits, hex.
pub(crate) fn new_token() -> Result<String, SecretError> {
    random_hex::<32>()
}

/// A new uploaded file's id (and file name on disk): 128 random bits, hex.
pub(crate) fn new_file_id() -> Result<String, SecretError> {
    random_hex::<16>()
}

/// A page's script nonce (see `guard::PageNonce`): 128 random bits, hex.
pub(crate) fn new_nonce() -> Result<String, SecretError> {
    random_hex::<16>()
}

fn random_hex<const N: usize>() -> Result<String, SecretError> {
    Ok(encode_hex(&random_bytes::<N>()?))
}

fn random_bytes<const N: usize>() -> Result<[u8; N], SecretError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(SecretError::Random)?;
    Ok(bytes)
}

/// Creates `path` holding `contents`, readable by its owner only, whole or not at all: written and
/// synced under a name of its own, then linked into place, which fails with `AlreadyExists` when
/// another process got there first. Nodes starting at once on one empty shared folder must not
/// read a half-written key, nor each keep a key of its own.
fn publish_private(path: &Path, contents: &str) -> std::io::Result<()> {
    let suffix = random_hex::<8>().map_err(std::io::Error::other)?;
    let mut draft = path.as_os_str().to_owned();
    draft.push(format!(".{suffix}.tmp"));
    let draft = std::path::PathBuf::from(draft);
    let linked = write_private(&draft, contents).and_then(|()| std::fs::hard_link(&draft, path));
    let _ = std::fs::remove_file(&draft);
    linked
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

pub(crate) fn encode_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

pub(crate) fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

/// The credential a request carries: a bot's bearer token, or a browser's session cookie.
pub(crate) fn token_from_headers(headers: &HeaderMap) -> Option<String> {
    if let Some(bearer) =
        headers.get(AUTHORIZATION).and_then(|value| value.to_str().ok()).and_then(|value| value.strip_prefix("Bearer "))
    {
        return Some(bearer.trim().to_owned());
    }
    cookie(headers, SESSION_COOKIE).filter(|value| !value.is_empty())
}

/// The value of the request's cookie called `name`.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|cookies| cookies.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(found, _)| *found == name)
        .map(|(_, value)| value.to_owned())
}

/// The Set-Cookie value for a new session. `Secure` when the site is served over https, so the
/// cookie never travels in clear.
pub(crate) fn session_cookie(token: &str, secure: bool) -> HeaderValue {
    let max_age = SESSION_DAYS * 24 * 3600;
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .expect("hex tokens make valid header values")
}

pub(crate) fn expired_cookie() -> HeaderValue {
    HeaderValue::from_static("natter_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}

/// Whether the request reached us over https, as the proxy in front says (`Forwarded: proto=`, or
/// `X-Forwarded-Proto`): Natter itself speaks plain http, so nobody else could know. Once
/// `trusted_proxies` are configured only they are believed, as for the client's address. With none
/// configured (the default) anyone is, as before that setting existed: a false claim of https can
/// only add the Secure flag to the claimant's own cookie, never take it off someone else's, and a
/// proxy set up before the setting keeps its users' cookies Secure.
pub(crate) fn is_https(
    headers: &HeaderMap,
    peer: Option<std::net::IpAddr>,
    trusted_proxies: &[crate::server::http::forwarded::IpRange],
) -> bool {
    let believed = trusted_proxies.is_empty()
        || peer.is_some_and(|peer| crate::server::http::forwarded::any_contains(trusted_proxies, peer));
    believed
        && crate::server::http::forwarded::forwarded_proto(headers)
            .is_some_and(|proto| proto.eq_ignore_ascii_case("https"))
}

/// A browser's websocket must come from our own pages: its Origin must name the host it connects to.
/// Clients that send no Origin (bots, command-line tools) are not browsers and are allowed.
pub(crate) fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get("origin").and_then(|value| value.to_str().ok()) else {
        return true;
    };
    let host = headers.get("host").and_then(|value| value.to_str().ok()).unwrap_or_default();
    let origin_host = origin.split_once("://").map_or("", |(_, rest)| rest);
    !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(raw: &str) -> String {
        nickname(raw).unwrap().key
    }

    #[test]
    fn lookalike_nicknames_share_a_key() {
        assert_eq!(key("alice"), key("ALICE"));
        assert_eq!(key("alice"), key("\u{0430}lice")); // Cyrillic а
        assert_eq!(key("alice"), key("ａｌｉｃｅ")); // full-width
        assert_eq!(key("paypal"), key("paypa1"));
        assert_ne!(key("alice"), key("alicia"));
    }

    #[test]
    fn the_servers_name_and_every_reserved_name_are_refused_with_their_lookalikes() {
        // Latin, Cyrillic а and е, Greek Ν, full-width letters, odd case.
        for name in ["Natter", "natter", "N\u{0430}tter", "Natt\u{0435}r", "\u{039D}atter", "Ｎａｔｔｅｒ", "nATTER"]
        {
            let refused = nickname(name).unwrap_err();
            assert_eq!(refused.code, ErrorCode::InvalidNickname, "{name}");
            assert!(refused.message.contains("server's own name"), "{name}: {}", refused.message);
        }
        for name in ["System", "\u{0455}ystem", "ADMIN", "\u{0430}dmin", "The Server", "Moderator"] {
            assert!(nickname(name).unwrap_err().message.contains("reserved"), "{name}");
        }
        for fine in ["Natterer", "adminton", "sys", "serverless"] {
            assert!(nickname(fine).is_ok(), "{fine}");
        }
    }

    #[test]
    fn nicknames_are_shown_in_nfkc_form() {
        assert_eq!(nickname("ｂｏｂ").unwrap().display, "bob");
        assert_eq!(nickname("  Zoë ").unwrap().display, "Zoë");
        assert_eq!(nickname("ali\u{200B}ce").unwrap_err().code, ErrorCode::InvalidNickname);
    }

    #[test]
    fn tokens_are_hashed_under_the_secret() {
        let secret = Secret::for_tests();
        let token = new_token().unwrap();
        assert_eq!(token.len(), 64);
        assert_eq!(secret.token_hash(&token), secret.token_hash(&token));
        assert_ne!(secret.token_hash(&token), Secret(vec![8; 32]).token_hash(&token));
        assert_ne!(new_token().unwrap(), token);
    }

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("Correct horse battery", &hash));
        assert!(!verify_password("anything", "not a hash"));
        assert_ne!(hash_password("correct horse battery").unwrap(), hash, "salted");
    }

    #[test]
    fn the_key_file_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path();
        let first = Secret::load(db).unwrap();
        let again = Secret::load(db).unwrap();
        assert_eq!(first.token_hash("t"), again.token_hash("t"));
        std::fs::write(dir.path().join(KEY_FILE), "nonsense").unwrap();
        assert!(matches!(Secret::load(db), Err(SecretError::Damaged(_))));
    }

    #[test]
    fn nodes_starting_at_once_on_an_empty_folder_agree_on_one_key() {
        for _ in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let hashes: Vec<Vec<u8>> = std::thread::scope(|scope| {
                let starts: Vec<_> =
                    (0..6).map(|_| scope.spawn(|| Secret::load(dir.path()).unwrap().token_hash("t"))).collect();
                starts.into_iter().map(|start| start.join().unwrap()).collect()
            });
            assert!(hashes.windows(2).all(|pair| pair[0] == pair[1]), "one key for all");
            let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|entry| entry.unwrap().file_name()).collect();
            assert_eq!(left, [std::ffi::OsString::from(KEY_FILE)], "no drafts left behind");
        }
    }

    #[test]
    fn credentials_come_from_bearer_or_cookie() {
        let mut headers = HeaderMap::new();
        assert_eq!(token_from_headers(&headers), None);
        headers.insert(COOKIE, HeaderValue::from_static("theme=dark; natter_session=abc; x=y"));
        assert_eq!(token_from_headers(&headers).as_deref(), Some("abc"));
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer bot-token"));
        assert_eq!(token_from_headers(&headers).as_deref(), Some("bot-token"));
    }

    #[test]
    fn only_same_origin_browsers_and_origin_less_clients_pass() {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("chat.example:8080"));
        assert!(same_origin(&headers));
        headers.insert("origin", HeaderValue::from_static("http://chat.example:8080"));
        assert!(same_origin(&headers));
        headers.insert("origin", HeaderValue::from_static("https://evil.example"));
        assert!(!same_origin(&headers));
    }
}
