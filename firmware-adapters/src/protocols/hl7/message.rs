//! A generic HL7 v2 message: segments, fields, repetitions, components,
//! subcomponents and escape sequences.
//!
//! Fields are kept as sent; splitting and unescaping happen when a value is read,
//! because an escaped delimiter (`\S\`) must not split anything. Reading never
//! panics: a field, repetition or component that is not there reads as empty.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::Arc;

use super::{FieldLocation, Hl7Error};

/// The five delimiters a message declares in MSH-1 and MSH-2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delimiters {
    /// Field separator (MSH-1), usually `|`.
    pub field: char,
    /// Component separator, usually `^`.
    pub component: char,
    /// Repetition separator, usually `~`.
    pub repetition: char,
    /// Escape character, usually `\`; `None` when the sender declares none.
    pub escape: Option<char>,
    /// Subcomponent separator, usually `&`; `None` when the sender declares none.
    pub subcomponent: Option<char>,
}

impl Default for Delimiters {
    fn default() -> Self {
        Self {
            field: '|',
            component: '^',
            repetition: '~',
            escape: Some('\\'),
            subcomponent: Some('&'),
        }
    }
}

impl Delimiters {
    /// Reads MSH-1 and MSH-2 from the start of an MSH segment.
    fn from_msh(segment: &str) -> Result<(Self, &str), Hl7Error> {
        let bad = |reason| Hl7Error::BadDelimiters { reason };
        let rest = segment.strip_prefix("MSH").ok_or(Hl7Error::MissingMsh)?;
        let mut chars = rest.chars();
        let field = chars.next().ok_or_else(|| bad("MSH-1 is missing"))?;
        let rest = chars.as_str();
        let encoding = rest.split(field).next().unwrap_or_default();
        let mut enc = encoding.chars();
        let (Some(component), Some(repetition)) = (enc.next(), enc.next()) else {
            return Err(bad("MSH-2 needs at least two characters"));
        };
        let d = Self {
            field,
            component,
            repetition,
            escape: enc.next(),
            subcomponent: enc.next(),
        };
        let all = [
            Some(field),
            Some(component),
            Some(repetition),
            d.escape,
            d.subcomponent,
        ];
        let mut seen: Vec<char> = all.into_iter().flatten().collect();
        let count = seen.len();
        seen.sort_unstable();
        seen.dedup();
        if seen.len() != count
            || seen
                .iter()
                .any(|c| c.is_alphanumeric() || c.is_whitespace())
        {
            return Err(bad("delimiters must be distinct punctuation"));
        }
        Ok((d, encoding))
    }

    /// Decodes escape sequences: `\F\ \S\ \T\ \R\ \E\` and `\Xhh..\`. Other
    /// sequences (formatting such as `\H\` or `\.br\`) are kept as sent.
    ///
    /// # Errors
    ///
    /// An escape sequence without its closing escape character, or a `\X..\`
    /// sequence that is not an even number of hexadecimal digits.
    pub fn unescape(&self, raw: &str) -> Result<String, &'static str> {
        self.unescape_cow(raw).map(Cow::into_owned)
    }

    /// As [`Self::unescape`], borrowing `raw` when it holds no escape.
    pub(crate) fn unescape_cow<'a>(&self, raw: &'a str) -> Result<Cow<'a, str>, &'static str> {
        let Some(esc) = self.escape.filter(|&e| raw.contains(e)) else {
            return Ok(Cow::Borrowed(raw));
        };
        let mut out = String::with_capacity(raw.len());
        let mut rest = raw;
        while let Some((before, after)) = rest.split_once(esc) {
            out.push_str(before);
            let (seq, tail) = after
                .split_once(esc)
                .ok_or("unterminated escape sequence")?;
            match seq {
                "F" => out.push(self.field),
                "S" => out.push(self.component),
                "R" => out.push(self.repetition),
                "E" => out.push(esc),
                "T" => out.extend(self.subcomponent),
                _ => match seq.strip_prefix('X') {
                    Some(hex) => out.push_str(&decode_hex(hex)?),
                    None => {
                        out.push(esc);
                        out.push_str(seq);
                        out.push(esc);
                    }
                },
            }
            rest = tail;
        }
        out.push_str(rest);
        Ok(Cow::Owned(out))
    }

    /// Escapes text so that it can stand in one component of a field. CR and LF
    /// become `\X0D\` and `\X0A\` so that they cannot end a segment.
    pub fn escape(&self, text: &str) -> String {
        let esc = self.escape.unwrap_or('\\');
        let mut out = String::with_capacity(text.len());
        for c in text.chars() {
            let code = match c {
                _ if c == esc => "E",
                _ if c == self.field => "F",
                _ if c == self.component => "S",
                _ if c == self.repetition => "R",
                _ if Some(c) == self.subcomponent => "T",
                '\r' => "X0D",
                '\n' => "X0A",
                _ => {
                    out.push(c);
                    continue;
                }
            };
            out.push(esc);
            out.push_str(code);
            out.push(esc);
        }
        out
    }
}

