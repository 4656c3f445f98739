//! Values out of Arrow arrays, whatever numeric or string type a writer chose: vectors of a
//! list column, numbers of a plain column, strings of a label or text column. Each function
//! appends one record batch's rows; `row0` is the batch's first row in the file, so a problem
//! names the row a user would find in pandas (0-based, as `df.iloc` counts).

use arrow_array::cast::AsArray;
use arrow_array::types::{Float16Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type, UInt64Type, UInt8Type};
use arrow_array::Array;
use arrow_schema::DataType;

/// Whether a column of this type holds one vector per row (a list of any element type;
/// the elements are checked when read).
pub fn is_list(t: &DataType) -> bool {
    matches!(t, DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(_, _))
}

pub fn is_numeric(t: &DataType) -> bool {
    t.is_floating() || t.is_integer()
}

pub fn is_string(t: &DataType) -> bool {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, v) => is_string(v),
        _ => false,
    }
}

/// Whether a column of this type can be read as labels (strings or integers, plain or
/// dictionary-encoded as pandas writes a categorical).
pub fn is_label(t: &DataType) -> bool {
    match t {
        DataType::Dictionary(_, v) => is_label(v),
        t => is_string(t) || t.is_integer() || matches!(t, DataType::Boolean),
    }
}

/// The values of a numeric array as f32 (`None` for a non-numeric one); nulls are left to
/// the caller, who knows which row and column to name.
pub fn numbers(a: &dyn Array) -> Option<Vec<f32>> {
    macro_rules! conv {
        ($($t:ty),*) => {
            $(if let Some(p) = a.as_primitive_opt::<$t>() {
                return Some(p.values().iter().map(|&v| v as f32).collect());
            })*
        };
    }
    if let Some(p) = a.as_primitive_opt::<Float16Type>() {
        return Some(p.values().iter().map(|v| v.to_f32()).collect());
    }
    conv!(Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type, UInt32Type, UInt64Type);
    None
}

/// Appends the vector of each row of a list column to `x`, checking every row has the
/// length of the first (`dim`). Errors are plain reasons; the caller adds the file name.
pub fn append_vectors(a: &dyn Array, row0: usize, dim: &mut Option<usize>, x: &mut Vec<f32>) -> Result<(), String> {
    let (child, ranges): (&dyn Array, Vec<(usize, usize)>) = if let Some(l) = a.as_list_opt::<i32>() {
        (l.values().as_ref(), l.value_offsets().windows(2).map(|w| (w[0] as usize, w[1] as usize)).collect())
    } else if let Some(l) = a.as_list_opt::<i64>() {
        (l.values().as_ref(), l.value_offsets().windows(2).map(|w| (w[0] as usize, w[1] as usize)).collect())
    } else if let Some(l) = a.as_fixed_size_list_opt() {
        let w = l.value_length() as usize;
        (l.values().as_ref(), (0..l.len()).map(|i| (l.value_offset_at(i), l.value_offset_at(i) + w)).collect())
    } else {
        return Err(format!("is {}, not a list of numbers", a.data_type()));
    };
    let values = numbers(child).ok_or_else(|| format!("holds lists of {}, not of numbers", child.data_type()))?;
    for (i, &(start, end)) in ranges.iter().enumerate() {
        let row = row0 + i;
        if a.is_null(i) {
            return Err(format!("row {row} has no vector (null)"));
        }
        let len = end - start;
        match *dim {
            None => *dim = Some(len),
            Some(d) if d != len => return Err(format!("row {row} has {len} values, the rows before it {d} (every vector must have the same length)")),
            Some(_) => {}
        }
        if child.null_count() > 0 && (start..end).any(|j| child.is_null(j)) {
            return Err(format!("row {row} has a null value in its vector"));
        }
        x.extend_from_slice(values.get(start..end).ok_or_else(|| format!("row {row}: list offsets out of range"))?);
    }
    Ok(())
}

/// The rows of a label or text column as strings (integers and booleans written out;
/// dictionary-encoded columns looked up); `None` for a null.
pub fn strings(a: &dyn Array) -> Option<Vec<Option<String>>> {
    let nulls = |i: usize| a.is_null(i);
    if let Some(d) = a.as_any_dictionary_opt() {
        let values = strings(d.values().as_ref())?;
        return Some(d.normalized_keys().iter().enumerate().map(|(i, &k)| if nulls(i) { None } else { values.get(k).cloned().flatten() }).collect());
    }
    let out: Vec<Option<String>> = if let Some(s) = a.as_string_opt::<i32>() {
        s.iter().map(|v| v.map(str::to_string)).collect()
    } else if let Some(s) = a.as_string_opt::<i64>() {
        s.iter().map(|v| v.map(str::to_string)).collect()
    } else if let Some(s) = a.as_string_view_opt() {
        s.iter().map(|v| v.map(str::to_string)).collect()
    } else if let Some(b) = a.as_boolean_opt() {
        b.iter().map(|v| v.map(|v| v.to_string())).collect()
    } else {
        integer_strings(a)?
    };
    Some(out)
}

/// An integer array's values written out exactly (`None` for any other array).
fn integer_strings(a: &dyn Array) -> Option<Vec<Option<String>>> {
    macro_rules! conv {
        ($($t:ty),*) => {
            $(if let Some(p) = a.as_primitive_opt::<$t>() {
                return Some(p.iter().map(|v| v.map(|v| v.to_string())).collect());
            })*
        };
    }
    conv!(Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type, UInt32Type, UInt64Type);
    None
}
