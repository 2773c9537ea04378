//! What an uploaded file is, decided from its bytes and never from its name: its type by magic
//! numbers, whether it is refused (markup a browser could run: HTML, SVG, XML), an image's size from
//! its header, and the user's file name cleaned into metadata (it never becomes part of a path).

/// A file's type as sniffed from its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sniffed {
    /// An image the page shows inline: PNG, JPEG, GIF or WebP.
    Image(&'static str),
    /// Anything else that is offered as a download, with the type it is served as.
    Download(&'static str),
    /// Markup a browser would render and run; refused with the reason.
    Refused(&'static str),
}

impl Sniffed {
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Sniffed::Image(content_type) | Sniffed::Download(content_type) => content_type,
            Sniffed::Refused(_) => "application/octet-stream",
        }
    }
}

/// Bytes of a file's start that `sniff` and `image_size` look at.
pub(crate) const HEAD_BYTES: usize = 64 * 1024;

/// The type of a file from its first bytes (up to `HEAD_BYTES`).
pub(crate) fn sniff(head: &[u8]) -> Sniffed {
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Sniffed::Image("image/png");
    }
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Sniffed::Image("image/jpeg");
    }
    if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        return Sniffed::Image("image/gif");
    }
    if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        return Sniffed::Image("image/webp");
    }
    if head.starts_with(b"%PDF-") {
        return Sniffed::Download("application/pdf");
    }
    if head.starts_with(b"PK\x03\x04") {
        return Sniffed::Download("application/zip");
    }
    if head.starts_with(&[0x1F, 0x8B]) {
        return Sniffed::Download("application/gzip");
    }
    if let Some(reason) = active_markup(head) {
        return Sniffed::Refused(reason);
    }
    if is_text(head) {
        return Sniffed::Download("text/plain; charset=utf-8");
    }
    Sniffed::Download("application/octet-stream")
}

/// Markup a browser would render if it ever treated the file as a page: refused outright, whatever
/// the name says (an HTML page named `cat.png` is still an HTML page).
fn active_markup(head: &[u8]) -> Option<&'static str> {
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = text.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(text.len());
    let lead: Vec<u8> = text[start..].iter().take(64).map(u8::to_ascii_lowercase).collect();
    let has = |needle: &[u8]| head.windows(needle.len()).any(|window| window.eq_ignore_ascii_case(needle));
    if has(b"<svg") {
        return Some("SVG images can carry scripts, so Natter does not accept them; send a PNG instead.");
    }
    let html_starts: [&[u8]; 9] =
        [b"<!doctype html", b"<html", b"<head", b"<body", b"<script", b"<iframe", b"<!--", b"<meta", b"<?xml"];
    if html_starts.iter().any(|start| lead.starts_with(start)) || has(b"<script") {
        return Some("HTML and XML files are not accepted: a browser could run what is in them.");
    }
    None
}