/// Decodes `\X..\` hex: UTF-8 if the bytes are, else one character per byte.
fn decode_hex(hex: &str) -> Result<String, &'static str> {
    let digits = hex.as_bytes();
    if digits.is_empty() || digits.len() % 2 != 0 {
        return Err("bad hexadecimal escape");
    }
    let bytes = digits
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
        .ok_or("bad hexadecimal escape")?;
    Ok(text_from_bytes(&bytes))
}

/// Bytes as text: UTF-8 when valid, else ISO 8859-1 (every byte is a character),
/// which never fails and keeps numbers and delimiters intact.
pub(crate) fn text_from_bytes(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// One segment: its id and its fields as sent.
///
/// Fields are byte ranges into the message text, which every segment of a
/// message shares: parsing allocates per segment, not per field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    text: Arc<str>,
    /// Index 0 is the id; index n is field n (for MSH, index 1 is MSH-1).
    fields: Vec<Range<usize>>,
    /// Which occurrence of this id in the message, from 1.
    sequence: usize,
    delimiters: Delimiters,
}

impl Segment {
    /// The segment id, such as `OBX`.
    pub fn id(&self) -> &str {
        self.raw(0)
    }

    /// Which occurrence of this segment id in the message, from 1.
    pub fn sequence(&self) -> usize {
        self.sequence
    }

    /// Field `n` exactly as sent (escapes and delimiters included), empty if
    /// absent.
    pub fn raw(&self, n: usize) -> &str {
        self.fields
            .get(n)
            .and_then(|r| self.text.get(r.clone()))
            .unwrap_or_default()
    }

    /// Where field `n` of this segment is, for errors.
    pub fn location(&self, field: usize) -> FieldLocation {
        FieldLocation {
            segment: self.id().to_owned(),
            sequence: self.sequence,
            field,
        }
    }

    /// One component (from 1) of the first repetition of field `n`, unescaped
    /// (borrowed from the message when it holds no escape sequence).
    /// Subcomponents are kept joined by their separator.
    ///
    /// # Errors
    ///
    /// [`Hl7Error::BadField`] when the component holds a broken escape sequence.
    pub fn component(&self, n: usize, component: usize) -> Result<Cow<'_, str>, Hl7Error> {
        let d = &self.delimiters;
        if n <= 2 && self.id() == "MSH" {
            return Ok(Cow::Borrowed(self.raw(n)));
        }
        let part = nth(self.first_repetition(n), d.component, component);
        d.unescape_cow(part).map_err(|reason| Hl7Error::BadField {
            at: self.location(n),
            value: self.raw(n).to_owned(),
            reason,
        })
    }

    /// Field `n` (first repetition, first component) unescaped.
    ///
    /// # Errors
    ///
    /// As [`Self::component`].
    pub fn value(&self, n: usize) -> Result<Cow<'_, str>, Hl7Error> {
        self.component(n, 1)
    }

    /// Every component of the first repetition of field `n`, unescaped; a broken
    /// escape sequence leaves that component as sent.
    pub fn components(&self, n: usize) -> Vec<Cow<'_, str>> {
        let d = &self.delimiters;
        let first = self.first_repetition(n);
        if first.is_empty() {
            return Vec::new();
        }
        first
            .split(d.component)
            .map(|c| d.unescape_cow(c).unwrap_or(Cow::Borrowed(c)))
            .collect()
    }

    /// As [`Self::components`], owned.
    pub fn components_lossy(&self, n: usize) -> Vec<String> {
        self.components(n)
            .into_iter()
            .map(Cow::into_owned)
            .collect()
    }

    fn first_repetition(&self, n: usize) -> &str {
        let raw = self.raw(n);
        raw.split(self.delimiters.repetition)
            .next()
            .unwrap_or_default()
    }
}

