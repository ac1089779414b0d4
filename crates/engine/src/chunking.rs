//! Splits a document into passages for knowledge search: Markdown on its headings and
//! paragraphs, plain text on its paragraphs, packed into passages of at most
//! [`MAX_CHUNK_CHARS`] characters. A Markdown passage keeps the headings it sits under
//! (`Shipping > Returns`) as its context. A paragraph longer than a passage is cut at sentence
//! ends, then at spaces, then anywhere. No text is lost: every word of a plain-text document is
//! in exactly one passage, in order; a Markdown document's heading lines become headings.

use confab_domain::DocumentFormat;
use confab_storage::NewChunk;

/// The largest passage, in characters.
pub const MAX_CHUNK_CHARS: usize = 800;
/// The longest heading context kept, in characters.
const MAX_HEADING_CHARS: usize = 200;

/// The passages of `content` in `format` (formats other than Markdown are read as plain text).
pub fn chunk_document(format: DocumentFormat, content: &str) -> Vec<NewChunk> {
    match format {
        DocumentFormat::Md => chunk_markdown(content),
        _ => pack("", &paragraphs(content)),
    }
}

/// Markdown: a new heading starts a new passage; its level decides which outer headings stay
/// in the context. `#` lines inside fenced code blocks are text.
pub fn chunk_markdown(content: &str) -> Vec<NewChunk> {
    let mut chunks = Vec::new();
    let mut headings: Vec<(usize, String)> = Vec::new();
    let mut section = String::new();
    let mut in_fence = false;
    for line in content.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
        }
        match (!in_fence).then(|| heading(line)).flatten() {
            Some((level, title)) => {
                chunks.extend(pack(&context(&headings), &paragraphs(&section)));
                section.clear();
                headings.retain(|(l, _)| *l < level);
                headings.push((level, title));
            }
            None => {
                section.push_str(line);
                section.push('\n');
            }
        }
    }
    chunks.extend(pack(&context(&headings), &paragraphs(&section)));
    chunks
}

/// `(level, text)` of an ATX heading line (`## Returns`).
fn heading(line: &str) -> Option<(usize, String)> {
    let trimmed = line.trim_start();
    if line.len() - trimmed.len() > 3 {
        return None;
    }
    let level = trimmed.bytes().take_while(|b| *b == b'#').count();
    let rest = &trimmed[level..];
    if !(1..=6).contains(&level) || !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
        return None;
    }
    let text = rest.trim().trim_end_matches('#').trim();
    Some((level, text.to_string()))
}

fn context(headings: &[(usize, String)]) -> String {
    let joined = headings.iter().map(|(_, h)| h.as_str()).filter(|h| !h.is_empty()).collect::<Vec<_>>().join(" > ");
    cut_chars(&joined, MAX_HEADING_CHARS).to_string()
}

/// Paragraphs: blocks separated by blank lines, trimmed, empty ones dropped.
fn paragraphs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                out.push(current.join("\n").trim().to_string());
                current.clear();
            }
        } else {
            current.push(line);
        }
    }
    if !current.is_empty() {
        out.push(current.join("\n").trim().to_string());
    }
    out.retain(|p| !p.is_empty());
    out
}

/// Packs paragraphs into passages of at most [`MAX_CHUNK_CHARS`], splitting the long ones.
fn pack(heading: &str, paragraphs: &[String]) -> Vec<NewChunk> {
    let mut chunks = Vec::new();
    let mut current = String::new();
    for paragraph in paragraphs {
        for piece in split_long(paragraph) {
            let needed = if current.is_empty() { 0 } else { 2 } + piece.chars().count();
            if !current.is_empty() && current.chars().count() + needed > MAX_CHUNK_CHARS {
                chunks.push(NewChunk { heading: heading.to_string(), text: std::mem::take(&mut current) });
            }
            if !current.is_empty() {
                current.push_str("\n\n");
            }
            current.push_str(piece);
        }
    }
    if !current.is_empty() {
        chunks.push(NewChunk { heading: heading.to_string(), text: current });
    }
    chunks
}

