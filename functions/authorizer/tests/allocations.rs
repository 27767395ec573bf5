//! The refusal path allocates a small, fixed number of times: a forged cookie is refused without
//! building the event's header maps, without a query, and without formatting anything it does
//! not log. Counted with a counting global allocator (this test binary only).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use auth_core::Authenticator;
use auth_core::signing::{Secret, sign_cookie_value};
use authorizer::event::AuthorizerPayload;
use authorizer::handler::{AuthorizerError, handle};
use lambda_runtime::{Context, LambdaEvent};

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded to the system allocator unchanged; the thread-locals only count.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            COUNT.with(|c| c.set(c.get() + 1));
        }
        // SAFETY: the caller upholds `alloc`'s contract, which `System` shares.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            COUNT.with(|c| c.set(c.get() + 1));
        }
        // SAFETY: as for `alloc` and `dealloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The allocations `f` makes on this thread.
fn allocations<T>(f: impl FnOnce() -> T) -> (T, usize) {
    COUNT.with(|c| c.set(0));
    COUNTING.with(|c| c.set(true));
    let out = f();
    COUNTING.with(|c| c.set(false));
    (out, COUNT.with(Cell::get))
}

fn rest_request_with_cookie(cookie: &str) -> String {
    let mut event: serde_json::Value =
        serde_json::from_str(include_str!("../../../events/rest-request.json")).expect("fixture");
    event["headers"]["Cookie"] = serde_json::json!(cookie);
    event["multiValueHeaders"]["Cookie"] = serde_json::json!([cookie]);
    event.to_string()
}

#[test]
fn a_forged_cookie_is_refused_with_a_handful_of_allocations() {
    let config = auth_core::Config::from_lookup(|name| match name {
        // Never connected to: a forged cookie is refused before any query.
        "DATABASE_URL" => Some("postgres://nobody@127.0.0.1:1/none".into()),
        "BETTER_AUTH_SECRET" => Some("allocation-test-secret-0123456789abcdef".into()),
        _ => None,
    })
    .expect("config");
    let auth = Authenticator::new(&config).expect("authenticator");
    let forged = sign_cookie_value(
        &Secret::new("another-secret-0123456789abcdefghijklmn"),
        "abcdefghabcdefghabcdefghabcdefgh",
    );
    let json = rest_request_with_cookie(&format!("better-auth.session_token={forged}"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    // The runtime's deserialization is ours too (it reads the event into our payload type).
    let refuse = |json: &str| {
        allocations(|| {
            let payload: AuthorizerPayload = serde_json::from_str(json).expect("JSON");
            runtime.block_on(handle(&auth, LambdaEvent::new(payload, Context::default())))
        })
    };
    let _ = refuse(&json); // warm-up: lazily initialised statics
    let (answer, count) = refuse(&json);
    assert_eq!(answer.err(), Some(AuthorizerError::Unauthorized));
    assert!(
        count <= 16,
        "the bad-signature path allocated {count} times (at most 16 expected)"
    );
    // The same event with every header and the request context: the count does not grow with
    // what the event carries besides the credentials.
    let mut bigger: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    for i in 0..200 {
        bigger["headers"][format!("X-Extra-{i}")] = serde_json::json!("v");
        bigger["multiValueHeaders"][format!("X-Extra-{i}")] = serde_json::json!(["v"]);
    }
    let bigger = bigger.to_string();
    let (answer, bigger_count) = refuse(&bigger);
    assert_eq!(answer.err(), Some(AuthorizerError::Unauthorized));
    assert_eq!(bigger_count, count, "independent of the event's size");
}
