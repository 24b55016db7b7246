//! The command line: `token` prints a token the server accepts, `schema`
//! prints the schema, and anything else is a usage error.

use std::process::{Command, Output};

use commerce::auth::Authenticator;

const SECRET: &str = "cli-test-secret";

fn commerce(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_commerce"))
        .args(args)
        .env("JWT_SECRET", SECRET)
        .output()
        .expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("utf-8")
}

#[test]
fn token_prints_a_token_signed_with_the_configured_secret() {
    let auth = Authenticator::new(SECRET);
    let user = commerce(&["token", "alice"]);
    assert!(user.status.success());
    let principal = auth.verify(stdout(&user).trim()).expect("a valid token");
    assert_eq!(principal.subject, "alice");
    assert!(!principal.is_admin);

    let admin = commerce(&["token", "boss", "--admin"]);
    assert!(admin.status.success());
    let principal = auth.verify(stdout(&admin).trim()).expect("a valid token");
    assert_eq!(principal.subject, "boss");
    assert!(principal.is_admin);

    let foreign = Authenticator::new("another secret");
    assert!(foreign.verify(stdout(&admin).trim()).is_err());
}

#[test]
fn schema_prints_the_generated_schema() {
    let output = commerce(&["schema"]);
    assert!(output.status.success());
    assert_eq!(stdout(&output), commerce::graphql::sdl());
}

#[test]
fn unknown_commands_are_usage_errors() {
    for args in [
        &["tokn", "alice"][..],
        &["token"],
        &["token", "a", "--root"],
    ] {
        let output = commerce(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&output.stderr).contains("usage"));
    }
}
