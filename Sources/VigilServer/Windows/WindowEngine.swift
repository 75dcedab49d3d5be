import Logging
import Synchronization
import VigilCore
import VigilStorage

/// Runs the window engine: owns the aggregate book and the references, evaluates every window
/// into a snapshot that `GET …/metrics` and `/metrics` read, and flushes buckets to storage.
public final class WindowEngine: Sendable {
    /// The documents of one evaluation and their `/metrics` text.
    struct Snapshot {
        var reports: [ReportKey: WindowReport] = [:]
        var exposition: [UInt8] = []
        var evaluatedAt: Int64?
    }

    /// A snapshot entry: all of a model's series (`version == nil`) or one version's.
    struct ReportKey: Hashable {
        var model: String
        var version: String?
        var window: String
    }

    let config: VigilConfig
    let store: SQLiteStore
    let book: AggregateBook
    let logger: Logger
    /// Evaluates the alert rules after each window evaluation.
    let alerts: AlertEngine?
    private let references: Locked<[String: ReferenceProfile]>
    private let snapshot = Mutex(Snapshot())
    /// Serialises evaluations, flushes and reference changes (a low-rate, coarse owner).
    private let evaluating = AsyncMutex()
    /// When retention last ran; it runs at most hourly.
    private let retainedAt = Locked<Int64>(Int64.min)

    /// Loads references and stored buckets, replays the events the buckets are missing, and
    /// starts receiving committed events.
    public init(config: VigilConfig, store: SQLiteStore, alerts: AlertEngine? = nil, at now: Int64, logger: Logger)
        throws
    {
        self.alerts = alerts
        self.config = config
        self.store = store
        self.logger = logger
        let references = Locked(try store.loadReferences())
        self.references = references
        let registry = store.registry
        let longest = config.windows.map(\.millis).max() ?? 86_400_000
        book = AggregateBook(
            longestWindow: longest,
            makeContext: { model in
                FoldContext(
                    config: config.model(model), schema: registry.schema(model),
                    reference: references.withLock { $0[model] })
            },
            load: { [store] id in store.loadBucket(id) })
        let stored = try store.loadAggregates(hoursSince: now - book.retainedSpan - 3_600_000)
        book.restore(
            stored.buckets, predictionWatermark: stored.predictionWatermark, labelWatermark: stored.labelWatermark,
            at: now)
        let replayed = try store.replay(
            predictionsAfter: stored.predictionWatermark, labelsAfter: stored.labelWatermark
        ) { [book] events in book.fold(events) }
        logger.info(
            "window aggregates restored",
            metadata: [
                "buckets": "\(stored.buckets.count)", "replayed_predictions": "\(replayed.predictions)",
                "replayed_labels": "\(replayed.labels)",
            ])
        store.setFoldSink { [book] events in book.fold(events) }
    }

    // MARK: - Evaluation

