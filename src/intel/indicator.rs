//! One indicator of compromise in its canonical form: an IP address, a network, a domain, a URL or a
//! file hash. Two spellings of the same indicator (`10.1.2.3/8` and `10.0.0.0/8`, `Evil.COM.` and
//! `evil.com`, a defanged `hxxp://evil[.]com`) parse to equal values, so an indicator can be compared,
//! hashed and stored by its [`Display`](fmt::Display) text, which parses back to itself.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Longest text [`Indicator::parse`] looks at (a URL can be long; nothing real is longer).
pub const MAX_INDICATOR_BYTES: usize = 4096;

/// What kind of indicator a value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndicatorKind {
    Ip,
    Cidr,
    Domain,
    Url,
    Hash,
}

impl IndicatorKind {
    pub const ALL: [IndicatorKind; 5] =
        [IndicatorKind::Ip, IndicatorKind::Cidr, IndicatorKind::Domain, IndicatorKind::Url, IndicatorKind::Hash];

    pub fn as_str(self) -> &'static str {
        match self {
            IndicatorKind::Ip => "ip",
            IndicatorKind::Cidr => "cidr",
            IndicatorKind::Domain => "domain",
            IndicatorKind::Url => "url",
            IndicatorKind::Hash => "hash",
        }
    }
}

impl fmt::Display for IndicatorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The algorithm of a file hash, told apart by its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HashAlgo {
    Md5,
    Sha1,
    Sha256,
}

impl HashAlgo {
    pub fn as_str(self) -> &'static str {
        match self {
            HashAlgo::Md5 => "md5",
            HashAlgo::Sha1 => "sha1",
            HashAlgo::Sha256 => "sha256",
        }
    }

    /// The name as people write it (`SHA-256`).
    pub fn label(self) -> &'static str {
        match self {
            HashAlgo::Md5 => "MD5",
            HashAlgo::Sha1 => "SHA-1",
            HashAlgo::Sha256 => "SHA-256",
        }
    }

    /// "an MD5 hash", "a SHA-1 hash", … (for reasons).
    pub fn described(self) -> &'static str {
        match self {
            HashAlgo::Md5 => "an MD5 hash",
            HashAlgo::Sha1 => "a SHA-1 hash",
            HashAlgo::Sha256 => "a SHA-256 hash",
        }
    }

    /// Hex digits of a hash of this algorithm.
    pub fn hex_len(self) -> usize {
        match self {
            HashAlgo::Md5 => 32,
            HashAlgo::Sha1 => 40,
            HashAlgo::Sha256 => 64,
        }
    }

    fn of_len(len: usize) -> Option<HashAlgo> {
        match len {
            32 => Some(HashAlgo::Md5),
            40 => Some(HashAlgo::Sha1),
            64 => Some(HashAlgo::Sha256),
            _ => None,
        }
    }
}

