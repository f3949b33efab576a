//! The `ipaddr` family (ansible.utils): `ipaddr`, `ipv4`, `ipv6`, `ipwrap`, `ipmath`,
//! `ipsubnet`, `network_in_usable`, on top of `ipnet`.

use std::net::IpAddr;

use ipnet::IpNet;
use minijinja::value::ValueKind;
use minijinja::{Environment, Error, Value};

use super::{invalid, string_of};

pub(super) fn register(env: &mut Environment<'static>) {
    super::strict::add(env, "ipaddr", |v: Value, q: Option<Value>| {
        filter_ip(v, q, None)
    });
    super::strict::add(env, "ipv4", |v: Value, q: Option<Value>| {
        filter_ip(v, q, Some(4))
    });
    super::strict::add(env, "ipv6", |v: Value, q: Option<Value>| {
        filter_ip(v, q, Some(6))
    });
    super::strict::add(env, "ipwrap", ipwrap);
    super::strict::add(env, "ipmath", ipmath);
    super::strict::add(env, "ipsubnet", ipsubnet);
    super::strict::add(env, "network_in_usable", network_in_usable);
}

/// An address with its prefix (`192.0.2.5/24`), or a bare address as a host route.
fn parse(s: &str) -> Option<IpNet> {
    let s = s.trim();
    if let Ok(n) = s.parse::<IpNet>() {
        return Some(n);
    }
    if let Some((addr, mask)) = s.split_once('/')
        && let (Ok(IpAddr::V4(a)), Ok(IpAddr::V4(m))) =
            (addr.parse::<IpAddr>(), mask.parse::<IpAddr>())
    {
        let bits = u32::from(m);
        let len = bits.leading_ones() as u8;
        if bits.count_ones() == u32::from(len) {
            return ipnet::Ipv4Net::new(a, len).ok().map(IpNet::V4);
        }
        return None;
    }
    s.parse::<IpAddr>().ok().map(IpNet::from)
}

fn version(n: &IpNet) -> u8 {
    if matches!(n, IpNet::V4(_)) { 4 } else { 6 }
}

