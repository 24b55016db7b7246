//! The command line.
//!
//! ```text
//! commerce                       serve (the default)
//! commerce token <sub> [--admin] print a bearer token for <sub>
//! commerce schema                print the GraphQL schema (SDL)
//! commerce audit                 check the database's cross-table invariants
//! commerce events tail [--all]   print order-paid events as they arrive
//! ```

use std::process::ExitCode;

use secrecy::ExposeSecret;

use crate::auth::Authenticator;
use crate::config::Config;
use crate::startup::{Application, DEMO_TOKEN_TTL_SECS, shutdown_signal};
use crate::{graphql, telemetry};

const USAGE: &str =
    "usage: commerce [serve | token <sub> [--admin] | schema | audit | events tail [--all]]";

/// Runs the command named by `args` (without the program name).
pub async fn run(args: Vec<String>) -> ExitCode {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("configuration error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match args.as_slice() {
        [] | ["serve"] => serve(config).await,
        ["token", sub] => token(&config, sub, false),
        ["token", sub, "--admin"] | ["token", "--admin", sub] => token(&config, sub, true),
        ["audit"] => audit(&config).await,
        ["events", "tail"] => tail(&config, false).await,
        ["events", "tail", "--all"] => tail(&config, true).await,
        ["schema"] => {
            print!("{}", graphql::sdl());
            ExitCode::SUCCESS
        }
        ["--help" | "-h" | "help"] => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn token(config: &Config, sub: &str, admin: bool) -> ExitCode {
    match Authenticator::new(config.jwt_secret.expose_secret()).issue(
        sub,
        admin,
        DEMO_TOKEN_TTL_SECS,
    ) {
        Ok(token) => {
            println!("{token}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cannot sign a token: {e:?}");
            ExitCode::FAILURE
        }
    }
}

/// Prints order-paid events until interrupted.
async fn tail(config: &Config, from_start: bool) -> ExitCode {
    tokio::select! {
        tailed = crate::events::tail::run(config, from_start) => match tailed {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("cannot tail events from {}: {e}", config.nats.url);
                ExitCode::FAILURE
            }
        },
        _ = tokio::signal::ctrl_c() => ExitCode::SUCCESS,
    }
}

/// Prints every broken invariant; fails if there is one.
async fn audit(config: &Config) -> ExitCode {
    let violations = match sqlx::PgPool::connect(&config.database.url).await {
        Ok(pool) => crate::domain::audit::check(&pool).await,
        Err(e) => Err(e.into()),
    };
    match violations {
        Ok(violations) if violations.is_empty() => {
            println!("every invariant holds");
            ExitCode::SUCCESS
        }
        Ok(violations) => {
            for v in violations {
                println!("BROKEN: {} (ids {:?})", v.rule, v.ids);
            }
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("cannot audit: {e:?}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> ExitCode {
    let telemetry = telemetry::init(config.app_env, &config.traces);
    let development = config.is_development();
    let secret = config.jwt_secret.clone();
    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!(error = %e, "startup failed");
            telemetry.shutdown();
            return ExitCode::FAILURE;
        }
    };
    let base = app.state().services.public_base_url.clone();
    tracing::info!(port = app.port(), "listening");
    if development {
        let auth = Authenticator::new(secret.expose_secret());
        let user = auth
            .issue("demo-user", false, DEMO_TOKEN_TTL_SECS)
            .unwrap_or_default();
        let admin = auth
            .issue("demo-admin", true, DEMO_TOKEN_TTL_SECS)
            .unwrap_or_default();
        println!("\nPlayground: {base}/");
        println!("Demo user token:  Bearer {user}");
        println!("Demo admin token: Bearer {admin}\n");
    }
    app.run_until(shutdown_signal()).await;
    // After the relay's last round, so that its last spans go out too.
    telemetry.shutdown();
    ExitCode::SUCCESS
}
