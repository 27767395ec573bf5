//! The borrowed event pass (`authorizer::event`, `parse.rs`) against a plain reference.
//!
//! Every invocation goes through a hand-written serde pass that keeps only what the decision
//! reads. This test generates random API Gateway authorizer events (REST TOKEN, REST REQUEST,
//! HTTP API 2.0 and events that are none of them) and reads each one twice:
//!
//! - with the real pass, exactly as the Lambda runtime does (`serde_path_to_error` over
//!   `serde_json::Deserializer::from_slice` into `AuthorizerPayload`), and as `handle_json`
//!   does (`AuthorizerEvent::parse`);
//! - with [`reference`] (`tests/reference/mod.rs`), written on `serde_json::Value` from the
//!   selection rules the code and README document (each rule is written down on the function
//!   that applies it).
//!
//! Both must pick the same shape, ARN and credentials (`Authorization` values, cookies, API
//! keys, for either reading of a TOKEN event), or both refuse the event the same way.
//!
//! The events have header names in any case (and look-alikes outside ASCII), JSON escapes in
//! names and values (`"Authoriz\u0061tion"`), duplicate keys at the top level and in header
//! maps, `headers` and `multiValueHeaders` that agree or disagree, the v2 `cookies` array,
//! unknown fields, nesting thousands deep in unknown fields, values up to 70,000 characters,
//! empty values, and (in one event of four) values of the wrong JSON type where a string, a map
//! or a list is expected.
//!
//! **Reproducible**: proptest with a fixed seed (`0xD1FF_E4E7`; `PROPTEST_RNG_SEED=<n>` tries
//! another) and 3,000 cases per run (`PROPTEST_CASES=<n>` changes it; 13–16 s in a debug
//! build on 2 busy cores). A failing case is shrunk, and its seed is written to
//! `tests/differential.proptest-regressions` (commit it): every later run replays the persisted
//! cases first, so `cargo test -p authorizer --test differential` reproduces it.

mod reference;

use std::fmt::Write as _;

use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, RngSeed};
use reference::{Credentials, Verdict, parse_verdict, reference, runtime_verdict};

fn config() -> ProptestConfig {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    ProptestConfig {
        cases: env("PROPTEST_CASES").map_or(3000, |n| u32::try_from(n).unwrap_or(3000)),
        rng_seed: RngSeed::Fixed(env("PROPTEST_RNG_SEED").unwrap_or(0xD1FF_E4E7)),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::default()
    }
}

/// The pass and the reference on one JSON text: the same verdict, by each of the pass's
/// entry points.
fn assert_agree(json: &str) -> Result<Verdict, TestCaseError> {
    let expected = reference(json);
    let runtime = runtime_verdict(json.as_bytes());
    prop_assert_eq!(&runtime, &expected, "runtime pass vs reference on {}", json);
    let parsed = parse_verdict(json);
    prop_assert_eq!(
        &parsed,
        &expected,
        "AuthorizerEvent::parse vs reference on {}",
        json
    );
    Ok(expected)
}

// ---------------------------------------------------------------------------------------------
// Generated events, written out by hand (escapes, duplicates, spacing chosen at random).
// ---------------------------------------------------------------------------------------------

/// A JSON string to write: its characters, and which to write as `\uXXXX` (bit `i % 64` of
/// `escape` for the `i`-th character).
#[derive(Debug, Clone)]
struct Text {
    text: String,
    escape: u64,
}

