//! Ansible host ranges: `db-[01:03]` is `db-01`, `db-02`, `db-03`; `[a:c]` works on letters;
//! `[1:9:2]` steps. The rules are those of `expand_hostname_range` in ansible-core's
//! `plugins/inventory/__init__.py`: a start with a leading zero needs an end of the same
//! width, an empty start is `0`, an end before the start gives no hosts, and letters run
//! `a`..`z` then `A`..`Z`.

const LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// More hosts than this from one name is refused (Ansible would try to build them all).
const MAX_HOSTS: usize = 1_000_000;

/// Expands every `[start:end]` or `[start:end:step]` in `name`. A name without `[` is
/// returned as is. Returns an error text for malformed ranges.
pub fn expand(name: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    if name.contains('[') {
        expand_into(name, &mut out)?;
    } else {
        out.push(name.to_owned());
    }
    Ok(out)
}

fn expand_into(line: &str, out: &mut Vec<String>) -> Result<(), String> {
    // Ansible cuts at the first `[` and the first `]`, wherever they are.
    let cut = line.replacen('[', "|", 1).replacen(']', "|", 1);
    let parts: Vec<&str> = cut.split('|').collect();
    let [head, body, tail] = parts[..] else {
        return Err(format!(
            "host range in `{line}` must be one `[start:end]` with a closing `]`"
        ));
    };
    let bounds: Vec<&str> = body.split(':').collect();
    if bounds.len() != 2 && bounds.len() != 3 {
        return Err(format!(
            "host range `[{body}]` must be begin:end or begin:end:step"
        ));
    }
    let begin = if bounds[0].is_empty() { "0" } else { bounds[0] };
    let end = bounds[1];
    let step = bounds.get(2).copied().unwrap_or("1");
    if end.is_empty() {
        return Err(format!("host range `[{body}]` must specify an end value"));
    }
    let width = if begin.starts_with('0') && begin.chars().count() > 1 {
        let width = begin.chars().count();
        if width != end.chars().count() {
            return Err(format!(
                "host range `[{body}]` must have begin and end of equal length (leading zeros set the width)"
            ));
        }
        Some(width)
    } else {
        None
    };
    let items = match (LETTERS.find(begin), LETTERS.find(end)) {
        (Some(first), Some(last)) => letters(first, last, step, body)?,
        _ => numbers(begin, end, step, body)?,
    };
    for item in items {
        let item = match width {
            Some(width) => zfill(&item, width),
            None => item,
        };
        let name = format!("{head}{item}{tail}");
        if name.contains('[') {
            expand_into(&name, out)?;
        } else {
            out.push(name);
        }
        if out.len() > MAX_HOSTS {
            return Err(format!(
                "host range in `{line}` makes more than {MAX_HOSTS} hosts"
            ));
        }
    }
    Ok(())
}

fn letters(first: usize, last: usize, step: &str, body: &str) -> Result<Vec<String>, String> {
    if first > last {
        return Err(format!("host range `[{body}]` must have begin <= end"));
    }
    let step = py_int(step)
        .filter(|s| *s != 0)
        .ok_or_else(|| format!("bad step in host range `[{body}]`"))?;
    // A negative step walks back from `first`, which is already the lowest: nothing.
    Ok(if step < 0 {
        Vec::new()
    } else {
        LETTERS[first..=last]
            .chars()
            .step_by(usize::try_from(step).unwrap_or(usize::MAX))
            .map(String::from)
            .collect()
    })
}

fn numbers(begin: &str, end: &str, step: &str, body: &str) -> Result<Vec<String>, String> {
    let (Some(begin), Some(end), Some(step)) = (py_int(begin), py_int(end), py_int(step)) else {
        return Err(format!(
            "host range `[{body}]` must be two numbers or two letters"
        ));
    };
    if step == 0 {
        return Err(format!("host range `[{body}]` has a step of zero"));
    }
    const LIMIT: i128 = 1_000_000_000_000_000_000;
    if [begin, end, step].iter().any(|n| n.abs() > LIMIT) {
        return Err(format!("host range `[{body}]` has numbers too large"));
    }
    // Python's `range(begin, end + 1, step)`.
    let stop = end + 1;
    let (span, stride) = if step > 0 {
        (stop - begin, step)
    } else {
        (begin - stop, -step)
    };
    let count = if span > 0 {
        (span + stride - 1) / stride
    } else {
        0
    };
    if count > MAX_HOSTS as i128 {
        return Err(format!(
            "host range `[{body}]` makes more than {MAX_HOSTS} hosts"
        ));
    }
    Ok((0..count).map(|k| (begin + k * step).to_string()).collect())
}

/// Python's `int(text)` for base-10 text: surrounding whitespace, a sign, and digits with
/// single underscores between them.
pub(super) fn py_int(text: &str) -> Option<i128> {
    let t = text.trim();
    let (negative, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !digits.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        return None;
    }
    let n: i128 = digits.replace('_', "").parse().ok()?;
    Some(if negative { -n } else { n })
}

/// Python's `str.zfill`: zeros after any sign, up to `width` characters.
fn zfill(s: &str, width: usize) -> String {
    let len = s.chars().count();
    if len >= width {
        return s.to_owned();
    }
    let zeros = "0".repeat(width - len);
    match s.strip_prefix(['-', '+']) {
        Some(rest) => format!("{}{zeros}{rest}", &s[..1]),
        None => format!("{zeros}{s}"),
    }
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
        assert_eq!(expand("h[y:B]").unwrap(), ["hy", "hz", "hA", "hB"]);
        assert_eq!(expand("h[1:9:4]").unwrap(), ["h1", "h5", "h9"]);
    }

    #[test]
    fn several_ranges_and_ansible_quirks() {
        assert_eq!(
            expand("r[1:2]-[a:b]").unwrap(),
            ["r1-a", "r1-b", "r2-a", "r2-b"]
        );
        assert_eq!(expand("h[:2]").unwrap(), ["h0", "h1", "h2"]);
        assert_eq!(expand("h[3:1]").unwrap(), Vec::<String>::new());
        assert_eq!(expand("h[5:3:-1]").unwrap(), ["h5"]);
        assert_eq!(expand("h[5:1:-2]").unwrap(), ["h5", "h3"]);
        assert_eq!(expand("h[1:2]]").unwrap(), ["h1]", "h2]"]);
    }

    #[test]
    fn plain_name_and_errors() {
        assert_eq!(expand("akira-db-01").unwrap(), ["akira-db-01"]);
        for bad in [
            "db-[1:",
            "db-[x:1]",
            "db-[01:3]",
            "h[c:a]",
            "h[1:3:0]",
            "h[1]",
            "h[1:]",
            "a|[1:2]",
            "h[0:9999999]",
        ] {
            assert!(expand(bad).is_err(), "{bad}");
        }
    }
}
