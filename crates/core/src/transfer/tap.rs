//! The content hash of a file, computed from the bytes read for sending it — also when
//! they are read as several ranges at once (S3's parallel parts), so a big upload needs no
//! second pass over the file (on an external drive or a file larger than the page cache,
//! that pass was a whole second read).
//!
//! BLAKE3 is a tree: each range is hashed, on the thread that reads it, as the subtrees
//! of the whole file's tree it covers ([`RangeHasher`]); [`HashTap::finish`] joins them
//! into the root once they cover the file. Only what the tree allows is hashed this way
//! (a range that starts or ends inside a 1 KiB chunk is not), and anything missing makes
//! `finish` answer `None`: the caller then hashes the file itself. Nothing here reads a
//! file or holds its bytes.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use blake3::hazmat::{
    left_subtree_len, max_subtree_len, merge_subtrees_non_root, merge_subtrees_root, ChainingValue,
    HasherExt, Mode,
};
use blake3::CHUNK_LEN;

const CHUNK: u64 = CHUNK_LEN as u64;

/// A hashed piece of the file's tree.
#[derive(Clone)]
enum Piece {
    /// The whole file, hashed by one reader: its hash, as `blake3::hash` gives it.
    Whole(blake3::Hash),
    /// A subtree: its length and chaining value.
    Subtree(u64, ChainingValue),
}

/// The pieces of one file's tree hashed so far, by offset.
pub struct HashTap {
    size: u64,
    pieces: BTreeMap<u64, Piece>,
}

impl HashTap {
    pub fn new(size: u64) -> Self {
        HashTap {
            size,
            pieces: BTreeMap::new(),
        }
    }

    /// A hasher for the `len` bytes from `offset` that one reader reads in order; it adds
    /// each piece it completes to `tap`.
    pub fn range(tap: &Arc<Mutex<HashTap>>, offset: u64, len: u64) -> RangeHasher {
        let size = tap.lock().expect("tap lock").size;
        let mut r = RangeHasher {
            tap: tap.clone(),
            size,
            end: (offset + len).min(size),
            start: offset,
            want: 0,
            hasher: blake3::Hasher::new(),
            dead: false,
        };
        r.begin(offset);
        r
    }

    /// The file's hash, if the pieces cover it all.
    pub fn finish(&self) -> Option<String> {
        if self.size == 0 {
            return Some(blake3::hash(b"").to_hex().to_string());
        }
        // The pieces must tile [0, size) exactly: a retried range replaced its own.
        let mut at = 0;
        let mut list = Vec::with_capacity(self.pieces.len());
        for (&start, piece) in &self.pieces {
            if start != at {
                return None;
            }
            match piece {
                Piece::Whole(h) => return (self.pieces.len() == 1).then(|| h.to_hex().to_string()),
                Piece::Subtree(len, cv) => {
                    list.push((start, *len, *cv));
                    at += len;
                }
            }
        }
        if at != self.size {
            return None;
        }
        // The root is never one `Subtree` piece (a whole file in one is `Whole`).
        let (left, mid, right) = children(&list, 0, self.size)?;
        let root = merge_subtrees_root(
            &subtree(left, 0, mid)?,
            &subtree(right, mid, self.size)?,
            Mode::Hash,
        );
        Some(root.to_hex().to_string())
    }

    fn add(&mut self, start: u64, piece: Piece) {
        self.pieces.insert(start, piece);
    }
}

type Pieces<'a> = &'a [(u64, u64, ChainingValue)];

/// The pieces of the node spanning [a, b), cut where the tree splits it into its two
/// children (at `mid`) — `None` if a piece crosses that boundary (it was not one of the
/// tree's subtrees) or one side is empty.
fn children(pieces: Pieces<'_>, a: u64, b: u64) -> Option<(Pieces<'_>, u64, Pieces<'_>)> {
    if b - a <= CHUNK {
        return None;
    }
    let mid = a + left_subtree_len(b - a);
    let (left, right) = pieces.split_at(pieces.partition_point(|(start, _, _)| *start < mid));
    let crossed = left.iter().any(|(s, l, _)| s + l > mid);
    (!left.is_empty() && !right.is_empty() && !crossed).then_some((left, mid, right))
}

/// The chaining value of the (non-root) node spanning [a, b), from the pieces that tile it.
fn subtree(pieces: Pieces<'_>, a: u64, b: u64) -> Option<ChainingValue> {
    if let [(start, len, cv)] = pieces {
        return (*start == a && start + len == b).then_some(*cv);
    }
    let (left, mid, right) = children(pieces, a, b)?;
    Some(merge_subtrees_non_root(
        &subtree(left, a, mid)?,
        &subtree(right, mid, b)?,
        Mode::Hash,
    ))
}

/// Hashes one range of the file as its reader reads it, in order, a piece at a time (the
/// largest subtree that starts where the last one ended and fits the range).
pub struct RangeHasher {
    tap: Arc<Mutex<HashTap>>,
    size: u64,
    end: u64,
    /// Where the current piece starts, and how long it is.
    start: u64,
    want: u64,
    hasher: blake3::Hasher,
    /// The range cannot be cut into subtrees (it starts or ends inside a chunk), or a
    /// read was not the next bytes: it hashes nothing more.
    dead: bool,
}

impl RangeHasher {
    /// Begin the piece at `at`.
    fn begin(&mut self, at: u64) {
        self.start = at;
        self.hasher = blake3::Hasher::new();
        if at >= self.end {
            self.want = 0;
            return;
        }
        let Some(want) = piece_len(at, self.end, self.size) else {
            self.dead = true;
            return;
        };
        self.want = want;
        if at > 0 {
            self.hasher.set_input_offset(at);
        }
    }

