//! The client's address behind load balancers and reverse proxies. Natter sees the TCP peer; when
//! that peer is one of `server.trusted_proxies`, the client is the one the proxy names in the
//! `Forwarded` header (RFC 7239, `for=`) or else `X-Forwarded-For`. [`ClientAddress`] is the one
//! extractor (and [`client_address`] the one rule) behind every per-address limit.
//!
//! Both headers are lists that each proxy appends to, so everything left of what our own proxies
//! wrote is whatever the client chose to send. The list is therefore read from the right, passing
//! over hops that are themselves trusted proxies; the first address that is not one is the client.
//! Anything odd (an unreadable header, an entry that names no address) never fails a request: it
//! ends the walk at the nearest proxy we know, at worst the peer itself.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::FORWARDED;
use axum::http::request::Parts;
use axum::http::HeaderMap;

use crate::error::AppError;
use crate::server::AppState;

/// An address or a CIDR range (`192.0.2.7`, `10.0.0.0/8`, `fd00::/8`), as the settings name
/// proxies and scrapers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct IpRange {
    network: IpAddr,
    prefix: u8,
}

#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not an IP address or CIDR range: {1}")]
pub struct BadRange(String, &'static str);

impl FromStr for IpRange {
    type Err = BadRange;

    fn from_str(text: &str) -> Result<Self, BadRange> {
        let bad = |why| BadRange(text.to_owned(), why);
        let (address, prefix) = match text.trim().split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text.trim(), None),
        };
        let network: IpAddr = address.parse().map_err(|_| bad("expected an address like 10.0.0.1 or fd00::1"))?;
        let bits = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(prefix) => prefix.parse::<u8>().ok().filter(|p| *p <= bits).ok_or_else(|| bad("bad prefix length"))?,
        };
        let range = Self { network, prefix };
        // 10.1.2.3/8 is most likely a slip for 10.0.0.0/8 or 10.1.2.3: refuse rather than guess.
        if host_bits(network, prefix) != 0 {
            return Err(bad("bits are set after the prefix length"));
        }
        Ok(range)
    }
}

impl TryFrom<String> for IpRange {
    type Error = BadRange;

    fn try_from(text: String) -> Result<Self, BadRange> {
        text.parse()
    }
}

/// The bits of `address` after the first `prefix`.
fn host_bits(address: IpAddr, prefix: u8) -> u128 {
    let (value, bits) = as_bits(address);
    let kept = u32::from(bits - prefix);
    if kept == 0 {
        0
    } else {
        value & (u128::MAX >> (128 - kept))
    }
}

fn as_bits(address: IpAddr) -> (u128, u8) {
    match address {
        IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32),
        IpAddr::V6(v6) => (u128::from(v6), 128),
    }
}

impl IpRange {
    /// Whether `address` is in the range. An IPv4 client of a dual-stack listener arrives as
    /// `::ffff:a.b.c.d`; it matches IPv4 ranges like the plain address would.
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = match (self.network, address.to_canonical()) {
            (IpAddr::V6(_), IpAddr::V4(v4)) => IpAddr::V6(v4.to_ipv6_mapped()),
            (_, address) => address,
        };
        let ((network, bits), (value, same_bits)) = (as_bits(self.network), as_bits(address));
        if bits != same_bits {
            return false;
        }
        let shift = u32::from(bits - self.prefix);
        shift >= u32::from(bits) || (network ^ value) >> shift == 0
    }
}

/// Whether any of `ranges` holds `address`.
pub(crate) fn any_contains(ranges: &[IpRange], address: IpAddr) -> bool {
    ranges.iter().any(|range| range.contains(address))
}

/// The client's address (the TCP peer, or the client a trusted proxy names), for per-address limits.
/// Refused with a logged 500 only if the server was started without connection info, which
/// `Server::run` never does.
pub(crate) struct ClientAddress(pub IpAddr);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        of_request(parts, &state.settings.trusted_proxies)
            .map(Self)
            .ok_or_else(|| AppError::internal("client address", &"the request carries no peer address"))
    }
}

/// The TCP peer of a request, if the server recorded it.
pub(crate) fn peer(parts: &Parts) -> Option<IpAddr> {
    parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip().to_canonical())
}

/// [`client_address`] of a request, if the server recorded its peer.
pub(crate) fn of_request(parts: &Parts, trusted_proxies: &[IpRange]) -> Option<IpAddr> {
    peer(parts).map(|peer| client_address(peer, &parts.headers, trusted_proxies))
}

