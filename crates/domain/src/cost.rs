//! Money and token usage. Money is integer micro-USD, never a float.

use serde::{Deserialize, Serialize};
use std::{fmt, iter::Sum, ops::Add};

/// An amount in millionths of a US dollar.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MicroUsd(pub i64);

impl MicroUsd {
    pub const ZERO: Self = Self(0);

    /// The cost of `tokens` at `price_per_million` micro-USD per million tokens, rounded up so
    /// sums never under-count.
    pub fn for_tokens(tokens: u64, price_per_million: MicroUsd) -> Self {
        let product = i128::from(tokens) * i128::from(price_per_million.0);
        let micros = (product + 999_999).div_euclid(1_000_000);
        Self(i64::try_from(micros).unwrap_or(i64::MAX))
    }
}

impl Add for MicroUsd {
    type Output = Self;
    fn add(self, rhs: Self) -> Self {
        Self(self.0.saturating_add(rhs.0))
    }
}

impl Sum for MicroUsd {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::ZERO, Add::add)
    }
}

impl fmt::Display for MicroUsd {
    /// `$0.001234`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}${}.{:06}", abs / 1_000_000, abs % 1_000_000)
    }
}

/// Tokens one LLM call used.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Input tokens served from the provider's prompt cache (a subset of `input_tokens`).
    pub cached_input_tokens: u64,
}

impl Add for Usage {
    type Output = Self;
    fn add(self, rhs: Self) -> Self {
        Self {
            input_tokens: self.input_tokens + rhs.input_tokens,
            output_tokens: self.output_tokens + rhs.output_tokens,
            cached_input_tokens: self.cached_input_tokens + rhs.cached_input_tokens,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_cost_rounds_up_and_displays() {
        // 1,234 tokens at $2.50 per million = $0.003085
        assert_eq!(MicroUsd::for_tokens(1234, MicroUsd(2_500_000)), MicroUsd(3085));
        assert_eq!(MicroUsd::for_tokens(1, MicroUsd(1)), MicroUsd(1));
        assert_eq!(MicroUsd::for_tokens(0, MicroUsd(5_000_000)), MicroUsd(0));
        assert_eq!(MicroUsd(3085).to_string(), "$0.003085");
        assert_eq!(MicroUsd(-1_500_000).to_string(), "-$1.500000");
        assert_eq!([MicroUsd(1), MicroUsd(2)].into_iter().sum::<MicroUsd>(), MicroUsd(3));
    }
}
