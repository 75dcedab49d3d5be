/// Reads a `ConfigNode` document into a `VigilConfig`, collecting every problem with its
/// line and column (`vigil check-config` prints them all).
public enum ConfigParser {
    /// Parses and validates; throws `ConfigError` listing every issue.
    public static func parse(_ root: ConfigNode?) throws(ConfigError) -> VigilConfig {
        var reader = ConfigReader()
        var config = VigilConfig()
        if let root, !root.isNull {
            read(root, into: &config, &reader)
            validateReferences(root, config, &reader)
        }
        if !reader.issues.isEmpty {
            throw ConfigError(issues: reader.issues.sorted { ($0.line, $0.column) < ($1.line, $1.column) })
        }
        return config
    }

    static let topKeys = [
        "server", "storage", "limits", "auth", "windows", "evaluation_interval", "models", "alerts", "notifiers",
    ]

    private static func read(_ root: ConfigNode, into config: inout VigilConfig, _ r: inout ConfigReader) {
        for (key, node) in r.mapping(root, "config", allowed: topKeys) {
            switch key {
            case "server": readServer(node, &config.server, &r)
            case "storage": readStorage(node, &config.storage, &r)
            case "limits": readLimits(node, &config.limits, &r)
            case "auth": readAuth(node, &config.auth, &r)
            case "windows": readWindows(node, &config, &r)
            case "evaluation_interval":
                if let v = bounded(node, key, atMost: 86_400_000, &r) { config.evaluationInterval = v }
            case "models":
                for (name, modelNode) in r.mapping(node, "models") {
                    if !ModelName.isValid(name) {
                        r.fail(modelNode, "models: '\(name)' is not a valid model name ([A-Za-z0-9_.-]{1,64})")
                    }
                    config.models[name] = ModelConfigParser.read(modelNode, "models.\(name)", &r)
                }
            case "alerts":
                config.alerts = r.sequence(node, "alerts").enumerated().compactMap { index, item in
                    AlertRuleParser.read(item, "alerts[\(index)]", &r)
                }
            case "notifiers":
                for (name, notifierNode) in r.mapping(node, "notifiers") {
                    if let notifier = readNotifier(notifierNode, "notifiers.\(name)", &r) {
                        config.notifiers[name] = notifier
                    }
                }
            default: break
            }
        }
    }

    static let serverKeys = [
        "host", "port", "max_body_bytes", "max_inflight_body_bytes", "max_items_per_request", "max_connections", "header_timeout",
        "body_timeout", "idle_timeout", "rate_limit",
    ]

    private static func readServer(_ node: ConfigNode, _ server: inout ServerConfig, _ r: inout ConfigReader) {
        for (key, value) in r.mapping(node, "server", allowed: serverKeys) {
            let path = "server.\(key)"
            switch key {
            case "host": if let v = r.string(value, path) { server.host = v }
            case "port": if let v = r.int(value, path, in: 0...65535) { server.port = v }
            case "max_items_per_request": if let v = r.int(value, path, in: 1...1_000_000) { server.maxItemsPerRequest = v }
            case "max_inflight_body_bytes":
                if let v = r.int(value, path, in: 1024...(1 << 40)) { server.maxInflightBodyBytes = v }
            case "max_connections": if let v = r.int(value, path, in: 1...100_000) { server.maxConnections = v }
            case "rate_limit": if let v = r.int(value, path, in: 0...10_000_000) { server.rateLimit = v }
            case "header_timeout": if let v = bounded(value, path, atMost: 86_400_000, &r) { server.headerTimeout = v }
            case "body_timeout": if let v = bounded(value, path, atMost: 86_400_000, &r) { server.bodyTimeout = v }
            case "idle_timeout": if let v = bounded(value, path, atMost: 86_400_000, &r) { server.idleTimeout = v }
            default:
                if let v = r.int(value, path, in: 1024...(1 << 30)) { server.maxBodyBytes = v }
            }
        }
    }

