//! `state: drained`: a port's active TCP connections, counted from `/proc/net/tcp` and
//! `/proc/net/tcp6` as Ansible's Linux strategy counts them (addresses compared in the
//! kernel's hexadecimal spelling, IPv4 hosts also as their IPv4-mapped IPv6 address).

use std::net::{IpAddr, ToSocketAddrs};

/// The connection states Ansible counts as active by default.
pub(super) const DEFAULT_STATES: [&str; 6] = [
    "ESTABLISHED",
    "FIN_WAIT1",
    "FIN_WAIT2",
    "SYN_RECV",
    "SYN_SENT",
    "TIME_WAIT",
];

/// The kernel's code of a state name Ansible accepts in `active_connection_states`.
pub(super) fn state_id(name: &str) -> Option<&'static str> {
    Some(match name {
        "ESTABLISHED" => "01",
        "SYN_SENT" => "02",
        "SYN_RECV" => "03",
        "FIN_WAIT1" => "04",
        "FIN_WAIT2" => "05",
        "TIME_WAIT" => "06",
        _ => return None,
    })
}

/// An address family, as the file it is listed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    V4,
    V6,
}

impl Family {
    fn table(self) -> &'static str {
        match self {
            Family::V4 => "/proc/net/tcp",
            Family::V6 => "/proc/net/tcp6",
        }
    }

    /// The wildcard address (`0.0.0.0`, `::`) in the kernel's spelling.
    fn any(self) -> &'static str {
        match self {
            Family::V4 => "00000000",
            Family::V6 => "00000000000000000000000000000000",
        }
    }
}

/// How `::ffff:a.b.c.d` starts, and `::ffff:0.0.0.0`, in the kernel's spelling.
const MAPPED_PREFIX: &str = "0000000000000000FFFF0000";
const MAPPED_ANY: &str = "0000000000000000FFFF000000000000";

/// What to count: connections to `port` on one of `ips`, in one of `states`, from a peer
/// not in `exclude`.
#[derive(Debug)]
pub(super) struct Drain {
    ips: Vec<(Family, String)>,
    port: String,
    states: Vec<&'static str>,
    exclude: Vec<(Family, String)>,
}

impl Drain {
    /// Resolves `host` and the excluded hosts; `states` are names [`state_id`] knows.
    pub(super) fn new(
        host: &str,
        port: u16,
        states: &[String],
        exclude: &[String],
    ) -> Result<Drain, String> {
        let mut excluded = Vec::new();
        for h in exclude {
            excluded.extend(host_hex(h)?);
        }
        Ok(Drain {
            ips: host_hex(host)?,
            port: format!("{port:04X}"),
            states: states.iter().filter_map(|s| state_id(s)).collect(),
            exclude: excluded,
        })
    }

    /// The active connections now. A table that cannot be read counts none.
    pub(super) fn active(&self) -> usize {
        [Family::V4, Family::V6]
            .into_iter()
            .filter_map(|f| Some((f, std::fs::read_to_string(f.table()).ok()?)))
            .map(|(f, table)| table.lines().filter(|l| self.counts(f, l)).count())
            .sum()
    }

    /// Whether one line of the table is an active connection to watch.
    fn counts(&self, family: Family, line: &str) -> bool {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(local), Some(remote), Some(state)) =
            (fields.get(1), fields.get(2), fields.get(3))
        else {
            return false;
        };
        if !self.states.contains(state) {
            return false;
        }
        let (Some((local_ip, local_port)), Some((remote_ip, _))) =
            (local.split_once(':'), remote.split_once(':'))
        else {
            return false;
        };
        if local_port != self.port || self.exclude.contains(&(family, remote_ip.to_owned())) {
            return false;
        }
        let has = |ip: &str| self.ips.iter().any(|(f, i)| *f == family && i == ip);
        has(local_ip)
            || has(family.any())
            || (local_ip.starts_with(MAPPED_PREFIX) && has(MAPPED_ANY))
    }
}

/// Every address `host` resolves to in the kernel's spelling (each 32-bit word in host
/// byte order), an IPv4 address also as its IPv4-mapped IPv6 address.
fn host_hex(host: &str) -> Result<Vec<(Family, String)>, String> {
    let addrs = (host, 80)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve `{host}`: {e}"))?;
    let mut out = Vec::new();
    for a in addrs {
        match a.ip() {
            IpAddr::V4(v4) => {
                out.push((Family::V4, words(&v4.octets())));
                out.push((Family::V6, words(&v4.to_ipv6_mapped().octets())));
            }
            IpAddr::V6(v6) => out.push((Family::V6, words(&v6.octets()))),
        }
    }
    Ok(out)
}

/// Bytes in network order as the kernel prints them: each 4-byte word as a native `u32`.
fn words(bytes: &[u8]) -> String {
    bytes
        .chunks_exact(4)
        .map(|w| format!("{:08X}", u32::from_ne_bytes([w[0], w[1], w[2], w[3]])))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(host: &str, port: u16) -> Drain {
        let states: Vec<String> = DEFAULT_STATES.iter().map(|s| (*s).to_owned()).collect();
        Drain::new(host, port, &states, &[]).unwrap_or_else(|e| panic!("{e}"))
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn addresses_in_the_kernels_spelling() {
        let d = drain("127.0.0.1", 15261);
        assert_eq!(d.port, "3B9D");
        assert!(d.ips.contains(&(Family::V4, "0100007F".into())));
        assert!(
            d.ips
                .contains(&(Family::V6, "0000000000000000FFFF00000100007F".into()))
        );
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn lines_counted_by_state_port_address_and_peer() {
        let d = drain("127.0.0.1", 15261);
        // An established connection to 127.0.0.1:15261, a listener, another port.
        let est = "   1: 0100007F:3B9D 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 1 1 0 10 0 0 10 -1";
        let listen = est.replace(" 01 ", " 0A ");
        let other = est.replace(":3B9D", ":3B9E");
        assert!(d.counts(Family::V4, est));
        assert!(!d.counts(Family::V4, &listen));
        assert!(!d.counts(Family::V4, &other));
        assert!(!d.counts(Family::V4, "  sl  local_address rem_address   st"));
        // The wildcard host counts every local address; an excluded peer does not count.
        let any = drain("0.0.0.0", 15261);
        assert!(any.counts(Family::V4, &est.replace("0100007F:3B9D", "0101A8C0:3B9D")));
        let states = vec!["ESTABLISHED".to_owned()];
        let ex = Drain::new("127.0.0.1", 15261, &states, &["127.0.0.1".to_owned()])
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!ex.counts(Family::V4, est));
    }
}