/// A network: its address with the host bits zero, and the prefix length (at most 32 for IPv4, 128
/// for IPv6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// The network of `addr` with `prefix` leading bits (host bits are cleared), or `None` when the
    /// prefix is longer than the address.
    pub fn new(addr: IpAddr, prefix: u8) -> Option<Cidr> {
        let network = match addr {
            IpAddr::V4(a) if prefix <= 32 => {
                let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
                IpAddr::V4((u32::from(a) & mask).into())
            }
            IpAddr::V6(a) if prefix <= 128 => {
                let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
                IpAddr::V6((u128::from(a) & mask).into())
            }
            _ => return None,
        };
        Some(Cidr { network, prefix })
    }

    /// The network of one address (a /32 or /128).
    pub fn host(addr: IpAddr) -> Cidr {
        Cidr { network: addr, prefix: max_prefix(addr) }
    }

    /// `addr/len` or a bare address (a host network). Host bits are cleared, so `10.1.2.3/8` is
    /// `10.0.0.0/8`.
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let s = s.trim();
        let Some((addr, len)) = s.split_once('/') else {
            return IpAddr::from_str(s).map(Cidr::host).map_err(|_| format!("'{}' is not an IP address", clip(s)));
        };
        let addr = IpAddr::from_str(addr).map_err(|_| format!("'{}' is not an IP address", clip(addr)))?;
        let max = max_prefix(addr);
        let prefix = match len.parse::<u8>() {
            Ok(p) if len.bytes().all(|b| b.is_ascii_digit()) && p <= max => p,
            _ => return Err(format!("'{}' is not a prefix length (0–{max})", clip(len))),
        };
        Ok(Cidr::new(addr, prefix).expect("the prefix was checked against the address family"))
    }

    pub fn network(&self) -> IpAddr {
        self.network
    }

    pub fn prefix_len(&self) -> u8 {
        self.prefix
    }

    /// Whether this is a single address (a /32 or /128).
    pub fn is_host(&self) -> bool {
        self.prefix == max_prefix(self.network)
    }

    /// Whether `ip` is inside the network. An IPv4-mapped IPv6 address (`::ffff:10.1.2.3`) counts as
    /// its IPv4 address.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        ip.is_ipv4() == self.network.is_ipv4() && Cidr::new(ip, self.prefix).is_some_and(|c| c.network == self.network)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl Serialize for Cidr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Cidr::parse(&s).map_err(serde::de::Error::custom)
    }
}

fn max_prefix(addr: IpAddr) -> u8 {
    if addr.is_ipv4() {
        32
    } else {
        128
    }
}

/// A domain name: ASCII lowercase without a trailing dot. A wildcard (`*.example.com`) stands for the
/// domain and all its subdomains.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Domain {
    name: String,
    wildcard: bool,
}

impl Domain {
    /// The name without the `*.` of a wildcard.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn is_wildcard(&self) -> bool {
        self.wildcard
    }

    /// Whether `name` is this domain, or (for a wildcard) a subdomain of it. Case and a trailing dot
    /// of `name` do not matter.
    pub fn matches(&self, name: &str) -> bool {
        let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
        name == self.name
            || (self.wildcard
                && name.strip_suffix(self.name.as_str()).is_some_and(|sub| sub.len() > 1 && sub.ends_with('.')))
    }

    fn parse(s: &str) -> Result<Domain, String> {
        let (wildcard, rest) = match s.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let name = check_hostname(rest)?;
        Ok(Domain { name, wildcard })
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.wildcard {
            f.write_str("*.")?;
        }
        f.write_str(&self.name)
    }
}

/// A host name checked and lowercased: labels of 1–63 characters of `a-z 0-9 - _`, at least two,
/// at most 253 characters, a top-level label that is not all digits (`999.1.2.3` is a bad address,
/// not a name). A trailing dot is dropped.
fn check_hostname(s: &str) -> Result<String, String> {
    let name = s.strip_suffix('.').unwrap_or(s);
    if name.is_empty() {
        return Err("the name is empty".into());
    }
    if !name.is_ascii() {
        return Err("the name has non-ASCII characters (write an international name in its xn-- form)".into());
    }
    let name = name.to_ascii_lowercase();
    if name.len() > 253 {
        return Err(format!("the name is {} characters long, more than 253", name.len()));
    }
    let labels: Vec<&str> = name.split('.').collect();
    if labels.len() < 2 {
        return Err("a domain has at least two labels (example.com)".into());
    }
    for label in &labels {
        if label.is_empty() || label.len() > 63 {
            return Err(format!("label '{}' is not 1–63 characters long", clip(label)));
        }
        if let Some(c) = label.chars().find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '-' | '_')) {
            return Err(format!("'{}' is not allowed in a domain name", c.escape_default()));
        }
    }
    if labels.last().is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit())) {
        return Err("the last label is all digits".into());
    }
    Ok(name)
}

/// Schemes a URL indicator may have.
const URL_SCHEMES: &[&str] =
    &["http", "https", "ftp", "ftps", "sftp", "tftp", "ws", "wss", "smb", "ssh", "telnet", "ldap", "ldaps", "irc"];

