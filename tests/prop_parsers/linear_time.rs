//! Linear time: worst-case shapes for `parse` and the JWT verifier, timed at two sizes.
use std::time::{Duration, Instant};

use better_auth_grpc::test_util::b64;
use better_auth_grpc::test_util::credential::SESSION_COOKIE;
use serde_json::json;

use crate::credentials::parse_lax;
use crate::jwt::fixture;

/// The CPU time this thread has used: on a busy machine the other processes' share of the
/// cores does not count, as it would with wall-clock time.
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn cpu_clock() -> Duration {
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }
    extern "C" {
        fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut ts = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(
        u64::try_from(ts.tv_sec).unwrap_or(0),
        u32::try_from(ts.tv_nsec).unwrap_or(0),
    )
}

/// Elsewhere, wall-clock time since the first call.
#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn cpu_clock() -> Duration {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed()
}

/// How long `reps` calls of `f` take (thread CPU time).
fn timed(reps: u32, f: &dyn Fn()) -> Duration {
    let start = cpu_clock();
    for _ in 0..reps {
        f();
    }
    cpu_clock().saturating_sub(start)
}

/// `shape(n)` is an input of n bytes; the time per byte for n = 8 KiB must stay well below
/// the 8× more a quadratic algorithm would need than for n = 1 KiB (ratio of the times per
/// call: linear 8, quadratic 64, limit 32).
///
/// Robust on a busy 2-core machine: the clock is this thread's CPU time (other processes'
/// share does not count), both sizes are timed alternately, nine times each (at least 4 ms
/// of work per small window), and the best window of each counts.
fn assert_linear(name: &str, shape: &dyn Fn(usize) -> String, run: &dyn Fn(&str)) -> f64 {
    const SMALL: usize = 1024;
    const LARGE: usize = 8 * 1024;
    let (small, large) = (shape(SMALL), shape(LARGE));
    assert!(small.len() <= SMALL && large.len() <= LARGE && large.len() > LARGE * 7 / 8);
    let (run_small, run_large) = (|| run(&small), || run(&large));
    let mut reps = 8u32;
    while reps < 1 << 22 && timed(reps, &run_small) < Duration::from_millis(4) {
        reps *= 2;
    }
    let reps_large = reps / 8;
    let (mut t_small, mut t_large) = (Duration::MAX, Duration::MAX);
    for _ in 0..9 {
        t_small = t_small.min(timed(reps, &run_small));
        t_large = t_large.min(timed(reps_large, &run_large));
    }
    let per_small = t_small.as_secs_f64() / f64::from(reps);
    let per_large = t_large.as_secs_f64() / f64::from(reps_large);
    let ratio = per_large / per_small.max(1e-12);
    eprintln!(
        "prop_parsers::linear_time {name}: {} B {:.2} µs/call, {} B {:.2} µs/call, ratio {ratio:.1}",
        small.len(),
        per_small * 1e6,
        large.len(),
        per_large * 1e6,
    );
    assert!(
        ratio < 32.0,
        "{name}: {} bytes take {ratio:.1}× the time of {} bytes (linear: 8×, limit 32×)",
        large.len(),
        small.len()
    );
    ratio
}

/// Makes an input of (about) n bytes.
type Shape = Box<dyn Fn(usize) -> String>;

/// `unit` repeated to n bytes, after `prefix` and before `suffix`.
fn run_of(prefix: &str, unit: &str, suffix: &str, n: usize) -> String {
    let body = n - prefix.len() - suffix.len();
    let mut s = String::with_capacity(n);
    s.push_str(prefix);
    s.push_str(&unit.repeat(body / unit.len()));
    s.push_str(suffix);
    s
}

#[test]
fn parsing_is_linear_time() {
    let fake_sig = "A".repeat(43) + "=";
    let shapes: Vec<(&str, Shape)> = vec![
        ("a=; run", Box::new(|n| run_of("", "a=;", "", n))),
        ("; run", Box::new(|n| run_of("", ";", "", n))),
        ("= run", Box::new(|n| run_of("", "=", "", n))),
        ("% run", Box::new(|n| run_of("", "%", "", n))),
        ("%41 run", Box::new(|n| run_of("", "%41", "", n))),
        ("%E0%A4 run", Box::new(|n| run_of("", "%E0%A4", "", n))),
        (". run", Box::new(|n| run_of("", ".", "", n))),
        ("a. run", Box::new(|n| run_of("", "a.", "", n))),
        ("\" run", Box::new(|n| run_of("", "\"", "", n))),
        ("é run", Box::new(|n| run_of("", "é", "", n))),
        ("spaces then x", Box::new(|n| run_of("", " ", "x", n))),
        ("Bearer . run", Box::new(|n| run_of("Bearer ", ".", "", n))),
        (
            "long token, 44-char signature",
            Box::new(move |n| run_of("", "a", &format!(".{fake_sig}"), n)),
        ),
        (
            "session cookie of %41",
            Box::new(|n| run_of(&format!("{SESSION_COOKIE}="), "%41", ".x", n)),
        ),
        (
            "repeated session cookies",
            Box::new(|n| run_of("", &format!("{SESSION_COOKIE}=x; "), "", n)),
        ),
        ("JWT shape", Box::new(|n| run_of("eyJ", "A", "..", n))),
    ];
    let start = Instant::now();
    for (name, shape) in &shapes {
        assert_linear(name, shape.as_ref(), &|s| {
            let _ = std::hint::black_box(parse_lax(std::hint::black_box(s)));
        });
    }

    let fx = fixture();
    let kid = fx.pair(0).0.id.clone();
    let header = b64(json!({"alg": "EdDSA", "kid": kid}).to_string());
    let sig = b64([7u8; 64]);
    let jwt_shapes: Vec<(&str, Shape)> = vec![
        ("JWT: . run", Box::new(|n| run_of("", ".", "", n))),
        ("JWT: A run", Box::new(|n| run_of("", "A", "", n))),
        (
            "JWT: long header",
            Box::new(|n| run_of("eyJ", "A", "..", n)),
        ),
        (
            "JWT: long header JSON string",
            Box::new(|n| {
                let k = (n - 16) * 3 / 4 - 12;
                format!(
                    "{}.e30.{}",
                    b64(format!("{{\"alg\":\"{}\"}}", "a".repeat(k))),
                    "AAAA"
                )
            }),
        ),
        (
            "JWT: nested arrays",
            Box::new(|n| format!("{}.e30.AAAA", b64("[".repeat((n - 12) * 3 / 4)))),
        ),
        (
            "JWT: long payload, real kid",
            Box::new(move |n| {
                let k = (n - header.len() - sig.len() - 2) * 3 / 4 - 12;
                let payload = b64(format!("{{\"a\":\"{}\"}}", "a".repeat(k)));
                format!("{header}.{payload}.{sig}")
            }),
        ),
    ];
    for (name, shape) in &jwt_shapes {
        assert_linear(name, shape.as_ref(), &|s| {
            let _ = std::hint::black_box(fx.verify(std::hint::black_box(s)));
        });
    }
    eprintln!(
        "prop_parsers::linear_time: {} shapes in {:.2?}",
        shapes.len() + jwt_shapes.len(),
        start.elapsed()
    );
}
