//! One-time codes for `${totp:NAME}` (RFC 6238): from a base32 seed, or an `otpauth://totp/…`
//! URI that also says the digits, the period and the hash.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::hmac;

/// A code ending within this long is not sent: the next one is waited for.
pub const FRESH: std::time::Duration = std::time::Duration::from_secs(3);

/// A TOTP generator. Its seed is a secret: it never shows in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Totp {
    key: Vec<u8>,
    digits: u32,
    period: u64,
    algorithm: Algorithm,
}

/// The HMAC hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// SHA-1, the default of RFC 6238 and of every authenticator app.
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-512.
    Sha512,
}

impl std::fmt::Debug for Totp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (digits, period, algorithm) = (self.digits, self.period, self.algorithm);
        write!(f, "Totp({digits} digits, {period} s, {algorithm:?})")
    }
}

impl Totp {
    /// The generator a secret describes: a base32 seed (spaces and case ignored, padding
    /// optional) for 6 digits every 30 s with SHA-1, or an `otpauth://totp/…?secret=…` URI.
    pub fn parse(secret: &str) -> Result<Totp, String> {
        let secret = secret.trim();
        if secret.starts_with("otpauth://") {
            return from_uri(secret);
        }
        Ok(Totp {
            key: seed(secret)?,
            digits: 6,
            period: 30,
            algorithm: Algorithm::Sha1,
        })
    }

    /// The code for the moment `unix` (seconds since 1970).
    pub fn code_at(&self, unix: u64) -> String {
        let counter = (unix / self.period).to_be_bytes();
        let alg = match self.algorithm {
            Algorithm::Sha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            Algorithm::Sha256 => hmac::HMAC_SHA256,
            Algorithm::Sha512 => hmac::HMAC_SHA512,
        };
        let tag = hmac::sign(&hmac::Key::new(alg, &self.key), &counter);
        let mac = tag.as_ref();
        let at = usize::from(mac[mac.len() - 1] & 0x0f);
        let bin = u32::from_be_bytes([mac[at] & 0x7f, mac[at + 1], mac[at + 2], mac[at + 3]]);
        let code = u64::from(bin) % 10u64.pow(self.digits);
        format!("{code:0width$}", width = self.digits as usize)
    }

    /// How long to wait for a code that lives long enough to be checked: until the next step
    /// when this one ends within [`FRESH`], else nothing.
    pub fn wait(&self) -> std::time::Duration {
        self.wait_at(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default(),
        )
    }

    /// [`Totp::wait`] at `now`, since 1970.
    fn wait_at(&self, now: std::time::Duration) -> std::time::Duration {
        let period_ms = u128::from(self.period) * 1000;
        let left = period_ms - now.as_millis() % period_ms;
        match left < FRESH.as_millis() {
            true => std::time::Duration::from_millis(left as u64 + 20),
            false => std::time::Duration::ZERO,
        }
    }

    /// The code now.
    pub fn now(&self) -> String {
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        self.code_at(unix.as_secs())
    }
}

/// A base32 seed (RFC 4648), as authenticator setups show it.
fn seed(text: &str) -> Result<Vec<u8>, String> {
    let clean: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-' && *c != '=')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let key = data_encoding::BASE32_NOPAD
        .decode(clean.as_bytes())
        .map_err(|_| {
            "a TOTP seed is base32 (letters A–Z and digits 2–7), or an otpauth://totp/… URI"
                .to_string()
        })?;
    match key.is_empty() {
        true => Err("the TOTP seed is empty".into()),
        false => Ok(key),
    }
}

/// `otpauth://totp/LABEL?secret=…&digits=…&period=…&algorithm=…`.
fn from_uri(text: &str) -> Result<Totp, String> {
    let url = url::Url::parse(text).map_err(|_| "not an otpauth:// URI".to_string())?;
    if url.host_str() != Some("totp") {
        return Err("only otpauth://totp/… URIs give time-based codes".into());
    }
    let mut totp = Totp {
        key: Vec::new(),
        digits: 6,
        period: 30,
        algorithm: Algorithm::Sha1,
    };
    for (k, v) in url.query_pairs() {
        match k.as_ref() {
            "secret" => totp.key = seed(&v)?,
            "digits" => {
                totp.digits = v
                    .parse()
                    .ok()
                    .filter(|d| (6..=10).contains(d))
                    .ok_or("`digits` is 6 to 10")?;
            }
            "period" => {
                totp.period = v
                    .parse()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or("`period` is seconds, more than 0")?;
            }
            "algorithm" => {
                totp.algorithm = match v.to_ascii_uppercase().as_str() {
                    "SHA1" => Algorithm::Sha1,
                    "SHA256" => Algorithm::Sha256,
                    "SHA512" => Algorithm::Sha512,
                    other => return Err(format!("`algorithm={other}`: SHA1, SHA256 or SHA512")),
                };
            }
            _ => {}
        }
    }
    match totp.key.is_empty() {
        true => Err("the otpauth:// URI has no `secret=`".into()),
        false => Ok(totp),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238, appendix B: the seeds are ASCII "12345678901234567890" repeated to the hash's
    /// length, 8 digits.
    #[test]
    fn the_rfc_6238_test_vectors() {
        let ascii = |n: usize| "1234567890".repeat(7).as_bytes()[..n].to_vec();
        let b32 = |k: &[u8]| data_encoding::BASE32_NOPAD.encode(k);
        let uri = |k: &[u8], alg: &str| {
            format!(
                "otpauth://totp/x?secret={}&digits=8&algorithm={alg}",
                b32(k)
            )
        };
        let sha1 = Totp::parse(&uri(&ascii(20), "SHA1")).unwrap();
        let sha256 = Totp::parse(&uri(&ascii(32), "SHA256")).unwrap();
        let sha512 = Totp::parse(&uri(&ascii(64), "SHA512")).unwrap();
        for (t, one, two, five) in [
            (59, "94287082", "46119246", "90693936"),
            (1111111109, "07081804", "68084774", "25091201"),
            (1234567890, "89005924", "91819424", "93441116"),
            (20000000000, "65353130", "77737706", "47863826"),
        ] {
            assert_eq!(
                (sha1.code_at(t), sha256.code_at(t), sha512.code_at(t)),
                (one.into(), two.into(), five.into()),
                "T = {t}"
            );
        }
    }

    #[test]
    fn a_code_about_to_expire_is_waited_out() {
        let t = Totp::parse("GEZDGNBVGY3TQOJQ").unwrap();
        let at = |ms: u64| t.wait_at(std::time::Duration::from_millis(ms));
        assert_eq!(at(60_000), std::time::Duration::ZERO, "a fresh step");
        assert_eq!(at(86_999), std::time::Duration::ZERO, "3.001 s left");
        assert_eq!(
            at(87_500),
            std::time::Duration::from_millis(2_520),
            "2.5 s left"
        );
    }

    #[test]
    fn a_bare_seed_is_six_digits_every_30_s_and_never_shows() {
        let t = Totp::parse("gezd gnbv gy3t qojq").unwrap();
        assert_eq!(t.code_at(59).len(), 6);
        assert_eq!(t.code_at(30), t.code_at(59));
        assert!(!format!("{t:?}").contains("GEZD"));
        assert!(Totp::parse("not base32!").is_err());
        assert!(Totp::parse("otpauth://hotp/x?secret=GEZDGNBV").is_err());
        assert!(Totp::parse("otpauth://totp/x?digits=8").is_err());
    }
}