/// A URL with a scheme and a host; scheme and host are lowercase, the rest is kept as given.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Url {
    text: String,
    /// Byte range of the host in `text` (without IPv6 brackets).
    host: (usize, usize),
}

impl Url {
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The host: a domain name (as in the URL, a trailing dot dropped) or an IP address.
    pub fn host(&self) -> &str {
        let host = &self.text[self.host.0..self.host.1];
        host.strip_suffix('.').unwrap_or(host)
    }

    /// The scheme (`http`).
    pub fn scheme(&self) -> &str {
        &self.text[..self.text.find(':').unwrap_or(0)]
    }

    fn parse(s: &str) -> Result<Url, String> {
        let Some((scheme, rest)) = s.split_once("://") else {
            return Err("a URL starts with a scheme such as http://".into());
        };
        let scheme = scheme.to_ascii_lowercase();
        if !URL_SCHEMES.contains(&scheme.as_str()) {
            return Err(format!("scheme '{}' is not one of {}", clip(&scheme), URL_SCHEMES.join(", ")));
        }
        if let Some(c) = s.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("a URL has no '{}'", c.escape_default()));
        }
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..authority_end];
        let host_at = authority.rfind('@').map_or(0, |i| i + 1);
        let host_port = &authority[host_at..];
        let (host, port) = if let Some(v6) = host_port.strip_prefix('[') {
            let Some((addr, after)) = v6.split_once(']') else {
                return Err("the host's '[' is not closed".into());
            };
            if addr.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(format!("'{}' is not an IPv6 address", clip(addr)));
            }
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or("text after the host's ']'")?),
            };
            (addr, port)
        } else {
            match host_port.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (host_port, None),
            }
        };
        if let Some(port) = port {
            if !port.is_empty() && (!port.bytes().all(|b| b.is_ascii_digit()) || port.parse::<u16>().is_err()) {
                return Err(format!("'{}' is not a port", clip(port)));
            }
        }
        if host.is_empty() {
            return Err("the URL has no host".into());
        }
        if host.parse::<IpAddr>().is_err() {
            check_hostname(host).map_err(|e| format!("host '{}': {e}", clip(host)))?;
        }
        // Userinfo and an IPv6 host's '[' are kept before the host, the rest after it.
        let host_off = host_at + usize::from(host_port.starts_with('['));
        let host_start = scheme.len() + 3 + host_off;
        let text =
            format!("{scheme}://{}{}{}", &rest[..host_off], host.to_ascii_lowercase(), &rest[host_off + host.len()..]);
        Ok(Url { host: (host_start, host_start + host.len()), text })
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A file hash: lowercase hex of an MD5, SHA-1 or SHA-256 digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileHash {
    algo: HashAlgo,
    hex: String,
}

impl FileHash {
    pub fn algo(&self) -> HashAlgo {
        self.algo
    }

    pub fn hex(&self) -> &str {
        &self.hex
    }

    fn parse(s: &str) -> Option<FileHash> {
        let algo = HashAlgo::of_len(s.len())?;
        s.bytes().all(|b| b.is_ascii_hexdigit()).then(|| FileHash { algo, hex: s.to_ascii_lowercase() })
    }
}

impl fmt::Display for FileHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex)
    }
}

/// Why a value is not an indicator (its `Display` is the reason shown to the analyst).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IndicatorError {
    #[error("the value is empty")]
    Empty,
    #[error("the value is {len} bytes long, more than the limit of {MAX_INDICATOR_BYTES}")]
    TooLong { len: usize },
    #[error(
        "'{value}' is neither an IP address, a CIDR, a domain, a URL nor an MD5/SHA-1/SHA-256 hash{}",
        hint.as_ref().map(|h| format!(" ({h})")).unwrap_or_default()
    )]
    Unrecognised { value: String, hint: Option<String> },
    #[error("'{value}' is not a valid CIDR: {problem}")]
    BadCidr { value: String, problem: String },
    #[error("'{value}' is not a valid URL: {problem}")]
    BadUrl { value: String, problem: String },
    #[error("'{value}' is not a valid domain: {problem}")]
    BadDomain { value: String, problem: String },
    #[error("'{value}' is {found}, not {expected}")]
    WrongKind { value: String, found: String, expected: String },
}

