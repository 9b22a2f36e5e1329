//! Deterministic hashing and pseudo-random numbers for generated data.
//!
//! The demo store, the Open Food Facts sample and the Olist conversion must come out
//! byte-identical on every machine and every run, so they never touch the operating system's
//! random source or `std`'s randomly seeded hashers. Two small, well-known algorithms do:
//! FNV-1a (64-bit, Fowler, Noll and Vo) to turn a text into a stable number, and SplitMix64
//! (Steele, Lea and Flood, "Fast splittable pseudorandom number generators", 2014) as a
//! generator. Neither is fit for secrets: device tokens and PIN salts come from the operating
//! system.

/// FNV-1a, 64-bit, of `bytes`.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.iter().fold(OFFSET_BASIS, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(PRIME)
    })
}

/// The SplitMix64 generator: a 64-bit state advanced by a constant and mixed on output.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    /// A generator seeded by the FNV-1a hash of `text`.
    pub fn from_text(text: &str) -> SplitMix64 {
        SplitMix64::new(fnv1a64(text.as_bytes()))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`, without modulo bias (draws above the last whole multiple of `n` are
    /// thrown away and drawn again).
    ///
    /// # Panics
    /// When `n` is zero: there is no number below zero to give.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "SplitMix64::below(0) has no answer");
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let x = self.next_u64();
            if x < zone {
                return x % n;
            }
        }
    }

    /// A number in `low..=high`.
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.below(high - low + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_published_test_vectors() {
        // From the FNV reference test suite (Landon Curt Noll's fnv test vectors).
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn splitmix64_matches_its_reference_sequence_for_seed_zero() {
        let mut rng = SplitMix64::new(0);
        assert_eq!(rng.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(rng.next_u64(), 0x6e78_9e6a_a1b9_65f4);
    }

    #[test]
    fn bounded_draws_stay_in_range_and_cover_it() {
        let mut rng = SplitMix64::new(7);
        let mut seen = [false; 5];
        for _ in 0..1000 {
            let x = rng.between(1, 5);
            assert!((1..=5).contains(&x), "{x} is outside 1..=5");
            seen[(x - 1) as usize] = true;
        }
        assert!(
            seen.iter().all(|s| *s),
            "every value of 1..=5 should appear in 1000 draws"
        );
    }
}
