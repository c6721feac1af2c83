//! Raw scalar encodings shared by the format modules (private).
//!
//! Decodes little- or big-endian element streams into `[z, row, col]` arrays
//! in bounded chunks (memory grows with the data actually present, never with
//! what a header merely claims), and encodes arrays as little-endian bytes.

use std::io::{self, Read, Write};

use ndarray::{Array3, ArrayBase, Data, Ix3};

use super::ImageData;

/// Byte order of multi-byte elements in a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ByteOrder {
    Little,
    Big,
}

/// Element types found in files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ScalarType {
    U8,
    I8,
    I16,
    U16,
    I32,
    U32,
    F32,
    F64,
}

impl ScalarType {
    /// Bytes per element.
    pub(crate) fn size(self) -> usize {
        match self {
            Self::U8 | Self::I8 => 1,
            Self::I16 | Self::U16 => 2,
            Self::I32 | Self::U32 | Self::F32 => 4,
            Self::F64 => 8,
        }
    }
}

/// A fixed-size scalar with a byte encoding.
pub(crate) trait Scalar: Copy {
    const SIZE: usize;
    fn decode(bytes: &[u8], order: ByteOrder) -> Self;
    fn encode_le(self, out: &mut Vec<u8>);
}

macro_rules! impl_scalar {
    ($($t:ty),*) => {$(
        impl Scalar for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            fn decode(bytes: &[u8], order: ByteOrder) -> Self {
                let mut b = [0u8; std::mem::size_of::<$t>()];
                b.copy_from_slice(&bytes[..Self::SIZE]);
                match order {
                    ByteOrder::Little => <$t>::from_le_bytes(b),
                    ByteOrder::Big => <$t>::from_be_bytes(b),
                }
            }
            fn encode_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
    )*};
}
impl_scalar!(u8, i8, i16, u16, i32, u32, f32, f64);

/// Bytes read per chunk.
const CHUNK_BYTES: usize = 1 << 20;

/// Reads exactly `count` elements. A short stream gives `UnexpectedEof`.
/// Capacity grows geometrically with the data actually read and never
/// exceeds `count`.
pub(crate) fn read_scalars<T: Scalar>(
    reader: &mut dyn Read,
    count: usize,
    order: ByteOrder,
) -> io::Result<Vec<T>> {
    let chunk_elems = (CHUNK_BYTES / T::SIZE).max(1);
    let mut out: Vec<T> = Vec::new();
    let mut buf = vec![0u8; chunk_elems.min(count) * T::SIZE];
    while out.len() < count {
        let remaining = count - out.len();
        let n = remaining.min(chunk_elems);
        if out.capacity() - out.len() < n {
            let grow = remaining.min(chunk_elems.max(out.len()));
            out.try_reserve_exact(grow)
                .map_err(|e| io::Error::new(io::ErrorKind::OutOfMemory, e))?;
        }
        let bytes = &mut buf[..n * T::SIZE];
        reader.read_exact(bytes)?;
        out.extend(bytes.chunks_exact(T::SIZE).map(|c| T::decode(c, order)));
    }
    Ok(out)
}

/// Reads a `[z, row, col]` grid of `dims` elements of type `ty` (C order,
/// `col` fastest). `i8` widens to `I16` and `u32` to `F64`.
pub(crate) fn read_image_data(
    reader: &mut dyn Read,
    ty: ScalarType,
    dims: [usize; 3],
    order: ByteOrder,
) -> io::Result<ImageData> {
    fn grid<T: Scalar>(
        reader: &mut dyn Read,
        dims: [usize; 3],
        order: ByteOrder,
    ) -> io::Result<Array3<T>> {
        let count = dims
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "size overflows"))?;
        let values = read_scalars::<T>(reader, count, order)?;
        Array3::from_shape_vec(dims, values)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
    }
    Ok(match ty {
        ScalarType::U8 => ImageData::U8(grid(reader, dims, order)?),
        ScalarType::I8 => ImageData::I16(grid::<i8>(reader, dims, order)?.mapv(i16::from)),
        ScalarType::I16 => ImageData::I16(grid(reader, dims, order)?),
        ScalarType::U16 => ImageData::U16(grid(reader, dims, order)?),
        ScalarType::I32 => ImageData::I32(grid(reader, dims, order)?),
        ScalarType::U32 => ImageData::F64(grid::<u32>(reader, dims, order)?.mapv(f64::from)),
        ScalarType::F32 => ImageData::F32(grid(reader, dims, order)?),
        ScalarType::F64 => ImageData::F64(grid(reader, dims, order)?),
    })
}

/// Writes the array's elements in logical C order (`[z, row, col]`, `col`
/// fastest) as little-endian bytes, whatever its memory layout.
pub(crate) fn write_le<T, S>(writer: &mut dyn Write, array: &ArrayBase<S, Ix3>) -> io::Result<()>
where
    T: Scalar + bytemuck::Pod,
    S: Data<Elem = T>,
{
    // Contiguous C-order data on a little-endian machine: the memory is
    // already the file's bytes.
    if cfg!(target_endian = "little")
        && let Some(slice) = array.as_slice()
    {
        return writer.write_all(bytemuck::cast_slice(slice));
    }
    let chunk_elems = (CHUNK_BYTES / T::SIZE).max(1);
    let mut buf = Vec::with_capacity(chunk_elems.min(array.len()) * T::SIZE);
    for v in array {
        v.encode_le(&mut buf);
        if buf.len() >= chunk_elems * T::SIZE {
            writer.write_all(&buf)?;
            buf.clear();
        }
    }
    writer.write_all(&buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_both_orders() {
        let bytes = [0x01u8, 0x02, 0x03, 0x04];
        let le = read_scalars::<u16>(&mut &bytes[..], 2, ByteOrder::Little).unwrap();
        let be = read_scalars::<u16>(&mut &bytes[..], 2, ByteOrder::Big).unwrap();
        assert_eq!(le, vec![0x0201, 0x0403]);
        assert_eq!(be, vec![0x0102, 0x0304]);
    }

    #[test]
    fn short_stream_is_eof() {
        let bytes = [0u8; 7];
        let err = read_scalars::<f32>(&mut &bytes[..], 2, ByteOrder::Little).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn many_chunks_round_trip() {
        let n = 3 * (CHUNK_BYTES / 2) + 17;
        let a = Array3::from_shape_fn((1, 1, n), |(_, _, i)| ((i % 60_000) as i32 - 30_000) as i16);
        let mut bytes = Vec::new();
        write_le(&mut bytes, &a).unwrap();
        assert_eq!(bytes.len(), n * 2);
        let back = read_image_data(
            &mut &bytes[..],
            ScalarType::I16,
            [1, 1, n],
            ByteOrder::Little,
        )
        .unwrap();
        assert_eq!(back, ImageData::I16(a));
    }

    #[test]
    fn non_standard_layout_is_written_in_logical_order() {
        let a = Array3::from_shape_fn((2, 3, 4), |(z, y, x)| (z * 100 + y * 10 + x) as u8);
        let t = a.clone().reversed_axes(); // Fortran-layout view of the transpose
        let back = t.as_standard_layout().into_owned();
        let mut expected = Vec::new();
        write_le(&mut expected, &back).unwrap();
        let mut got = Vec::new();
        write_le(&mut got, &t).unwrap();
        assert_eq!(got, expected);
    }
}