/// The `n`th (from 1) part of `text` split on `sep`, empty if absent.
fn nth(text: &str, sep: char, n: usize) -> &str {
    n.checked_sub(1)
        .and_then(|i| text.split(sep).nth(i))
        .unwrap_or_default()
}

/// A parsed HL7 v2 message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    delimiters: Delimiters,
    segments: Vec<Segment>,
}

impl Message {
    /// Splits a message into segments (on CR, also accepting LF) and fields.
    ///
    /// # Errors
    ///
    /// [`Hl7Error::MissingMsh`] when the first segment is not MSH,
    /// [`Hl7Error::BadDelimiters`] when MSH-1/MSH-2 are unusable, and
    /// [`Hl7Error::BadSegment`] for a segment without a valid id.
    pub fn parse(bytes: &[u8]) -> Result<Self, Hl7Error> {
        let text: Arc<str> = match std::str::from_utf8(bytes) {
            Ok(text) => Arc::from(text),
            Err(_) => Arc::from(text_from_bytes(bytes)),
        };
        let body = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
        let mut lines = line_ranges(&text, text.len() - body.len());
        let msh = lines.next().ok_or(Hl7Error::MissingMsh)?;
        let (delimiters, encoding) = Delimiters::from_msh(&text[msh.clone()])?;
        let mut message = Self {
            delimiters,
            segments: Vec::new(),
        };
        let msh_fields = message.msh_fields(&text, msh, encoding.len());
        message.add(&text, msh_fields);
        for (i, line) in lines.enumerate() {
            let fields = field_ranges(&text, line, delimiters.field);
            let id = text.get(fields[0].clone()).unwrap_or_default();
            let valid = id.len() == 3
                && id
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
            if !valid {
                return Err(Hl7Error::BadSegment { number: i + 2 });
            }
            message.add(&text, fields);
        }
        Ok(message)
    }

    /// MSH-1 is the separator itself and MSH-2 the encoding characters; the
    /// other fields split as usual after them.
    fn msh_fields(&self, text: &str, line: Range<usize>, encoding_len: usize) -> Vec<Range<usize>> {
        let sep = self.delimiters.field;
        let at = line.start;
        let sep_end = at + 3 + sep.len_utf8();
        let encoding_end = sep_end + encoding_len;
        let mut fields = vec![at..at + 3, at + 3..sep_end, sep_end..encoding_end];
        if text[encoding_end..line.end].starts_with(sep) {
            let rest = encoding_end + sep.len_utf8()..line.end;
            fields.extend(field_ranges(text, rest, sep));
        }
        fields
    }

    fn add(&mut self, text: &Arc<str>, fields: Vec<Range<usize>>) {
        let id = &text[fields[0].clone()];
        let sequence = 1 + self.segments.iter().filter(|s| s.id() == id).count();
        self.segments.push(Segment {
            text: Arc::clone(text),
            fields,
            sequence,
            delimiters: self.delimiters,
        });
    }

    /// The delimiters the message declared.
    pub fn delimiters(&self) -> Delimiters {
        self.delimiters
    }

    /// All segments, in order (the first is MSH).
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The first segment with this id.
    pub fn segment(&self, id: &str) -> Option<&Segment> {
        self.segments.iter().find(|s| s.id() == id)
    }
}

/// The non-empty lines of `text` from `start`, split on CR and LF.
fn line_ranges(text: &str, start: usize) -> impl Iterator<Item = Range<usize>> + '_ {
    let mut at = start;
    std::iter::from_fn(move || loop {
        if at >= text.len() {
            return None;
        }
        let rest = &text.as_bytes()[at..];
        let len = rest
            .iter()
            .position(|&b| b == b'\r' || b == b'\n')
            .unwrap_or(rest.len());
        let line = at..at + len;
        at += len + 1;
        if len > 0 {
            return Some(line);
        }
    })
}

