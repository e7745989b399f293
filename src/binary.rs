//! Little-endian binary layouts: the checked reader, and the writers of addresses and strings, that
//! the ingest bus's batches ([`crate::bus::codec`]) and the instances' shared site samples
//! ([`crate::baseline::shared`]) use.
//!
//! Every read checks its length against what is left, so damaged or hostile bytes are an error
//! naming the offset, never a panic or an allocation larger than the input.

use std::net::IpAddr;

/// Why bytes are not what they should be: where, and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("byte {at}: {what}")]
pub struct DecodeError {
    pub at: usize,
    pub what: String,
}

/// Reads values off a byte slice, front to back.
pub struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, at: 0 }
    }

    /// The offset of the next read.
    pub fn at(&self) -> usize {
        self.at
    }

    /// Bytes not read yet.
    pub fn left(&self) -> usize {
        self.bytes.len() - self.at
    }

    /// An error at the next read's offset.
    pub fn fail<T>(&self, what: impl Into<String>) -> Result<T, DecodeError> {
        self.fail_at(self.at, what)
    }

    /// An error at `at` (a value just read, found wrong).
    pub fn fail_at<T>(&self, at: usize, what: impl Into<String>) -> Result<T, DecodeError> {
        Err(DecodeError { at, what: what.into() })
    }

    pub fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], DecodeError> {
        if self.left() < n {
            return self.fail(format!("{what}: {n} bytes needed, {} left", self.left()));
        }
        let s = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(s)
    }

    pub fn u8(&mut self, what: &str) -> Result<u8, DecodeError> {
        Ok(self.take(1, what)?[0])
    }

    pub fn u16(&mut self, what: &str) -> Result<u16, DecodeError> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    pub fn u32(&mut self, what: &str) -> Result<u32, DecodeError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn u64(&mut self, what: &str) -> Result<u64, DecodeError> {
        let mut o = [0u8; 8];
        o.copy_from_slice(self.take(8, what)?);
        Ok(u64::from_le_bytes(o))
    }

    pub fn f32(&mut self, what: &str) -> Result<f32, DecodeError> {
        let b = self.take(4, what)?;
        Ok(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A string written by [`put_str`].
    pub fn str(&mut self, what: &str) -> Result<String, DecodeError> {
        let n = self.u32(what)? as usize;
        let start = self.at;
        let b = self.take(n, what)?;
        match std::str::from_utf8(b) {
            Ok(s) => Ok(s.to_string()),
            Err(_) => self.fail_at(start, format!("{what}: not UTF-8")),
        }
    }

    /// An address written by [`put_ip`].
    pub fn ip(&mut self) -> Result<IpAddr, DecodeError> {
        match self.u8("address family")? {
            4 => {
                let b = self.take(4, "IPv4 address")?;
                Ok(IpAddr::from([b[0], b[1], b[2], b[3]]))
            }
            6 => {
                let mut o = [0u8; 16];
                o.copy_from_slice(self.take(16, "IPv6 address")?);
                Ok(IpAddr::from(o))
            }
            other => self.fail_at(self.at - 1, format!("address family {other} is neither 4 nor 6")),
        }
    }
}

/// `4` and four bytes, or `6` and sixteen.
pub fn put_ip(out: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            out.push(4);
            out.extend_from_slice(&v4.octets());
        }
        IpAddr::V6(v6) => {
            out.push(6);
            out.extend_from_slice(&v6.octets());
        }
    }
}

/// The length as a `u32`, then the UTF-8 bytes.
pub fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_back_and_short_input_names_the_offset() {
        let mut out = Vec::new();
        put_ip(&mut out, "10.0.0.1".parse().unwrap());
        put_ip(&mut out, "2001:db8::1".parse().unwrap());
        put_str(&mut out, "héllo");
        out.extend_from_slice(&7u64.to_le_bytes());
        let mut r = Reader::new(&out);
        assert_eq!(r.ip().unwrap(), "10.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(r.ip().unwrap(), "2001:db8::1".parse::<IpAddr>().unwrap());
        assert_eq!(r.str("name").unwrap(), "héllo");
        assert_eq!(r.u64("count").unwrap(), 7);
        assert_eq!(r.left(), 0);
        assert_eq!(
            r.u8("more").unwrap_err(),
            DecodeError { at: out.len(), what: "more: 1 bytes needed, 0 left".into() }
        );
        let e = Reader::new(&[5]).ip().unwrap_err();
        assert_eq!((e.at, e.what.as_str()), (0, "address family 5 is neither 4 nor 6"));
    }
}
