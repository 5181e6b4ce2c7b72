use serde_json::Value;

use crate::hashing::sha256_hex;

/// Canonical JSON of a value: object keys sorted by their UTF-8 bytes at every depth, no
/// insignificant whitespace, numbers written with exactly the digits the source sent.
///
/// Numbers keep their digits because the workspace builds `serde_json` with
/// `arbitrary_precision`: a number is held as its source text and never passes through `f64`.
/// Keys are sorted here rather than relying on `serde_json::Map`'s order, which another crate
/// could change by enabling `preserve_order`.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_value(value, &mut out);
    out
}

/// Parses `raw` and returns its canonical form.
pub fn canonicalize(raw: &str) -> Result<String, serde_json::Error> {
    let value: Value = serde_json::from_str(raw)?;
    Ok(canonical_json(&value))
}

/// The `row_hash` of a snapshot row: lowercase hex SHA-256 of the canonical payload bytes.
pub fn row_hash(payload: &str) -> String {
    sha256_hex(payload.as_bytes())
}

fn write_value(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(key, out);
                out.push(':');
                write_value(item, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out);
            }
            out.push(']');
        }
        Value::String(s) => write_string(s, out),
        // Null, booleans and numbers: serde_json writes them as their source text.
        other => out.push_str(&other.to_string()),
    }
}

fn write_string(s: &str, out: &mut String) {
    out.push_str(&serde_json::to_string(s).expect("a string always serializes"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_keys_and_keeps_every_digit() {
        let raw = r#"{"b": 9007199254740993, "a": {"z": 12345678901234567890.1234567890, "y": 1e+100},
                     "c": [1.5e-7, "x,\"y\"\\\r\n😀", null, ""]}"#;
        assert_eq!(
            canonicalize(raw).unwrap(),
            r#"{"a":{"y":1e+100,"z":12345678901234567890.1234567890},"b":9007199254740993,"c":[1.5e-7,"x,\"y\"\\\r\n😀",null,""]}"#
        );
    }

    #[test]
    fn row_hash_is_sha256_of_payload_bytes() {
        assert_eq!(
            row_hash("{}"),
            "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
    }
}
