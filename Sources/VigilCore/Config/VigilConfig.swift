/// The whole configuration of DESIGN §3. Every field has the zero-config default, so
/// `VigilConfig()` is what `vigil serve` runs with when no file is given.
public struct VigilConfig: Sendable, Equatable {
    public var server = ServerConfig()
    public var storage = StorageConfig()
    public var limits = LimitsConfig()
    public var auth = AuthConfig()
    /// Sliding windows, in the order configured.
    public var windows: [TimeLength] = [
        .init(millis: 300_000, text: "5m"), .init(millis: 3_600_000, text: "1h"),
        .init(millis: 86_400_000, text: "24h"),
    ]
    public var evaluationInterval = TimeLength(millis: 15_000, text: "15s")
    /// Declared models by name; undeclared models get `ModelConfig()`.
    public var models: [String: ModelConfig] = [:]
    public var alerts: [AlertRuleConfig] = []
    public var notifiers: [String: NotifierConfig] = [:]

    public init() {}

    /// The configuration of `model`: its declared one or the defaults.
    public func model(_ name: String) -> ModelConfig { models[name] ?? ModelConfig() }
}

/// A duration as written in the file (`15s`, `1h`, `30d`) and its length.
public struct TimeLength: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var millis: Int64
    /// The text it was written as; window names are this text.
    public var text: String

    public init(millis: Int64, text: String) {
        self.millis = millis
        self.text = text
    }

    public var description: String { text }

    /// Parses `<integer><unit>` with unit `ms`, `s`, `m`, `h`, `d` or `w`; `nil` otherwise or when not positive.
    public static func parse(_ text: String) -> TimeLength? {
        let units: [(String, Int64)] = [
            ("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000),
            ("d", 86_400_000), ("w", 604_800_000),
        ]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            let digits = text.dropLast(suffix.count)
            guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber),
                let value = Int64(digits), value > 0, value <= Int64.max / scale
            else { continue }
            return TimeLength(millis: value * scale, text: text)
        }
        return nil
    }
}

public struct ServerConfig: Sendable, Equatable {
    public var host = "127.0.0.1"
    public var port = 9750
    public var maxBodyBytes = 10 * 1024 * 1024
    /// Request body bytes held at once across all requests; past it, `503 overloaded`.
    public var maxInflightBodyBytes = 256 * 1024 * 1024
    /// Items (predictions, labels, reference rows) in one request; more is `413`.
    public var maxItemsPerRequest = 10_000
    /// Open connections; one more is answered `503` and closed.
    public var maxConnections = 512
    /// How long a request's head may take to arrive (slow-header clients are closed).
    public var headerTimeout = TimeLength(millis: 10_000, text: "10s")
    /// How long a request's body may take to arrive; past it, `408`.
    public var bodyTimeout = TimeLength(millis: 30_000, text: "30s")
    /// A connection with no bytes moving for this long is closed.
    public var idleTimeout = TimeLength(millis: 60_000, text: "60s")
    /// Requests per second per token (and per anonymous client when auth is off), with a burst of
    /// the same size; past it, `429` with `Retry-After`. 0 turns the limit off.
    public var rateLimit = 0
    public init() {}
}

/// Bounds on what clients can make Vigil keep (issue 10): every learned set and queue is capped.
public struct LimitsConfig: Sendable, Equatable {
    /// Models (declared ones always count); an item for a new model past it is rejected (`model_limit`).
    public var maxModels = 100
    /// Versions per model; a prediction of a new version past it is rejected (`version_limit`).
    public var maxVersions = 50
    /// Variants per model; a prediction of a new variant past it is rejected (`variant_limit`).
    public var maxVariants = 20
    /// How far ahead of the receive time an event time may be; further is `future_timestamp`.
    public var maxFutureSkew = TimeLength(millis: 3_600_000, text: "1h")
    /// Items queued for the writer; past it, ingest answers `503` (`overloaded`) with `Retry-After`.
    public var writeQueueItems = 200_000
    /// Committed events waiting to be folded into the aggregates; past it, ingest answers `503`.
    public var foldQueueItems = 500_000
    public init() {}
}

/// `synchronous` is SQLite's: `normal` in WAL mode survives a process crash (the contract);
/// `full` also survives power loss, at some throughput cost.
public struct StorageConfig: Sendable, Equatable {
    public enum Synchronous: String, Sendable, Equatable, CaseIterable { case normal, full }
    public var sqlite = "vigil.db"
    public var eventRetention = TimeLength(millis: 7 * 86_400_000, text: "7d")
    public var aggregateRetention = TimeLength(millis: 90 * 86_400_000, text: "90d")
    public var synchronous = Synchronous.normal
    /// How long a write waits for another process's lock before answering 503 (`database_locked`).
    public var busyTimeout = TimeLength(millis: 5_000, text: "5s")
    /// Writes stop (503 `disk_full`) while the database's filesystem has less free space than
    /// this, so the disk never fills to the last byte under Vigil.
    public var minFreeBytes: Int64 = 64 * 1024 * 1024
    /// A shared PostgreSQL instead of the SQLite file (DESIGN §9); `nil` is the embedded default.
    public var postgres: PostgresConfig?
    public init() {}
}

