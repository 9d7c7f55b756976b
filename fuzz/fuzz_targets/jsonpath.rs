//! JSONPath as users write it: any text compiles or gets an explanation, and a compiled path
//! queries a document without a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let doc = serde_json::json!({ "a": [1, { "b-c": "x" }], "headers": { "X-Token": "t" } });
    match canary::config::jsonpath::compile(text) {
        Ok(path) => {
            let _ = path.query(&doc);
        }
        Err(reason) => {
            let _ = canary::config::jsonpath::explain(text, &reason);
        }
    }
});
