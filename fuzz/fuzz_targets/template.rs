//! The `${…}` tokenizer: any text gives tokens or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = canary::template::tokenize(text);
});
