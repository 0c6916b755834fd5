//! Ownership marks. Everything octa creates in Neutron carries the tag `octa:<deployment>`;
//! because Zed's Neutron refuses tags in a create request, the description written in that
//! same request also names the deployment, so an object whose tagging was interrupted is
//! still recognised as ours (and tagged on the next run). Same-named objects without
//! either mark are someone else's.

/// The Neutron tag of `deployment`.
pub fn tag(deployment: &str) -> String {
    format!("octa:{deployment}")
}

/// The description written at creation.
pub fn description(deployment: &str, purpose: &str) -> String {
    format!("{purpose} (octa deployment {deployment})")
}

/// Whether an object with these tags and description belongs to `deployment`.
pub fn is_ours(deployment: &str, tags: &[String], description: &str) -> bool {
    tags.contains(&tag(deployment))
        || description.ends_with(&format!("(octa deployment {deployment})"))
}

/// How the same-named objects found in the cloud split up.
#[derive(Debug)]
pub enum Found<T> {
    Missing,
    /// Exactly one of ours (or adopted earlier).
    Ours(T),
    /// Only objects of someone else.
    Foreign(Vec<T>),
    /// More than one of ours: a duplicate that needs a human.
    Duplicates(Vec<T>),
}

/// Splits `items` with `ours`.
pub fn classify<T>(items: Vec<T>, ours: impl Fn(&T) -> bool) -> Found<T> {
    if items.is_empty() {
        return Found::Missing;
    }
    let (mut mine, theirs): (Vec<T>, Vec<T>) = items.into_iter().partition(|i| ours(i));
    match mine.len() {
        0 => Found::Foreign(theirs),
        1 => Found::Ours(mine.remove(0)),
        _ => Found::Duplicates(mine),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_or_the_creation_description_marks_ours() {
        assert!(is_ours("d1", &["octa:d1".into()], ""));
        assert!(is_ours(
            "d1",
            &[],
            "management network (octa deployment d1)"
        ));
        assert!(!is_ours(
            "d1",
            &["octa:d2".into()],
            "x (octa deployment d2)"
        ));
        assert!(!is_ours("d1", &[], "lb-mgmt-net"));
    }

    #[test]
    fn classification_prefers_ours_and_flags_duplicates() {
        assert!(matches!(
            classify(Vec::<u8>::new(), |_| true),
            Found::Missing
        ));
        assert!(matches!(classify(vec![1, 2], |i| *i == 2), Found::Ours(2)));
        assert!(matches!(classify(vec![1, 3], |i| *i == 2), Found::Foreign(v) if v.len() == 2));
        assert!(matches!(
            classify(vec![2, 2], |i| *i == 2),
            Found::Duplicates(_)
        ));
    }
}
