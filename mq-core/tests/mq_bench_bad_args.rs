//! `mq-bench` refuses times a run cannot use with a usage error naming the flag (exit 2),
//! before it starts anything, instead of panicking in the middle of a run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[test]
fn bad_times_are_usage_errors_naming_their_flag() {
    let cases: &[(&[&str], &str)] = &[
        (&["produce", "--local", "--duration=-1"], "--duration"),
        (&["produce", "--local", "--duration", "0"], "--duration"),
        (&["store", "--duration", "NaN"], "--duration"),
        (&["consume", "--local", "--duration", "inf"], "--duration"),
        (
            &["consume", "--local", "--channel-expiry", "NaN"],
            "--channel-expiry",
        ),
        (&["e2e", "--local", "--warmup=-1"], "--warmup"),
        (&["e2e", "--local", "--warmup", "abc"], "--warmup"),
    ];
    for (args, flag) in cases {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_mq-bench"))
            .args(*args)
            .env_remove("MQ_BENCH_DURATION")
            .output()
            .expect("run mq-bench");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(flag),
            "{args:?} should name {flag}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}
