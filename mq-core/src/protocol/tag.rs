//! Tag hash codes (Java `String.hashCode`) and subscription expressions (`*`, `a || b`).
//!
//! The broker filters a ConsumeQueue by the 8-byte tag code of each entry without reading the
//! CommitLog, so the code must be exactly RocketMQ's: Java's `String.hashCode()` over UTF-16
//! code units, sign-extended to i64 (`MessageExtBrokerInner.tagsString2tagsCode`). Hashes can
//! collide; a client re-checks the tag string itself.

/// The expression that selects every message of a topic.
pub const SUBSCRIBE_ALL: &str = "*";

/// RocketMQ's tag code of a `TAGS` value: Java `String.hashCode()` as i64 (0 for no tag).
pub fn tag_code(tags: &str) -> i64 {
    let mut h: i32 = 0;
    for unit in tags.encode_utf16() {
        h = h.wrapping_mul(31).wrapping_add(i32::from(unit));
    }
    i64::from(h)
}

/// A parsed subscription expression, as `FilterAPI.buildSubscriptionData` builds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subscription {
    /// `*`, empty or absent: every message.
    All,
    /// `a || b || c`: messages whose tag is one of these.
    Tags {
        /// The tags, trimmed, in expression order, without empty parts or repeats.
        tags: Vec<String>,
        /// `tag_code(tag) as i32` of each tag, what the broker compares (RocketMQ's `codeSet`).
        codes: Vec<i32>,
    },
}

impl Subscription {
    /// Parses a TAG-type expression: `*`/empty selects all, otherwise tags split on `||`.
    pub fn parse(expression: &str) -> Self {
        let trimmed = expression.trim();
        if trimmed.is_empty() || trimmed == SUBSCRIBE_ALL {
            return Self::All;
        }
        let mut tags: Vec<String> = Vec::new();
        for part in trimmed.split("||") {
            let tag = part.trim();
            if !tag.is_empty() && !tags.iter().any(|t| t == tag) {
                tags.push(tag.to_owned());
            }
        }
        // Java truncates the i64 code to int when it fills `codeSet`.
        let codes = tags.iter().map(|t| tag_code(t) as i32).collect();
        Self::Tags { tags, codes }
    }

    /// Whether every message matches (no filtering needed).
    pub fn is_all(&self) -> bool {
        matches!(self, Self::All)
    }

    /// The broker-side check: does a ConsumeQueue entry with this tag code match?
    ///
    /// May answer true for a different tag whose hash collides; see [`Self::matches_tag`].
    pub fn matches_code(&self, tags_code: i64) -> bool {
        match self {
            Self::All => true,
            Self::Tags { codes, .. } => codes.contains(&(tags_code as i32)),
        }
    }

    /// The client-side check by exact tag string (`None` = message without a tag).
    pub fn matches_tag(&self, tag: Option<&str>) -> bool {
        match self {
            Self::All => true,
            Self::Tags { tags, .. } => tag.is_some_and(|t| tags.iter().any(|s| s == t)),
        }
    }

    /// The expression in canonical form (`*` or `a || b`), as sent in `subString`.
    pub fn expression(&self) -> String {
        match self {
            Self::All => SUBSCRIBE_ALL.to_owned(),
            Self::Tags { tags, .. } => tags.join(" || "),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_code_matches_java_string_hash_code() {
        // Values of "...".hashCode() computed by the JVM.
        assert_eq!(tag_code(""), 0);
        assert_eq!(tag_code("TagA"), 2_598_919);
        assert_eq!(tag_code("hello"), 99_162_322);
        // Overflows i32 in Java and comes out negative.
        assert_eq!(tag_code("polygenelubricants"), i64::from(i32::MIN));
        // Non-BMP characters hash as two UTF-16 surrogates.
        assert_eq!(tag_code("😀"), i64::from(1_772_899_i32));
    }

    #[test]
    fn parse_all_forms() {
        assert!(Subscription::parse("*").is_all());
        assert!(Subscription::parse("").is_all());
        assert!(Subscription::parse("  * ").is_all());
        let s = Subscription::parse("TagA || TagB ||  || TagA");
        let Subscription::Tags { tags, codes } = &s else {
            panic!("expected tags")
        };
        assert_eq!(tags, &["TagA", "TagB"]);
        assert_eq!(codes, &[2_598_919, 2_598_920]);
        assert_eq!(s.expression(), "TagA || TagB");
        assert!(s.matches_code(tag_code("TagB")));
        assert!(!s.matches_code(tag_code("TagC")));
        assert!(s.matches_tag(Some("TagA")));
        assert!(!s.matches_tag(None));
        assert!(Subscription::All.matches_tag(None));
    }
}
