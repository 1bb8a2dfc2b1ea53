//! Checked big-endian reading and length-prefixed writing, shared by the decoders.

use super::IntellivueError;

/// Reads big-endian fields off a byte slice; every read is checked, so a short
/// message is an error naming `item`, never a panic.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    item: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8], item: &'static str) -> Self {
        Self { bytes, item }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len()
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], IntellivueError> {
        if n > self.bytes.len() {
            return Err(IntellivueError::Truncated {
                item: self.item,
                needed: n,
                available: self.bytes.len(),
            });
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], IntellivueError> {
        let bytes = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, IntellivueError> {
        let [b] = self.array::<1>()?;
        Ok(b)
    }

    pub(crate) fn u16(&mut self) -> Result<u16, IntellivueError> {
        self.array().map(u16::from_be_bytes)
    }

    pub(crate) fn u32(&mut self) -> Result<u32, IntellivueError> {
        self.array().map(u32::from_be_bytes)
    }

    pub(crate) fn bytes8(&mut self) -> Result<[u8; 8], IntellivueError> {
        self.array()
    }

    /// Reads a u16 length and exactly that many bytes, which must be all that
    /// is left: the length fields of these layers cover the rest of the PDU.
    pub(crate) fn rest_with_u16_length(mut self) -> Result<&'a [u8], IntellivueError> {
        let declared = usize::from(self.u16()?);
        if declared != self.remaining() {
            return Err(IntellivueError::BadLength {
                item: self.item,
                declared,
                available: self.remaining(),
            });
        }
        Ok(self.bytes)
    }

    pub(crate) fn rest(self) -> &'a [u8] {
        self.bytes
    }
}

/// A length as a u16 field, or [`IntellivueError::TooLong`] naming `item`.
pub(crate) fn u16_len(item: &'static str, len: usize) -> Result<u16, IntellivueError> {
    u16::try_from(len).map_err(|_| IntellivueError::TooLong {
        item,
        len,
        max: usize::from(u16::MAX),
    })
}

/// Appends `body` after its u16 length.
pub(crate) fn put_with_u16_length(
    out: &mut Vec<u8>,
    item: &'static str,
    body: &[u8],
) -> Result<(), IntellivueError> {
    out.extend_from_slice(&u16_len(item, body.len())?.to_be_bytes());
    out.extend_from_slice(body);
    Ok(())
}
