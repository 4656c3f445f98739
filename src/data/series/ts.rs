//! The `.ts` format of sktime/aeon (the UEA/UCR archive's own files): `@` header lines up to
//! `@data`, then one series per line, dimensions separated by `:`, values by `,`, the class
//! label last.

use std::path::Path;

use crate::data::series::{parse_values, RawFile, RawSeries};
use crate::error::{PretextError, Result};

/// What the header promises; the rows are checked against it.
#[derive(Default)]
struct Header {
    dimensions: Option<usize>,
    equal_length: Option<bool>,
    series_length: Option<usize>,
    /// `@classLabel true a b c`: the declared classes, in order.
    classes: Option<Vec<String>>,
    /// `@classLabel true` or `@targetLabel true`: the last field of a row is not a dimension.
    has_label: bool,
    /// `@targetLabel true`: the last field is a regression target (read, then ignored).
    regression: bool,
}

fn parse_bool(path: &Path, line: usize, tag: &str, value: Option<&str>) -> Result<bool> {
    match value.map(str::to_ascii_lowercase).as_deref() {
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        other => Err(PretextError::bad_file(
            path,
            format!("line {line}: {tag} must be true or false, found '{}'", other.unwrap_or("")),
        )),
    }
}

fn parse_count(path: &Path, line: usize, tag: &str, value: Option<&str>) -> Result<usize> {
    value.and_then(|v| v.parse::<usize>().ok()).filter(|&v| v > 0).ok_or_else(|| {
        PretextError::bad_file(path, format!("line {line}: {tag} must be a positive whole number, found '{}'", value.unwrap_or("")))
    })
}

/// Parses the text of a `.ts` file.
pub fn parse(path: &Path, text: &str) -> Result<RawFile> {
    let bad = |line: usize, reason: String| PretextError::bad_file(path, format!("line {line}: {reason}"));
    let mut header = Header::default();
    let mut in_data = false;
    let mut series = Vec::new();
    for (i, raw_line) in text.lines().enumerate() {
        let line = i + 1;
        let t = raw_line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if !in_data {
            if !t.starts_with('@') {
                return Err(bad(line, "expected a header line (@...) or @data before the first series".into()));
            }
            let mut words = t.split_whitespace();
            let tag = words.next().unwrap_or("").to_ascii_lowercase();
            let value = words.next();
            match tag.as_str() {
                "@data" => in_data = true,
                "@univariate" => {
                    if parse_bool(path, line, "@univariate", value)? {
                        header.dimensions.get_or_insert(1);
                    }
                }
                "@dimension" | "@dimensions" => header.dimensions = Some(parse_count(path, line, "@dimensions", value)?),
                "@equallength" => header.equal_length = Some(parse_bool(path, line, "@equalLength", value)?),
                "@serieslength" => header.series_length = Some(parse_count(path, line, "@seriesLength", value)?),
                "@timestamps" => {
                    if parse_bool(path, line, "@timeStamps", value)? {
                        return Err(bad(line, "time-stamped series (@timeStamps true) are not supported".into()));
                    }
                }
                "@classlabel" => {
                    if parse_bool(path, line, "@classLabel", value)? {
                        let classes: Vec<String> = words.map(str::to_string).collect();
                        if classes.is_empty() {
                            return Err(bad(line, "@classLabel true lists no classes".into()));
                        }
                        header.classes = Some(classes);
                        header.has_label = true;
                    }
                }
                "@targetlabel" => {
                    if parse_bool(path, line, "@targetLabel", value)? {
                        header.has_label = true;
                        header.regression = true;
                    }
                }
                // @problemName, @missing and tags of later versions say nothing we check.
                _ => {}
            }
            continue;
        }
        series.push(parse_row(path, line, t, &header, series.first())?);
    }
    if !in_data {
        return Err(PretextError::bad_file(path, "no @data line: not a .ts file"));
    }
    if series.is_empty() {
        return Err(PretextError::bad_file(path, "no series after @data"));
    }
    let mut notes = Vec::new();
    if header.regression {
        notes.push("regression targets (@targetLabel) are ignored: the set is loaded unlabelled".to_string());
        for s in &mut series {
            s.label = None;
        }
    }
    Ok(RawFile { series, classes: header.classes, notes })
}

fn parse_row(path: &Path, line: usize, text: &str, header: &Header, first: Option<&RawSeries>) -> Result<RawSeries> {
    let bad = |reason: String| PretextError::bad_file(path, format!("line {line}: {reason}"));
    let mut fields: Vec<&str> = text.split(':').collect();
    let label = if header.has_label {
        if fields.len() < 2 {
            return Err(bad("expected the series then ':' and its label".into()));
        }
        fields.pop().map(|l| l.trim().to_string())
    } else {
        None
    };
    if let (Some(classes), Some(l)) = (&header.classes, &label) {
        if !classes.contains(l) {
            return Err(bad(format!("label '{l}' is not among the @classLabel classes ({})", classes.join(" "))));
        }
    }
    let expected = header.dimensions.or(first.map(|s| s.channels.len()));
    if let Some(d) = expected {
        if fields.len() != d {
            let source = if header.dimensions.is_some() { "the header says" } else { "the first series has" };
            return Err(bad(format!("{} dimensions, {source} {d}", fields.len())));
        }
    }
    let mut channels = Vec::with_capacity(fields.len());
    for (d, field) in fields.iter().enumerate() {
        let where_ = if fields.len() > 1 { format!("dimension {}: ", d + 1) } else { String::new() };
        let values = parse_values(field.split(','), |e| bad(format!("{where_}{e}")))?;
        if header.equal_length == Some(true) {
            let want = header.series_length.or(first.map(|s| s.channels[0].len()));
            if let Some(want) = want.filter(|&w| w != values.len()) {
                let source = if header.series_length.is_some() { "@seriesLength says" } else { "the first series has" };
                return Err(bad(format!("{where_}{} values, {source} {want} (@equalLength true)", values.len())));
            }
        }
        channels.push(values);
    }
    Ok(RawSeries { channels, label })
}