/// A paragraph cut into pieces of at most [`MAX_CHUNK_CHARS`]: at the last sentence end that
/// fits, else the last whitespace, else exactly at the limit. Pieces are trimmed.
fn split_long(paragraph: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut rest = paragraph.trim();
    while rest.chars().count() > MAX_CHUNK_CHARS {
        let window = cut_chars(rest, MAX_CHUNK_CHARS);
        let sentence_end = window
            .char_indices()
            .rev()
            .filter(|(i, c)| {
                matches!(c, '.' | '!' | '?') && window[i + c.len_utf8()..].starts_with(char::is_whitespace)
            })
            .map(|(i, c)| i + c.len_utf8())
            .next()
            .filter(|end| *end > window.len() / 2);
        let end = sentence_end.or_else(|| window.rfind(char::is_whitespace).filter(|i| *i > 0)).unwrap_or(window.len());
        pieces.push(rest[..end].trim());
        rest = rest[end..].trim_start();
    }
    if !rest.is_empty() {
        pieces.push(rest);
    }
    pieces.retain(|p| !p.is_empty());
    pieces
}

/// The first `max` characters of `s`.
fn cut_chars(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn markdown_keeps_headings_as_context() {
        let doc = "Intro line.\n\n# Shop\n\n## Hours\nOpen 9 to 5.\n\nClosed Sundays.\n\n## Returns ##\n30 days.\n\n\
                   # Contact\n```\n# not a heading\n```\n";
        let chunks = chunk_markdown(doc);
        let got: Vec<(&str, &str)> = chunks.iter().map(|c| (c.heading.as_str(), c.text.as_str())).collect();
        assert_eq!(
            got,
            vec![
                ("", "Intro line."),
                ("Shop > Hours", "Open 9 to 5.\n\nClosed Sundays."),
                ("Shop > Returns", "30 days."),
                ("Contact", "```\n# not a heading\n```"),
            ]
        );
        assert_eq!(heading("#hashtag"), None);
        assert_eq!(heading("####### seven"), None);
    }

    #[test]
    fn plain_text_splits_on_paragraphs_and_long_ones_on_sentences() {
        let long = "This is a sentence of some length. ".repeat(60);
        let doc = format!("First.\n\nSecond.\n\n{long}");
        let chunks = chunk_document(DocumentFormat::Txt, &doc);
        assert!(chunks.len() >= 3);
        assert!(chunks[0].text.starts_with("First.\n\nSecond."));
        assert!(chunks.iter().all(|c| c.heading.is_empty() && c.text.chars().count() <= MAX_CHUNK_CHARS));
        assert!(chunks[1].text.ends_with('.'), "cut at a sentence end: {:?}", chunks[1].text);
        assert!(chunk_document(DocumentFormat::Txt, " \n\n ").is_empty());
        let unbroken = "x".repeat(2000);
        let cut = chunk_document(DocumentFormat::Txt, &unbroken);
        assert_eq!(cut.iter().map(|c| c.text.as_str()).collect::<String>(), unbroken);
    }

    proptest! {
        #[test]
        fn plain_text_loses_nothing_and_stays_bounded(text in "([a-zA-Zéü0-9.!?]{1,30}[ \n]{1,3}){0,200}") {
            let chunks = chunk_document(DocumentFormat::Txt, &text);
            prop_assert!(chunks.iter().all(|c| !c.text.is_empty() && c.text.chars().count() <= MAX_CHUNK_CHARS));
            let joined: Vec<String> = chunks.iter().flat_map(|c| words(&c.text)).collect();
            prop_assert_eq!(joined, words(&text));
        }

        #[test]
        fn markdown_loses_no_body_text_and_stays_bounded(
            lines in proptest::collection::vec("(#{1,3} [a-z]{1,10}|[a-z .]{0,120})", 0..60)
        ) {
            let text = lines.join("\n");
            let chunks = chunk_markdown(&text);
            prop_assert!(chunks.iter().all(|c| c.text.chars().count() <= MAX_CHUNK_CHARS));
            prop_assert!(chunks.iter().all(|c| c.heading.chars().count() <= MAX_HEADING_CHARS));
            let body: Vec<String> = lines.iter().filter(|l| heading(l).is_none()).flat_map(|l| words(l)).collect();
            let joined: Vec<String> = chunks.iter().flat_map(|c| words(&c.text)).collect();
            prop_assert_eq!(joined, body);
        }
    }
}