    /// One evaluation at `now`: folds settle, contexts refresh, first-N references are built
    /// when due, buckets roll up, every window of every model and version is merged into the
    /// snapshot, and changed buckets are flushed.
    /// `flush: false` leaves the changed buckets for the next flush (tests use it to leave an
    /// unflushed tail for a restart to replay).
    public func evaluate(at now: Int64, flush shouldFlush: Bool = true) async {
        await evaluating.withLock {
            await store.foldsSettled()
            await buildDueReferences(at: now)
            let schemas = store.registry.snapshot()
            for (model, schema) in schemas {
                book.setContext(context(model, schema: schema), for: model)
            }
            book.maintain(at: now)
            var next = Snapshot(evaluatedAt: now)
            let series = book.seriesKeys()
            for model in schemas.keys.sorted() {
                let versions = Set(series.filter { $0.model == model }.map(\.version)).sorted()
                for window in config.windows {
                    next.reports[ReportKey(model: model, version: nil, window: window.text)] = report(
                        SeriesSelector(model: model), window: window, at: now, schema: schemas[model])
                    for version in versions {
                        next.reports[ReportKey(model: model, version: version, window: window.text)] = report(
                            SeriesSelector(model: model, version: version), window: window, at: now,
                            schema: schemas[model])
                    }
                }
            }
            // A version with no prediction or label in any window has vanished: no series.
            let active = Set(
                next.reports.filter { $0.key.version != nil && ($0.value.predictions > 0 || $0.value.labeled > 0) }.map
                {
                    ReportKey(model: $0.key.model, version: $0.key.version, window: "")
                })
            next.reports = next.reports.filter {
                $0.key.version == nil
                    || active.contains(ReportKey(model: $0.key.model, version: $0.key.version, window: ""))
            }
            next.exposition = WindowExposition.render(
                next.reports.filter { $0.key.version != nil }.sorted { a, b in
                    (a.key.model, a.key.version!, a.key.window) < (b.key.model, b.key.version!, b.key.window)
                }.map(\.value))
            snapshot.withLock { $0 = next }
            if let alerts {
                let reports = next.reports
                await alerts.evaluate(models: schemas.keys.sorted(), at: now) { model, window in
                    reports[ReportKey(model: model, version: nil, window: window.text)]
                        ?? report(SeriesSelector(model: model), window: window, at: now, schema: schemas[model])
                }
            }
            if shouldFlush { await flush() }
            await enforceRetention(at: now)
        }
    }

    /// Deletes hour buckets older than `storage.retention.aggregates` and events older than
    /// `storage.retention.events`, at most once an hour.
    func enforceRetention(at now: Int64) async {
        let due = retainedAt.withLock { last -> Bool in
            guard last == Int64.min || now - last >= 3_600_000 else { return false }
            last = now
            return true
        }
        guard due else { return }
        do {
            let buckets = try await store.deleteBuckets(before: now - config.storage.aggregateRetention.millis)
            let events = try await store.deleteEvents(before: now - config.storage.eventRetention.millis)
            if buckets + events > 0 {
                logger.info("retention", metadata: ["buckets": "\(buckets)", "predictions": "\(events)"])
            }
        } catch {
            logger.error("retention failed", metadata: ["error": "\(error)"])
        }
    }

    /// Writes changed buckets and watermarks; on failure they stay changed for the next flush.
    func flush() async {
        let batch = book.takeFlush()
        guard !batch.isEmpty || batch.predictionWatermark > 0 else { return }
        do {
            try await store.flush(batch)
        } catch {
            book.restore(failed: batch)
            logger.error("aggregate flush failed", metadata: ["error": "\(error)"])
        }
    }

    /// Folds what is queued and flushes (graceful shutdown).
    public func shutdown() async {
        await evaluating.withLock {
            await store.foldsSettled()
            await flush()
        }
    }

    func context(_ model: String, schema: ModelSchema?) -> FoldContext {
        FoldContext(
            config: config.model(model), schema: schema ?? store.registry.schema(model),
            reference: references.withLock { $0[model] })
    }

    func report(_ selector: SeriesSelector, window: Interval, at now: Int64, schema: ModelSchema?) -> WindowReport {
        let merged = book.window(selector, width: window.millis, at: now)
        return WindowReport.build(
            merged, selector: selector, window: window.text, span: AggregateBook.span(width: window.millis, at: now),
            context: context(selector.model, schema: schema), schema: schema, config: config.model(selector.model))
    }

    // MARK: - Reading

    /// The `/metrics` text of the last evaluation.
    public var exposition: [UInt8] { snapshot.withLock { $0.exposition } }