/// `storage.postgres`: replicas sharing one PostgreSQL (15 or later). The URL, with its
/// password, is read from the environment variable `urlEnv` only, never from the file.
public struct PostgresConfig: Sendable, Equatable {
    /// How the connection uses TLS: as libpq's `sslmode` of the same names (`verify-full`
    /// checks the certificate and host name against `ca_file`, or the system's roots).
    public enum TLSMode: String, Sendable, Equatable, CaseIterable {
        case disable, prefer, require
        case verifyFull = "verify-full"
    }
    public var urlEnv = "VIGIL_DATABASE_URL"
    /// Connections a replica's readers keep open (its writer has one more of its own).
    public var poolSize = 10
    public var tls = TLSMode.prefer
    /// PEM file of the certificate authorities `verify-full` trusts (default: the system's).
    public var caFile: String?
    /// This replica's stable id (its partial buckets and watermarks are kept under it): the
    /// value of `replicaIDEnv` if set, else `replicaID`, else the host name.
    public var replicaID: String?
    public var replicaIDEnv: String?
    /// How long to wait for a connection to PostgreSQL before answering 503.
    public var connectTimeout = TimeLength(millis: 5_000, text: "5s")
    public init() {}
}

public enum Scope: String, Sendable, Equatable, CaseIterable { case ingest, read }

public struct TokenConfig: Sendable, Equatable {
    public var name: String
    /// The environment variable holding the secret; the file never holds it.
    public var env: String
    public var scopes: Set<Scope>
    public init(name: String, env: String, scopes: Set<Scope>) {
        self.name = name
        self.env = env
        self.scopes = scopes
    }
}

public struct AuthConfig: Sendable, Equatable {
    public var tokens: [TokenConfig] = []
    public init() {}
}

public enum FeatureType: String, Sendable, Equatable, Codable, CaseIterable { case numeric, categorical }

public enum ModelTask: String, Sendable, Equatable, Codable, CaseIterable {
    case binary, multiclass, regression, generative
}

/// A model's declarations. All optional: whatever is not declared is inferred.
public struct ModelConfig: Sendable, Equatable {
    public var task: ModelTask?
    public var positiveClass: String?
    /// Declared feature types; a value of the other type is rejected.
    public var features: [String: FeatureType] = [:]
    /// Valid ranges per numeric feature, for data-quality counts.
    public var ranges: [String: ClosedRange<Double>] = [:]
    /// Segment attributes; an entry of several names is their intersection.
    public var segments: [[String]] = []
    /// The default reference: the first N predictions.
    public var referenceFirst = 5000
    /// How long a label waits for its prediction.
    public var labelTTL = TimeLength(millis: 30 * 86_400_000, text: "30d")
    /// Drift decision: BH-adjusted p-value below `alpha` and effect size at or above a threshold.
    public var driftAlpha = 0.05
    public var driftPSI = 0.2
    public var driftJS = 0.1
    /// Whether the model's numeric columns keep fine reference-bin counts per bucket (KS and
    /// Wasserstein precise past the sketch; ≈ 4.7 KB more per numeric column per bucket in
    /// memory, more merge work per document). Off by default.
    public var driftFineBins = false
    /// How releases of this model are judged (DESIGN §5).
    public var release = ReleaseConfig()
    public init() {}
}

public enum ComparisonOp: String, Sendable, Equatable, CaseIterable {
    case greater = ">"
    case greaterOrEqual = ">="
    case less = "<"
    case lessOrEqual = "<="
    case equal = "=="
    case notEqual = "!="
}

public enum Severity: String, Sendable, Equatable, CaseIterable { case critical, warning, info }

public struct AlertRuleConfig: Sendable, Equatable {
    public var name: String
    public var model = "*"
    public var metric: String
    public var op: ComparisonOp
    public var threshold: Double
    public var window: TimeLength
    public var forDuration = TimeLength(millis: 0, text: "0s")
    public var minSamples = 0
    public var severity = Severity.warning
    public var notify: [String] = []
    /// Narrowing selectors: feature, class, segment, group, stat.
    public var selectors: [String: String] = [:]
    public var labels: [String: String] = [:]
    public var summary: String?
    public var description: String?
    /// A comparison rule (DESIGN §5): fires while the comparison's verdict is `verdict`
    /// (`metric` is then `compare_verdict`).
    public var compare: ComparisonPair?
    public var verdict: ReleaseVerdict?

    /// The selectors that choose the window's series rather than a gauge's labels.
    public static let seriesSelectorKeys: Set<String> = ["version", "variant"]

    /// The version a rule reads (`nil`: all versions).
    public var version: String? { selectors["version"] }
    /// The variant a rule reads (`nil`: every live variant).
    public var variant: String? { selectors["variant"] }

    /// Names the document a rule reads for `model`: its window and series.
    public func documentKey(model: String) -> String {
        [model, window.text, version ?? "", variant ?? ""].joined(separator: "\u{1}")
    }

    public init(name: String, metric: String, op: ComparisonOp, threshold: Double, window: TimeLength) {
        self.name = name
        self.metric = metric
        self.op = op
        self.threshold = threshold
        self.window = window
    }
}

public enum NotifierType: String, Sendable, Equatable, CaseIterable { case webhook, alertmanager, http }

public struct NotifierConfig: Sendable, Equatable {
    public var type: NotifierType
    public var url: String
    /// The environment variable holding the HMAC secret, if signing.
    public var secretEnv: String?
    public var sendResolved = true
    public var repeatInterval = TimeLength(millis: 4 * 3_600_000, text: "4h")
    /// The templated request of an `http` notifier.
    public var http: HTTPNotifierTemplate?
    public init(type: NotifierType, url: String) {
        self.type = type
        self.url = url
    }
}
