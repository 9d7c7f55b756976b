//! The canary loader: any text is a canary or a list of errors, and the errors render (source
//! line and caret) without a panic, whatever the line ends and characters.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let opts = canary::config::LoadOptions::default();
    let file = std::path::Path::new("fuzz.yaml");
    if let Err(errors) = canary::config::load_text(file, text, &opts) {
        let _ = canary::config::render_with_source(&errors, text);
    }
});