fn is_private(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(v) => {
            v.is_private()
                || v.is_loopback()
                || v.is_link_local()
                || (v.octets()[0] == 100 && (v.octets()[1] & 0xc0) == 64)
        }
        IpAddr::V6(v) => {
            (v.segments()[0] & 0xfe00) == 0xfc00
                || v.is_loopback()
                || (v.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

/// One value through a query; `None` when it does not pass (Ansible's `False`).
fn query_one(text: &str, query: &str, want: Option<u8>) -> Result<Option<Value>, Error> {
    let Some(n) = parse(text) else {
        return Ok(None);
    };
    if want.is_some_and(|w| w != version(&n)) {
        return Ok(None);
    }
    let has_prefix = text.contains('/');
    let addr = n.addr();
    let v = |s: String| Ok(Some(Value::from(s)));
    match query {
        "" => v(text.trim().to_owned()),
        "address" | "ip" => v(addr.to_string()),
        "host" => v(format!("{}/{}", addr, n.max_prefix_len())),
        "network" => v(n.network().to_string()),
        "netmask" => v(n.netmask().to_string()),
        "hostmask" => v(n.hostmask().to_string()),
        "broadcast" => match n {
            IpNet::V4(n4) if n4.prefix_len() < 31 => v(n4.broadcast().to_string()),
            _ => Ok(None),
        },
        "prefix" => Ok(Some(Value::from(n.prefix_len()))),
        "net" | "subnet" | "cidr" => {
            if query == "net" && !has_prefix {
                return Ok(None);
            }
            v(n.trunc().to_string())
        }
        "size" => {
            let bits = u32::from(n.max_prefix_len() - n.prefix_len());
            Ok(Some(Value::from(
                2u128.checked_pow(bits).unwrap_or(u128::MAX),
            )))
        }
        "version" => Ok(Some(Value::from(version(&n)))),
        "private" => Ok(is_private(addr).then(|| Value::from(text.trim()))),
        "public" => Ok(
            (!is_private(addr) && !addr.is_loopback() && !addr.is_multicast())
                .then(|| Value::from(text.trim())),
        ),
        "loopback" => Ok(addr.is_loopback().then(|| Value::from(text.trim()))),
        "multicast" => Ok(addr.is_multicast().then(|| Value::from(text.trim()))),
        "ipv4" | "4" => Ok((version(&n) == 4).then(|| Value::from(text.trim()))),
        "ipv6" | "6" => Ok((version(&n) == 6).then(|| Value::from(text.trim()))),
        "wrap" | "ipwrap" => v(wrap(text.trim(), &n)),
        "revdns" => v(revdns(addr)),
        "host/prefix" => {
            Ok((has_prefix && n.addr() != n.network()).then(|| Value::from(text.trim())))
        }
        "network/prefix" => {
            Ok((has_prefix && n.addr() == n.network()).then(|| Value::from(text.trim())))
        }
        other => Err(invalid(format!(
            "ipaddr: unknown filter type: {other} (not supported by dr)"
        ))),
    }
}

fn wrap(text: &str, n: &IpNet) -> String {
    if version(n) == 6 {
        match text.split_once('/') {
            Some((a, p)) => format!("[{a}]/{p}"),
            None => format!("[{text}]"),
        }
    } else {
        text.to_owned()
    }
}

fn revdns(a: IpAddr) -> String {
    match a {
        IpAddr::V4(v) => {
            let o = v.octets();
            format!("{}.{}.{}.{}.in-addr.arpa.", o[3], o[2], o[1], o[0])
        }
        IpAddr::V6(v) => {
            let hex: String = v.octets().iter().map(|b| format!("{b:02x}")).collect();
            let mut parts: Vec<String> = hex.chars().rev().map(String::from).collect();
            parts.push("ip6.arpa.".to_owned());
            parts.join(".")
        }
    }
}

fn filter_ip(v: Value, query: Option<Value>, want: Option<u8>) -> Result<Value, Error> {
    let query = query.map(|q| q.to_string()).unwrap_or_default();
    let text_of = |x: &Value| match x.kind() {
        ValueKind::String => x.as_str().map(str::to_owned),
        ValueKind::Number => x
            .as_i64()
            .map(|n| std::net::Ipv4Addr::from(n as u32).to_string()),
        _ => None,
    };
    match v.kind() {
        ValueKind::Seq | ValueKind::Iterable => {
            let mut out = Vec::new();
            for item in v.try_iter()? {
                if let Some(t) = text_of(&item)
                    && let Some(r) = query_one(&t, &query, want)?
                {
                    out.push(r);
                }
            }
            Ok(Value::from(out))
        }
        _ => match text_of(&v) {
            Some(t) => Ok(query_one(&t, &query, want)?.unwrap_or(Value::from(false))),
            None => Ok(Value::from(false)),
        },
    }
}

fn ipwrap(v: Value) -> Result<Value, Error> {
    let wrap_one = |x: Value| match x
        .as_str()
        .and_then(|s| parse(s).map(|n| wrap(s.trim(), &n)))
    {
        Some(w) => Value::from(w),
        None => x,
    };
    if matches!(v.kind(), ValueKind::Seq | ValueKind::Iterable) {
        return Ok(Value::from(v.try_iter()?.map(wrap_one).collect::<Vec<_>>()));
    }
    Ok(wrap_one(v))
}

fn ipmath(v: Value, amount: i64) -> Result<String, Error> {
    let s = string_of(&v)?;
    let addr: IpAddr = s
        .split('/')
        .next()
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| invalid(format!("You must pass a valid IP address; {s} is invalid")))?;
    Ok(match addr {
        IpAddr::V4(a) => {
            let n = i64::from(u32::from(a)) + amount;
            let n = u32::try_from(n).map_err(|_| invalid("ipmath: result is out of range"))?;
            std::net::Ipv4Addr::from(n).to_string()
        }
        IpAddr::V6(a) => {
            let n = (u128::from(a) as i128)
                .checked_add(i128::from(amount))
                .filter(|n| *n >= 0)
                .ok_or_else(|| invalid("ipmath: result is out of range"))?;
            std::net::Ipv6Addr::from(n as u128).to_string()
        }
    })
}

/// `net | ipsubnet(prefix, index)`: the index-th subnet of that size (or how many there are);
/// `addr | ipsubnet(net)`: the position of a subnet inside a larger one.
fn ipsubnet(v: Value, query: Option<Value>, index: Option<i64>) -> Result<Value, Error> {
    let s = string_of(&v)?;
    let Some(net) = parse(&s) else {
        return Ok(Value::from(false));
    };
    let Some(query) = query else {
        return Ok(Value::from(net.trunc().to_string()));
    };
    if let Some(prefix) = query
        .as_i64()
        .or_else(|| query.as_str().and_then(|q| q.parse().ok()))
    {
        let prefix = u8::try_from(prefix).map_err(|_| invalid("ipsubnet: bad prefix"))?;
        if prefix < net.prefix_len() || prefix > net.max_prefix_len() {
            return Ok(Value::from(false));
        }
        let count = 1u128 << u32::from(prefix - net.prefix_len()).min(127);
        return match index {
            None => Ok(Value::from(count.to_string())),
            Some(i) => {
                let idx = if i < 0 {
                    count as i128 + i128::from(i)
                } else {
                    i128::from(i)
                };
                if idx < 0 || idx >= count as i128 {
                    return Ok(Value::from(false));
                }
                let mut subnets = net
                    .trunc()
                    .subnets(prefix)
                    .map_err(|e| invalid(format!("ipsubnet: {e}")))?;
                Ok(subnets
                    .nth(idx as usize)
                    .map_or(Value::from(false), |n| Value::from(n.to_string())))
            }
        };
    }
    let outer = query
        .as_str()
        .and_then(parse)
        .ok_or_else(|| invalid("ipsubnet: bad network"))?;
    if !outer.contains(&net) {
        return Ok(Value::from(false));
    }
    let mut subnets = outer
        .trunc()
        .subnets(net.prefix_len())
        .map_err(|e| invalid(format!("ipsubnet: {e}")))?;
    Ok(subnets
        .position(|n| n == net.trunc())
        .map_or(Value::from(false), |i| Value::from(i as i64 + 1)))
}

fn network_in_usable(v: Value, test: String) -> Result<bool, Error> {
    let s = string_of(&v)?;
    let net = parse(&s).ok_or_else(|| invalid(format!("{s} is not a valid network")))?;
    let addr = parse(&test)
        .ok_or_else(|| invalid(format!("{test} is not a valid address")))?
        .addr();
    let first = net.network();
    let last = net.broadcast();
    let usable = match net {
        IpNet::V4(n) if n.prefix_len() < 31 => addr != first && addr != last,
        _ => true,
    };
    Ok(net.contains(&addr) && usable)
}
