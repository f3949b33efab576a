//! `pg_hba.conf` as the collection reads, compares, orders and writes it: lines are
//! comments, empty lines, `include` lines or rules; a rule's key is its connection type,
//! database, user and source (an IP network, a hostname or a keyword); sorting puts
//! comments first, the most specific sources first, then fewer databases and users, and
//! `include` lines last, and drops empty lines.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::net::IpAddr;

pub(super) const TYPES: &[&str] = &[
    "local",
    "host",
    "hostssl",
    "hostnossl",
    "hostgssenc",
    "hostnogssenc",
];
pub(super) const METHODS: &[&str] = &[
    "trust",
    "reject",
    "md5",
    "password",
    "gss",
    "sspi",
    "krb5",
    "ident",
    "peer",
    "ldap",
    "radius",
    "cert",
    "pam",
    "scram-sha-256",
];

/// Where connections come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Source {
    /// `local` rules have none.
    Local,
    /// An address and prefix length, host bits clear.
    Net(IpAddr, u8),
    /// A hostname or keyword (`samehost`, `all`, `.example.com`).
    Host(String),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Local => Ok(()),
            Source::Net(a, p) => write!(f, "{a}/{p}"),
            Source::Host(h) => f.write_str(h),
        }
    }
}

/// One line of the file.
#[derive(Debug, Clone)]
pub(super) struct Line {
    /// `None` for a comment, empty or `include` line.
    pub rule: Option<Rule>,
    /// The comment, with its `#`.
    pub comment: Option<String>,
    /// The text it was read from (written back as it was while the rule is unchanged).
    pub text: Option<String>,
    /// 1-based, 0 for a line the task adds.
    pub line_nr: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Rule {
    pub contype: String,
    pub database: String,
    pub user: String,
    pub source: Source,
    pub method: String,
    pub options: BTreeMap<String, String>,
}

fn strip_quotes(s: &str) -> &str {
    if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') {
        &s[1..s.len() - 1]
    } else {
        s
    }
}

/// Splits a line into tokens, keeping double-quoted parts whole; a `#` outside quotes starts
/// the comment, the last token (with its `#`).
pub(super) fn tokenize(s: &str) -> Result<Vec<String>, String> {
    let mut tokens = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            '#' if !quoted => {
                if !cur.trim().is_empty() {
                    tokens.push(std::mem::take(&mut cur).trim().to_owned());
                }
                let rest: String = std::iter::once('#').chain(chars.by_ref()).collect();
                tokens.push(rest);
                return Ok(tokens);
            }
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    tokens.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if quoted {
        return Err("Unterminated quote".into());
    }
    if !cur.is_empty() {
        tokens.push(cur);
    }
    Ok(tokens)
}

/// A comma list sorted (`b,a` → `a,b`), a quoted one or a regular expression as written.
pub(super) fn sorted_list(s: &str) -> String {
    if s.contains('"') || s.starts_with('/') {
        return s.to_owned();
    }
    let mut v: Vec<&str> = s.split(',').collect();
    v.sort_unstable();
    v.join(",")
}

fn mask_len(mask: &str) -> Option<(u8, bool)> {
    let ip: IpAddr = strip_quotes(mask).parse().ok()?;
    let (bits, width, v4) = match ip {
        IpAddr::V4(a) => (u128::from(u32::from(a)) << 96, 32u32, true),
        IpAddr::V6(a) => (u128::from(a), 128, false),
    };
    let ones = bits.leading_ones();
    (bits.count_ones() == ones && ones <= 128)
        .then(|| (u8::try_from(ones.min(width)).unwrap_or(0), v4))
}

