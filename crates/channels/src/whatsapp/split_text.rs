//! Splitting a long reply into WhatsApp-sized text messages.
//!
//! Meta refuses a text body over 4096 characters, and an assistant can write more. This module
//! owns cutting such a reply into parts that each fit, at the most natural place available:
//! a paragraph boundary (a blank line), else a line break, else a sentence end, else any
//! whitespace; only a text with no whitespace at all in a part-sized stretch is cut mid-word,
//! and then never inside a UTF-8 character nor (where it can be helped) between a character
//! and the joiner, variation selector or combining mark that belongs to it.
//!
//! A boundary is only taken if it leaves the part at least half full; otherwise the next kind
//! of boundary is tried, so one early blank line does not produce a ten-character message.
//! The whitespace at each cut is dropped and parts are trimmed; nothing else is changed or
//! lost. A body that is only whitespace gives no parts at all.
//!
//! It does not send anything or decide how parts are paced; the outbox sends them in order.

/// Meta's limit on a text message body, in characters.
pub const WHATSAPP_TEXT_LIMIT: usize = 4096;

/// `body` as WhatsApp text messages of at most [`WHATSAPP_TEXT_LIMIT`] characters each.
pub fn split_for_whatsapp(body: &str) -> Vec<String> {
    split_text(body, WHATSAPP_TEXT_LIMIT)
}

/// `body` in parts of at most `limit` characters (at least 1), cut as the module docs say.
pub fn split_text(body: &str, limit: usize) -> Vec<String> {
    let limit = limit.max(1);
    let mut parts = Vec::new();
    let mut rest = body.trim();
    while !rest.is_empty() {
        let Some(window_end) = rest.char_indices().nth(limit).map(|(i, _)| i) else {
            parts.push(rest.to_owned());
            break;
        };
        let cut = best_cut(rest, window_end, limit);
        let part = rest[..cut].trim_end();
        parts.push(part.to_owned());
        rest = rest[cut..].trim_start();
    }
    parts
}

/// Kinds of boundary, best first.
#[derive(Clone, Copy)]
enum Boundary {
    Paragraph = 0,
    Line = 1,
    Sentence = 2,
    Space = 3,
}

/// A possible cut: its byte offset and how many characters come before it.
#[derive(Clone, Copy)]
struct Cut {
    at: usize,
    chars: usize,
}

/// Where to cut `text`, whose first `limit` characters end at byte `window_end` (so a cut at
/// or before `window_end` leaves a part that fits). `text` starts with a non-space character,
/// so every candidate leaves a non-empty part.
fn best_cut(text: &str, window_end: usize, limit: usize) -> usize {
    let mut latest: [Option<Cut>; 4] = [None; 4];
    let mut note = |kind: Boundary, cut: Cut| {
        if cut.at > 0 {
            latest[kind as usize] = Some(cut);
        }
    };
    let mut blank_line_so_far = false;
    // the first `limit` characters, plus the one after them: a cut just before it still fits
    let mut chars = text.char_indices().take(limit + 1).enumerate().peekable();
    while let Some((k, (i, c))) = chars.next() {
        let here = Cut { at: i, chars: k };
        if c == '\n' {
            note(if blank_line_so_far { Boundary::Paragraph } else { Boundary::Line }, here);
            blank_line_so_far = true;
        } else if c.is_whitespace() {
            note(Boundary::Space, here);
        } else {
            blank_line_so_far = false;
        }
        if i >= window_end {
            break;
        }
        let next_is_space = chars.peek().is_some_and(|(_, (_, n))| n.is_whitespace());
        if (matches!(c, '.' | '!' | '?' | '…') && next_is_space) || matches!(c, '。' | '！' | '？') {
            note(Boundary::Sentence, Cut { at: i + c.len_utf8(), chars: k + 1 });
        }
    }
    let half = limit / 2;
    latest
        .iter()
        .flatten()
        .find(|cut| cut.chars >= half)
        .or_else(|| latest.iter().flatten().max_by_key(|cut| cut.chars))
        .map_or_else(|| hard_cut(text, window_end), |cut| cut.at)
}

/// Cutting at `window_end` in the middle of a word: step back over characters that attach to
/// the one before them, unless that would leave nothing.
fn hard_cut(text: &str, window_end: usize) -> usize {
    let mut cut = window_end;
    loop {
        let after = text[cut..].chars().next();
        let before = text[..cut].chars().next_back();
        let (Some(after), Some(before)) = (after, before) else { return window_end };
        if !(attaches_to_previous(after) || before == ZERO_WIDTH_JOINER) {
            return cut;
        }
        cut -= before.len_utf8();
        if cut == 0 {
            return window_end;
        }
    }
}

const ZERO_WIDTH_JOINER: char = '\u{200D}';