/// UTF-8 text without control characters other than tab, newline and carriage return. The head may
/// end inside a character: a short tail of an incomplete one is allowed.
fn is_text(head: &[u8]) -> bool {
    let valid = match std::str::from_utf8(head) {
        Ok(text) => text,
        Err(error) if error.error_len().is_none() && head.len() - error.valid_up_to() < 4 => {
            std::str::from_utf8(&head[..error.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return false,
    };
    !valid.is_empty() && valid.chars().all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'))
}

/// Width and height from an image's header, so the page can reserve its space; `None` if the header
/// is not where the format puts it.
pub(crate) fn image_size(content_type: &str, head: &[u8]) -> Option<(u32, u32)> {
    let be16 = |at: usize| Some(u16::from_be_bytes([*head.get(at)?, *head.get(at + 1)?]) as u32);
    let le16 = |at: usize| Some(u16::from_le_bytes([*head.get(at)?, *head.get(at + 1)?]) as u32);
    let be32 = |at: usize| Some(u32::from_be_bytes(head.get(at..at + 4)?.try_into().ok()?));
    let le24 = |at: usize| Some(u32::from_le_bytes([*head.get(at)?, *head.get(at + 1)?, *head.get(at + 2)?, 0]));
    match content_type {
        "image/png" => Some((be32(16)?, be32(20)?)),
        "image/gif" => Some((le16(6)?, le16(8)?)),
        "image/webp" => match head.get(12..16)? {
            b"VP8 " => Some((le16(26)? & 0x3FFF, le16(28)? & 0x3FFF)),
            b"VP8L" => {
                let bits = u32::from_le_bytes(head.get(21..25)?.try_into().ok()?);
                Some(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
            }
            b"VP8X" => Some((le24(24)? + 1, le24(27)? + 1)),
            _ => None,
        },
        "image/jpeg" => {
            // Walk the segments to the first start-of-frame marker.
            let mut at = 2;
            while at + 9 < head.len() {
                if head[at] != 0xFF {
                    return None;
                }
                let marker = head[at + 1];
                let length = be16(at + 2)? as usize;
                if matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
                    return Some((be16(at + 7)?, be16(at + 5)?));
                }
                at += 2 + length;
            }
            None
        }
        _ => None,
    }
    .filter(|&(width, height)| width > 0 && height > 0)
}

/// Longest kept file name, in characters.
const MAX_NAME_CHARS: usize = 120;

/// The user's file name as metadata: only its last path component, without control, invisible or
/// path characters, at most 120 characters; "file" when nothing is left.
pub(crate) fn clean_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| {
            !c.is_control()
                && !matches!(c, '"' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        })
        .take(MAX_NAME_CHARS)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim();
    if cleaned.is_empty() {
        "file".to_owned()
    } else {
        cleaned.to_owned()
    }
}

/// `Content-Disposition` for serving a file: inline for images, a download otherwise, with the name
/// in RFC 5987 form (and an ASCII fallback) so no character of it can break the header.
pub(crate) fn content_disposition(name: &str, inline: bool) -> String {
    let fallback: String =
        name.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' }).collect();
    let encoded = crate::text::url_encoding::percent_encode(name);
    let kind = if inline { "inline" } else { "attachment" };
    format!("{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 3×2 PNG header (signature, IHDR length and type, width, height).
    fn png_head() -> Vec<u8> {
        let mut head = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        head.extend_from_slice(&3u32.to_be_bytes());
        head.extend_from_slice(&2u32.to_be_bytes());
        head.extend_from_slice(&[8, 6, 0, 0, 0]);
        head
    }

    #[test]
    fn types_come_from_the_bytes_not_the_name() {
        assert_eq!(sniff(&png_head()), Sniffed::Image("image/png"));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]), Sniffed::Image("image/jpeg"));
        assert_eq!(sniff(b"GIF89a\x01\0\x01\0"), Sniffed::Image("image/gif"));
        assert_eq!(sniff(b"RIFF\x24\0\0\0WEBPVP8 "), Sniffed::Image("image/webp"));
        assert_eq!(sniff(b"%PDF-1.7\n"), Sniffed::Download("application/pdf"));
        assert_eq!(sniff(b"PK\x03\x04rest"), Sniffed::Download("application/zip"));
        assert_eq!(sniff("notes: café\n".as_bytes()), Sniffed::Download("text/plain; charset=utf-8"));
        assert_eq!(sniff(b"\0\x01\x02binary"), Sniffed::Download("application/octet-stream"));
        assert_eq!(sniff(b""), Sniffed::Download("application/octet-stream"));
    }

    #[test]
    fn markup_a_browser_would_run_is_refused() {
        for page in [
            &b"<!DOCTYPE html><p>hi"[..],
            b"\xEF\xBB\xBF  <html><script>alert(1)</script>",
            b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
            b"<?xml version='1.0'?><svg/>",
            b"hello <script>alert(1)</script>",
            b"  <IFRAME src=x>",
        ] {
            assert!(matches!(sniff(page), Sniffed::Refused(_)), "{}", String::from_utf8_lossy(page));
        }
        assert!(matches!(sniff(b"a < b and c > d"), Sniffed::Download(_)), "a less-than sign is not markup");
    }

    #[test]
    fn image_sizes_are_read_from_each_formats_header() {
        assert_eq!(image_size("image/png", &png_head()), Some((3, 2)));
        assert_eq!(image_size("image/gif", b"GIF89a\x05\0\x07\0"), Some((5, 7)));
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00];
        jpeg.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x11, 0x08, 0x00, 0x20, 0x00, 0x40, 0x03]);
        assert_eq!(image_size("image/jpeg", &jpeg), Some((64, 32)));
        let mut webp = b"RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0\0\0\0\0".to_vec();
        webp.extend_from_slice(&[99, 0, 0, 49, 0, 0]);
        assert_eq!(image_size("image/webp", &webp), Some((100, 50)));
        assert_eq!(image_size("image/png", b"\x89PNG"), None, "a cut header gives no size");
        assert_eq!(image_size("image/jpeg", &[0xFF, 0xD8, 0x00]), None);
    }

    #[test]
    fn file_names_are_metadata_only_never_a_path() {
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("C:\\Users\\me\\report.pdf"), "report.pdf");
        assert_eq!(clean_name("..."), "file");
        assert_eq!(clean_name(".hidden"), "hidden");
        assert_eq!(clean_name("a\u{202E}gnp.exe"), "agnp.exe");
        assert_eq!(clean_name("line\nbreak\".png"), "linebreak.png");
        assert_eq!(clean_name(""), "file");
        assert_eq!(clean_name(&"x".repeat(500)).chars().count(), MAX_NAME_CHARS);
    }

    #[test]
    fn the_disposition_header_cannot_be_broken_by_a_name() {
        assert_eq!(
            content_disposition("café \"menu\".pdf", false),
            "attachment; filename=\"caf_ _menu_.pdf\"; filename*=UTF-8''caf%C3%A9%20%22menu%22.pdf"
        );
        assert!(content_disposition("cat.png", true).starts_with("inline; "));
        assert!(!content_disposition("a\r\nSet-Cookie: x", false).contains('\n'));
    }
}