/// The address field: `(source, prefix given)`; a bare IP address waits for a netmask.
fn address(a: &str) -> Result<(Source, bool), String> {
    let raw = strip_quotes(a);
    let (ip, prefix) = match raw.split_once('/') {
        Some((ip, p)) => (ip, Some(p)),
        None => (raw, None),
    };
    if let Ok(ip) = ip.parse::<IpAddr>() {
        let width: u8 = if ip.is_ipv4() { 32 } else { 128 };
        let len = match prefix {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|l| *l <= width)
                .ok_or_else(|| format!("{a} has an invalid prefix length"))?,
            None => width,
        };
        if network(ip, len) != ip {
            return Err(format!("{a} has host bits set"));
        }
        return Ok((Source::Net(ip, len), prefix.is_some()));
    }
    let ipv4ish = raw.split('.').count() == 4 && raw.split('.').all(|p| p.parse::<u8>().is_ok());
    if raw.contains([':', '\\', '/', '@', '+', ' ']) || ipv4ish {
        return Err(format!(
            "The string '{a}' is neither a valid IP address, network, hostname or keyword"
        ));
    }
    Ok((Source::Host(a.to_owned()), true))
}

fn network(ip: IpAddr, len: u8) -> IpAddr {
    match ip {
        IpAddr::V4(a) => {
            let m = if len == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(len))
            };
            IpAddr::V4((u32::from(a) & m).into())
        }
        IpAddr::V6(a) => {
            let m = if len == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(len))
            };
            IpAddr::V6((u128::from(a) & m).into())
        }
    }
}

/// `key=value` options.
pub(super) fn options(tokens: &[String]) -> Result<BTreeMap<String, String>, String> {
    let mut m = BTreeMap::new();
    for t in tokens {
        let o = strip_quotes(t);
        let Some((k, v)) = o
            .split_once('=')
            .filter(|(k, v)| !k.is_empty() && !v.is_empty())
        else {
            return Err(format!(
                "Found invalid option '{t}'. Options need to be in the format 'key=value'"
            ));
        };
        if m.insert(k.to_owned(), v.to_owned()).is_some() {
            return Err(format!(
                "The rule contains two options with the same key ('{k}')"
            ));
        }
    }
    Ok(m)
}

impl Rule {
    /// A rule from the task's fields.
    pub fn new(
        contype: &str,
        database: &str,
        user: &str,
        addr: &str,
        netmask: Option<&str>,
        method: &str,
        opts: Option<&str>,
    ) -> Result<Rule, String> {
        if !TYPES.contains(&contype) {
            return Err(format!("Unknown type {contype}"));
        }
        let source = if contype == "local" {
            Source::Local
        } else {
            let (src, has_prefix) = address(addr)?;
            match (src, netmask.filter(|m| !m.is_empty())) {
                (Source::Net(ip, _), Some(m)) if !has_prefix => {
                    let (len, v4) = mask_len(m)
                        .ok_or_else(|| format!("The string '{m}' is not a valid netmask"))?;
                    if v4 != ip.is_ipv4() {
                        return Err("Can't mix IPv4 and IPv6 netmasks and addresses".into());
                    }
                    Source::Net(network(ip, len), len)
                }
                (_, Some(_)) => {
                    return Err(
                        "Rule can't contain a netmask if address is a full CIDR or hostname".into(),
                    );
                }
                (Source::Net(..), None) if !has_prefix => {
                    return Err("If the address is a bare ip-address without a CIDR suffix, the rule needs to contain a netmask".into());
                }
                (s, None) => s,
            }
        };
        if !METHODS.contains(&method) {
            return Err(format!("Unknown method {method}"));
        }
        let options = match opts.filter(|o| !o.is_empty()) {
            Some(o) => options(&tokenize(o)?)?,
            None => BTreeMap::new(),
        };
        Ok(Rule {
            contype: contype.to_owned(),
            database: database.to_owned(),
            user: user.to_owned(),
            source,
            method: method.to_owned(),
            options,
        })
    }

