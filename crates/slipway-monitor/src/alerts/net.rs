//! Where alerts may be sent: a webhook's host is resolved once, every address it resolves
//! to must be global (not loopback, private, link-local, unspecified, multicast,
//! documentation, shared or reserved; IPv4-mapped and 6to4 IPv6 addresses are judged by
//! their IPv4 address) unless the rules file's `allow` list names the host or a CIDR
//! containing the address, and the connection then goes to exactly the checked addresses
//! (no second lookup that DNS rebinding could answer differently). Plain `http://` is
//! accepted only for allow-listed hosts.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};

use ipnet::IpNet;
use serde::Serialize;

use crate::{Error, Result};

/// Hosts and networks that may be reached although their addresses are not global.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct AllowList {
    /// Host names, lower case.
    pub hosts: Vec<String>,
    /// Networks (a single address is a /32 or /128).
    #[serde(serialize_with = "nets_as_text")]
    pub nets: Vec<IpNet>,
}

fn nets_as_text<S: serde::Serializer>(nets: &[IpNet], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(nets.iter().map(|n| n.to_string()))
}

impl AllowList {
    /// Parses entries: a host name, an IP address or a CIDR.
    pub fn parse(entries: &[String]) -> Result<AllowList> {
        let mut out = AllowList::default();
        for (i, e) in entries.iter().enumerate() {
            let e = e.trim();
            if let Ok(net) = e.parse::<IpNet>() {
                out.nets.push(net.trunc());
            } else if let Ok(ip) = e.parse::<IpAddr>() {
                out.nets.push(IpNet::from(ip));
            } else if !e.is_empty()
                && e.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
            {
                out.hosts.push(e.to_ascii_lowercase());
            } else {
                return Err(Error::BadInput {
                    message: format!(
                        "allow[{i}] \"{e}\": write a host name, an IP address or a CIDR such as 10.0.0.0/8"
                    ),
                });
            }
        }
        Ok(out)
    }

    /// Whether `host` is named.
    pub fn allows_host(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.hosts.contains(&host)
    }

    /// Whether `ip` lies in an allowed network.
    pub fn allows_ip(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.nets.iter().any(|n| n.contains(&ip))
    }
}

/// An IPv4-mapped IPv6 address as IPv4; anything else unchanged.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => ip,
        },
        v4 => v4,
    }
}

fn v4_global(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0                                   // "this network", 0.0.0.0 unspecified
        || a == 10                             // private
        || a == 127                            // loopback
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 169 && b == 254)              // link-local (cloud metadata lives here)
        || (a == 172 && (16..32).contains(&b)) // private
        || (a == 192 && b == 0 && c == 0)      // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2)      // documentation
        || (a == 192 && b == 88 && c == 99)    // 6to4 relay anycast (deprecated)
        || (a == 192 && b == 168)              // private
        || (a == 198 && (b == 18 || b == 19))  // benchmarking
        || (a == 198 && b == 51 && c == 100)   // documentation
        || (a == 203 && b == 0 && c == 113)    // documentation
        || a >= 224) // multicast, reserved, broadcast
}

fn v6_global(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_global(v4);
    }
    let s = ip.segments();
    // 6to4 (2002::/16) carries an IPv4 address; NAT64 (64:ff9b::/96) too.
    if s[0] == 0x2002 {
        let [a, b] = s[1].to_be_bytes();
        let [c, d] = s[2].to_be_bytes();
        return v4_global(Ipv4Addr::new(a, b, c, d));
    }
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        let [a, b] = s[6].to_be_bytes();
        let [c, d] = s[7].to_be_bytes();
        return v4_global(Ipv4Addr::new(a, b, c, d));
    }
    // Global unicast is 2000::/3; inside it, the IETF block 2001::/23 (Teredo, benchmarking,
    // ORCHID...) and documentation 2001:db8::/32 and 3fff::/20 are not global. Everything
    // else (::, ::1, ::a.b.c.d, fc00::/7, fe80::/10, fec0::/10, ff00::/8, 100::/64...) is
    // outside 2000::/3.
    (s[0] & 0xe000) == 0x2000
        && !(s[0] == 0x2001 && s[1] < 0x0200)
        && !(s[0] == 0x2001 && s[1] == 0x0db8)
        && !(s[0] == 0x3fff && s[1] < 0x1000)
}