/// An indicator of compromise in canonical form. Its JSON form is its canonical text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Indicator {
    /// One address.
    Ip(IpAddr),
    /// A network shorter than a single address ([`Indicator::parse`] makes a /32 or /128 an `Ip`).
    Cidr(Cidr),
    Domain(Domain),
    Url(Url),
    Hash(FileHash),
}

impl Indicator {
    /// Reads one value of any kind. Surrounding whitespace is ignored and defanged text is accepted
    /// (`hxxp://`, `[.]`, `(.)`, `{.}`, `[dot]`, `[:]`, `[://]`).
    pub fn parse(s: &str) -> Result<Indicator, IndicatorError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(IndicatorError::Empty);
        }
        if s.len() > MAX_INDICATOR_BYTES {
            return Err(IndicatorError::TooLong { len: s.len() });
        }
        let s = refang(s);
        let s = s.as_str();
        if has_defang(s) {
            return Err(IndicatorError::Unrecognised {
                value: clip(s),
                hint: Some("defanged text is nested in defanged text".into()),
            });
        }
        if let Ok(ip) = IpAddr::from_str(s) {
            return Ok(Indicator::Ip(ip));
        }
        if let Some(h) = FileHash::parse(s) {
            return Ok(Indicator::Hash(h));
        }
        if s.contains("://") {
            return Url::parse(s)
                .map(Indicator::Url)
                .map_err(|problem| IndicatorError::BadUrl { value: clip(s), problem });
        }
        if let Some((addr, _)) = s.split_once('/') {
            if IpAddr::from_str(addr).is_ok() {
                return match Cidr::parse(s) {
                    Ok(c) => Ok(Indicator::from_cidr(c)),
                    Err(problem) => Err(IndicatorError::BadCidr { value: clip(s), problem }),
                };
            }
        }
        let looks_like_name = s.contains('.')
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b >= 0x80 || matches!(b, b'.' | b'-' | b'_' | b'*'))
            && !s.bytes().all(|b| b.is_ascii_digit() || b == b'.');
        match Domain::parse(s) {
            Ok(d) => Ok(Indicator::Domain(d)),
            Err(problem) if looks_like_name => Err(IndicatorError::BadDomain { value: clip(s), problem }),
            Err(_) => Err(IndicatorError::Unrecognised { value: clip(s), hint: hint(s) }),
        }
    }

    /// Reads a value that must be of `kind` (a CSV `type` column, a STIX object path).
    pub fn parse_as(s: &str, kind: IndicatorKind) -> Result<Indicator, IndicatorError> {
        let found = Indicator::parse(s)?;
        let ok = found.kind() == kind
            || matches!(
                (found.kind(), kind),
                (IndicatorKind::Ip, IndicatorKind::Cidr) | (IndicatorKind::Cidr, IndicatorKind::Ip)
            );
        if ok {
            Ok(found)
        } else {
            Err(IndicatorError::WrongKind {
                value: clip(s.trim()),
                found: found.describe(),
                expected: describe_kind(kind),
            })
        }
    }

    /// The indicator of a network: an `Ip` for a single address, else a `Cidr`.
    pub fn from_cidr(c: Cidr) -> Indicator {
        if c.is_host() {
            Indicator::Ip(c.network())
        } else {
            Indicator::Cidr(c)
        }
    }

    pub fn kind(&self) -> IndicatorKind {
        match self {
            Indicator::Ip(_) => IndicatorKind::Ip,
            Indicator::Cidr(_) => IndicatorKind::Cidr,
            Indicator::Domain(_) => IndicatorKind::Domain,
            Indicator::Url(_) => IndicatorKind::Url,
            Indicator::Hash(_) => IndicatorKind::Hash,
        }
    }

    /// "an IPv4 address", "a SHA-256 hash", … (for reasons).
    pub fn describe(&self) -> String {
        match self {
            Indicator::Ip(IpAddr::V4(_)) => "an IPv4 address".into(),
            Indicator::Ip(IpAddr::V6(_)) => "an IPv6 address".into(),
            Indicator::Cidr(c) if c.network().is_ipv4() => "an IPv4 network".into(),
            Indicator::Cidr(_) => "an IPv6 network".into(),
            Indicator::Hash(h) => h.algo().described().into(),
            other => describe_kind(other.kind()),
        }
    }

    /// For an `Ip` or `Cidr`: whether `ip` is that address or inside that network. False for other
    /// kinds.
    pub fn contains_ip(&self, ip: IpAddr) -> bool {
        match self {
            Indicator::Ip(a) => a.to_canonical() == ip.to_canonical(),
            Indicator::Cidr(c) => c.contains(ip),
            _ => false,
        }
    }

    /// For a `Domain`: whether `name` is that domain or, for a wildcard, one of its subdomains. False
    /// for other kinds.
    pub fn matches_domain(&self, name: &str) -> bool {
        match self {
            Indicator::Domain(d) => d.matches(name),
            _ => false,
        }
    }
}

