//! Expected versions and the pure check that decides them.

use ::core::fmt;
use alloc::string::String;

use super::error::Error;

/// What an append expects of its stream's last version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// No expectation.
    Any,
    /// The stream has no events.
    NoStream,
    /// The stream has at least one event.
    StreamExists,
    /// The stream's last version is exactly this (0: the stream has no events).
    Exact(u64),
}

impl ExpectedVersion {
    /// The name of a named expectation (`any`, `no_stream`, `stream_exists`); `None` for a
    /// number.
    pub fn name(self) -> Option<&'static str> {
        match self {
            ExpectedVersion::Any => Some("any"),
            ExpectedVersion::NoStream => Some("no_stream"),
            ExpectedVersion::StreamExists => Some("stream_exists"),
            ExpectedVersion::Exact(_) => None,
        }
    }

    /// The expectation named `name`, if it is one.
    pub fn from_name(name: &str) -> Option<Self> {
        [ExpectedVersion::Any, ExpectedVersion::NoStream, ExpectedVersion::StreamExists]
            .into_iter()
            .find(|e| e.name() == Some(name))
    }
}

impl fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpectedVersion::Exact(n) => write!(f, "{n}"),
            named => f.write_str(named.name().unwrap_or_default()),
        }
    }
}

/// `Ok` when a stream whose last version is `actual` meets `expected`; otherwise the
/// [`Error::WrongExpectedVersion`] to report.
pub fn check_expected_version(
    stream: &str,
    expected: ExpectedVersion,
    actual: u64,
) -> Result<(), Error> {
    let ok = match expected {
        ExpectedVersion::Any => true,
        ExpectedVersion::NoStream => actual == 0,
        ExpectedVersion::StreamExists => actual > 0,
        ExpectedVersion::Exact(n) => actual == n,
    };
    if ok {
        Ok(())
    } else {
        Err(Error::WrongExpectedVersion {
            stream: String::from(stream),
            expected,
            actual,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ExpectedVersion::*;

    #[test]
    fn each_mode_passes_and_fails_where_it_should() {
        let cases = [
            (Any, 0, true),
            (Any, 7, true),
            (NoStream, 0, true),
            (NoStream, 1, false),
            (StreamExists, 0, false),
            (StreamExists, 3, true),
            (Exact(0), 0, true),
            (Exact(0), 1, false),
            (Exact(4), 4, true),
            (Exact(4), 5, false),
            (Exact(4), 3, false),
        ];
        for (expected, actual, ok) in cases {
            let result = check_expected_version("s", expected, actual);
            assert_eq!(result.is_ok(), ok, "{expected} against {actual}");
            if let Err(e) = result {
                assert_eq!(
                    e,
                    Error::WrongExpectedVersion {
                        stream: "s".into(),
                        expected,
                        actual
                    }
                );
            }
        }
    }
}
