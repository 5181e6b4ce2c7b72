/// The exit status classes of SPEC.md ("Exit codes"), which shell scripts branch on.
///
/// Every error type in the workspace maps to exactly one class, so a binary never has to
/// guess which code a failure deserves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitClass {
    /// `0`: `READY`, export done, import done, `ok`, `GO`.
    Success,
    /// `1`: `NOT_READY`, `anomalia`, `NO-GO`, or `--apply` refused by the rules.
    Negative,
    /// `2`: bad flag, missing or malformed variable or file.
    Usage,
    /// `3`: hash or count mismatch, tampered evidence.
    Integrity,
    /// `4`: source or target unreachable after retries, I/O error.
    Runtime,
}

impl ExitClass {
    /// The numeric process exit code.
    pub fn code(self) -> u8 {
        match self {
            ExitClass::Success => 0,
            ExitClass::Negative => 1,
            ExitClass::Usage => 2,
            ExitClass::Integrity => 3,
            ExitClass::Runtime => 4,
        }
    }

    /// A short lowercase name, used in reports (`error.class`).
    pub fn name(self) -> &'static str {
        match self {
            ExitClass::Success => "success",
            ExitClass::Negative => "negative",
            ExitClass::Usage => "usage",
            ExitClass::Integrity => "integrity",
            ExitClass::Runtime => "runtime",
        }
    }
}
