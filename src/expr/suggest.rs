//! "Did you mean" suggestions: the candidates closest to a misspelled name by
//! Damerau-Levenshtein distance (adjacent transpositions count as one edit), and the English
//! phrasing of the result (`"a", "b" or "c"`).
//!
//! Pure string functions; this module must not know where the candidates come from.

/// At most this many suggestions are offered.
pub const MAX_SUGGESTIONS: usize = 3;

/// Edit distance between `a` and `b` counting insertions, deletions, substitutions and swaps
/// of adjacent characters (optimal string alignment).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Three rolling rows: i-2, i-1 and i.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        current[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(before[j - 2] + 1);
            }
            current[j] = best;
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

/// The largest distance still worth suggesting for a name of `len` characters.
fn threshold(len: usize) -> usize {
    match len {
        0..=3 => 1,
        4..=5 => 2,
        _ => 3,
    }
}

/// Up to [`MAX_SUGGESTIONS`] candidates close to `name`: those at the smallest edit distance
/// found (case-insensitive, within a limit growing with the length of `name`), or failing
/// that, candidates that `name` (3+ characters) begins. Ties are listed alphabetically;
/// `name` itself is never suggested.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let lower = name.to_lowercase();
    let limit = threshold(lower.chars().count());
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .filter(|candidate| *candidate != name)
        .filter_map(|candidate| {
            let candidate_lower = candidate.to_lowercase();
            let distance = edit_distance(&lower, &candidate_lower);
            if distance <= limit {
                Some((distance, candidate))
            } else if lower.chars().count() >= 3 && candidate_lower.starts_with(&lower) {
                Some((limit + 1, candidate))
            } else {
                None
            }
        })
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    let best = scored.first().map_or(0, |(distance, _)| *distance);
    scored
        .into_iter()
        .take_while(|(distance, _)| *distance == best)
        .take(MAX_SUGGESTIONS)
        .map(|(_, candidate)| candidate)
        .collect()
}

/// `"a"`, `"a" or "b"`, `"a", "b" or "c"`; empty for no names.
pub fn quoted_alternatives(names: &[&str]) -> String {
    quoted_list(names, "or")
}

/// The names quoted and joined with commas and a final `conjunction`:
/// `"a", "b" and "c"` for `"and"`.
pub fn quoted_list(names: &[&str], conjunction: &str) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} {conjunction} {last}", rest.join(", ")),
    }
}

/// `; did you mean "a" or "b"?` for a message tail, or empty when there is nothing close.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    let close = closest(name, candidates);
    if close.is_empty() {
        String::new()
    } else {
        format!("; did you mean {}?", quoted_alternatives(&close))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("sum", "sum"), 0);
        assert_eq!(edit_distance("sume", "sum"), 1);
        assert_eq!(edit_distance("mena", "mean"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("ca", "abc"), 3);
    }

    #[test]
    fn distance_is_symmetric_on_samples() {
        let words = ["sum", "mean", "nanmean", "argmax", "amax", "x", "", "éa"];
        for a in words {
            for b in words {
                assert_eq!(edit_distance(a, b), edit_distance(b, a), "{a} {b}");
            }
        }
    }

    #[test]
    fn closest_keeps_the_nearest_tier_alphabetically() {
        let names = [
            "sum", "mean", "min", "max", "nansum", "cumsum", "nanmean", "nanmax",
        ];
        assert_eq!(closest("nanmaen", names), vec!["nanmean"]);
        assert_eq!(closest("sume", names), vec!["sum"]);
        assert_eq!(closest("mxa", names), vec!["max"]);
        assert_eq!(closest("man", names), vec!["max", "mean", "min"]);
        assert_eq!(closest("SUM", names), vec!["sum"]);
        assert!(closest("temperature", names).is_empty());
        assert!(closest("sum", ["sum"]).is_empty());
    }

    #[test]
    fn prefixes_are_suggested_after_close_names() {
        assert_eq!(closest("lins", ["linspace", "ones"]), vec!["linspace"]);
    }

    #[test]
    fn phrasing() {
        assert_eq!(quoted_alternatives(&[]), "");
        assert_eq!(quoted_alternatives(&["a"]), "\"a\"");
        assert_eq!(quoted_alternatives(&["a", "b"]), "\"a\" or \"b\"");
        assert_eq!(
            quoted_alternatives(&["a", "b", "c"]),
            "\"a\", \"b\" or \"c\""
        );
        assert_eq!(did_you_mean("sume", ["sum"]), "; did you mean \"sum\"?");
        assert_eq!(did_you_mean("zzz", ["sum"]), "");
        assert_eq!(quoted_list(&["x", "y"], "and"), "\"x\" and \"y\"");
    }
}