    /// A duration no longer than `atMost` ms (timers take nanoseconds in 64 bits).
    private static func bounded(_ node: ConfigNode, _ path: String, atMost: Int64, _ r: inout ConfigReader) -> TimeLength? {
        guard let v = r.interval(node, path) else { return nil }
        guard v.millis <= atMost else {
            r.fail(node, "\(path) must be at most \(atMost / 86_400_000)d, got \(v.text)")
            return nil
        }
        return v
    }

    private static func readLimits(_ node: ConfigNode, _ limits: inout LimitsConfig, _ r: inout ConfigReader) {
        let keys = [
            "max_models", "max_versions", "max_variants", "max_future_skew", "write_queue_items", "fold_queue_items",
        ]
        for (key, value) in r.mapping(node, "limits", allowed: keys) {
            let path = "limits.\(key)"
            switch key {
            case "max_models": if let v = r.int(value, path, in: 1...10_000) { limits.maxModels = v }
            case "max_versions": if let v = r.int(value, path, in: 1...ModelSchema.Limits.versions) { limits.maxVersions = v }
            case "max_variants": if let v = r.int(value, path, in: 1...ModelSchema.Limits.variants) { limits.maxVariants = v }
            case "max_future_skew": if let v = bounded(value, path, atMost: 366 * 86_400_000, &r) { limits.maxFutureSkew = v }
            case "write_queue_items": if let v = r.int(value, path, in: 1_000...100_000_000) { limits.writeQueueItems = v }
            default: if let v = r.int(value, path, in: 1_000...100_000_000) { limits.foldQueueItems = v }
            }
        }
    }

    private static func readStorage(_ node: ConfigNode, _ storage: inout StorageConfig, _ r: inout ConfigReader) {
        let keys = ["sqlite", "postgres", "retention", "synchronous", "busy_timeout", "min_free_bytes"]
        let pairs = r.mapping(node, "storage", allowed: keys)
        for (key, value) in pairs {
            switch key {
            case "postgres":
                storage.postgres = readPostgres(value, &r)
                if pairs.contains(where: { $0.0 == "sqlite" }) {
                    r.fail(value, "storage: give either sqlite or postgres, not both")
                }
            case "min_free_bytes":
                if let v = r.int(value, "storage.min_free_bytes", in: 0...(1 << 50)) { storage.minFreeBytes = Int64(v) }
            case "busy_timeout":
                if let v = bounded(value, "storage.busy_timeout", atMost: 86_400_000, &r) { storage.busyTimeout = v }
            case "sqlite": if let v = r.string(value, "storage.sqlite") { storage.sqlite = v }
            case "synchronous":
                if let v = r.oneOf(value, "storage.synchronous", StorageConfig.Synchronous.self) {
                    storage.synchronous = v
                }
            default:
                for (rk, rv) in r.mapping(value, "storage.retention", allowed: ["events", "aggregates"]) {
                    guard let v = r.interval(rv, "storage.retention.\(rk)") else { continue }
                    if rk == "events" { storage.eventRetention = v } else { storage.aggregateRetention = v }
                }
            }
        }
    }

    private static func readPostgres(_ node: ConfigNode, _ r: inout ConfigReader) -> PostgresConfig {
        var pg = PostgresConfig()
        let keys = ["url_env", "pool_size", "tls", "ca_file", "replica_id", "replica_id_env", "connect_timeout"]
        for (key, value) in r.mapping(node, "storage.postgres", allowed: keys) {
            let path = "storage.postgres.\(key)"
            switch key {
            case "url_env", "replica_id_env":
                guard let v = r.string(value, path) else { continue }
                if !EnvName.isValid(v) { r.fail(value, "\(path) must name an environment variable ([A-Za-z_][A-Za-z0-9_]*)") }
                if key == "url_env" { pg.urlEnv = v } else { pg.replicaIDEnv = v }
            case "pool_size": if let v = r.int(value, path, in: 1...200) { pg.poolSize = v }
            case "tls": if let v = r.oneOf(value, path, PostgresConfig.TLSMode.self) { pg.tls = v }
            case "ca_file": pg.caFile = r.string(value, path)
            case "replica_id":
                guard let v = r.string(value, path) else { continue }
                if !ModelName.isValid(v) { r.fail(value, "\(path) must be 1 to 64 of [A-Za-z0-9_.-]") }
                pg.replicaID = v
            default: if let v = bounded(value, path, atMost: 600_000, &r) { pg.connectTimeout = v }
            }
        }
        if pg.caFile != nil && pg.tls != .verifyFull {
            r.fail(node, "storage.postgres.ca_file needs tls: verify-full")
        }
        return pg
    }

