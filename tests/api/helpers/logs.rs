//! What the app logs, read by the tests: a process-wide `tracing`
//! subscriber that counts the SQL statements ([`count_statements`]) and
//! records the WARN and ERROR lines ([`warnings`]) of the thread that logs
//! them, and the plans PostgreSQL's `auto_explain` sends the app as
//! notices ([`plans`]).

thread_local! {
    /// The statements counted on this thread (see [`count_statements`]).
    static STATEMENTS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    /// The WARN and ERROR events logged on this thread (see [`warnings`]).
    static WARNINGS: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
    /// The notices the app's connections received on this thread (see [`plans`]).
    static NOTICES: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Installs, once, the process-wide subscriber that counts statements and
/// records warnings into counters of the thread that logs them; a
/// `#[tokio::test]` (current-thread) runs the app on the test's own thread,
/// so what a test reads is its own alone. (A subscriber scoped to the
/// thread would be simpler, but `tracing` caches its interest in a callsite
/// globally, and tests starting and ending such subscribers in parallel
/// lose events.)
fn install_recorder() {
    use std::sync::Once;
    use tracing_subscriber::layer::SubscriberExt;

    /// Writes an event's fields as `target: message field=value ...`.
    struct Line(String);
    impl tracing::field::Visit for Line {
        fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
            if field.name() == "message" {
                self.0.push_str(&format!(" {value:?}"));
            } else {
                self.0.push_str(&format!(" {}={value:?}", field.name()));
            }
        }
    }
    /// An event's message as logged, unescaped.
    struct Message(String);
    impl tracing::field::Visit for Message {
        fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
            if field.name() == "message" {
                self.0.push_str(value);
            }
        }
        fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
    }
    struct Recorder;
    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Recorder {
        fn on_event(
            &self,
            event: &tracing::Event<'_>,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            let meta = event.metadata();
            if meta.target() == "sqlx::query" {
                STATEMENTS.with(|n| n.set(n.get() + 1));
            }
            if meta.target() == "sqlx::postgres::notice" {
                let mut message = Message(String::new());
                event.record(&mut message);
                NOTICES.with(|n| n.borrow_mut().push(message.0));
            }
            if *meta.level() <= tracing::Level::WARN {
                let mut line = Line(format!("{} {}:", meta.level(), meta.target()));
                event.record(&mut line);
                WARNINGS.with(|w| w.borrow_mut().push(line.0));
            }
        }
    }
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let subscriber = tracing_subscriber::registry().with(Recorder);
        tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber");
    });
}

/// Counts the SQL statements the app runs while `work` runs (sqlx reports
/// every statement it executes as a `tracing` event); run it in a
/// current-thread test (see [`install_recorder`]).
pub async fn count_statements<F: std::future::Future>(work: F) -> (F::Output, usize) {
    install_recorder();
    STATEMENTS.with(|n| n.set(0));
    let output = work.await;
    (output, STATEMENTS.with(std::cell::Cell::get))
}

/// The WARN and ERROR log lines of the app (and of sqlx) while `work`
/// runs, each as `LEVEL target: message fields`; run it in a
/// current-thread test (see [`install_recorder`]).
pub async fn warnings<F: std::future::Future>(work: F) -> (F::Output, Vec<String>) {
    install_recorder();
    WARNINGS.with(|w| w.borrow_mut().clear());
    let output = work.await;
    (output, WARNINGS.with(|w| w.take()))
}

/// The database settings under which every statement's plan reaches the
/// app as a notice (for [`plans`]): `auto_explain` in every session,
/// every statement, with its row counts but no timings.
pub const AUTO_EXPLAIN: [(&str, &str); 5] = [
    ("session_preload_libraries", "auto_explain"),
    ("auto_explain.log_min_duration", "0"),
    ("auto_explain.log_analyze", "on"),
    ("auto_explain.log_timing", "off"),
    ("auto_explain.log_level", "notice"),
];

/// The plans of the statements the app ran while `work` ran, as
/// PostgreSQL's `auto_explain` sent them (on a database set up for it, see
/// `Options::database_settings`); run it in a current-thread test (see
/// [`install_recorder`]).
pub async fn plans<F: std::future::Future>(work: F) -> (F::Output, Vec<String>) {
    install_recorder();
    NOTICES.with(|n| n.borrow_mut().clear());
    let output = work.await;
    let notices = NOTICES.with(|n| n.take());
    (
        output,
        notices
            .into_iter()
            .filter(|n| n.contains("plan:"))
            .collect(),
    )
}