/// Joiners, variation selectors, emoji modifiers and combining marks belong to the character
/// before them.
fn attaches_to_previous(c: char) -> bool {
    matches!(c,
        ZERO_WIDTH_JOINER
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{1F3FB}'..='\u{1F3FF}'
        | '\u{0300}'..='\u{036F}'
        | '\u{1AB0}'..='\u{1AFF}'
        | '\u{1DC0}'..='\u{1DFF}'
        | '\u{20D0}'..='\u{20FF}'
        | '\u{FE20}'..='\u{FE2F}'
        | '\u{E0020}'..='\u{E007F}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn chars(s: &str) -> usize {
        s.chars().count()
    }

    #[test]
    fn short_bodies_are_one_trimmed_part() {
        assert_eq!(split_for_whatsapp("  Hello there!\n"), ["Hello there!"]);
        assert_eq!(split_for_whatsapp(&"é".repeat(4096)), ["é".repeat(4096)]);
        assert!(split_for_whatsapp("").is_empty());
        assert!(split_for_whatsapp(" \n\n\t ").is_empty());
    }

    #[test]
    fn prefers_paragraphs_then_lines_then_sentences_then_spaces() {
        // limit 20: the paragraph break after 12 characters is past half the window
        assert_eq!(split_text("First para.\n\nSecond one here", 20), ["First para.", "Second one here"]);
        // a blank line containing spaces is still a paragraph boundary
        assert_eq!(split_text("Line one is\n \t\nline two", 14), ["Line one is", "line two"]);
        assert_eq!(split_text("aaaa\nbbbbbbbbbb\ncccc", 17), ["aaaa\nbbbbbbbbbb", "cccc"]);
        assert_eq!(split_text("One two. Three four five", 15), ["One two.", "Three four five"]);
        assert_eq!(split_text("alpha beta gamma delta", 12), ["alpha beta", "gamma delta"]);
    }

    #[test]
    fn an_early_paragraph_break_does_not_make_a_tiny_part() {
        let text = format!("Hi.\n\n{} {}", "a".repeat(50), "b".repeat(40));
        let parts = split_text(&text, 60);
        assert_eq!(parts, [format!("Hi.\n\n{}", "a".repeat(50)), "b".repeat(40)]);
    }

    #[test]
    fn cuts_exactly_at_the_limit_when_the_next_character_is_a_space() {
        assert_eq!(split_text("abcde fghij", 5), ["abcde", "fghij"]);
        assert_eq!(split_text("abcde\n\nfghij", 5), ["abcde", "fghij"]);
    }

    #[test]
    fn hard_cuts_never_split_characters_or_emoji_sequences() {
        assert_eq!(split_text("ééééé", 2), ["éé", "éé", "é"]);
        // 👍🏽 is two chars: the skin-tone modifier stays with its thumb
        assert_eq!(split_text("ab👍🏽cd", 3), ["ab", "👍🏽c", "d"]);
        // e + combining acute accent
        assert_eq!(split_text("abe\u{301}cd", 3), ["ab", "e\u{301}c", "d"]);
        // a run of attached characters longer than the limit still makes progress
        let zwj_run = "\u{200D}".repeat(5);
        assert_eq!(split_text(&format!("a{zwj_run}"), 2).concat(), format!("a{zwj_run}"));
    }

    #[test]
    fn a_long_reply_splits_into_parts_that_fit() {
        let paragraph = "This is a sentence that goes on for a while. ".repeat(30);
        let body = [paragraph.trim(); 12].join("\n\n");
        assert!(chars(&body) > 3 * WHATSAPP_TEXT_LIMIT);
        let parts = split_for_whatsapp(&body);
        assert!(parts.len() >= 3);
        for part in &parts {
            assert!(chars(part) <= WHATSAPP_TEXT_LIMIT);
            assert!(part.ends_with('.'), "cut at a paragraph end: {:?}", &part[part.len() - 20..]);
        }
    }

    /// Finds each part in `input` in order; what lies between them may only be whitespace.
    fn reassembles(input: &str, parts: &[String]) -> Result<(), String> {
        let mut rest = input;
        for part in parts {
            let at = rest.find(part.as_str()).ok_or_else(|| format!("part {part:?} not found"))?;
            if !rest[..at].trim().is_empty() {
                return Err(format!("dropped text {:?}", &rest[..at]));
            }
            rest = &rest[at + part.len()..];
        }
        if rest.trim().is_empty() {
            Ok(())
        } else {
            Err(format!("lost the tail {rest:?}"))
        }
    }

    fn text_strategy() -> impl Strategy<Value = String> {
        let pieces = prop::sample::select(vec![
            "a", "word", "é", "😀", "👍🏽", "e\u{301}", "\u{200D}", "中", "。", ".", "!", "?", " ", "  ", "\t", "\n",
            "\n\n", "\r\n", "\n \n",
        ]);
        prop::collection::vec(pieces, 0..120).prop_map(|p| p.concat())
    }

    proptest! {
        #[test]
        fn parts_fit_are_non_empty_and_lose_nothing_but_whitespace(
            input in text_strategy(),
            limit in 1usize..40,
        ) {
            let parts = split_text(&input, limit);
            for part in &parts {
                prop_assert!(!part.is_empty());
                prop_assert!(chars(part) <= limit, "{} chars > {}", chars(part), limit);
                prop_assert_eq!(part.trim(), part.as_str());
            }
            prop_assert_eq!(reassembles(&input, &parts), Ok(()));
            let joined: String = parts.concat().chars().filter(|c| !c.is_whitespace()).collect();
            let original: String = input.chars().filter(|c| !c.is_whitespace()).collect();
            prop_assert_eq!(joined, original);
            if chars(input.trim()) <= limit {
                prop_assert!(parts.len() <= 1);
            }
        }

        #[test]
        fn arbitrary_unicode_at_the_real_limit(input in "\\PC{0,9000}") {
            let parts = split_for_whatsapp(&input);
            for part in &parts {
                prop_assert!(!part.is_empty() && chars(part) <= WHATSAPP_TEXT_LIMIT);
            }
            prop_assert_eq!(reassembles(&input, &parts), Ok(()));
        }
    }
}
