//! Addresses as the SOC sees them (browser-safe): internal or outside.

use std::net::IpAddr;

/// Whether an address is internal: private, loopback, link-local or unique-local. Assets are
/// internal whatever their address.
pub fn is_internal_address(ip: &str) -> bool {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.is_private() || v4.is_loopback() || v4.is_link_local() || v4.is_unspecified(),
        Ok(IpAddr::V6(v6)) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses() {
        for ip in ["10.1.2.3", "192.168.0.9", "172.16.5.5", "127.0.0.1", "169.254.1.1", "::1", "fd00::5", "fe80::1"] {
            assert!(is_internal_address(ip), "{ip}");
        }
        for ip in ["203.0.113.7", "8.8.8.8", "2001:db8::1", "not an address", ""] {
            assert!(!is_internal_address(ip), "{ip}");
        }
    }
}
