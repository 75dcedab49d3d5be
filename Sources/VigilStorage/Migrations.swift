import GRDB

/// Versioned schema migrations; GRDB records applied ones in `grdb_migrations`, so a database
/// written by an older Vigil is upgraded in place on open and a newer one is refused.
enum Migrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-events") { db in
            try db.execute(
                sql: """
                    CREATE TABLE models (
                        id INTEGER PRIMARY KEY,
                        name TEXT NOT NULL UNIQUE,
                        created_at INTEGER NOT NULL,
                        schema TEXT NOT NULL
                    );
                    -- One row per prediction. The unique index is the only index on this hot table:
                    -- it makes (model, id) retries idempotent and serves label joins.
                    CREATE TABLE predictions (
                        model_id INTEGER NOT NULL,
                        ext_id TEXT NOT NULL,
                        ts INTEGER NOT NULL,
                        received_at INTEGER NOT NULL,
                        version TEXT NOT NULL,
                        variant TEXT,
                        prediction TEXT NOT NULL,
                        payload BLOB NOT NULL,
                        label TEXT,
                        label_kind INTEGER,
                        label_metrics BLOB,
                        label_ts INTEGER,
                        labeled_at INTEGER
                    );
                    CREATE UNIQUE INDEX predictions_key ON predictions(model_id, ext_id);
                    -- Labels that arrived before their prediction, held until it comes or label_ttl passes.
                    CREATE TABLE pending_labels (
                        model_id INTEGER NOT NULL,
                        ext_id TEXT NOT NULL,
                        label TEXT,
                        label_kind INTEGER,
                        metrics BLOB NOT NULL,
                        ts INTEGER,
                        received_at INTEGER NOT NULL,
                        PRIMARY KEY (model_id, ext_id)
                    ) WITHOUT ROWID;
                    CREATE INDEX pending_labels_age ON pending_labels(model_id, received_at);
                    """)
        }
        migrator.registerMigration("v2-aggregates") { db in
            try db.execute(
                sql: """
                    -- Time-bucket aggregates per series (model, version, variant): resolution 1 = minute,
                    -- 2 = hour. A window is the merge of its buckets; see README "Storage layout".
                    CREATE TABLE buckets (
                        model_id INTEGER NOT NULL,
                        version TEXT NOT NULL,
                        variant TEXT NOT NULL,
                        resolution INTEGER NOT NULL,
                        start INTEGER NOT NULL,
                        predictions INTEGER NOT NULL,
                        data BLOB NOT NULL,
                        PRIMARY KEY (model_id, version, variant, resolution, start)
                    ) WITHOUT ROWID;
                    CREATE INDEX buckets_start ON buckets(resolution, start);
                    -- The last prediction row and label journal entry the stored buckets include.
                    CREATE TABLE aggregate_state (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        prediction_watermark INTEGER NOT NULL,
                        label_watermark INTEGER NOT NULL
                    );
                    INSERT INTO aggregate_state VALUES (1, 0, 0);
                    -- Every label change since the last aggregate flush, with the label it replaced, so a
                    -- restart folds exactly what the buckets are missing.
                    CREATE TABLE label_journal (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused, though flushes delete old entries
                        model_id INTEGER NOT NULL,
                        ext_id TEXT NOT NULL,
                        label TEXT,
                        label_kind INTEGER,
                        metrics BLOB NOT NULL,
                        old_present INTEGER NOT NULL,
                        old_label TEXT,
                        old_kind INTEGER,
                        old_metrics BLOB
                    );
                    CREATE TABLE reference_profiles (
                        model_id INTEGER PRIMARY KEY,
                        generation INTEGER NOT NULL,
                        data BLOB NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("v3-alerts") { db in
            try db.execute(
                sql: """
                    -- Alert instances: one row per episode (fingerprint, active_at). Pending and firing
                    -- rows are the rule state machine's state; resolved rows are history.
                    CREATE TABLE alerts (
                        fingerprint TEXT NOT NULL,
                        active_at INTEGER NOT NULL,
                        state TEXT NOT NULL,
                        resolved_at INTEGER,
                        data TEXT NOT NULL,
                        PRIMARY KEY (fingerprint, active_at)
                    ) WITHOUT ROWID;
                    CREATE INDEX alerts_state ON alerts(state, resolved_at);
                    -- What was last sent per notifier and group (Alertmanager's notification log).
                    CREATE TABLE notification_log (
                        notifier TEXT NOT NULL,
                        group_key TEXT NOT NULL,
                        data TEXT NOT NULL,
                        PRIMARY KEY (notifier, group_key)
                    ) WITHOUT ROWID;
                    -- Notifications to deliver, at least once: state 0 pending, 2 failed for good
                    -- (delivered rows are deleted).
                    CREATE TABLE outbox (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        notifier TEXT NOT NULL,
                        body BLOB NOT NULL,
                        created_at INTEGER NOT NULL,
                        next_attempt_at INTEGER NOT NULL,
                        attempts INTEGER NOT NULL DEFAULT 0,
                        last_error TEXT,
                        state INTEGER NOT NULL DEFAULT 0
                    );
                    CREATE INDEX outbox_due ON outbox(state, notifier, id);
                    """)
        }
        migrator.registerMigration("v4-label-folding") { db in
            // How each label was folded (task and positive class), so a correction takes back
            // exactly that; NULL on rows written before (folded with the folding of the time).
            try db.execute(
                sql: """
                    ALTER TABLE predictions ADD COLUMN label_fold TEXT;
                    ALTER TABLE label_journal ADD COLUMN fold TEXT;
                    ALTER TABLE label_journal ADD COLUMN old_fold TEXT;
                    """)
        }
        migrator.registerMigration("v5-faults") { db in
            try db.execute(
                sql: """
                    -- One row the readiness probe rewrites while writes have been failing.
                    CREATE TABLE health (id INTEGER PRIMARY KEY, probed_at INTEGER NOT NULL);
                    -- Rows start-up could not decode, moved aside (not deleted) with the reason.
                    CREATE TABLE quarantine (
                        id INTEGER PRIMARY KEY,
                        source TEXT NOT NULL,
                        source_key TEXT NOT NULL,
                        reason TEXT NOT NULL,
                        data BLOB,
                        quarantined_at INTEGER NOT NULL
                    );
                    CREATE UNIQUE INDEX quarantine_key ON quarantine(source, source_key);
                    """)
        }
        migrator.registerMigration("v6-model-entries") { db in
            // Learned schema entries one row each, so a commit writes only those it changed.
            try db.execute(
                sql: """
                    CREATE TABLE model_entries (
                        model_id INTEGER NOT NULL,
                        kind INTEGER NOT NULL,
                        name TEXT NOT NULL,
                        detail TEXT NOT NULL DEFAULT '',
                        value TEXT NOT NULL,
                        PRIMARY KEY (model_id, kind, name, detail)
                    ) WITHOUT ROWID;
                    """)
            try SchemaRows.migrate(db)
        }
        migrator.registerMigration("v7-writers-shadows") { db in
            try db.execute(
                sql: """
                    -- Partial buckets keyed by the writer that folded them (one, 'local', for SQLite), so
                    -- a backend with several writers merges everyone's partials; a watermark per writer.
                    CREATE TABLE partial_buckets_v7 (
                        writer TEXT NOT NULL,
                        model_id INTEGER NOT NULL,
                        version TEXT NOT NULL,
                        variant TEXT NOT NULL,
                        resolution INTEGER NOT NULL,
                        start INTEGER NOT NULL,
                        predictions INTEGER NOT NULL,
                        data BLOB NOT NULL,
                        PRIMARY KEY (model_id, start, version, variant, resolution, writer)
                    ) WITHOUT ROWID;
                    INSERT INTO partial_buckets_v7
                        SELECT 'local', model_id, version, variant, resolution, start, predictions, data FROM buckets;
                    DROP TABLE buckets;
                    ALTER TABLE partial_buckets_v7 RENAME TO buckets;
                    CREATE INDEX buckets_writer ON buckets(writer, resolution, start);
                    CREATE TABLE writer_watermarks (
                        writer TEXT PRIMARY KEY,
                        prediction_watermark INTEGER NOT NULL,
                        label_watermark INTEGER NOT NULL
                    );
                    INSERT INTO writer_watermarks
                        SELECT 'local', prediction_watermark, label_watermark FROM aggregate_state;
                    DROP TABLE aggregate_state;
                    -- A shadow prediction (variant 'shadow') is stored beside the live one of the same id.
                    ALTER TABLE predictions ADD COLUMN shadow INTEGER NOT NULL DEFAULT 0;
                    DROP INDEX predictions_key;
                    CREATE UNIQUE INDEX predictions_key ON predictions(model_id, ext_id, shadow);
                    ALTER TABLE label_journal ADD COLUMN shadow INTEGER NOT NULL DEFAULT 0;
                    UPDATE predictions SET shadow = 1 WHERE variant = 'shadow';
                    """)
        }
        migrator.registerMigration("v8-shadow-pairs") { db in
            // Shadows are read by event time for a comparison's agreement (few rows: a partial index).
            try db.execute(sql: "CREATE INDEX predictions_shadows ON predictions(model_id, ts) WHERE shadow = 1")
        }
        migrator.registerMigration("v9-release-events") { db in
            try db.execute(
                sql: """
                    CREATE TABLE release_events (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        at INTEGER NOT NULL,
                        model TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        baseline TEXT, candidate TEXT, window TEXT, verdict TEXT, previous TEXT,
                        detail TEXT NOT NULL,
                        notifier TEXT, outcome TEXT
                    );
                    CREATE INDEX release_events_model ON release_events(model, id);
                    """)
        }
        return migrator
    }
}
