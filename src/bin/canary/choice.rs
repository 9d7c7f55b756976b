//! Choosing one of a library's named values on the command line: the crates below the binary
//! list their choices as `(value, name, help)` tables and know nothing of clap.

use std::ffi::OsStr;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::error::ErrorKind;

/// A clap value parser over a `(value, name, help)` table: the help lists the names with their
/// help, and a wrong name is refused with the list, as `ValueEnum` would.
#[derive(Clone)]
pub struct Choice<T: 'static>(pub &'static [(T, &'static str, &'static str)]);

impl<T: Copy + Send + Sync + 'static> TypedValueParser for Choice<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<T, clap::Error> {
        let names = self.0.iter().map(|(_, name, _)| *name);
        let name = PossibleValuesParser::new(names).parse_ref(cmd, arg, value)?;
        self.0
            .iter()
            .find(|(_, n, _)| *n == name)
            .map(|(v, _, _)| *v)
            .ok_or_else(|| clap::Error::new(ErrorKind::InvalidValue).with_cmd(cmd))
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        let values = self
            .0
            .iter()
            .map(|(_, n, h)| PossibleValue::new(*n).help(*h));
        Some(Box::new(values))
    }
}
