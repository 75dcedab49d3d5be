import PostgresNIO

/// The PostgreSQL schema, versioned like SQLite's: each migration runs once, in order, in one
/// transaction, recorded in `vigil_migrations`. Replicas starting together take turns on an
/// advisory lock, so exactly one applies each migration.
///
/// Event ids are `bytea` (PostgreSQL's `text` cannot hold the NUL a JSON string may carry).
/// Row ids and journal numbers come from identity columns: they never recur, and within one
/// writer (whose transactions are serial on one connection) they rise in commit order, which
/// is what each writer's replay after its watermark relies on.
enum PGMigrations {
    struct Migration {
        var version: Int
        var name: String
        var statements: [String]
    }

    /// The advisory-lock key migrations take (any constant other Vigil locks do not use).
    static let lockKey: Int64 = 0x5649_4749_4C00_0001

    static let all: [Migration] = [
        Migration(
            version: 1, name: "v1-events",
            statements: [
                """
                CREATE TABLE models (
                    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    name text NOT NULL UNIQUE,
                    created_at bigint NOT NULL,
                    schema text NOT NULL
                )
                """,
                """
                CREATE TABLE model_entries (
                    model_id bigint NOT NULL,
                    writer text NOT NULL,
                    kind integer NOT NULL,
                    name text NOT NULL,
                    detail text NOT NULL DEFAULT '',
                    value text NOT NULL,
                    PRIMARY KEY (model_id, writer, kind, name, detail)
                )
                """,
                // Each writer's learned schema (core and entries, with its counts) in rows of its
                // own: no two replicas ever write the same schema row, so their transactions never
                // wait for each other there. `models.schema` is the core a model was created with.
                """
                CREATE TABLE model_cores (
                    model_id bigint NOT NULL,
                    writer text NOT NULL,
                    schema text NOT NULL,
                    PRIMARY KEY (model_id, writer)
                )
                """,
                """
                CREATE TABLE predictions (
                    id bigint GENERATED ALWAYS AS IDENTITY,
                    writer text NOT NULL,
                    model_id bigint NOT NULL,
                    ext_id bytea NOT NULL,
                    shadow boolean NOT NULL,
                    ts bigint NOT NULL,
                    received_at bigint NOT NULL,
                    version text NOT NULL,
                    variant text,
                    prediction text NOT NULL,
                    payload bytea NOT NULL,
                    label text,
                    label_kind integer,
                    label_metrics bytea,
                    label_ts bigint,
                    labeled_at bigint,
                    label_fold text,
                    PRIMARY KEY (model_id, ext_id, shadow)
                )
                """,
                "CREATE UNIQUE INDEX predictions_writer ON predictions (writer, id)",
                "CREATE INDEX predictions_shadows ON predictions (model_id, ts) WHERE shadow",
                "CREATE INDEX predictions_ts ON predictions USING brin (ts)",
                """
                CREATE TABLE pending_labels (
                    model_id bigint NOT NULL,
                    ext_id bytea NOT NULL,
                    label text,
                    label_kind integer,
                    metrics bytea NOT NULL,
                    ts bigint,
                    received_at bigint NOT NULL,
                    PRIMARY KEY (model_id, ext_id)
                )
                """,
                "CREATE INDEX pending_labels_age ON pending_labels (model_id, received_at)",
                """
                CREATE TABLE label_journal (
                    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    writer text NOT NULL,
                    model_id bigint NOT NULL,
                    ext_id bytea NOT NULL,
                    shadow boolean NOT NULL,
                    label text,
                    label_kind integer,
                    metrics bytea NOT NULL,
                    old_present boolean NOT NULL,
                    old_label text,
                    old_kind integer,
                    old_metrics bytea,
                    fold text,
                    old_fold text
                )
                """,
                "CREATE INDEX label_journal_writer ON label_journal (writer, seq)",
                """
                CREATE TABLE health (
                    writer text PRIMARY KEY,
                    probed_at bigint NOT NULL
                )
                """,
                """
                CREATE TABLE quarantine (
                    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    source text NOT NULL,
                    source_key text NOT NULL,
                    reason text NOT NULL,
                    data bytea,
                    quarantined_at bigint NOT NULL,
                    UNIQUE (source, source_key)
                )
                """,
            ]),
        Migration(
            version: 2, name: "v2-aggregates",
            statements: [
                """
                CREATE TABLE buckets (
                    writer text NOT NULL,
                    model_id bigint NOT NULL,
                    version text NOT NULL,
                    variant text NOT NULL,
                    resolution integer NOT NULL,
                    start bigint NOT NULL,
                    predictions bigint NOT NULL,
                    data bytea NOT NULL,
                    PRIMARY KEY (model_id, start, version, variant, resolution, writer)
                )
                """,
                "CREATE INDEX buckets_writer ON buckets (writer, resolution, start)",
                """
                CREATE TABLE writer_watermarks (
                    writer text PRIMARY KEY,
                    prediction_watermark bigint NOT NULL,
                    label_watermark bigint NOT NULL
                )
                """,
                """
                CREATE TABLE reference_profiles (
                    model_id bigint PRIMARY KEY,
                    generation bigint NOT NULL,
                    data bytea NOT NULL
                )
                """,
            ]),
        Migration(
            version: 3, name: "v3-alerts-releases",
            statements: [
                """
                CREATE TABLE alerts (
                    fingerprint text NOT NULL,
                    active_at bigint NOT NULL,
                    state text NOT NULL,
                    resolved_at bigint,
                    data text NOT NULL,
                    PRIMARY KEY (fingerprint, active_at)
                )
                """,
                "CREATE INDEX alerts_state ON alerts (state, resolved_at)",
                """
                CREATE TABLE notification_log (
                    notifier text NOT NULL,
                    group_key text NOT NULL,
                    data text NOT NULL,
                    PRIMARY KEY (notifier, group_key)
                )
                """,
                """
                CREATE TABLE outbox (
                    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    notifier text NOT NULL,
                    body bytea NOT NULL,
                    created_at bigint NOT NULL,
                    next_attempt_at bigint NOT NULL,
                    attempts integer NOT NULL DEFAULT 0,
                    last_error text,
                    state integer NOT NULL DEFAULT 0
                )
                """,
                "CREATE INDEX outbox_due ON outbox (state, notifier, id)",
                """
                CREATE TABLE release_events (
                    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    at bigint NOT NULL,
                    model text NOT NULL,
                    kind text NOT NULL,
                    baseline text, candidate text, "window" text, verdict text, previous text,
                    detail text NOT NULL,
                    notifier text, outcome text
                )
                """,
                "CREATE INDEX release_events_model ON release_events (model, id)",
            ]),
        Migration(
            version: 4, name: "v4-label-inbox",
            statements: [
                // A label change of a row another writer stored, left for that writer (the row's
                // owner) to journal and fold, so every partial holds whole predictions with
                // their labels and no take-back ever reaches a partial without its prediction.
                """
                CREATE TABLE label_inbox (
                    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    owner text NOT NULL,
                    written_by text NOT NULL,
                    model_id bigint NOT NULL,
                    ext_id bytea NOT NULL,
                    shadow boolean NOT NULL,
                    label text,
                    label_kind integer,
                    metrics bytea NOT NULL,
                    old_present boolean NOT NULL,
                    old_label text,
                    old_kind integer,
                    old_metrics bytea,
                    fold text,
                    old_fold text
                )
                """,
                "CREATE INDEX label_inbox_owner ON label_inbox (owner, model_id, ext_id, shadow)",
            ]),
    ]

    /// Applies every migration not yet recorded; returns the versions it applied.
    @discardableResult
    static func migrate(_ link: PGLink) throws -> [Int] {
        try link.transaction { tx in
            try tx.query("SELECT pg_advisory_xact_lock(\(lockKey))")
            try tx.query(
                """
                CREATE TABLE IF NOT EXISTS vigil_migrations (
                    version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
                """)
            let done = Set(try tx.query("SELECT version FROM vigil_migrations").rows.compactMap { try $0.int(0) })
            if let newest = done.max(), newest > (all.last?.version ?? 0) {
                throw PostgresSettings.Invalid(
                    description:
                        "the database's schema is version \(newest), newer than this vigil knows (\(all.last?.version ?? 0)): run the newer vigil"
                )
            }
            var applied: [Int] = []
            for migration in all where !done.contains(migration.version) {
                for statement in migration.statements { try tx.query(PostgresQuery(unsafeSQL: statement)) }
                try tx.query("INSERT INTO vigil_migrations (version, name) VALUES (\(migration.version), \(migration.name))")
                applied.append(migration.version)
            }
            return applied
        }
    }
}