    /// The next bytes of the range, read at `at`.
    pub fn feed(&mut self, at: u64, mut data: &[u8]) {
        if self.dead {
            return;
        }
        if at != self.start + self.hasher.count() {
            // Not the next bytes (never, for a reader reading in order): stop hashing.
            self.dead = true;
            return;
        }
        while !data.is_empty() && self.want > 0 {
            let room = (self.want - self.hasher.count()) as usize;
            let (now, rest) = data.split_at(room.min(data.len()));
            self.hasher.update(now);
            data = rest;
            if self.hasher.count() == self.want {
                let piece = if self.start == 0 && self.want == self.size {
                    Piece::Whole(self.hasher.finalize())
                } else {
                    Piece::Subtree(self.want, self.hasher.finalize_non_root())
                };
                self.tap.lock().expect("tap lock").add(self.start, piece);
                let next = self.start + self.want;
                self.begin(next);
                if self.dead {
                    return;
                }
            }
        }
    }
}

/// The piece at `at` of a range ending at `end` in a file of `size` bytes: the rest of
/// the file if it is one subtree (subtrees on the tree's right edge may be short),
/// else the largest whole subtree that starts at `at` and fits before `end`.
fn piece_len(at: u64, end: u64, size: u64) -> Option<u64> {
    if !at.is_multiple_of(CHUNK) {
        return None;
    }
    let rest = end - at;
    let max = max_subtree_len(at);
    if end == size && max.is_none_or(|m| rest <= m) {
        return Some(rest);
    }
    let cap = max.map_or(rest, |m| m.min(rest));
    if cap < CHUNK {
        // The range ends inside a chunk that goes on after it.
        return None;
    }
    // A power of two of chunks: a subtree of that length starts wherever this one does.
    Some(1u64 << (63 - cap.leading_zeros()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize) -> Vec<u8> {
        let mut x: u32 = 0x9e37_79b9;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect()
    }

    /// Hash `bytes` as the ranges `cuts` make of it, each fed in `step`-byte reads, in
    /// the order given.
    fn tapped(bytes: &[u8], ranges: &[(u64, u64)], step: usize) -> Option<String> {
        let tap = Arc::new(Mutex::new(HashTap::new(bytes.len() as u64)));
        for &(off, len) in ranges {
            let mut r = HashTap::range(&tap, off, len);
            let mut at = off;
            for c in bytes[off as usize..(off + len) as usize].chunks(step) {
                r.feed(at, c);
                at += c.len() as u64;
            }
        }
        let h = tap.lock().unwrap().finish();
        h
    }

    fn parts(size: u64, part: u64) -> Vec<(u64, u64)> {
        (0..size.div_ceil(part))
            .map(|i| (i * part, part.min(size - i * part)))
            .collect()
    }

    #[test]
    fn parallel_parts_give_the_whole_files_hash_whatever_the_order() {
        let mib = 1 << 20;
        // S3's sizes: whole MiBs of parts, 8 MiB and up, a short last part; files of
        // every kind of tail.
        for (size, part) in [
            (40 * mib + 1, 8 * mib),
            (40 * mib, 8 * mib),
            (33 * mib + 4321, 9 * mib),
            (27 * mib + 1023, 3 * mib),
            (5 * mib + 1, 5 * mib),
        ] {
            let bytes = data(size as usize);
            let want = blake3::hash(&bytes).to_hex().to_string();
            let mut ranges = parts(size, part);
            assert_eq!(tapped(&bytes, &ranges, 512 * 1024).as_deref(), Some(&*want));
            ranges.reverse();
            assert_eq!(
                tapped(&bytes, &ranges, 100_000).as_deref(),
                Some(&*want),
                "{size} in parts of {part}, last first"
            );
        }
    }

    #[test]
    fn every_small_size_and_cut_matches_blake3() {
        // Sizes around chunk and tree boundaries, cut at every chunk boundary.
        for size in [
            0u64,
            1,
            1023,
            1024,
            1025,
            2048,
            3000,
            4096,
            5121,
            7 * 1024 + 7,
            8192,
        ] {
            let bytes = data(size as usize);
            let want = blake3::hash(&bytes).to_hex().to_string();
            assert_eq!(
                tapped(&bytes, &[(0, size)], 333).as_deref(),
                Some(&*want),
                "{size} whole"
            );
            for cut in (CHUNK..size).step_by(CHUNK as usize) {
                let ranges = [(cut, size - cut), (0, cut)];
                assert_eq!(
                    tapped(&bytes, &ranges, 700).as_deref(),
                    Some(&*want),
                    "{size} cut at {cut}"
                );
            }
        }
    }

    #[test]
    fn a_missing_or_unaligned_range_gives_no_hash() {
        let bytes = data(20_000);
        // A gap.
        assert_eq!(tapped(&bytes, &[(0, 8192), (12288, 7712)], 4096), None);
        // A cut inside a chunk: that range hashes nothing, so the file is not covered.
        assert_eq!(tapped(&bytes, &[(0, 5000), (5000, 15000)], 4096), None);
        // Out-of-order reads within a range stop it.
        let tap = Arc::new(Mutex::new(HashTap::new(20_000)));
        let mut r = HashTap::range(&tap, 0, 20_000);
        r.feed(4096, &bytes[4096..]);
        r.feed(0, &bytes[..4096]);
        assert_eq!(tap.lock().unwrap().finish(), None);
    }

    #[test]
    fn a_range_read_again_replaces_its_pieces() {
        let bytes = data(64 * 1024);
        let want = blake3::hash(&bytes).to_hex().to_string();
        let ranges = [
            (0, 32 * 1024),
            (32 * 1024, 32 * 1024),
            (32 * 1024, 32 * 1024),
        ];
        assert_eq!(tapped(&bytes, &ranges, 5000).as_deref(), Some(&*want));
    }
}
