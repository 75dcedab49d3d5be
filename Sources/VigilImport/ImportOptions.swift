/// What `vigil import` reads and where it sends it.
public struct ImportOptions: Sendable {
    public enum Kind: String, CaseIterable, Sendable { case predictions, labels }
    public enum Format: String, CaseIterable, Sendable { case ndjson, csv }

    public var file: String
    /// The Vigil base URL, e.g. `http://127.0.0.1:9750`.
    public var url: String
    public var kind: Kind = .predictions
    /// `nil`: from the file name (`.csv` is CSV, anything else NDJSON).
    public var format: Format?
    /// A bearer token (read from the environment by the command).
    public var token: String?
    /// CSV: the model of rows without a model column.
    public var model: String?
    /// CSV: event field → column name (`id`, `model`, `timestamp`, `version`, `variant`,
    /// `prediction`, `confidence`, `label`).
    public var columns: [String: String] = [:]
    /// CSV: columns that go into `features`, `segments`, `metrics` and `scores`. Columns named
    /// `features.X` (and so on) go there anyway; for predictions, columns left over are features.
    public var features: [String] = []
    public var segments: [String] = []
    public var metrics: [String] = []
    public var scores: [String] = []
    public var batchSize = 5_000
    /// Where progress is kept for a resumed run; `nil`: `FILE.vigil-import`.
    public var statePath: String?
    /// Start from the first row even when a state file says where the last run stopped.
    public var restart = false
    /// Give up after failing this long without one batch getting through.
    public var retryFor: Duration = .seconds(300)

    public init(file: String, url: String) {
        self.file = file
        self.url = url
    }

    var resolvedFormat: Format { format ?? (file.lowercased().hasSuffix(".csv") ? .csv : .ndjson) }
    var resolvedStatePath: String { statePath ?? file + ".vigil-import" }
}

/// A reason `vigil import` stopped before the end of the file.
public struct ImportFailure: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