/// The client's address: `peer` itself, unless `peer` is a trusted proxy; then the right-most
/// address in its `Forwarded` `for=` list (or, when that header has no `for=`, in
/// `X-Forwarded-For`) that is not a trusted proxy too. A header that cannot be read counts as
/// absent; an entry naming no address (`unknown`, an obfuscated `_name`, garbage) ends the walk at
/// the last trusted hop passed (that proxy is all we know of where the request came from).
pub(crate) fn client_address(peer: IpAddr, headers: &HeaderMap, trusted_proxies: &[IpRange]) -> IpAddr {
    let peer = peer.to_canonical();
    if !any_contains(trusted_proxies, peer) {
        return peer;
    }
    let mut nearest = peer;
    for hop in recorded_hops(headers).unwrap_or_default().into_iter().rev() {
        match hop {
            Hop::Address(address) if any_contains(trusted_proxies, address) => nearest = address,
            Hop::Address(address) => return address,
            Hop::Unnamed => return nearest,
        }
    }
    // Every hop was one of ours: the left-most is where the request started.
    nearest
}

/// One entry of a forwarding list.
#[derive(Debug, PartialEq, Eq)]
enum Hop {
    Address(IpAddr),
    /// `unknown`, an obfuscated identifier (`_hidden`), a `Forwarded` element without `for=`
    /// beside others with one, or garbage.
    Unnamed,
}

/// A forwarding header we cannot read as a list.
struct Malformed;

/// The hops the request's forwarding headers list, oldest first: `Forwarded`'s when it has any
/// `for=`, else `X-Forwarded-For`'s.
fn recorded_hops(headers: &HeaderMap) -> Result<Vec<Hop>, Malformed> {
    if let Some(forwarded) = joined(headers, FORWARDED.as_str())? {
        let hops = forwarded_hops(&forwarded)?;
        // A proxy that only reports the scheme (`proto=https`) leaves the address to X-Forwarded-For.
        if hops.iter().any(Option::is_some) {
            return Ok(hops.into_iter().map(|hop| hop.unwrap_or(Hop::Unnamed)).collect());
        }
    }
    let Some(list) = joined(headers, "x-forwarded-for")? else { return Ok(Vec::new()) };
    Ok(list.split(',').map(str::trim).filter(|entry| !entry.is_empty()).map(|entry| node(unquote(entry))).collect())
}

/// Every value of the header `name`, in order, as one comma-separated list (what several header
/// lines mean for a list header).
fn joined(headers: &HeaderMap, name: &str) -> Result<Option<String>, Malformed> {
    let values: Vec<&str> =
        headers.get_all(name).iter().map(|value| value.to_str().map_err(|_| Malformed)).collect::<Result<_, _>>()?;
    Ok((!values.is_empty()).then(|| values.join(",")))
}

/// The `for=` node of each element of a `Forwarded` value (`None` for an element without one).
fn forwarded_hops(value: &str) -> Result<Vec<Option<Hop>>, Malformed> {
    let mut hops = Vec::new();
    for element in split_outside_quotes(value, ',')?.into_iter().filter(|element| !element.trim().is_empty()) {
        hops.push(parameter(element, "for")?.map(|value| node(&value)));
    }
    Ok(hops)
}

/// The value of parameter `name` in one `Forwarded` element (`for=…;proto=…;by=…`), unquoted;
/// malformed if any of its pairs is not `name=value`.
fn parameter(element: &str, name: &str) -> Result<Option<String>, Malformed> {
    let mut found = None;
    for pair in split_outside_quotes(element, ';')?.into_iter().map(str::trim).filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').ok_or(Malformed)?;
        if found.is_none() && key.trim().eq_ignore_ascii_case(name) {
            found = Some(unquote(value.trim()).replace('\\', ""));
        }
    }
    Ok(found)
}

/// `text` cut at each `separator` that is not inside a quoted string; malformed if a quote is left
/// open.
fn split_outside_quotes(text: &str, separator: char) -> Result<Vec<&str>, Malformed> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (at, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == separator && !quoted => {
                parts.push(&text[start..at]);
                start = at + c.len_utf8();
            }
            _ => {}
        }
    }
    if quoted {
        return Err(Malformed);
    }
    parts.push(&text[start..]);
    Ok(parts)
}

fn unquote(value: &str) -> &str {
    value.strip_prefix('"').and_then(|rest| rest.strip_suffix('"')).unwrap_or(value)
}

/// A node as proxies write it: `192.0.2.7`, `192.0.2.7:4711`, `[2001:db8::1]`, `[2001:db8::1]:4711`
/// (and a bare IPv6 address, which RFC 7239 does not allow but some proxies send).
fn node(value: &str) -> Hop {
    let address = if let Some(bracketed) = value.strip_prefix('[') {
        bracketed
            .split_once(']')
            .filter(|(_, port)| port.is_empty() || port.starts_with(':'))
            .and_then(|(v6, _)| v6.parse::<Ipv6Addr>().ok())
            .map(IpAddr::V6)
    } else {
        value.parse::<IpAddr>().ok().or_else(|| {
            let (v4, _port) = value.split_once(':')?;
            v4.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
        })
    };
    address.map_or(Hop::Unnamed, |address| Hop::Address(address.to_canonical()))
}

