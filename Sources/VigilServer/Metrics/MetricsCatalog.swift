import Prometheus
import Synchronization
import VigilCore

/// Every Prometheus family Vigil exports, declared once with its help text (swift-prometheus
/// traps on a family registered twice with different labels or help). Series handles are cached
/// so the ingest path pays a dictionary lookup, not a registry lock, per batch.
public final class MetricsCatalog: Sendable {
    public let registry: PrometheusCollectorRegistry

    enum Family {
        static let predictions = (name: "vigil_predictions_total", help: "Predictions stored, by model and version.")
        static let labels = (
            name: "vigil_labels_total", help: "Labels stored (joined, held, or replacing an earlier label), by model."
        )
        static let rejected = (
            name: "vigil_ingest_rejected_total", help: "Ingested items rejected, by kind and reason."
        )
        static let duplicates = (
            name: "vigil_ingest_duplicates_total", help: "Ingested items that were already stored (retries), by kind."
        )
        static let pending = (
            name: "vigil_labels_pending", help: "Labels held until their prediction arrives, by model."
        )
        static let requestDuration = (
            name: "vigil_http_request_duration_seconds", help: "HTTP request duration by method, route and status."
        )
    }

    static let durationBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .microseconds(2500), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
    ]

    private let counters = Mutex<[String: Counter]>([:])
    private let gauges = Mutex<[String: Gauge]>([:])
    private let histograms = Mutex<[String: DurationHistogram]>([:])

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    func counter(_ family: (name: String, help: String), _ labels: [(String, String)]) -> Counter {
        let key = family.name + labels.map { "\u{1}\($0.0)=\($0.1)" }.joined()
        return counters.withLock { cache in
            if let c = cache[key] { return c }
            let c = registry.makeCounter(name: family.name, labels: labels, help: family.help)
            cache[key] = c
            return c
        }
    }

    /// Counts stored predictions.
    public func recordPredictions(model: String, version: String, count: Int) {
        counter(Family.predictions, [("model", model), ("version", version)]).increment(by: Int64(count))
    }

    /// Counts stored labels.
    public func recordLabels(model: String, count: Int) {
        counter(Family.labels, [("model", model)]).increment(by: Int64(count))
    }

    /// Counts one rejected item.
    public func recordRejected(kind: ItemKind, reason: RejectReason, count: Int = 1) {
        counter(Family.rejected, [("kind", kind.rawValue), ("reason", reason.rawValue)]).increment(by: Int64(count))
    }

    /// Counts retried items.
    public func recordDuplicates(kind: ItemKind, count: Int) {
        counter(Family.duplicates, [("kind", kind.rawValue)]).increment(by: Int64(count))
    }

    /// Sets the held-label gauge of a model.
    public func setPendingLabels(model: String, count: Int) {
        let gauge = gauges.withLock { cache in
            if let g = cache[model] { return g }
            let g = registry.makeGauge(name: Family.pending.name, labels: [("model", model)], help: Family.pending.help)
            cache[model] = g
            return g
        }
        gauge.set(Double(count))
    }

    static let queueGauges = [
        (name: "vigil_storage_write_queue_items", help: "Items waiting for the storage writer."),
        (name: "vigil_storage_fold_queue_events", help: "Committed events waiting to be folded into the aggregates."),
        (name: "vigil_storage_writable", help: "1 while storage takes writes, 0 while it refuses them (see /readyz)."),
        (name: "vigil_http_connections", help: "Open HTTP connections."),
    ]

    /// Sets `vigil_leader{replica}`: 1 while this replica leads (DESIGN §9).
    func setLeader(replica: String, leading: Bool) {
        let gauge = gauges.withLock { cache in
            if let g = cache["\u{2}leader"] { return g }
            let g = registry.makeGauge(
                name: "vigil_leader", labels: [("replica", replica)],
                help: "1 while this replica leads: evaluates alert rules and delivers notifications.")
            cache["\u{2}leader"] = g
            return g
        }
        gauge.set(Double(leading ? 1 : 0))
    }

    /// Sets the queue, storage and connection gauges.
    func setQueues(writer: Int, folds: Int, writable: Bool, connections: Int) {
        let values = [Double(writer), Double(folds), writable ? 1 : 0, Double(connections)]
        for (family, value) in zip(Self.queueGauges, values) {
            let gauge = gauges.withLock { cache in
                if let g = cache["\u{1}" + family.name] { return g }
                let g = registry.makeGauge(name: family.name, labels: [], help: family.help)
                cache["\u{1}" + family.name] = g
                return g
            }
            gauge.set(value)
        }
    }

    /// Records one request's duration under its route template.
    public func recordRequest(method: String, route: String, status: Int, duration: Duration) {
        let labels = [("method", method), ("route", route), ("status", String(status))]
        let key = labels.map { "\($0.1)" }.joined(separator: "\u{1}")
        let histogram = histograms.withLock { cache in
            if let h = cache[key] { return h }
            let h = registry.makeDurationHistogram(
                name: Family.requestDuration.name, labels: labels,
                buckets: Self.durationBuckets, help: Family.requestDuration.help)
            cache[key] = h
            return h
        }
        histogram.recordNanoseconds(
            Int64(duration.components.seconds) * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }

    /// Seeds the counters from the committed schemas, so a restart does not reset them to zero,
    /// and declares every rejection series so rates exist before the first rejection.
    public func seed(from schemas: some Sequence<ModelSchema>) {
        for schema in schemas {
            for (version, count) in schema.versions {
                recordPredictions(model: schema.name, version: version, count: count)
            }
            recordLabels(model: schema.name, count: schema.counts.labels)
            setPendingLabels(model: schema.name, count: schema.counts.pendingLabels)
        }
        for kind in ItemKind.allCases where kind != .reference {
            recordDuplicates(kind: kind, count: 0)
            for reason in RejectReason.applicable(to: kind) { recordRejected(kind: kind, reason: reason, count: 0) }
        }
    }

    /// The exposition text.
    public func render() -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16_384)
        registry.emit(into: &buffer)
        return buffer
    }
}

extension MetricsCatalog {
    static let alertsFiringHelp = "Alerts firing, by rule and severity."
    static let deliveries = (
        name: "vigil_webhook_deliveries_total",
        help: "Notification delivery attempts by notifier and outcome (success, retry, failed)."
    )

    /// Counts one notification delivery attempt.
    public func recordDelivery(notifier: String, outcome: String) {
        counter(Self.deliveries, [("notifier", notifier), ("outcome", outcome)]).increment()
    }

    /// Declares the delivery series of every notifier, so rates exist before the first attempt.
    public func seedDeliveries(notifiers: some Sequence<String>) {
        for notifier in notifiers {
            for outcome in ["success", "retry", "failed"] {
                counter(Self.deliveries, [("notifier", notifier), ("outcome", outcome)]).increment(by: Int64(0))
            }
        }
    }
}
