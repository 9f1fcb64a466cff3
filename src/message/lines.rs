//! Line ends: what a message's bytes hold (bare LF, bare CR, NUL, a missing
//! final line end) found in one branch-free pass, the in-place CRLF
//! normalisation, and where the header ends in the raw bytes.
//!
//! The pass looks at every pair of neighbouring bytes in blocks the
//! compiler turns into vector compares (a bare CR is a CR not followed by
//! LF, a bare LF an LF not preceded by CR), so its cost does not depend on
//! how many lines a message has: a search for the next line end (one call
//! per line) was a fifth of `scan`'s time.

/// Line-end statistics of a normalisation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineEnds {
    /// Bare LF seen.
    pub bare_lf: bool,
    /// Bare CR seen.
    pub bare_cr: bool,
    /// A final CRLF was appended.
    pub final_added: bool,
}

/// What one pass over a message's bytes finds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ByteFacts {
    /// Its line ends.
    pub ends: LineEnds,
    /// How many bytes normalising adds (0: it already conforms).
    pub extra: usize,
    /// It holds a NUL byte.
    pub nul: bool,
}

/// Pairs looked at per block: the per-block counts fit in a `u8`.
const BLOCK: usize = 128;

/// Bare LF and bare CR counts and NUL of the pairs `(raw[i], raw[i + 1])`,
/// `i` in `0..raw.len() - 1`, in blocks the compiler vectorises.
#[inline(always)]
fn pair_counts(raw: &[u8]) -> (usize, usize, bool) {
    let (mut lf, mut cr, mut nul) = (0usize, 0usize, 0u8);
    let pairs = raw.len().saturating_sub(1);
    let mut i = 0;
    while i + BLOCK <= pairs {
        let a = &raw[i..i + BLOCK];
        let b = &raw[i + 1..i + 1 + BLOCK];
        let (mut l, mut c, mut z) = (0u8, 0u8, 0u8);
        for (&x, &y) in a.iter().zip(b) {
            l += u8::from(y == b'\n') & u8::from(x != b'\r');
            c += u8::from(x == b'\r') & u8::from(y != b'\n');
            z |= u8::from(x == 0);
        }
        lf += usize::from(l);
        cr += usize::from(c);
        nul |= z;
        i += BLOCK;
    }
    for w in raw[i..].windows(2) {
        let (x, y) = (w[0], w[1]);
        lf += usize::from(y == b'\n' && x != b'\r');
        cr += usize::from(x == b'\r' && y != b'\n');
        nul |= u8::from(x == 0);
    }
    (lf, cr, nul != 0)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn pair_counts_avx2(raw: &[u8]) -> (usize, usize, bool) {
    pair_counts(raw)
}

/// [`pair_counts`] with the widest vectors the CPU has.
fn pair_counts_fast(raw: &[u8]) -> (usize, usize, bool) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { pair_counts_avx2(raw) };
    }
    pair_counts(raw)
}

/// What [`normalize_crlf`] finds in `raw` without changing it, and
/// whether it holds a NUL byte.
pub fn byte_facts(raw: &[u8]) -> ByteFacts {
    let Some(&last) = raw.last() else {
        return ByteFacts::default();
    };
    let (mut lf, mut cr, nul) = pair_counts_fast(raw);
    // The pairs miss an LF at the start and a CR at the end.
    lf += usize::from(raw[0] == b'\n');
    cr += usize::from(last == b'\r');
    let final_added = !matches!(last, b'\r' | b'\n');
    ByteFacts {
        ends: LineEnds {
            bare_lf: lf > 0,
            bare_cr: cr > 0,
            final_added,
        },
        extra: lf + cr + if final_added { 2 } else { 0 },
        nul: nul || last == 0,
    }
}

/// What [`normalize_crlf`] finds in `raw` without changing it: its line
/// ends, and how many bytes normalising adds (0: it already conforms).
pub fn line_ends(raw: &[u8]) -> (LineEnds, usize) {
    let f = byte_facts(raw);
    (f.ends, f.extra)
}

/// Normalises every line end to CRLF and makes the data end with CRLF.
/// Empty input stays empty. Returns the input unchanged (no copy) when it
/// already conforms.
pub fn normalize_crlf(raw: Vec<u8>) -> (Vec<u8>, LineEnds) {
    let (ends, extra) = line_ends(&raw);
    (normalize_known(raw, ends, extra), ends)
}

