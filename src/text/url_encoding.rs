//! Percent-encoding for query values and RFC 5987 header parameters: every byte but RFC 3986's
//! unreserved characters (`A-Z a-z 0-9 - . _ ~`) becomes `%XX`.

/// Byte by byte, so non-ASCII text goes as its UTF-8 bytes, which is what both query strings and
/// RFC 5987's `UTF-8''` parameters expect.
pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (byte as char).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_unreserved_characters_stay_as_they_are() {
        assert_eq!(super::percent_encode("a-Z.9_~"), "a-Z.9_~");
        assert_eq!(super::percent_encode("café \"x\"&q=1/"), "caf%C3%A9%20%22x%22%26q%3D1%2F");
    }
}