    private static func readAuth(_ node: ConfigNode, _ auth: inout AuthConfig, _ r: inout ConfigReader) {
        for (_, tokensNode) in r.mapping(node, "auth", allowed: ["tokens"]) {
            for (index, item) in r.sequence(tokensNode, "auth.tokens").enumerated() {
                let path = "auth.tokens[\(index)]"
                var name: String?
                var env: String?
                var scopes = Set<Scope>()
                for (key, value) in r.mapping(item, path, allowed: ["name", "env", "scopes"]) {
                    switch key {
                    case "name": name = r.string(value, "\(path).name")
                    case "env":
                        env = r.string(value, "\(path).env")
                        if let e = env, !EnvName.isValid(e) {
                            r.fail(value, "\(path).env must name an environment variable ([A-Za-z_][A-Za-z0-9_]*)")
                        }
                    default:
                        for scopeNode in r.sequence(value, "\(path).scopes") {
                            if let s = r.oneOf(scopeNode, "\(path).scopes", Scope.self) { scopes.insert(s) }
                        }
                    }
                }
                guard let name, let env else {
                    r.fail(item, "\(path) needs name and env")
                    continue
                }
                if scopes.isEmpty { r.fail(item, "\(path) needs at least one scope (ingest, read)") }
                if auth.tokens.contains(where: { $0.name == name }) {
                    r.fail(item, "\(path): duplicate token name '\(name)'")
                }
                auth.tokens.append(TokenConfig(name: name, env: env, scopes: scopes))
            }
        }
    }

    private static func readWindows(_ node: ConfigNode, _ config: inout VigilConfig, _ r: inout ConfigReader) {
        var windows: [TimeLength] = []
        for (index, item) in r.sequence(node, "windows").enumerated() {
            guard let w = r.interval(item, "windows[\(index)]") else { continue }
            if w.millis < 60_000 || w.millis > 366 * 86_400_000 {
                r.fail(item, "windows: '\(w.text)' must be from 1m to 366d")
            } else if windows.contains(where: { $0.millis == w.millis }) {
                r.fail(item, "windows: '\(w.text)' is listed twice")
            } else {
                windows.append(w)
            }
        }
        if windows.isEmpty { r.fail(node, "windows must list at least one window") } else { config.windows = windows }
    }

