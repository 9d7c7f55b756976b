//! A check kind's section in a canary or a step: what every kind's raw type provides, and the
//! fields the kinds' table ([`canary_model::for_each_kind`]) adds to the file's shape.

use serde_saphyr::Location;

use super::compiler::{Compiler, Parts};
use super::raw::S;
use crate::canary::{Step, StepKind};

/// What a kind's raw section (`RawTcp`, …) provides to the compiler.
pub(super) trait RawKind {
    /// The compiled check, recording every error in the section; `at` is where it is written.
    fn compile(&self, c: &mut Compiler<'_>, at: &Location) -> Option<StepKind>;
    /// The `assert:`, `capture:` and `degraded:` written inside the section.
    fn inside(&self) -> Parts<'_>;
}

/// One kind's section, as written in a canary or a step.
#[derive(Clone, Copy)]
pub(super) struct Section<'r> {
    at: &'r Location,
    raw: &'r dyn RawKind,
}

impl<'r> Section<'r> {
    /// The section `s`.
    pub(super) fn new<K: RawKind>(s: &'r S<K>) -> Section<'r> {
        Section {
            at: &s.referenced,
            raw: &s.value,
        }
    }

    /// The names of the captures written inside the section.
    pub(super) fn capture_names(self) -> Vec<String> {
        let inside = self.raw.inside();
        inside
            .capture
            .into_iter()
            .flatten()
            .map(|(n, _)| n.clone())
            .collect()
    }
}

/// The sections a canary or step can hold, for messages: "`http:`, `tcp:`, … or `grpc:`".
pub(super) fn kinds() -> String {
    let all: Vec<String> = StepKind::SECTIONS
        .iter()
        .map(|k| format!("`{k}:`"))
        .collect();
    match all.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

impl Compiler<'_> {
    /// The step a section describes, with `parts` written beside it. A section with an error
    /// leaves no check; its assertions are still compiled, so that every error is reported.
    pub(super) fn section_step(
        &mut self,
        name: String,
        section: Section,
        parts: &Parts,
    ) -> Option<Step> {
        let errors_before = self.errors.len();
        let kind = section.raw.compile(self, section.at);
        let kind = kind.filter(|_| self.errors.len() == errors_before);
        self.step(name, kind, &section.raw.inside(), parts)
    }
}

/// Declares a struct of the file's shape with one optional field per line of the kinds' table
/// between its two groups of fields, and its `sections()`: those written, in the table's order.
macro_rules! with_kind_sections {
    (
        {
            $(#[$attr:meta])* $vis:vis struct $name:ident { $($before:tt)* } { $($after:tt)* }
        }
        $( $(#[$doc:meta])* $variant:ident $key:ident $check:ident $raw:ident; )*
    ) => {
        $(#[$attr])*
        $vis struct $name {
            $($before)*
            $( $(#[$doc])* pub $key: Option<Box<S<super::$key::$raw>>>, )*
            $($after)*
        }

        impl $name {
            /// The kinds' sections written, in the table's order.
            pub(super) fn sections(&self) -> Vec<super::section::Section<'_>> {
                let mut out = Vec::new();
                $( out.extend(self.$key.as_deref().map(super::section::Section::new)); )*
                out
            }
        }
    };
}
pub(super) use with_kind_sections;
