//! The terms of a host pattern (`web:&prod:!db1`, `a,b`), for leaving one out.

/// `pattern` without the term `term` (with its `&`/`!`); terms are split at `:` and `,`
/// outside brackets (`web[1:3]` is one term), and joined again with `:`.
pub fn without(pattern: &str, term: &str) -> String {
    let mut kept = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    for c in pattern.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            ':' | ',' if depth == 0 => {
                kept.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    kept.push(current);
    kept.retain(|t| {
        let bare = t.trim().trim_start_matches(['&', '!']);
        !t.trim().is_empty() && bare != term
    });
    kept.iter().map(|t| t.trim()).collect::<Vec<_>>().join(":")
}

#[cfg(test)]
mod tests {
    use super::without;

    #[test]
    fn one_term_leaves_with_its_prefix_and_ranges_stay_whole() {
        assert_eq!(without("web:&prod:!db1", "prod"), "web:!db1");
        assert_eq!(without("web:&prod:!db1", "db1"), "web:&prod");
        assert_eq!(without("a,genus,b", "genus"), "a:b");
        assert_eq!(without("web[1:3]:typo", "typo"), "web[1:3]");
        assert_eq!(without("genus", "genus"), "");
    }
}
