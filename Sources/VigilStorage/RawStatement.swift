import Foundation
import GRDB
import GRDBSQLite

/// A parameter of a statement run through `RawStatement`.
enum SQLArgument {
    case int(Int64)
    case text(String)
    case blob([UInt8])
    case null

    static func text(_ value: String?) -> SQLArgument { value.map { .text($0) } ?? .null }
    static func int(_ value: Int?) -> SQLArgument { value.map { .int(Int64($0)) } ?? .null }
}

/// The writer thread's hot statements, bound and stepped with `sqlite3_*` directly on GRDB's
/// prepared statement: GRDB's `StatementArguments` box every value in an existential and its
/// rows look columns up by name, which together were about a fifth of a label join's cost on
/// the single writer thread. Used inside a GRDB write transaction only; errors are GRDB's
/// `DatabaseError`, so storage conditions map as for any other statement. Each run leaves the
/// statement reset with its bindings cleared, so GRDB's own record of its arguments is stale:
/// these SQL texts are run only through `RawStatement`.
struct RawStatement {
    let statement: Statement
    let db: Database

    init(_ db: Database, sql: String) throws {
        self.db = db
        statement = try db.cachedStatement(sql: sql)
    }

    /// Runs the statement to completion.
    func run(_ arguments: [SQLArgument]) throws {
        defer { reset() }
        try bind(arguments)
        let code = sqlite3_step(statement.sqliteStatement)
        guard code == SQLITE_DONE else { throw error(code) }
    }

    /// Runs a query, handing each row to `body`.
    func forEachRow(_ arguments: [SQLArgument], _ body: (RawRow) throws -> Void) throws {
        defer { reset() }
        try bind(arguments)
        while true {
            let code = sqlite3_step(statement.sqliteStatement)
            if code == SQLITE_DONE { return }
            guard code == SQLITE_ROW else { throw error(code) }
            try body(RawRow(statement: statement.sqliteStatement))
        }
    }

    private func bind(_ arguments: [SQLArgument]) throws {
        let s = statement.sqliteStatement
        // A missing argument would bind NULL silently (GRDB would have thrown).
        assert(Int32(arguments.count) == sqlite3_bind_parameter_count(s), "\(statement.sql): argument count")
        sqlite3_reset(s)
        for (offset, argument) in arguments.enumerated() {
            let index = Int32(offset + 1)
            let code: Int32
            switch argument {
            case .int(let value): code = sqlite3_bind_int64(s, index, value)
            case .null: code = sqlite3_bind_null(s, index)
            case .text(let value):
                var value = value
                code = value.withUTF8 { utf8 in
                    sqlite3_bind_text(
                        s, index, UnsafeRawPointer(utf8.baseAddress!).assumingMemoryBound(to: CChar.self),
                        Int32(utf8.count), sqliteTransient)
                }
            case .blob(let bytes):
                code = bytes.withUnsafeBytes { raw in
                    // A zero-length blob is still a blob, not NULL.
                    raw.baseAddress == nil
                        ? sqlite3_bind_zeroblob(s, index, 0)
                        : sqlite3_bind_blob(s, index, raw.baseAddress, Int32(raw.count), sqliteTransient)
                }
            }
            guard code == SQLITE_OK else { throw error(code) }
        }
    }

    private func reset() {
        sqlite3_reset(statement.sqliteStatement)
        sqlite3_clear_bindings(statement.sqliteStatement)
    }

    private func error(_ code: Int32) -> DatabaseError {
        let message = db.sqliteConnection.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
        return DatabaseError(
            resultCode: ResultCode(rawValue: sqlite3_extended_errcode(db.sqliteConnection)), message: message ?? "\(code)",
            sql: statement.sql)
    }
}

/// `SQLITE_TRANSIENT`: SQLite copies the bound bytes before the call returns.
private let sqliteTransient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

/// The current row of a `RawStatement` query, by column position.
struct RawRow {
    let statement: OpaquePointer

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(statement, column) == SQLITE_NULL }

    func int64(_ column: Int32) -> Int64? { isNull(column) ? nil : sqlite3_column_int64(statement, column) }

    func int(_ column: Int32) -> Int? { int64(column).map { Int($0) } }

    func text(_ column: Int32) -> String? {
        guard !isNull(column), let bytes = sqlite3_column_text(statement, column) else { return nil }
        let count = Int(sqlite3_column_bytes(statement, column))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }

    func bytes(_ column: Int32) -> [UInt8]? {
        guard !isNull(column) else { return nil }
        let count = Int(sqlite3_column_bytes(statement, column))
        guard count > 0, let raw = sqlite3_column_blob(statement, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: raw, count: count))
    }
}

/// The statements a write transaction runs per event, looked up in GRDB's statement cache once
/// per transaction instead of once per event (the lookup hashes the whole SQL text).
final class HotStatements {
    enum Query: String {
        case insertPrediction = """
            INSERT OR IGNORE INTO predictions
                (model_id, ext_id, ts, received_at, version, variant, shadow, prediction, payload)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """
        /// A label's stored rows: `StoredLabelState.columns`, then the prediction's columns.
        case labelRows = """
            SELECT labeled_at, label, label_kind, label_metrics, label_fold, shadow, ts, version, variant, prediction,
                payload
            FROM predictions WHERE model_id = ? AND ext_id = ? ORDER BY shadow
            """
        case setLabel = """
            UPDATE predictions SET label = ?, label_kind = ?, label_metrics = ?, label_ts = ?, labeled_at = ?,
                label_fold = ?
            WHERE model_id = ? AND ext_id = ? AND shadow = ?
            """
        case journal = """
            INSERT INTO label_journal (model_id, ext_id, label, label_kind, metrics, old_present, old_label, old_kind,
                old_metrics, fold, old_fold, shadow)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """
    }

    private let db: Database
    private var prepared: [Query: RawStatement] = [:]

    init(_ db: Database) { self.db = db }

    func callAsFunction(_ query: Query) throws -> RawStatement {
        if let statement = prepared[query] { return statement }
        let statement = try RawStatement(db, sql: query.rawValue)
        prepared[query] = statement
        return statement
    }
}