/// A JSON value to write.
#[derive(Debug, Clone)]
enum J {
    Null,
    Bool(bool),
    Num(&'static str),
    Str(Text),
    Arr(Vec<J>),
    Obj(Vec<(Text, J)>),
    /// Lists (`false`) or objects (`true`) nested this deep.
    Deep(usize, bool),
}

fn write_text(out: &mut String, t: &Text) {
    out.push('"');
    for (i, c) in t.text.chars().enumerate() {
        let forced = (t.escape >> (i % 64)) & 1 == 1;
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' if forced => out.push_str("\\/"),
            '\n' if forced => out.push_str("\\n"),
            c if forced || u32::from(c) < 0x20 => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_json(out: &mut String, j: &J, spaced: bool) {
    let sep = if spaced { ", " } else { "," };
    match j {
        J::Null => out.push_str("null"),
        J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        J::Num(n) => out.push_str(n),
        J::Str(t) => write_text(out, t),
        J::Arr(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(sep);
                }
                write_json(out, item, spaced);
            }
            out.push(']');
        }
        J::Obj(entries) => {
            out.push('{');
            for (i, (name, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(sep);
                }
                if spaced {
                    out.push_str("\n  ");
                }
                write_text(out, name);
                out.push_str(if spaced { ": " } else { ":" });
                write_json(out, item, spaced);
            }
            out.push('}');
        }
        J::Deep(depth, objects) => {
            for _ in 0..*depth {
                out.push_str(if *objects { "{\"a\":" } else { "[" });
            }
            out.push_str("\"bottom\"");
            for _ in 0..*depth {
                out.push(if *objects { '}' } else { ']' });
            }
        }
    }
}

/// Strings of up to `max` characters from `alphabet`, drawn from a seed (proptest's regular
/// expression strategies cost ~10 µs a character in a debug build; this, one draw a string).
fn word(alphabet: &'static str, min: usize, max: usize) -> impl Strategy<Value = String> {
    let chars: Vec<char> = alphabet.chars().collect();
    (min..=max, any::<u64>()).prop_map(move |(len, mut seed)| {
        (0..len)
            .map(|_| {
                // splitmix64
                seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = seed;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                z ^= z >> 31;
                chars[usize::try_from(z % chars.len() as u64).unwrap_or(0)]
            })
            .collect()
    })
}

const LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const TOKEN: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
const PRINTABLE: &str = " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";
/// Beyond ASCII: accents, `K` (Kelvin), dotless `ı`, `ſ` (long s), an emoji (a surrogate pair
/// when escaped), BOM, RTL override, NUL, and line separators.
const UNICODE: &str = "aé=ß\u{212A}ıſ😀\u{FEFF}\u{202E}\u{0}\u{2028}€ \t";
const CONTROL: &str = "\u{0}\u{1}\u{8}\t\n\r\u{1b}\u{1f}\"\\";

/// Escapes: none in most strings, some characters or all of them in the others.
fn escapes() -> impl Strategy<Value = u64> {
    prop_oneof![6 => Just(0), 3 => any::<u64>(), 1 => Just(u64::MAX)]
}

fn text(s: impl Strategy<Value = String>) -> impl Strategy<Value = Text> {
    (s, escapes()).prop_map(|(text, escape)| Text { text, escape })
}

/// A name in any case: each ASCII letter's case flipped by a bit of `flips`.
fn any_case(name: &str, flips: u64) -> String {
    name.chars()
        .enumerate()
        .map(|(i, c)| {
            if (flips >> (i % 64)) & 1 == 1 {
                if c.is_ascii_lowercase() {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            } else {
                c
            }
        })
        .collect()
}

/// Header names: the credential headers (and near misses) in any case, look-alikes outside
/// ASCII, and other headers.
fn header_name() -> impl Strategy<Value = Text> {
    let base = prop_oneof![
        4 => Just("authorization".to_owned()),
        4 => Just("cookie".to_owned()),
        3 => Just("x-api-key".to_owned()),
        1 => Just("x-client-key".to_owned()),
        1 => Just("x-api-keys".to_owned()),
        1 => Just("authorization ".to_owned()),
        1 => Just("cookie2".to_owned()),
        1 => Just("set-cookie".to_owned()),
        1 => Just("coo\u{212A}ie".to_owned()),
        1 => Just("authorızation".to_owned()),
        1 => Just("host".to_owned()),
        1 => Just("X-Forwarded-For".to_owned()),
        1 => word("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", 0, 16),
    ];
    let cased = (base, prop_oneof![2 => Just(0u64), 1 => any::<u64>()])
        .prop_map(|(name, flips)| any_case(&name, flips));
    text(cased)
}

/// Header values: bearer tokens, cookies, keys, free text, any Unicode, empty, and huge.
fn header_text() -> impl Strategy<Value = Text> {
    let s = prop_oneof![
        60 => (
            any::<u64>(),
            prop_oneof![Just(" "), Just("\t"), Just(""), Just("  "), Just(" \t")],
            word(TOKEN, 0, 40),
        )
            .prop_map(|(flips, space, token)| format!("{}{space}{token}", any_case("bearer", flips))),
        60 => (any::<bool>(), word(TOKEN, 0, 40)).prop_map(|(secure, token)| format!(
            "{}better-auth.session_token={token}",
            if secure { "__Secure-" } else { "" }
        )),
        40 => prop::collection::vec(
            (word("abcdefghijklmnopqrstuvwxyz_", 1, 8), word(TOKEN, 0, 12)),
            1..4
        )
        .prop_map(|pairs| pairs
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")),
        40 => word(TOKEN, 0, 40),
        40 => word(PRINTABLE, 0, 40),
        20 => word(UNICODE, 0, 20),
        20 => word(CONTROL, 0, 8),
        20 => Just(String::new()),
        // 64 KiB and more: in about one event in ten.
        1 => (60_000usize..70_000, prop_oneof![Just('a'), Just('='), Just(' '), Just('é')])
            .prop_map(|(n, c)| c.to_string().repeat(n)),
    ];
    text(s)
}

/// Any JSON value (for unknown fields and for wrong types).
fn junk() -> impl Strategy<Value = J> {
    // Nesting far beyond `serde_json`'s recursion limit (128) now and then, shallow otherwise.
    let deep = prop_oneof![
        20 => (1usize..8, any::<bool>()),
        1 => (100usize..3000, any::<bool>()),
    ]
    .prop_map(|(depth, objects)| J::Deep(depth, objects));
    let leaf = prop_oneof![
        Just(J::Null),
        any::<bool>().prop_map(J::Bool),
        prop_oneof![Just("0"), Just("-1.5e300"), Just("12345678901234567890123")].prop_map(J::Num),
        header_text().prop_map(J::Str),
        deep,
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(J::Arr),
            prop::collection::vec((text(word(LETTERS, 0, 8)), inner), 0..4).prop_map(J::Obj),
        ]
    })
}

/// A value where a string (or `null`) is read: mostly that, a wrong type when `hostile`.
fn string_field(s: impl Strategy<Value = Text> + 'static, hostile: bool) -> BoxedStrategy<J> {
    if hostile {
        prop_oneof![6 => s.prop_map(J::Str), 1 => Just(J::Null), 2 => junk()].boxed()
    } else {
        prop_oneof![12 => s.prop_map(J::Str), 1 => Just(J::Null)].boxed()
    }
}

fn arn() -> impl Strategy<Value = Text> {
    let valid = (
        word("abcdefghijklmnopqrstuvwxyz0123456789", 1, 10),
        prop_oneof![Just("prod"), Just("$default")],
        prop_oneof![Just("GET"), Just("POST")],
        word("abcdefghijklmnopqrstuvwxyz/", 0, 12),
    )
        .prop_map(|(api, stage, method, path)| {
            format!("arn:aws:execute-api:us-east-1:123456789012:{api}/{stage}/{method}/{path}")
        });
    text(prop_oneof![
        4 => valid,
        1 => word(PRINTABLE, 0, 30),
        1 => Just(String::new()),
    ])
}

/// A header map: `(name, value)` entries, duplicates likely (the names come from a small pool).
fn header_entries(multi: bool, hostile: bool) -> BoxedStrategy<Vec<(Text, J)>> {
    let single = string_field(header_text(), hostile);
    let value = if multi {
        let item = string_field(header_text(), hostile);
        let list = prop::collection::vec(item, 0..4).prop_map(J::Arr);
        if hostile {
            prop_oneof![6 => list, 1 => Just(J::Null), 2 => single].boxed()
        } else {
            prop_oneof![12 => list, 1 => Just(J::Null)].boxed()
        }
    } else {
        single
    };
    prop::collection::vec((header_name(), value), 0..7).boxed()
}

/// `headers` and `multiValueHeaders` as API Gateway sends them for REST (each header in both,
/// `headers` holding the last value), or disagreeing in any way.
fn header_maps(hostile: bool) -> impl Strategy<Value = (J, J)> {
    let agreeing = prop::collection::vec(
        (header_name(), prop::collection::vec(header_text(), 1..3)),
        0..6,
    )
    .prop_map(|headers| {
        let single = headers
            .iter()
            .map(|(name, values)| (name.clone(), J::Str(values[values.len() - 1].clone())))
            .collect();
        let multi = headers
            .into_iter()
            .map(|(name, values)| (name, J::Arr(values.into_iter().map(J::Str).collect())))
            .collect();
        (J::Obj(single), J::Obj(multi))
    });
    let map = |multi| {
        let entries = header_entries(multi, hostile).prop_map(J::Obj);
        if hostile {
            prop_oneof![8 => entries, 1 => Just(J::Null), 1 => junk()].boxed()
        } else {
            prop_oneof![12 => entries, 1 => Just(J::Null)].boxed()
        }
    };
    prop_oneof![agreeing, (map(false), map(true))]
}

fn cookies(hostile: bool) -> BoxedStrategy<J> {
    let list = prop::collection::vec(string_field(header_text(), hostile), 0..5).prop_map(J::Arr);
    if hostile {
        prop_oneof![6 => list, 1 => Just(J::Null), 1 => junk()].boxed()
    } else {
        prop_oneof![12 => list, 1 => Just(J::Null)].boxed()
    }
}

/// A top-level field name: exactly as API Gateway names it (escapes aside), or now and then
/// in another case (then an unknown field).
fn field_name(name: &'static str) -> impl Strategy<Value = Text> {
    let cased =
        prop_oneof![9 => Just(0u64), 1 => any::<u64>().prop_filter("a change", |f| *f & 0xFF != 0)];
    text(cased.prop_map(move |flips| any_case(name, flips)))
}

/// Occurrences of one top-level field: absent, once, or (rarely) two or three times.
fn occurrences(
    name: &'static str,
    present: f64,
    value: BoxedStrategy<J>,
) -> BoxedStrategy<Vec<(Text, J)>> {
    let one = (field_name(name), value).boxed();
    prop::option::weighted(
        present,
        prop_oneof![12 => prop::collection::vec(one.clone(), 1..2), 1 => prop::collection::vec(one, 2..4)],
    )
    .prop_map(Option::unwrap_or_default)
    .boxed()
}

/// Which event to make.
#[derive(Debug, Clone, Copy)]
enum Make {
    Token,
    Request,
    HttpV2,
    Other,
}

/// Events of every kind, one in four hostile (wrong types in the fields the pass reads).
///
/// Every strategy is built once, here: a regular expression is compiled when its strategy is
/// made, not per case.
fn event() -> impl Strategy<Value = String> {
    prop_oneof![
        9 => event_of(Make::Token, false),
        3 => event_of(Make::Token, true),
        12 => event_of(Make::Request, false),
        4 => event_of(Make::Request, true),
        12 => event_of(Make::HttpV2, false),
        4 => event_of(Make::HttpV2, true),
        3 => event_of(Make::Other, false),
        1 => event_of(Make::Other, true),
    ]
}

fn event_of(make: Make, hostile: bool) -> BoxedStrategy<String> {
    let (token, request, v2) = match make {
        Make::Token => (0.97, 0.1, 0.1),
        Make::Request => (0.1, 0.97, 0.1),
        Make::HttpV2 => (0.1, 0.1, 0.97),
        Make::Other => (0.5, 0.5, 0.5),
    };
    let version = match make {
        Make::HttpV2 => prop_oneof![9 => Just("2.0"), 1 => Just("1.0")].boxed(),
        _ => prop_oneof![
            Just("2.0"),
            Just("1.0"),
            Just("2"),
            Just("2.00"),
            Just(" 2.0")
        ]
        .boxed(),
    };
    let kind = match make {
        Make::Token => prop_oneof![9 => Just("TOKEN"), 1 => Just("token")].boxed(),
        Make::Request | Make::HttpV2 => {
            prop_oneof![9 => Just("REQUEST"), 1 => Just("Request")].boxed()
        }
        Make::Other => {
            prop_oneof![Just("TOKEN"), Just("REQUEST"), Just("TOKEN "), Just("")].boxed()
        }
    };
    let version_present = if matches!(make, Make::HttpV2) {
        0.97
    } else {
        0.2
    };
    let fields = (
        occurrences(
            "version",
            version_present,
            string_field(text(version.prop_map(str::to_owned)), hostile),
        ),
        occurrences(
            "type",
            0.95,
            string_field(text(kind.prop_map(str::to_owned)), hostile),
        ),
        occurrences(
            "authorizationToken",
            token,
            string_field(header_text(), hostile),
        ),
        occurrences(
            "methodArn",
            token.max(request),
            string_field(arn(), hostile),
        ),
        occurrences("routeArn", v2, string_field(arn(), hostile)),
        header_maps(hostile),
        prop::bool::weighted(request.max(v2)),
        prop::bool::weighted(request),
        occurrences("cookies", v2, cookies(hostile)),
        occurrences(
            "headers",
            0.05,
            header_entries(false, hostile).prop_map(J::Obj).boxed(),
        ),
        prop::collection::vec((text(word(LETTERS, 1, 12)), junk()), 0..4),
        prop::option::weighted(0.7, request_context()),
    );
    (fields, any::<bool>())
        .prop_flat_map(
            |(
                (
                    version,
                    kind,
                    token,
                    method_arn,
                    route_arn,
                    (headers, multi),
                    with_headers,
                    with_multi,
                    cookies,
                    more_headers,
                    unknown,
                    context,
                ),
                spaced,
            )| {
                let mut entries: Vec<(Text, J)> = Vec::new();
                entries.extend(version);
                entries.extend(kind);
                entries.extend(token);
                entries.extend(method_arn);
                entries.extend(route_arn);
                if with_headers {
                    entries.push((plain("headers"), headers));
                }
                if with_multi {
                    entries.push((plain("multiValueHeaders"), multi));
                }
                entries.extend(cookies);
                entries.extend(more_headers);
                entries.extend(unknown);
                entries.extend(context.map(|c| (plain("requestContext"), c)));
                (Just(entries).prop_shuffle(), Just(spaced))
            },
        )
        .prop_map(|(entries, spaced)| {
            let mut out = String::new();
            write_json(&mut out, &J::Obj(entries), spaced);
            out
        })
        .boxed()
}

/// A string written as it is.
fn plain(s: &str) -> Text {
    Text {
        text: s.to_owned(),
        escape: 0,
    }
}

/// A request context with headers and cookies of its own (never read) and deep nesting.
fn request_context() -> impl Strategy<Value = J> {
    junk().prop_map(|deep| {
        let headers = vec![
            (plain("Authorization"), J::Str(plain("Bearer not-read"))),
            (plain("cookie"), J::Str(plain("not=read"))),
            (plain("x-api-key"), J::Arr(vec![J::Str(plain("not-read"))])),
        ];
        J::Obj(vec![
            (plain("accountId"), J::Str(plain("123456789012"))),
            (plain("headers"), J::Obj(headers)),
            (plain("cookies"), J::Arr(vec![J::Str(plain("not=read"))])),
            (plain("authorizer"), deep),
        ])
    })
}

proptest! {
    #![proptest_config(config())]

    /// The pass and the reference agree on every generated event.
    #[test]
    fn the_pass_reads_events_as_the_reference_does(json in event()) {
        assert_agree(&json)?;
    }
}

// ---------------------------------------------------------------------------------------------
// Fixed cases: the rules by example, and the fixtures `make invoke-examples` sends.
// ---------------------------------------------------------------------------------------------

fn read_by_both(json: &str) -> Verdict {
    match assert_agree(json) {
        Ok(verdict) => verdict,
        Err(e) => panic!("{e}"),
    }
}

fn credentials(verdict: &Verdict) -> &Credentials {
    match verdict {
        Verdict::Read(reading) => &reading.as_headers,
        other => panic!("not read: {other:?}"),
    }
}

#[test]
fn the_fixtures_are_read_alike() {
    for fixture in [
        include_str!("../../../events/rest-token.json"),
        include_str!("../../../events/rest-request.json"),
        include_str!("../../../events/http-v2.json"),
    ] {
        assert!(matches!(read_by_both(fixture), Verdict::Read(_)));
    }
}

#[test]
fn escaped_names_and_values_are_read_decoded() {
    let json = r#"{"ty\u0070e": "REQ\u0055EST", "methodArn": "arn:aws:execute-api:r:1:a/s/GET/",
        "headers": {"Authoriz\u0061tion": "Bearer \u0061bc", "X-API-\u004bEY": "k"}}"#;
    let verdict = read_by_both(json);
    assert_eq!(credentials(&verdict).authorization, ["Bearer abc"]);
    assert_eq!(credentials(&verdict).api_keys, ["k"]);
}

