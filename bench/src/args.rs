//! The programs' few `--name value` options (no parser dependency needed).

use std::collections::HashMap;
use std::str::FromStr;

use crate::BoxError;

/// `--name value` pairs from the command line.
#[derive(Debug, Default)]
pub struct Args {
    values: HashMap<String, String>,
}

impl Args {
    /// Parses `std::env::args()`; every option takes a value.
    pub fn from_env() -> Result<Self, BoxError> {
        Self::parse(std::env::args().skip(1))
    }

    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, BoxError> {
        let mut values = HashMap::new();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let Some(name) = arg.strip_prefix("--") else {
                return Err(
                    format!("unexpected argument `{arg}` (options are `--name value`)").into(),
                );
            };
            let value = args
                .next()
                .ok_or_else(|| format!("option `--{name}` needs a value"))?;
            values.insert(name.to_owned(), value);
        }
        Ok(Self { values })
    }

    pub fn text(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// `--moto-endpoint`, which the programs that measure on moto require.
    pub fn moto_endpoint(&self) -> Result<String, BoxError> {
        self.text("moto-endpoint")
            .map(str::to_owned)
            .ok_or_else(|| {
                "--moto-endpoint is required (scripts/bench.sh starts moto's server)".into()
            })
    }

    /// The option's value, or `default` when it is absent.
    pub fn get<T: FromStr>(&self, name: &str, default: T) -> Result<T, BoxError>
    where
        T::Err: std::fmt::Display,
    {
        match self.values.get(name) {
            None => Ok(default),
            Some(raw) => raw
                .parse()
                .map_err(|e| format!("option `--{name} {raw}`: {e}").into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_take_values() {
        let args = Args::parse(["--rate", "100", "--url", "http://x"].map(String::from))
            .expect("valid options");
        assert_eq!(args.get("rate", 0u32).expect("a number"), 100);
        assert_eq!(args.text("url"), Some("http://x"));
        assert_eq!(args.get("missing", 7u32).expect("the default"), 7);
        assert!(Args::parse(["--rate".to_owned()]).is_err());
        assert!(Args::parse(["rate".to_owned()]).is_err());
    }

    #[test]
    fn the_moto_endpoint_is_required() {
        let given = Args::parse(["--moto-endpoint", "http://127.0.0.1:5000"].map(String::from))
            .expect("valid options");
        assert_eq!(
            given.moto_endpoint().expect("given"),
            "http://127.0.0.1:5000"
        );
        let missing = Args::default().moto_endpoint().expect_err("required");
        assert!(missing.to_string().contains("--moto-endpoint is required"));
    }
}
