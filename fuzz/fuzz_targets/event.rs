//! Arbitrary bytes as an authorizer invocation: the event pass must never panic, and where the
//! bytes are one valid JSON document it must read them as the reference does (the reference
//! of the differential test, `functions/authorizer/tests/reference/mod.rs`, included by path).
//!
//! `cargo +nightly fuzz run event` from the repository root (README, "Faults, load and hostile
//! input").
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../functions/authorizer/tests/reference/mod.rs"]
mod reference;

fuzz_target!(|data: &[u8]| {
    // The runtime's own read (`from_slice`, no check of what follows the event): any bytes.
    let runtime = reference::runtime_verdict(data);
    // JSON is UTF-8, and one document: only then is there a reading to compare.
    let Ok(json) = std::str::from_utf8(data) else {
        return;
    };
    if serde_json::from_str::<serde::de::IgnoredAny>(json).is_err() {
        return;
    }
    let expected = reference::reference(json);
    assert_eq!(runtime, expected, "runtime pass vs reference");
    assert_eq!(
        reference::parse_verdict(json),
        expected,
        "AuthorizerEvent::parse vs reference"
    );
});