    fn from_tokens(t: &[String]) -> Result<Rule, String> {
        if t.len() < 4 {
            return Err("The rule has too few symbols".into());
        }
        let contype = strip_quotes(&t[0]);
        if !TYPES.contains(&contype) {
            return Err(format!("Found an unknown connection-type {}", t[0]));
        }
        let (source, method_at) = if contype == "local" {
            (Source::Local, 3)
        } else {
            let (src, has_prefix) = address(&t[3])?;
            match src {
                Source::Net(ip, _) if !has_prefix => {
                    let (len, v4) = t.get(4).and_then(|m| mask_len(m)).ok_or_else(|| {
                        "The rule either needs a hostname, full CIDR or an IP-address and a netmask"
                            .to_owned()
                    })?;
                    if v4 != ip.is_ipv4() {
                        return Err("Can't mix IPv4 and IPv6 netmasks and addresses".into());
                    }
                    (Source::Net(network(ip, len), len), 5)
                }
                s => (s, 4),
            }
        };
        let method = strip_quotes(t.get(method_at).ok_or("The rule has too few symbols")?);
        if !METHODS.contains(&method) {
            return Err(format!("Found an unknown method: {}", t[method_at]));
        }
        Ok(Rule {
            contype: contype.to_owned(),
            database: sorted_list(&t[1]),
            user: sorted_list(&t[2]),
            source,
            method: method.to_owned(),
            options: options(&t[method_at + 1..])?,
        })
    }

    /// Same key: type, database, user, source.
    pub fn same_key(&self, o: &Rule) -> bool {
        self.contype == o.contype
            && self.database == o.database
            && self.user == o.user
            && self.source == o.source
    }

    /// The rule as a line (tab-separated, options `key=value` sorted).
    pub fn render(&self, comment: Option<&str>) -> String {
        let mut f = vec![
            self.contype.clone(),
            self.database.clone(),
            self.user.clone(),
        ];
        if self.source != Source::Local {
            f.push(self.source.to_string());
        }
        f.push(self.method.clone());
        if !self.options.is_empty() {
            f.push(self.options_text());
        }
        if let Some(c) = comment {
            f.push(c.to_owned());
        }
        f.join("\t")
    }

    pub fn options_text(&self) -> String {
        self.options
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn source_weight(&self) -> u32 {
        match &self.source {
            Source::Local => 130,
            Source::Net(IpAddr::V4(_), p) => u32::from(*p) * 4,
            Source::Net(IpAddr::V6(_), p) => u32::from(*p),
            Source::Host(h) => match h.as_str() {
                "all" => 0,
                "samehost" => 129,
                "samenet" => 96,
                h if h.starts_with('.') => 64,
                _ => 128,
            },
        }
    }

    fn db_weight(&self) -> usize {
        let d = &self.database;
        if d.starts_with('"') {
            return 3;
        }
        let list: Vec<&str> = d.split(',').collect();
        if list.contains(&"all") {
            100_000
        } else if d == "replication" {
            0
        } else if d == "samerole" || d == "samegroup" {
            2
        } else {
            3 + list.len()
        }
    }

    fn user_weight(&self) -> usize {
        if self.user.starts_with('"') {
            return 1;
        }
        let list: Vec<&str> = self.user.split(',').collect();
        if list.contains(&"all") {
            100_000
        } else {
            1 + list.len()
        }
    }

    fn source_type_weight(&self) -> u8 {
        match self.source {
            Source::Local => 3,
            Source::Net(IpAddr::V4(_), _) => 2,
            Source::Net(IpAddr::V6(_), _) => 1,
            Source::Host(_) => 0,
        }
    }
}

impl Line {
    pub fn rule(rule: Rule, comment: Option<String>) -> Line {
        Line {
            rule: Some(rule),
            comment: comment.map(|c| hashed(&c)),
            text: None,
            line_nr: 0,
        }
    }

    pub fn comment_line(comment: &str) -> Line {
        let c = hashed(comment);
        Line {
            rule: None,
            text: Some(c.clone()),
            comment: Some(c),
            line_nr: 0,
        }
    }

    /// The text written for this line.
    pub fn render(&self) -> String {
        if let Some(t) = &self.text {
            return t.clone();
        }
        match &self.rule {
            Some(r) => r.render(self.comment.as_deref()),
            None => self.comment.clone().unwrap_or_default(),
        }
    }

    fn is_include(&self) -> bool {
        self.rule.is_none() && self.text.as_deref().unwrap_or("").starts_with("include")
    }

    fn special_weight(&self) -> u8 {
        if self.comment.is_some() {
            1
        } else if self.is_include() {
            90
        } else {
            99
        }
    }