/// Whether `ip` is a global (publicly routable) address.
pub fn is_global(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_global(v4),
        IpAddr::V6(v6) => v6_global(v6),
    }
}

/// Parses a webhook URL: http or https, a host, no credentials in it.
pub fn parse_url(s: &str) -> Result<url::Url, String> {
    let u = url::Url::parse(s.trim()).map_err(|e| format!("not a URL ({e})"))?;
    if u.scheme() != "https" && u.scheme() != "http" {
        return Err(format!("scheme \"{}\": use https", u.scheme()));
    }
    if u.host_str().is_none_or(|h| h.is_empty()) {
        return Err("the URL has no host".into());
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err("credentials in the URL are not accepted".into());
    }
    Ok(u)
}

/// A destination checked by [`check_destination`]: connect only to these addresses.
#[derive(Debug, Clone)]
pub struct Destination {
    /// The host name (or address) as written.
    pub host: String,
    /// The checked addresses, with the port.
    pub addrs: Vec<SocketAddr>,
}

/// Resolves `host:port` and refuses it unless every address is global or allow-listed.
/// `plain`: the connection is unencrypted (http), which only allow-listed hosts may use.
/// The error names the host and the address, never the URL (it may carry a secret).
pub fn check_destination(
    host: &str,
    port: u16,
    plain: bool,
    allow: &AllowList,
) -> Result<Destination, String> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => (bare, port)
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve host \"{bare}\": {e}"))?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(format!("host \"{bare}\" resolves to no address"));
    }
    let host_allowed = allow.allows_host(bare);
    let mut all_allowed = true;
    for a in &addrs {
        let allowed = host_allowed || allow.allows_ip(a.ip());
        all_allowed &= allowed;
        if !allowed && !is_global(a.ip()) {
            return Err(format!(
                "host \"{bare}\" resolves to {}, which is not a global address (loopback, private, link-local, multicast or reserved); add the host or its network to \"allow\" in the rules file to send there",
                a.ip()
            ));
        }
    }
    if plain && !all_allowed {
        return Err(format!(
            "http://{bare}: plain http is only for allow-listed hosts; use https"
        ));
    }
    Ok(Destination {
        host: bare.to_string(),
        addrs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(s: &str) -> bool {
        is_global(s.parse().unwrap())
    }

    #[test]
    fn classifies_addresses() {
        for s in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "192.0.2.1",
            "::",
            "::1",
            "fe80::1",
            "fc00::1",
            "fd12:3456::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "2002:7f00:1::",
            "64:ff9b::a00:1",
            "2001:db8::1",
            "::127.0.0.1",
        ] {
            assert!(!g(s), "{s} must not be global");
        }
        for s in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            "2002:0808:0808::",
        ] {
            assert!(g(s), "{s} must be global");
        }
    }

    #[test]
    fn refuses_loopback_unless_allowed() {
        let none = AllowList::default();
        let e = check_destination("127.0.0.1", 80, false, &none).unwrap_err();
        assert!(e.contains("not a global address"), "{e}");
        assert!(check_destination("[::ffff:127.0.0.1]", 80, false, &none).is_err());
        assert!(check_destination("localhost", 80, false, &none).is_err());
        let allow = AllowList::parse(&["127.0.0.0/8".into(), "::1".into()]).unwrap();
        assert!(check_destination("127.0.0.1", 80, true, &allow).is_ok());
        assert!(check_destination("[::ffff:127.0.0.1]", 80, true, &allow).is_ok());
        assert!(check_destination("10.0.0.1", 80, false, &allow).is_err());
        // A global address over plain http is refused; over https it is fine.
        assert!(check_destination("8.8.8.8", 80, true, &none).is_err());
        assert!(check_destination("8.8.8.8", 443, false, &none).is_ok());
        assert!(AllowList::parse(&["not a host/".into()]).is_err());
    }
}
