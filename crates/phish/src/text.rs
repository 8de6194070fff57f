//! Text normalisation shared by the cues, the model and campaign fingerprints:
//! lowercase, Latin accents folded (`é` → `e`, `ç` → `c`), words split on
//! anything that is not a letter or a digit.

/// Largest number of bytes of a message that is analysed. Longer text is cut at a
/// character boundary, which bounds the work per message whatever the input.
pub const MAX_ANALYSED_BYTES: usize = 64 * 1024;

/// `s` cut to at most `max` bytes, at a character boundary.
pub fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Lowercase one character and fold the Latin accents used in EN/FR/PT/ES.
#[inline]
pub fn fold_char(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    let lc = c.to_lowercase().next().unwrap_or(c);
    match lc {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' => 'a',
        'ç' | 'ć' | 'č' => 'c',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ę' => 'e',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'ñ' | 'ń' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'ū' => 'u',
        'ý' | 'ÿ' => 'y',
        'œ' => 'o',
        'æ' => 'a',
        'ß' => 's',
        // Typographic apostrophes and quotes split words like ASCII ones.
        '\u{2019}' | '\u{2018}' | '\u{00b4}' => '\'',
        other => other,
    }
}

/// The whole text lowercased and accent-folded (same length in chars).
pub fn fold(s: &str) -> String {
    s.chars().map(fold_char).collect()
}

/// One word of a folded text, with the sentence it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token<'a> {
    pub word: &'a str,
    pub sentence: u32,
}

/// Split folded text into words (letters and digits). A sentence ends at `!`, `?`,
/// `;`, a line break, or a `.` followed by a space (so `netflix.com` stays one sentence).
pub fn tokenize(folded: &str) -> Vec<Token<'_>> {
    let mut out = Vec::with_capacity(folded.len() / 5 + 1);
    let mut sentence = 0u32;
    let mut start: Option<usize> = None;
    let mut chars = folded.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c.is_alphanumeric() {
            if start.is_none() {
                start = Some(i);
            }
            continue;
        }
        if let Some(s) = start.take() {
            out.push(Token {
                word: &folded[s..i],
                sentence,
            });
        }
        let ends = match c {
            '!' | '?' | ';' | '\n' | '\r' => true,
            '.' => chars.peek().is_none_or(|&(_, n)| n.is_whitespace()),
            _ => false,
        };
        if ends {
            sentence += 1;
        }
    }
    if let Some(s) = start {
        out.push(Token {
            word: &folded[s..],
            sentence,
        });
    }
    out
}

/// Words only, for callers that do not need sentences.
pub fn words(folded: &str) -> impl Iterator<Item = &str> {
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_accents_and_case() {
        assert_eq!(
            fold("Échec du PAIEMENT, não, contraseña"),
            "echec du paiement, nao, contrasena"
        );
    }

    #[test]
    fn sentences_split_on_terminal_dot_only() {
        let f = fold("Go to netflix.com now. Then stop!Next");
        let t = tokenize(&f);
        let s: Vec<(&str, u32)> = t.iter().map(|t| (t.word, t.sentence)).collect();
        assert_eq!(
            s,
            vec![
                ("go", 0),
                ("to", 0),
                ("netflix", 0),
                ("com", 0),
                ("now", 0),
                ("then", 1),
                ("stop", 1),
                ("next", 2)
            ]
        );
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("ééé", 3), "é");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