fn describe_kind(kind: IndicatorKind) -> String {
    match kind {
        IndicatorKind::Ip => "an IP address",
        IndicatorKind::Cidr => "a network (CIDR)",
        IndicatorKind::Domain => "a domain",
        IndicatorKind::Url => "a URL",
        IndicatorKind::Hash => "a file hash",
    }
    .into()
}

/// A hint for text that is close to one kind.
fn hint(s: &str) -> Option<String> {
    if s.bytes().all(|b| b.is_ascii_hexdigit()) && s.len() >= 16 {
        return Some(format!("{} hex digits; a hash has 32, 40 or 64", s.len()));
    }
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Some("an IPv4 address has four numbers 0–255".into());
    }
    None
}

impl fmt::Display for Indicator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Indicator::Ip(ip) => write!(f, "{ip}"),
            Indicator::Cidr(c) => write!(f, "{c}"),
            Indicator::Domain(d) => write!(f, "{d}"),
            Indicator::Url(u) => write!(f, "{u}"),
            Indicator::Hash(h) => write!(f, "{h}"),
        }
    }
}

impl FromStr for Indicator {
    type Err = IndicatorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Indicator::parse(s)
    }
}

impl Serialize for Indicator {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Indicator {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Indicator::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Defanged spellings and what they stand for.
const DEFANGS: &[(&str, &str)] =
    &[("[.]", "."), ("(.)", "."), ("{.}", "."), ("[dot]", "."), ("[DOT]", "."), ("[:]", ":"), ("[://]", "://")];

/// Undoes the usual defanging of IOCs, in one pass. Text that still holds a defanged spelling
/// afterwards (`[[.]]`) is refused by [`Indicator::parse`], so a canonical value never holds one and
/// parses back to itself.
pub fn refang(s: &str) -> String {
    let mut out = s.to_string();
    for (scheme, real) in [("hxxps", "https"), ("hxxp", "http"), ("fxp", "ftp")] {
        if out.get(..scheme.len()).is_some_and(|p| p.eq_ignore_ascii_case(scheme)) {
            let rest = &out[scheme.len()..];
            if rest.starts_with("://") || rest.starts_with("[://]") || rest.starts_with("[:]//") {
                out = format!("{real}{rest}");
                break;
            }
        }
    }
    for (fanged, real) in DEFANGS {
        if out.contains(fanged) {
            out = out.replace(fanged, real);
        }
    }
    out
}

fn has_defang(s: &str) -> bool {
    DEFANGS.iter().any(|(fanged, _)| s.contains(fanged))
}

/// A value for messages: at most 200 characters, the last of a longer value being `…`.
pub(crate) fn clip(s: &str) -> String {
    const MAX: usize = 200;
    if s.chars().nth(MAX).is_none() {
        return s.to_string();
    }
    let end = s.char_indices().nth(MAX - 1).map_or(s.len(), |(i, _)| i);
    format!("{}…", &s[..end])
}
