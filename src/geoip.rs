//! IPv4 → country from DB-IP's "IP to Country Lite" (CC BY 4.0; every page that shows its results
//! carries the link "IP Geolocation by DB-IP" to https://db-ip.com).
//!
//! The file is `start,end,country_code` per line (inclusive IPv4 ranges, no header, non-overlapping),
//! gzip-compressed. It is loaded once into three sorted arrays (≈ 4 MB for 355,800 ranges) and looked
//! up by binary search. IPv6, private, loopback and unlisted addresses have no country.

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use flate2::read::GzDecoder;

#[derive(Debug, thiserror::Error)]
pub enum GeoError {
    #[error("geolocation data {}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("geolocation data {}, line {line}: {reason}", path.display())]
    Parse { path: PathBuf, line: usize, reason: String },
}

/// A two-letter country code.
pub type CountryCode = [u8; 2];

/// The loaded ranges.
#[derive(Debug, Default)]
pub struct GeoIp {
    starts: Vec<u32>,
    ends: Vec<u32>,
    countries: Vec<CountryCode>,
}

impl GeoIp {
    /// Loads a `.csv.gz` (or plain `.csv`) file. Any malformed line fails the load with its number:
    /// the file is shipped data, so damage must be loud.
    pub fn load(path: &Path) -> Result<GeoIp, GeoError> {
        let io = |source| GeoError::Io { path: path.to_path_buf(), source };
        let file = std::fs::File::open(path).map_err(io)?;
        let reader: Box<dyn BufRead> = if path.extension().is_some_and(|e| e == "gz") {
            Box::new(BufReader::new(GzDecoder::new(file)))
        } else {
            Box::new(BufReader::new(file))
        };
        Self::from_reader(reader).map_err(|e| match e {
            ReadError::Io(source) => GeoError::Io { path: path.to_path_buf(), source },
            ReadError::Parse { line, reason } => GeoError::Parse { path: path.to_path_buf(), line, reason },
        })
    }

    /// [`load`](Self::load) once per path for the whole process (the server and the in-process test
    /// servers share one copy).
    pub fn load_shared(path: &Path) -> Result<Arc<GeoIp>, GeoError> {
        type Loaded = Mutex<Vec<(PathBuf, Arc<GeoIp>)>>;
        static CACHE: OnceLock<Loaded> = OnceLock::new();
        let cache = CACHE.get_or_init(|| Mutex::new(Vec::new()));
        let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        if let Some((_, g)) = cache.lock().unwrap_or_else(|e| e.into_inner()).iter().find(|(p, _)| *p == canonical) {
            return Ok(g.clone());
        }
        let g = Arc::new(GeoIp::load(path)?);
        cache.lock().unwrap_or_else(|e| e.into_inner()).push((canonical, g.clone()));
        Ok(g)
    }

    fn from_reader(reader: impl BufRead) -> Result<GeoIp, ReadError> {
        let mut g = GeoIp::default();
        for (i, line) in reader.lines().enumerate() {
            let line = line.map_err(ReadError::Io)?;
            let n = i + 1;
            if line.trim().is_empty() {
                continue;
            }
            let bad = |reason: String| ReadError::Parse { line: n, reason };
            let mut parts = line.split(',');
            let (Some(a), Some(b), Some(c), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
                return Err(bad(format!("expected `start,end,country`, got `{line}`")));
            };
            let start: Ipv4Addr = a.trim().parse().map_err(|_| bad(format!("`{a}` is not an IPv4 address")))?;
            let end: Ipv4Addr = b.trim().parse().map_err(|_| bad(format!("`{b}` is not an IPv4 address")))?;
            let cc = c.trim().as_bytes();
            if cc.len() != 2 || !cc.iter().all(u8::is_ascii_uppercase) {
                return Err(bad(format!("`{c}` is not a two-letter country code")));
            }
            let (start, end) = (u32::from(start), u32::from(end));
            if end < start {
                return Err(bad(format!("range end {b} is before its start {a}")));
            }
            if g.ends.last().is_some_and(|&prev| start <= prev) {
                return Err(bad(format!("range {a}–{b} overlaps or is out of order")));
            }
            g.starts.push(start);
            g.ends.push(end);
            g.countries.push([cc[0], cc[1]]);
        }
        Ok(g)
    }

