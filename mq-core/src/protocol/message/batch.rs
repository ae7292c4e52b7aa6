//! The batch body a producer sends (`MessageDecoder.encodeMessages`): `BatchItem`, its encoder and decoder.

use bytes::{BufMut, Bytes};

use super::{CodecError, MAX_PROPERTIES_LEN, Reader, check_len};

/// One message of a producer's batch body (`MessageDecoder.encodeMessages`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchItem {
    /// FLAG.
    pub flag: i32,
    /// BODY.
    pub body: Bytes,
    /// PROPERTIES, the raw string.
    pub properties: String,
}

/// Size of a batch item's fixed fields: TOTALSIZE, MAGIC, BODYCRC, FLAG, BODYLEN, PROPLEN.
const BATCH_ITEM_FIXED: usize = 22;

/// Encodes a batch body: per message TOTALSIZE ‖ MAGIC 0 ‖ BODYCRC 0 ‖ FLAG ‖ BODYLEN ‖ BODY ‖ PROPLEN i16 ‖ PROPERTIES.
pub fn encode_batch(items: &[BatchItem], out: &mut Vec<u8>) -> Result<(), CodecError> {
    // Sized once: the gate's batches of a few hundred orders reallocated as they grew.
    out.reserve(
        items
            .iter()
            .map(|i| BATCH_ITEM_FIXED + i.body.len() + i.properties.len())
            .fold(0usize, usize::saturating_add),
    );
    for item in items {
        check_len("properties", item.properties.len(), MAX_PROPERTIES_LEN)?;
        let total = BATCH_ITEM_FIXED + item.body.len() + item.properties.len();
        check_len("batch message", total, i32::MAX as usize)?;
        out.put_i32(total as i32);
        out.put_i32(0);
        out.put_i32(0);
        out.put_i32(item.flag);
        out.put_i32(item.body.len() as i32);
        out.put_slice(&item.body);
        out.put_i16(item.properties.len() as i16);
        out.put_slice(item.properties.as_bytes());
    }
    Ok(())
}

/// Splits a batch body into its messages; bodies are zero-copy slices of `body`.
pub fn decode_batch(body: &Bytes) -> Result<Vec<BatchItem>, CodecError> {
    let mut items = Vec::new();
    let mut pos = 0;
    while pos < body.len() {
        let mut r = Reader {
            buf: &body[pos..],
            pos: 0,
        };
        let short = CodecError::BadLength("batch message runs past the body");
        let total = r.i32().ok_or_else(|| short.clone())?;
        let total =
            usize::try_from(total).map_err(|_| CodecError::BadLength("batch TOTALSIZE < 0"))?;
        if total < BATCH_ITEM_FIXED || body.len() - pos < total {
            return Err(CodecError::BadLength("batch TOTALSIZE out of range"));
        }
        let mut r = Reader {
            buf: &body[pos..pos + total],
            pos: 12,
        };
        let flag = r.i32().ok_or_else(|| short.clone())?;
        let item_body = r.length_prefixed(Reader::i32, &short, "batch BODYLEN < 0")?;
        let props = r.length_prefixed(Reader::i16, &short, "batch PROPLEN < 0")?;
        if r.pos != total {
            return Err(CodecError::BadLength("batch fields end before TOTALSIZE"));
        }
        items.push(BatchItem {
            flag,
            body: body.slice_ref(item_body),
            properties: std::str::from_utf8(props)
                .map_err(|_| CodecError::NotUtf8("batch properties"))?
                .to_owned(),
        });
        pos += total;
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_round_trip() {
        let items = vec![
            BatchItem {
                flag: 1,
                body: Bytes::from_static(b"one"),
                properties: "K\u{1}V".into(),
            },
            BatchItem {
                flag: 0,
                body: Bytes::new(),
                properties: String::new(),
            },
        ];
        let mut out = Vec::new();
        encode_batch(&items, &mut out).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out.len(), 22 * 2 + 3 + 3);
        assert_eq!(decode_batch(&Bytes::from(out.clone())), Ok(items));
        out.pop();
        assert!(decode_batch(&Bytes::from(out)).is_err());
    }
}
