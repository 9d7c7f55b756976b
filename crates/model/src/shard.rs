//! Sharding: which canaries one of N replicas runs. Rendezvous (highest-random-weight) hashing
//! of the canary's name: every replica computes the same split with no coordinator, and going
//! from N to N+1 shards moves only the canaries the new shard wins — about 1/(N+1) of them.

use std::fmt;

/// One shard of N: this replica runs the canaries whose name hashes highest for `index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This replica's shard, from 0.
    pub index: u32,
    /// How many shards there are.
    pub count: u32,
}

/// Why a `--shard` value is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    /// Not `I/N` or `auto/N`.
    #[error("`{0}` is not a shard: write I/N with I from 0 to N-1 (e.g. 0/3), or auto/N")]
    Syntax(String),
    /// N is 0.
    #[error("`{0}`: the shard count must be at least 1")]
    NoShards(String),
    /// I is not below N.
    #[error("`{0}`: shards count from 0, so the index is 0 to {max} for {count} shards", max = .1 - 1, count = .1)]
    IndexTooHigh(String, u32),
    /// `auto/N` without an ordinal to take.
    #[error(
        "`{0}`: no shard index: HOSTNAME `{1}` does not end in a number (a StatefulSet pod is named like canary-2) and CANARY_SHARD_INDEX is not set"
    )]
    NoOrdinal(String, String),
}

impl Shard {
    /// Parses `I/N`, or `auto/N` taking I from `CANARY_SHARD_INDEX`, else from the trailing number
    /// of `HOSTNAME` (a StatefulSet pod's ordinal); `env` looks a variable up.
    pub fn parse(text: &str, env: impl Fn(&str) -> Option<String>) -> Result<Shard, ShardError> {
        let t = text.trim();
        let syntax = || ShardError::Syntax(t.to_string());
        let (i, n) = t.split_once('/').ok_or_else(syntax)?;
        let count: u32 = n.trim().parse().map_err(|_| syntax())?;
        if count == 0 {
            return Err(ShardError::NoShards(t.to_string()));
        }
        let index = match i.trim() {
            "auto" => auto_index(t, &env)?,
            i => i.parse().map_err(|_| syntax())?,
        };
        if index >= count {
            return Err(ShardError::IndexTooHigh(t.to_string(), count));
        }
        Ok(Shard { index, count })
    }

    /// True when this shard runs the canary named `name`.
    pub fn owns(&self, name: &str) -> bool {
        owner(name, self.count) == self.index
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

fn auto_index(text: &str, env: &impl Fn(&str) -> Option<String>) -> Result<u32, ShardError> {
    if let Some(i) = env("CANARY_SHARD_INDEX").filter(|v| !v.trim().is_empty()) {
        return i
            .trim()
            .parse()
            .map_err(|_| ShardError::Syntax(format!("CANARY_SHARD_INDEX={i}")));
    }
    let host = env("HOSTNAME").unwrap_or_default();
    let digits: String = host
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits
        .parse()
        .map_err(|_| ShardError::NoOrdinal(text.to_string(), host))
}

/// The shard (0..count) that runs the canary named `name`: the one with the highest weight.
pub fn owner(name: &str, count: u32) -> u32 {
    let base = fnv1a(name.as_bytes());
    (0..count)
        .max_by_key(|&j| {
            (
                mix(base ^ u64::from(j).wrapping_mul(0x9E37_79B9_7F4A_7C15)),
                j,
            )
        })
        .unwrap_or(0)
}

/// FNV-1a, 64 bits: stable across versions and platforms (changing it would move canaries).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// The splitmix64 finaliser: spreads the bits so every shard's weight is independent.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn parses_and_refuses() {
        assert_eq!(
            Shard::parse("1/3", no_env),
            Ok(Shard { index: 1, count: 3 })
        );
        let env = |k: &str| (k == "HOSTNAME").then(|| "canary-2".to_string());
        assert_eq!(
            Shard::parse("auto/3", env),
            Ok(Shard { index: 2, count: 3 })
        );
        let both = |k: &str| match k {
            "HOSTNAME" => Some("canary-2".into()),
            "CANARY_SHARD_INDEX" => Some("0".into()),
            _ => None,
        };
        assert_eq!(Shard::parse("auto/3", both).unwrap().index, 0);
        let err = |t: &str| Shard::parse(t, no_env).unwrap_err().to_string();
        assert!(err("3/3").contains("0 to 2 for 3 shards"));
        assert!(err("0/0").contains("at least 1"));
        assert!(err("a/b").contains("is not a shard"));
        assert!(err("auto/3").contains("HOSTNAME ``"));
        let host = |k: &str| (k == "HOSTNAME").then(|| "canary-7".to_string());
        assert!(Shard::parse("auto/3", host).is_err());
    }
}