    /// A window's document: from the snapshot for configured windows of all series or one
    /// version; merged on request for variants, other widths and windows ending in the past.
    func document(
        model: String, window: Interval, version: String?, variant: String?, endingAt: Int64?, now current: Int64
    ) async throws -> WindowReport {
        let schema = store.registry.schema(model)
        if variant == nil, endingAt == nil,
            let cached = snapshot.withLock({
                $0.reports[ReportKey(model: model, version: version, window: window.text)]
            })
        {
            return cached
        }
        let selector = SeriesSelector(model: model, version: version, variant: variant)
        guard let endingAt else {
            await store.foldsSettled()
            return report(selector, window: window, at: current, schema: schema)
        }
        // A past window: flush so storage holds every bucket, then merge from storage.
        await evaluating.withLock {
            await store.foldsSettled()
            await flush()
        }
        let span = AggregateBook.span(width: window.millis, at: endingAt)
        var merged = BucketAggregate()
        for (id, bucket) in try await store.loadBuckets(model: model, from: span.from, to: span.to)
        where selector.matches(id.series) {
            merged.merge(bucket)
        }
        return WindowReport.build(
            merged, selector: selector, window: window.text, span: span, context: context(model, schema: schema),
            schema: schema, config: config.model(model))
    }

    // MARK: - References

    /// Builds, stores and installs a model's reference from rows.
    func installReference(
        model: String, rows: [(prediction: Prediction, label: OutputValue?)], source: ReferenceProfile.Source,
        at now: Int64
    ) async throws -> ReferenceProfile {
        try await evaluating.withLock {
            try await install(model: model, rows: rows, source: source, at: now)
        }
    }

    private func install(
        model: String, rows: [(prediction: Prediction, label: OutputValue?)], source: ReferenceProfile.Source,
        at now: Int64
    ) async throws -> ReferenceProfile {
        let previous = references.withLock { $0[model]?.generation } ?? 0
        var context = context(model, schema: nil)
        if context.task == .binary, context.positiveClass == nil {
            // Before any traffic the schema cannot tell the positive class; the rows can.
            var schema = ModelSchema(name: model, config: config.model(model))
            for (p, _) in rows { schema.observe(p) }
            context = FoldContext(config: config.model(model), schema: schema, reference: nil)
        }
        let profile = ReferenceProfile.build(
            rows: rows, context: context, source: source, generation: max(now, previous + 1), at: now)
        try await store.saveReference(profile, model: model, at: now)
        references.withLock { $0[model] = profile }
        book.setContext(self.context(model, schema: nil), for: model)
        logger.info(
            "reference installed",
            metadata: ["model": "\(model)", "source": "\(source.rawValue)", "rows": "\(rows.count)"])
        return profile
    }

    /// The default reference: a model's first `reference.first` predictions, once it has them.
    private func buildDueReferences(at now: Int64) async {
        for (model, schema) in store.registry.snapshot() {
            let first = config.model(model).referenceFirst
            guard first > 0, schema.counts.predictions >= first, references.withLock({ $0[model] == nil }) else {
                continue
            }
            do {
                let rows = try await store.referenceRows(model: model, limit: first)
                _ = try await install(model: model, rows: rows, source: .first, at: now)
            } catch {
                logger.error(
                    "building the default reference failed", metadata: ["model": "\(model)", "error": "\(error)"])
            }
        }
    }
}

/// A value behind a lock, shareable by reference (closures capture the box, not the `Mutex`).
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<T: Sendable>(_ body: (inout sending Value) throws -> sending T) rethrows -> T {
        try mutex.withLock(body)
    }
}

/// A mutual exclusion for async sections (evaluations may await storage while holding it).
final class AsyncMutex: Sendable {
    private let state = Mutex<(locked: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func withLock<T>(_ body: () async throws -> T) async rethrows -> T {
        await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async {
        await withCheckedContinuation { continuation in
            let acquired = state.withLock { s -> Bool in
                if !s.locked {
                    s.locked = true
                    return true
                }
                s.waiters.append(continuation)
                return false
            }
            if acquired { continuation.resume() }
        }
    }

    private func release() {
        let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if s.waiters.isEmpty {
                s.locked = false
                return nil
            }
            return s.waiters.removeFirst()
        }
        next?.resume()
    }
}
