use std::str::FromStr;

use phonenumber::{Mode, country};

use super::ParseError;

/// The region a tenant's numbers are read in when they carry no `+country`
/// prefix, e.g. `CN` for `138 0013 8000`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region(country::Id);

impl Region {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        country::Id::from_str(&raw.trim().to_uppercase())
            .map(Self)
            .map_err(|_| ParseError(format!("{raw:?} is not an ISO 3166 region code such as CN or US")))
    }

    pub fn code(&self) -> &str {
        self.0.as_ref()
    }
}

/// A phone number in E.164 (`+8613800138000`), whatever format it was typed in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NormalizedPhone(String);

impl NormalizedPhone {
    pub fn parse(raw: &str, region: Region) -> Result<Self, ParseError> {
        let number = phonenumber::parse(Some(region.0), raw)
            .map_err(|_| ParseError(format!("{raw:?} is not a phone number")))?;
        if !phonenumber::is_valid(&number) {
            return Err(ParseError(format!(
                "{raw:?} is not a valid phone number for region {}",
                region.code()
            )));
        }
        Ok(Self(number.format().mode(Mode::E164).to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cn() -> Region {
        Region::parse("cn").unwrap()
    }

    #[test]
    fn formats_of_one_number_agree() {
        let forms = ["13800138000", "138 0013 8000", "+86 138-0013-8000", "0086 13800138000"];
        for raw in forms {
            assert_eq!(
                NormalizedPhone::parse(raw, cn()).unwrap().as_str(),
                "+8613800138000",
                "{raw}"
            );
        }
    }

    #[test]
    fn foreign_prefix_wins_over_region() {
        let phone = NormalizedPhone::parse("+1 (415) 555-2671", cn()).unwrap();
        assert_eq!(phone.as_str(), "+14155552671");
    }

    #[test]
    fn rejects_garbage_and_unknown_regions() {
        assert!(NormalizedPhone::parse("call me", cn()).is_err());
        assert!(NormalizedPhone::parse("123", cn()).is_err());
        assert!(Region::parse("XX").is_err());
    }
}