/// The ranges of the fields of `line`, split on `sep`.
fn field_ranges(text: &str, line: Range<usize>, sep: char) -> Vec<Range<usize>> {
    let mut fields = Vec::with_capacity(24);
    let mut start = line.start;
    for (i, _) in text[line.clone()].match_indices(sep) {
        fields.push(start..line.start + i);
        start = line.start + i + sep.len_utf8();
    }
    fields.push(start..line.end);
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msh_fields_are_numbered_from_the_separator() {
        let m = Message::parse(b"MSH|^~\\&|APP^EUI^EUI-64|FAC\rPID|||42").unwrap();
        let msh = m.segment("MSH").unwrap();
        assert_eq!(
            (msh.raw(1), msh.raw(2), msh.raw(3)),
            ("|", "^~\\&", "APP^EUI^EUI-64")
        );
        assert_eq!(msh.component(3, 2).unwrap(), "EUI");
        assert_eq!(m.segment("PID").unwrap().value(3).unwrap(), "42");
    }

    #[test]
    fn escapes_decode_in_the_declared_delimiters() {
        let d = Delimiters::default();
        let raw = "a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f\\X41C3A9\\g\\H\\h";
        assert_eq!(d.unescape(raw).unwrap(), "a|b^c&d~e\\fAég\\H\\h");
        assert_eq!(d.unescape("x\\X4\\"), Err("bad hexadecimal escape"));
        assert_eq!(d.unescape("x\\Fy"), Err("unterminated escape sequence"));
        let custom = Delimiters {
            field: '#',
            escape: Some('!'),
            ..d
        };
        assert_eq!(custom.unescape("1!F!2").unwrap(), "1#2");
    }

    #[test]
    fn escape_round_trips_delimiters_and_line_ends() {
        let d = Delimiters::default();
        let text = "a|b^c&d~e\\f\rg";
        let escaped = d.escape(text);
        assert!(!escaped.contains(['|', '^', '&', '~', '\r']));
        assert_eq!(d.unescape(&escaped).unwrap(), text);
    }

    #[test]
    fn escaped_component_separator_does_not_split() {
        let m = Message::parse(b"MSH|^~\\&\rOBX|1|ST|a\\S\\b^second").unwrap();
        let obx = m.segment("OBX").unwrap();
        assert_eq!(obx.component(3, 1).unwrap(), "a^b");
        assert_eq!(obx.component(3, 2).unwrap(), "second");
        assert_eq!(obx.component(3, 9).unwrap(), "");
        assert_eq!(obx.component(99, 1).unwrap(), "");
    }

    #[test]
    fn repetitions_take_the_first() {
        let m = Message::parse(b"MSH|^~\\&\rPID|||A^^^X~B^^^Y").unwrap();
        assert_eq!(m.segment("PID").unwrap().value(3).unwrap(), "A");
    }

    #[test]
    fn lf_and_crlf_segment_ends_are_accepted() {
        let m = Message::parse(b"MSH|^~\\&\r\nPID|1\nPV1|1\r").unwrap();
        let ids: Vec<_> = m.segments().iter().map(Segment::id).collect();
        assert_eq!(ids, ["MSH", "PID", "PV1"]);
    }

    #[test]
    fn broken_headers_are_typed_errors() {
        assert_eq!(Message::parse(b""), Err(Hl7Error::MissingMsh));
        assert_eq!(Message::parse(b"PID|1"), Err(Hl7Error::MissingMsh));
        assert!(matches!(
            Message::parse(b"MSH"),
            Err(Hl7Error::BadDelimiters { .. })
        ));
        assert!(matches!(
            Message::parse(b"MSH|^"),
            Err(Hl7Error::BadDelimiters { .. })
        ));
        assert!(matches!(
            Message::parse(b"MSH|^^\\&"),
            Err(Hl7Error::BadDelimiters { .. })
        ));
        assert!(matches!(
            Message::parse(b"MSHa^~\\&"),
            Err(Hl7Error::BadDelimiters { .. })
        ));
        assert_eq!(
            Message::parse(b"MSH|^~\\&\rpid|1"),
            Err(Hl7Error::BadSegment { number: 2 })
        );
    }

    #[test]
    fn latin1_bytes_do_not_fail_the_parse() {
        let m = Message::parse(b"MSH|^~\\&\rPID|||M\xfcller").unwrap();
        assert_eq!(m.segment("PID").unwrap().value(3).unwrap(), "Müller");
    }

    #[test]
    fn bad_escape_names_segment_and_field() {
        let m = Message::parse(b"MSH|^~\\&\rOBX|1|NM|x||\\Xzz\\").unwrap();
        let err = m.segment("OBX").unwrap().value(5).unwrap_err();
        assert_eq!(
            err.location().map(ToString::to_string).as_deref(),
            Some("OBX[1]-5")
        );
    }
}