#[test]
fn duplicates_are_all_kept_in_header_maps_and_the_last_string_counts() {
    let json = r#"{"type": "TOKEN", "type": "REQUEST", "methodArn": "arn:aws:execute-api:r:1:a/s/GET/",
        "headers": {"cookie": "a=1", "Cookie": "b=2", "cookie": "c=3"},
        "headers": {"COOKIE": "d=4"},
        "multiValueHeaders": {"cookie": ["a=1", null, "b=2"]}}"#;
    let verdict = read_by_both(json);
    assert_eq!(
        credentials(&verdict).cookies,
        ["a=1", "b=2", "c=3", "d=4", "a=1", "b=2"]
    );
}

#[test]
fn look_alike_names_outside_ascii_are_not_credential_headers() {
    let json = "{\"version\": \"2.0\", \"headers\": {\"coo\u{212A}ie\": \"a=1\", \"authorızation\": \"Bearer x\"}}";
    let verdict = read_by_both(json);
    assert_eq!(credentials(&verdict), &Credentials::default());
}

#[test]
fn deep_unknown_fields_are_skipped_and_wrong_types_refused() {
    let deep = format!(
        "{{\"type\": \"TOKEN\", \"x\": {}1{}, \"authorizationToken\": \"Bearer t\"}}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    assert!(matches!(read_by_both(&deep), Verdict::Read(_)));
    for wrong in [
        r#"{"type": "TOKEN", "authorizationToken": 5}"#,
        r#"{"type": "TOKEN", "headers": {"cookie": ["a=1"]}}"#,
        r#"{"type": "REQUEST", "multiValueHeaders": {"Authorization": "Bearer x"}}"#,
        r#"{"version": "2.0", "cookies": ["a=1", null]}"#,
        r#"{"version": "2.0", "cookies": ["a=1"], "cookies": 1}"#,
        r#"{"type": "TOKEN", "methodArn": "a", "methodArn": {"x": 1}}"#,
    ] {
        assert_eq!(read_by_both(wrong), Verdict::Malformed, "{wrong}");
    }
}