    /// The same line for `state`: the same key, or the same comment.
    pub fn same(&self, o: &Line) -> bool {
        match (&self.rule, &o.rule) {
            (Some(a), Some(b)) => a.same_key(b),
            (None, None) => match (&self.comment, &o.comment) {
                (Some(a), Some(b)) => a == b,
                _ => self.text == o.text,
            },
            _ => false,
        }
    }

    /// The same key, method and options.
    pub fn identical(&self, o: &Line) -> bool {
        self.same(o)
            && match (&self.rule, &o.rule) {
                (Some(a), Some(b)) => a.method == b.method && a.options == b.options,
                _ => true,
            }
    }

    /// The collection's `PgHbaRule.__lt__`.
    fn less(&self, o: &Line) -> bool {
        let (a, b) = match (&self.rule, &o.rule) {
            (None, None) => {
                let (x, y) = (self.special_weight(), o.special_weight());
                if x != y {
                    return x < y;
                }
                return match (self.line_nr, o.line_nr) {
                    (0, 0) => self.render() < o.render(),
                    (0, _) | (_, 0) => self.line_nr > o.line_nr,
                    (x, y) => x < y,
                };
            }
            (None, Some(_)) => return !self.is_include() && self.comment.is_some(),
            (Some(_), None) => return o.is_include() && o.comment.is_none(),
            (Some(a), Some(b)) => (a, b),
        };
        let (x, y) = (a.source_weight(), b.source_weight());
        if x != y {
            return x > y;
        }
        let (x, y) = (a.db_weight(), b.db_weight());
        if x != y {
            return x < y;
        }
        let (x, y) = (a.user_weight(), b.user_weight());
        if x != y {
            return x < y;
        }
        let (x, y) = (a.source_type_weight(), b.source_type_weight());
        if x != y {
            return x > y;
        }
        match (&a.source, &b.source) {
            (Source::Net(p, l), Source::Net(q, m)) if (p, l) != (q, m) => return (p, l) < (q, m),
            (Source::Host(p), Source::Host(q)) if p != q => return p < q,
            _ => {}
        }
        self.render() < o.render()
    }
}

fn hashed(c: &str) -> String {
    let c = c.trim();
    if c.starts_with('#') {
        c.to_owned()
    } else {
        format!("#{c}")
    }
}

/// Reads the file's lines (a `\` at the end of a line continues it).
pub(super) fn parse(text: &str) -> Result<Vec<Line>, String> {
    let mut lines = Vec::new();
    let raw: Vec<&str> = text.split('\n').collect();
    let mut i = 0;
    while i < raw.len() {
        let nr = i + 1;
        let mut line = raw[i].to_owned();
        while line.ends_with('\\') {
            i += 1;
            let next = raw
                .get(i)
                .ok_or("The last line ended with a '\\' (line continuation).")?;
            line.push('\n');
            line.push_str(next);
        }
        i += 1;
        let trimmed = line.trim();
        let (rule, comment) = if trimmed.starts_with('#') {
            (None, Some(trimmed.to_owned()))
        } else if trimmed.is_empty() {
            (None, None)
        } else {
            let mut t = tokenize(&line.replace("\\\n", ""))
                .map_err(|e| format!("Error in line {nr}: {e}"))?;
            let comment = t.last().filter(|l| l.starts_with('#')).cloned();
            if comment.is_some() {
                t.pop();
            }
            if t.first().is_some_and(|f| f.starts_with("include")) {
                (None, comment)
            } else {
                let r = Rule::from_tokens(&t).map_err(|e| format!("Error in line {nr}: {e}"))?;
                (Some(r), comment)
            }
        };
        lines.push(Line {
            rule,
            comment,
            text: Some(line),
            line_nr: nr,
        });
    }
    Ok(lines)
}

/// Sorts as the collection does, dropping empty lines.
pub(super) fn sort(lines: &mut Vec<Line>) {
    lines.retain(|l| l.rule.is_some() || l.comment.is_some() || l.is_include());
    lines.sort_by(|a, b| {
        if a.less(b) {
            Ordering::Less
        } else if b.less(a) {
            Ordering::Greater
        } else {
            Ordering::Equal
        }
    });
}

/// The file's text.
pub(super) fn render(lines: &[Line]) -> String {
    lines
        .iter()
        .map(Line::render)
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "# TYPE DATABASE USER ADDRESS METHOD\nlocal all postgres peer\nhost all all 0.0.0.0/0 scram-sha-256 # anywhere\n\nhost  app,billing  app  10.1.0.0 255.255.0.0  md5\nhostssl all all samehost cert clientcert=verify-full\ninclude extra.conf\n";

    #[test]
    fn a_file_reads_into_rules_comments_and_includes() {
        let lines = parse(FILE).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(lines.len(), 8);
        let r = lines[4].rule.clone().unwrap_or_else(|| panic!("a rule"));
        assert_eq!(
            r.source,
            Source::Net("10.1.0.0".parse().unwrap_or_else(|e| panic!("{e}")), 16)
        );
        assert_eq!(r.database, "app,billing");
        assert_eq!(lines[2].comment.as_deref(), Some("# anywhere"));
        assert_eq!(
            lines[5].rule.as_ref().map(|r| r.options_text()),
            Some("clientcert=verify-full".into())
        );
        assert!(lines[6].rule.is_none());
        // Unchanged lines are written back as they were.
        assert_eq!(render(&lines), FILE);
        assert!(parse("host all all 10.0.0.1/8 md5").is_err_and(|e| e.contains("host bits")));
        assert!(parse("host all all 10.0.0.1 md5").is_err());
        assert!(parse("host all all x fly").is_err_and(|e| e.contains("unknown method")));
        assert!(parse("local \"all md5").is_err_and(|e| e.contains("Unterminated quote")));
    }

    #[test]
    fn sorting_puts_comments_first_specific_sources_first_and_includes_last() {
        let mut lines = parse(FILE).unwrap_or_else(|e| panic!("{e}"));
        sort(&mut lines);
        let order: Vec<String> = lines.iter().map(Line::render).collect();
        assert_eq!(
            order,
            vec![
                "# TYPE DATABASE USER ADDRESS METHOD",
                "local all postgres peer",
                "hostssl all all samehost cert clientcert=verify-full",
                "host  app,billing  app  10.1.0.0 255.255.0.0  md5",
                "host all all 0.0.0.0/0 scram-sha-256 # anywhere",
                "include extra.conf",
            ]
        );
        let mut two = vec![
            Line::rule(
                Rule::new("host", "all", "all", "10.0.0.0/8", None, "md5", None)
                    .unwrap_or_else(|e| panic!("{e}")),
                None,
            ),
            Line::rule(
                Rule::new(
                    "host",
                    "db1",
                    "all",
                    "10.0.0.0",
                    Some("255.0.0.0"),
                    "md5",
                    None,
                )
                .unwrap_or_else(|e| panic!("{e}")),
                Some("ops".into()),
            ),
        ];
        sort(&mut two);
        assert_eq!(two[0].render(), "host\tdb1\tall\t10.0.0.0/8\tmd5\t#ops");
    }

    #[test]
    fn task_rules_are_checked_as_the_collection_checks_them() {
        assert!(Rule::new("host", "all", "all", "10.0.0.1", None, "md5", None).is_err());
        assert!(
            Rule::new(
                "host",
                "all",
                "all",
                "10.0.0.0/8",
                Some("255.0.0.0"),
                "md5",
                None
            )
            .is_err()
        );
        assert!(Rule::new("host", "all", "all", "::1", Some("255.0.0.0"), "md5", None).is_err());
        assert!(
            Rule::new(
                "local",
                "all",
                "all",
                "ignored",
                None,
                "peer",
                Some("map=x")
            )
            .is_ok()
        );
        assert!(Rule::new("host", "all", "all", "samenet", None, "md5", Some("bad")).is_err());
        assert_eq!(sorted_list("b,a"), "a,b");
        assert_eq!(sorted_list("\"b,a\""), "\"b,a\"");
    }
}