    pub fn len(&self) -> usize {
        self.starts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// The country of a public IPv4 address.
    pub fn lookup(&self, ip: IpAddr) -> Option<CountryCode> {
        let IpAddr::V4(v4) = ip else { return None };
        if v4.is_private() || v4.is_loopback() || v4.is_link_local() || v4.is_unspecified() || v4.is_broadcast() {
            return None;
        }
        let x = u32::from(v4);
        // The last range starting at or before x.
        let i = self.starts.partition_point(|&s| s <= x).checked_sub(1)?;
        (x <= self.ends[i]).then_some(self.countries[i])
    }

    /// [`lookup`](Self::lookup) as a `String`.
    pub fn country(&self, ip: IpAddr) -> Option<String> {
        self.lookup(ip).map(|c| String::from_utf8_lossy(&c).into_owned())
    }

    /// Every range of a country (inclusive bounds), for drawing plausible addresses of that country.
    pub fn ranges_of(&self, country: &str) -> Vec<(u32, u32)> {
        let cc = country.as_bytes();
        (0..self.len()).filter(|&i| self.countries[i] == cc).map(|i| (self.starts[i], self.ends[i])).collect()
    }
}

enum ReadError {
    Io(std::io::Error),
    Parse { line: usize, reason: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<GeoIp, String> {
        GeoIp::from_reader(text.as_bytes()).map_err(|e| match e {
            ReadError::Io(e) => e.to_string(),
            ReadError::Parse { line, reason } => format!("line {line}: {reason}"),
        })
    }

    #[test]
    fn looks_up_inclusive_ranges() {
        let g = load("1.0.0.0,1.0.0.255,AU\n1.0.1.0,1.0.3.255,CN\n8.8.8.0,8.8.8.255,US\n").unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(g.country(ip("1.0.0.0")).as_deref(), Some("AU"));
        assert_eq!(g.country(ip("1.0.0.255")).as_deref(), Some("AU"));
        assert_eq!(g.country(ip("1.0.3.255")).as_deref(), Some("CN"));
        assert_eq!(g.country(ip("1.0.4.0")), None, "gap after a range");
        assert_eq!(g.country(ip("0.255.255.255")), None, "before the first range");
        assert_eq!(g.country(ip("8.8.8.8")).as_deref(), Some("US"));
        assert_eq!(g.country(ip("9.0.0.0")), None, "after the last range");
        assert_eq!(g.country(ip("::1")), None);
        assert_eq!(
            g.ranges_of("CN"),
            vec![(u32::from(Ipv4Addr::new(1, 0, 1, 0)), u32::from(Ipv4Addr::new(1, 0, 3, 255)))]
        );
    }

    #[test]
    fn private_addresses_have_no_country_even_if_listed() {
        let g = load("10.0.0.0,10.255.255.255,US\n").unwrap();
        assert_eq!(g.country("10.1.2.3".parse().unwrap()), None);
    }

    #[test]
    fn malformed_lines_are_named() {
        assert!(load("1.0.0.0,1.0.0.255\n").unwrap_err().contains("line 1"));
        assert!(load("1.0.0.0,1.0.0.255,AU\n1.0.0.x,1.0.1.0,CN\n").unwrap_err().contains("line 2: `1.0.0.x`"));
        assert!(load("1.0.0.0,1.0.0.255,Australia\n").unwrap_err().contains("country code"));
        assert!(load("1.0.0.9,1.0.0.1,AU\n").unwrap_err().contains("before its start"));
        assert!(load("1.0.0.0,1.0.0.255,AU\n1.0.0.7,1.0.1.0,CN\n").unwrap_err().contains("overlaps"));
    }

    #[test]
    fn loads_the_shipped_file() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/geo/ip-country.csv.gz");
        let g = GeoIp::load(&path).unwrap();
        assert_eq!(g.len(), 355_800);
        assert_eq!(g.country("1.0.0.1".parse().unwrap()).as_deref(), Some("AU"));
        assert!(GeoIp::load(Path::new("/nonexistent/x.csv.gz"))
            .unwrap_err()
            .to_string()
            .contains("/nonexistent/x.csv.gz"));
    }
}