/// [`normalize_crlf`] of `raw` whose [`line_ends`] are `ends` and `extra`
/// (the first pass already made).
pub(super) fn normalize_known(mut raw: Vec<u8>, ends: LineEnds, extra: usize) -> Vec<u8> {
    if extra == 0 {
        return raw;
    }
    let n = raw.len();
    // In place from the end: the message is never held twice (a 3 GiB
    // message needs 3 GiB and the bytes added, not 6 GiB).
    raw.resize(n + extra, 0);
    let mut w = n + extra;
    if ends.final_added {
        raw[w - 2..w].copy_from_slice(b"\r\n");
        w -= 2;
    }
    let mut r = n;
    while r > 0 {
        // Copy the run after the last line end before `r` in one go.
        let start = memchr::memrchr2(b'\r', b'\n', &raw[..r]).map_or(0, |p| p + 1);
        let len = r - start;
        raw.copy_within(start..r, w - len);
        w -= len;
        r = start;
        if r == 0 {
            break;
        }
        // raw[r - 1] is a line end: CRLF, bare LF or bare CR, each CRLF.
        if raw[r - 1] == b'\n' && r >= 2 && raw[r - 2] == b'\r' {
            r -= 2;
        } else {
            r -= 1;
        }
        raw[w - 2..w].copy_from_slice(b"\r\n");
        w -= 2;
    }
    debug_assert_eq!(w, 0);
    raw
}

/// Where the header of `raw` ends: just after the line end of its first
/// empty line (any of CRLF, LF, CR ends a line, as [`normalize_crlf`]
/// reads them), or `raw.len()` when it has none. Normalising
/// `raw[..header_end(raw)]` gives the normalised message's header block
/// and its empty line, byte for byte.
pub(super) fn header_end(raw: &[u8]) -> usize {
    let mut start = 0;
    while let Some(p) = memchr::memchr2(b'\r', b'\n', &raw[start..]) {
        let at = start + p;
        let len = if raw[at] == b'\r' && raw.get(at + 1) == Some(&b'\n') {
            2
        } else {
            1
        };
        if at == start {
            return at + len;
        }
        start = at + len;
    }
    raw.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The line-end search the pass replaced: one `memchr2` per line end.
    fn reference(raw: &[u8]) -> ByteFacts {
        let mut ends = LineEnds::default();
        let Some(&last) = raw.last() else {
            return ByteFacts::default();
        };
        let mut extra = 0usize;
        let mut i = 0;
        while let Some(p) = memchr::memchr2(b'\r', b'\n', &raw[i..]) {
            i += p;
            if raw[i] == b'\r' && raw.get(i + 1) == Some(&b'\n') {
                i += 2;
                continue;
            }
            if raw[i] == b'\r' {
                ends.bare_cr = true;
            } else {
                ends.bare_lf = true;
            }
            extra += 1;
            i += 1;
        }
        if !matches!(last, b'\r' | b'\n') {
            ends.final_added = true;
            extra += 2;
        }
        ByteFacts {
            ends,
            extra,
            nul: raw.contains(&0),
        }
    }

    #[test]
    fn block_edges() {
        // Line ends and NULs on each side of a block's end, at the start
        // and at the end of the data.
        for len in [
            1,
            2,
            3,
            BLOCK - 1,
            BLOCK,
            BLOCK + 1,
            BLOCK + 2,
            3 * BLOCK + 5,
        ] {
            for at in 0..len {
                for (a, b) in [
                    (b'\r', b'\n'),
                    (b'\n', b'x'),
                    (b'\r', b'x'),
                    (b'x', b'\r'),
                    (b'x', b'\n'),
                    (0, b'x'),
                    (b'x', 0),
                ] {
                    let mut v = vec![b'x'; len];
                    v[at] = a;
                    if at + 1 < len {
                        v[at + 1] = b;
                    }
                    assert_eq!(byte_facts(&v), reference(&v), "len {len} at {at}: {v:?}");
                    assert_eq!(pair_counts(&v), pair_counts_fast(&v));
                }
            }
        }
    }

    #[test]
    fn header_end_is_after_the_first_empty_line() {
        assert_eq!(header_end(b"A: b\r\n\r\nbody"), 8);
        assert_eq!(header_end(b"A: b\n\nbody"), 6);
        assert_eq!(header_end(b"A: b\r\rbody"), 6);
        assert_eq!(header_end(b"A: b\r\n\nbody"), 7);
        assert_eq!(header_end(b"\nbody"), 1);
        assert_eq!(header_end(b"A: b\r\n"), 6);
        assert_eq!(header_end(b"A: b"), 4);
    }

    proptest::proptest! {
        #[test]
        fn one_pass_equals_the_line_end_search(v in proptest::collection::vec(proptest::sample::select(vec![b'a', b'\r', b'\n', 0, 0xe9]), 0..600)) {
            proptest::prop_assert_eq!(byte_facts(&v), reference(&v));
        }
    }
}
