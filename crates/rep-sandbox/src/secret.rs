//! Random passwords and API-key material.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::rand::{SecureRandom, SystemRandom};

/// `N` bytes from the OS CSPRNG.
///
/// A sandbox cannot do anything useful without randomness (its passwords would be guessable),
/// and the OS source failing means the machine is broken, so this panics instead of threading
/// an error through every constructor.
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    SystemRandom::new()
        .fill(&mut buf)
        .expect("the operating system's random source failed");
    buf
}

/// A password made of ASCII letters and digits only, so it never needs quoting in a URL,
/// a pwfile or a SQL literal.
pub(crate) fn alphanumeric_password(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for byte in random_bytes::<64>() {
            // Rejection sampling keeps the distribution uniform (62 does not divide 256).
            if (byte as usize) < ALPHABET.len() * 4 && out.len() < len {
                out.push(ALPHABET[byte as usize % ALPHABET.len()] as char);
            }
        }
    }
    out
}

/// A URL-safe token with `N` random bytes, shaped like the random part of a Supabase key.
pub(crate) fn url_safe_token<const N: usize>() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<N>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_alphanumeric_and_distinct() {
        let a = alphanumeric_password(32);
        let b = alphanumeric_password(32);
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }

    #[test]
    fn tokens_have_no_dots() {
        // A dot would change how PostgREST counts JWT parts for a misplaced key.
        assert!(!url_safe_token::<24>().contains('.'));
    }
}