/// The scheme the client used as a proxy in front reports it: `proto=` in the last `Forwarded`
/// element (the one our peer wrote), else the last `X-Forwarded-Proto` value. Whether to believe it
/// is the caller's decision (`identity::is_https`).
pub(crate) fn forwarded_proto(headers: &HeaderMap) -> Option<String> {
    let from_forwarded = joined(headers, FORWARDED.as_str()).ok().flatten().and_then(|forwarded| {
        let elements = split_outside_quotes(&forwarded, ',').ok()?;
        let last = elements.into_iter().rev().find(|element| !element.trim().is_empty())?;
        parameter(last, "proto").ok().flatten()
    });
    from_forwarded.or_else(|| {
        let list = joined(headers, "x-forwarded-proto").ok().flatten()?;
        list.rsplit(',').map(str::trim).find(|proto| !proto.is_empty()).map(str::to_owned)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ranges(list: &[&str]) -> Vec<IpRange> {
        list.iter().map(|range| range.parse().unwrap()).collect()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    /// The client seen through the proxy 10.0.0.1 (trusted, with everything in 10.0.0.0/8).
    fn through_proxy(pairs: &[(&'static str, &str)]) -> IpAddr {
        client_address(ip("10.0.0.1"), &headers(pairs), &ranges(&["10.0.0.0/8"]))
    }

    #[test]
    fn ranges_parse_addresses_and_cidr_blocks_and_refuse_slips() {
        assert!(ranges(&["10.0.0.0/8"])[0].contains(ip("10.200.3.4")));
        assert!(!ranges(&["10.0.0.0/8"])[0].contains(ip("11.0.0.1")));
        assert!(ranges(&["192.0.2.7"])[0].contains(ip("192.0.2.7")));
        assert!(!ranges(&["192.0.2.7"])[0].contains(ip("192.0.2.8")));
        assert!(ranges(&["fd00::/8"])[0].contains(ip("fd12:3456::1")));
        assert!(!ranges(&["fd00::/8"])[0].contains(ip("10.0.0.1")));
        assert!(ranges(&["0.0.0.0/0"])[0].contains(ip("203.0.113.9")));
        assert!(ranges(&["::/0"])[0].contains(ip("2001:db8::1")));
        for bad in ["10.1.2.3/8", "10.0.0.0/33", "fd00::/129", "example.com", "10.0.0.0/", "", "10.0.0.0/x"] {
            assert!(bad.parse::<IpRange>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_ipv4_peer_of_a_dual_stack_listener_matches_ipv4_ranges() {
        assert!(ranges(&["10.0.0.0/8"])[0].contains(ip("::ffff:10.0.0.1")));
        let mapped = client_address(ip("::ffff:10.0.0.1"), &headers(&[]), &ranges(&["10.0.0.0/8"]));
        assert_eq!(mapped, ip("10.0.0.1"));
    }

    #[test]
    fn forwarding_headers_from_an_untrusted_peer_are_ignored() {
        let spoofed = headers(&[("x-forwarded-for", "203.0.113.9"), ("forwarded", "for=203.0.113.9")]);
        assert_eq!(client_address(ip("198.51.100.1"), &spoofed, &ranges(&["10.0.0.0/8"])), ip("198.51.100.1"));
        assert_eq!(client_address(ip("198.51.100.1"), &spoofed, &[]), ip("198.51.100.1"), "nothing trusted by default");
    }

    #[test]
    fn a_trusted_proxy_names_the_client_in_x_forwarded_for() {
        assert_eq!(through_proxy(&[("x-forwarded-for", "203.0.113.9")]), ip("203.0.113.9"));
        assert_eq!(through_proxy(&[("x-forwarded-for", "2001:db8::7")]), ip("2001:db8::7"));
        assert_eq!(through_proxy(&[("x-forwarded-for", "203.0.113.9:4711")]), ip("203.0.113.9"), "with a port");
        assert_eq!(through_proxy(&[("x-forwarded-for", "[2001:db8::7]:4711")]), ip("2001:db8::7"));
        assert_eq!(through_proxy(&[]), ip("10.0.0.1"), "no header: the proxy itself");
    }

    #[test]
    fn forwarded_for_takes_ipv4_and_bracketed_ipv6_with_or_without_ports() {
        assert_eq!(through_proxy(&[("forwarded", "for=192.0.2.60;proto=http;by=203.0.113.43")]), ip("192.0.2.60"));
        assert_eq!(through_proxy(&[("forwarded", "for=\"192.0.2.60:4711\"")]), ip("192.0.2.60"));
        assert_eq!(through_proxy(&[("forwarded", "For=\"[2001:db8:cafe::17]:4711\"")]), ip("2001:db8:cafe::17"));
        assert_eq!(through_proxy(&[("forwarded", "for=\"[2001:db8:cafe::17]\"")]), ip("2001:db8:cafe::17"));
        assert_eq!(through_proxy(&[("forwarded", "proto=https; for = 192.0.2.61")]), ip("192.0.2.61"));
    }

    #[test]
    fn forwarded_wins_over_x_forwarded_for_unless_it_names_nobody() {
        let both = [("forwarded", "for=192.0.2.60"), ("x-forwarded-for", "203.0.113.9")];
        assert_eq!(through_proxy(&both), ip("192.0.2.60"));
        let proto_only = [("forwarded", "proto=https"), ("x-forwarded-for", "203.0.113.9")];
        assert_eq!(through_proxy(&proto_only), ip("203.0.113.9"));
    }

    #[test]
    fn the_walk_goes_right_to_left_past_trusted_hops_so_spoofed_left_entries_never_count() {
        // The client wrote the first two entries itself; our proxies appended the rest.
        let xff = [("x-forwarded-for", "127.0.0.1, 198.51.100.66, 203.0.113.9, 10.0.0.7")];
        assert_eq!(through_proxy(&xff), ip("203.0.113.9"));
        let forwarded = [("forwarded", "for=10.0.0.99, for=203.0.113.9, for=10.0.0.7")];
        assert_eq!(
            through_proxy(&forwarded),
            ip("203.0.113.9"),
            "a spoofed trusted address on the left is not reached"
        );
        // Several header lines are one list, in order.
        let lines = [("x-forwarded-for", "198.51.100.66"), ("x-forwarded-for", "203.0.113.9, 10.0.0.7")];
        assert_eq!(through_proxy(&lines), ip("203.0.113.9"));
        // A client inside the proxies' own network: every hop is trusted, the left-most started it.
        assert_eq!(through_proxy(&[("x-forwarded-for", "10.9.9.9, 10.0.0.7")]), ip("10.9.9.9"));
    }

    #[test]
    fn hidden_and_unknown_clients_are_the_nearest_proxy() {
        assert_eq!(through_proxy(&[("forwarded", "for=_hidden")]), ip("10.0.0.1"));
        assert_eq!(through_proxy(&[("forwarded", "for=unknown")]), ip("10.0.0.1"));
        assert_eq!(through_proxy(&[("forwarded", "for=\"_gazonk\", for=10.0.0.7")]), ip("10.0.0.7"));
        assert_eq!(through_proxy(&[("forwarded", "for=203.0.113.9, for=unknown")]), ip("10.0.0.1"));
        assert_eq!(through_proxy(&[("x-forwarded-for", "unknown")]), ip("10.0.0.1"));
    }

    #[test]
    fn malformed_headers_fall_back_to_the_peer() {
        for (name, value) in [
            ("forwarded", "for=\"203.0.113.9"),
            ("forwarded", "for"),
            ("forwarded", "for=203.0.113.9;garbage"),
            ("x-forwarded-for", "not an address"),
            ("x-forwarded-for", "203.0.113.9.1"),
            ("x-forwarded-for", "[2001:db8::1"),
            ("x-forwarded-for", "[2001:db8::1]x"),
            ("x-forwarded-for", ",,,"),
            ("forwarded", ""),
        ] {
            assert_eq!(through_proxy(&[(name, value)]), ip("10.0.0.1"), "{name}: {value:?}");
        }
        let mut opaque = HeaderMap::new();
        opaque.insert("x-forwarded-for", HeaderValue::from_bytes(b"203.0.113.9\xff").unwrap());
        assert_eq!(client_address(ip("10.0.0.1"), &opaque, &ranges(&["10.0.0.0/8"])), ip("10.0.0.1"));
    }

    #[test]
    fn the_scheme_is_read_from_the_last_forwarded_element_or_x_forwarded_proto() {
        assert_eq!(forwarded_proto(&headers(&[("x-forwarded-proto", "https")])).as_deref(), Some("https"));
        assert_eq!(forwarded_proto(&headers(&[("x-forwarded-proto", "https, http")])).as_deref(), Some("http"));
        let forwarded = headers(&[("forwarded", "for=1.2.3.4;proto=http, for=10.0.0.7;proto=https")]);
        assert_eq!(forwarded_proto(&forwarded).as_deref(), Some("https"));
        let without = headers(&[("forwarded", "for=1.2.3.4"), ("x-forwarded-proto", "https")]);
        assert_eq!(forwarded_proto(&without).as_deref(), Some("https"));
        assert_eq!(forwarded_proto(&headers(&[])), None);
    }
}