    private static func readNotifier(_ node: ConfigNode, _ path: String, _ r: inout ConfigReader) -> NotifierConfig? {
        let pairs = r.mapping(
            node, path, allowed: ["type", "url", "secret_env", "send_resolved", "repeat_interval", "method", "headers", "body", "on"])
        let fields = Dictionary(pairs, uniquingKeysWith: { a, _ in a })
        guard let typeNode = fields["type"], let urlNode = fields["url"] else {
            r.fail(node, "\(path) needs type and url")
            return nil
        }
        guard let type = r.oneOf(typeNode, "\(path).type", NotifierType.self),
            let url = r.string(urlNode, "\(path).url")
        else { return nil }
        if !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
            r.fail(urlNode, "\(path).url must be an http:// or https:// URL")
        }
        var notifier = NotifierConfig(type: type, url: url)
        if let n = fields["secret_env"] {
            notifier.secretEnv = r.string(n, "\(path).secret_env")
            if let e = notifier.secretEnv, !EnvName.isValid(e) {
                r.fail(n, "\(path).secret_env must name an environment variable")
            }
        }
        if let n = fields["send_resolved"], let v = r.bool(n, "\(path).send_resolved") { notifier.sendResolved = v }
        if let n = fields["repeat_interval"], let v = r.interval(n, "\(path).repeat_interval") {
            notifier.repeatInterval = v
        }
        if type == .http {
            notifier.http = readHTTPTemplate(fields, url: url, urlNode: urlNode, path, &r)
        } else {
            for key in ["method", "headers", "body", "on"] where fields[key] != nil {
                r.fail(fields[key]!, "\(path).\(key) applies only to type: http")
            }
        }
        return notifier
    }

    /// The templated request of an `http` notifier: method, url, headers, body and `on`.
    private static func readHTTPTemplate(
        _ fields: [String: ConfigNode], url: String, urlNode: ConfigNode, _ path: String, _ r: inout ConfigReader
    ) -> HTTPNotifierTemplate? {
        func template(_ text: String, _ node: ConfigNode, _ p: String) -> RequestTemplate? {
            switch RequestTemplate.parse(text) {
            case .success(let t): return t
            case .failure(let e):
                r.fail(node, "\(p): \(e.message)")
                return nil
            }
        }
        guard let urlTemplate = template(url, urlNode, "\(path).url") else { return nil }
        var http = HTTPNotifierTemplate(url: urlTemplate)
        if let n = fields["method"], let m = r.string(n, "\(path).method") {
            let method = m.uppercased()
            if ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(method) {
                http.method = method
            } else {
                r.fail(n, "\(path).method must be GET, POST, PUT, PATCH or DELETE")
            }
        }
        if let n = fields["headers"] {
            for (name, value) in r.stringMap(n, "\(path).headers").sorted(by: { $0.key < $1.key }) {
                guard !name.isEmpty, name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: ":") }) else {
                    r.fail(n, "\(path).headers: '\(name)' is not a header name")
                    continue
                }
                if let t = template(value, n, "\(path).headers.\(name)") {
                    http.headers.append(HTTPNotifierTemplate.Header(name: name, value: t))
                }
            }
        }
        if let n = fields["body"], let text = r.string(n, "\(path).body") { http.body = template(text, n, "\(path).body") }
        if let n = fields["on"] {
            let on = r.strings(n, "\(path).on")
            if on.isEmpty || !on.allSatisfy({ ["firing", "resolved"].contains($0) }) {
                r.fail(n, "\(path).on must list firing and/or resolved")
            } else {
                http.on = Set(on)
            }
        }
        return http
    }

    /// Cross-references: alert windows must be configured windows, notify names must exist.
    private static func validateReferences(_ root: ConfigNode, _ config: VigilConfig, _ r: inout ConfigReader) {
        guard case .mapping(let pairs) = root.kind,
            let alertsNode = pairs.first(where: { if case .scalar("alerts", _) = $0.key.kind { true } else { false } })?
                .value,
            case .sequence(let items) = alertsNode.kind
        else { return }
        let windowTexts = config.windows.map(\.text)
        for (rule, item) in zip(config.alerts, items) {
            if !config.windows.contains(where: { $0.millis == rule.window.millis }) {
                r.fail(
                    item,
                    "alert '\(rule.name)': window \(rule.window.text) is not a configured window (\(windowTexts.joined(separator: ", ")))"
                )
            }
            for name in rule.notify where config.notifiers[name] == nil {
                r.fail(item, "alert '\(rule.name)': notifier '\(name)' is not defined under notifiers")
            }
            if rule.model != "*", !ModelName.isValid(rule.model) {
                r.fail(item, "alert '\(rule.name)': model must be \"*\" or a valid model name")
            }
        }
    }
}

/// Model names: `[A-Za-z0-9_.-]{1,64}` (DESIGN §1).
public enum ModelName {
    public static func isValid(_ name: String) -> Bool {
        let utf8 = name.utf8
        return (1...64).contains(utf8.count)
            && utf8.allSatisfy { b in
                (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == 95 || b == 46 || b == 45
            }
    }
}

enum EnvName {
    static func isValid(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(first >= 48 && first <= 57) else { return false }
        return name.utf8.allSatisfy { b in
            (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == 95
        }
    }
}
