//! Ansible host ranges: `db-[01:03]` is `db-01`, `db-02`, `db-03`; `[a:c]` works on letters.

/// Expands every `[start:end]` or `[start:end:step]` in `name`. A name without a range is
/// returned as is. Returns an error text for malformed ranges.
pub fn expand(name: &str) -> Result<Vec<String>, String> {
    let Some(open) = name.find('[') else {
        return Ok(vec![name.to_owned()]);
    };
    let close = name[open..]
        .find(']')
        .map(|i| open + i)
        .ok_or_else(|| format!("unclosed `[` in host range `{name}`"))?;
    let (head, body, tail) = (&name[..open], &name[open + 1..close], &name[close + 1..]);
    let parts: Vec<&str> = body.split(':').collect();
    if parts.len() < 2 || parts.len() > 3 {
        return Err(format!(
            "host range `[{body}]` must look like `[01:10]` or `[a:f]`"
        ));
    }
    let step: usize = match parts.get(2) {
        Some(s) => s
            .parse()
            .ok()
            .filter(|s| *s > 0)
            .ok_or_else(|| format!("bad step `{s}` in host range `[{body}]`"))?,
        None => 1,
    };
    let items = numeric(parts[0], parts[1], step)
        .or_else(|| alphabetic(parts[0], parts[1], step))
        .ok_or_else(|| format!("host range `[{body}]` must be two numbers or two letters"))?;
    let mut out = Vec::new();
    for item in items {
        for rest in expand(tail)? {
            out.push(format!("{head}{item}{rest}"));
        }
    }
    Ok(out)
}

fn numeric(start: &str, end: &str, step: usize) -> Option<Vec<String>> {
    let (a, b): (u64, u64) = (start.parse().ok()?, end.parse().ok()?);
    if a > b || b - a > 100_000 {
        return None;
    }
    let width = if start.len() > 1 && start.starts_with('0') {
        start.len()
    } else {
        0
    };
    Some(
        (a..=b)
            .step_by(step)
            .map(|i| format!("{i:0width$}"))
            .collect(),
    )
}

fn alphabetic(start: &str, end: &str, step: usize) -> Option<Vec<String>> {
    let (a, b) = (single_letter(start)?, single_letter(end)?);
    (a <= b).then(|| (a..=b).step_by(step).map(|c| c.to_string()).collect())
}

fn single_letter(s: &str) -> Option<char> {
    let mut chars = s.chars();
    let c = chars.next()?;
    (chars.next().is_none() && c.is_ascii_alphabetic()).then_some(c)
}

#[cfg(test)]
mod tests {
    use super::expand;

    #[test]
    fn numeric_keeps_leading_zeros() {
        assert_eq!(expand("db-[01:03]").unwrap(), ["db-01", "db-02", "db-03"]);
    }

    #[test]
    fn letters_and_steps() {
        assert_eq!(expand("[a:e:2]x").unwrap(), ["ax", "cx", "ex"]);
    }

    #[test]
    fn plain_name_and_errors() {
        assert_eq!(expand("akira-db-01").unwrap(), ["akira-db-01"]);
        assert!(expand("db-[1:").is_err());
        assert!(expand("db-[x:1]").is_err());
    }
}
