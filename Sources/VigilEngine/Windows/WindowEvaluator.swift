import Logging
import VigilCore

/// Evaluates every window of every model and version into the snapshot `GET …/metrics` and
/// `/metrics` read, triggers the alert rules, and flushes changed partials. One evaluation at a
/// time (`evaluating`); reads never wait for it.
package final class WindowEvaluator: Sendable {
    let config: VigilConfig
    let live: LiveBuckets
    let buckets: any BucketStore
    let reader: WindowReader
    let references: ReferenceManager
    let folds: FoldQueue
    let alerts: AlertEngine?
    /// Where verdict changes are recorded (the release audit trail).
    let releases: (any ReleaseLog)?
    let logger: Logger
    private let evaluating = AsyncMutex()
    /// The last recorded verdict of each watched comparison; loaded from the log at first use.
    private let lastVerdicts = Locked<[String: String]?>(nil)
    /// Only the leader evaluates alert rules, records verdict changes and builds default references.
    let leadership: any Leadership

    init(
        config: VigilConfig, live: LiveBuckets, buckets: any BucketStore, reader: WindowReader,
        references: ReferenceManager, folds: FoldQueue, alerts: AlertEngine?, releases: (any ReleaseLog)? = nil,
        leadership: any Leadership = SoleLeader(replica: "local"), logger: Logger
    ) {
        self.leadership = leadership
        self.config = config
        self.live = live
        self.buckets = buckets
        self.reader = reader
        self.references = references
        self.folds = folds
        self.alerts = alerts
        self.releases = releases
        self.logger = logger
    }

    /// One evaluation at `now`: folds settle, due references are built, contexts refresh,
    /// buckets roll up, every window is merged into the snapshot, alert rules step, and changed
    /// partials are flushed. `flush: false` leaves them for the next flush (tests use it to
    /// leave an unflushed tail for a restart to replay).
    package func evaluate(at now: Int64, flush shouldFlush: Bool = true) async {
        await evaluating.withLock {
            if buckets.sharesBuckets {
                // Label changes other replicas made to this one's predictions, folded here.
                do {
                    folds.enqueue(try await reader.events.sync(at: now))
                } catch {
                    logger.warning("taking on other replicas' changes failed; next evaluation retries", metadata: ["error": "\(error)"])
                }
            }
            await folds.settled()
            let (leading, gained) = await leadership.refresh()
            if gained {
                // Continue from the state the previous leader stored.
                await alerts?.reload()
                lastVerdicts.withLock { $0 = nil }
            }
            if buckets.sharesBuckets { await references.reload() }
            if leading { await references.buildDue(at: now) }
            let schemas = reader.registry.snapshot()
            for (model, schema) in schemas { live.setContext(references.context(model, schema: schema), for: model) }
            live.maintain(at: now)
            let next = await snapshot(schemas: schemas, at: now)
            reader.snapshot.withLock { $0 = next }
            if leading {
                await recordVerdictChanges(next.comparisons, at: now)
                if let alerts { await triggerAlerts(alerts, next, models: schemas.keys.sorted(), at: now) }
            }
            if shouldFlush { await flush() }
        }
    }

    /// Every configured window of every model (all series, and each active version).
    private func snapshot(schemas: [String: ModelSchema], at now: Int64) async -> EvaluationSnapshot {
        var next = EvaluationSnapshot()
        var series = live.seriesKeys()
        if buckets.sharesBuckets {
            // Series only other replicas have seen are evaluated here too.
            do {
                series = Array(Set(series).union(try await buckets.storedSeries()))
            } catch {
                logger.warning("listing other replicas' series failed", metadata: ["error": "\(error)"])
            }
        }
        for model in schemas.keys.sorted() {
            let versions = Set(series.filter { $0.model == model && !$0.isShadow }.map(\.version)).sorted()
            for window in config.windows {
                let selectors = [SeriesSelector(model: model)] + versions.map { SeriesSelector(model: model, version: $0) }
                for selector in selectors {
                    guard let document = await document(selector, window: window, at: now) else { continue }
                    next.documents[EvaluationSnapshot.Key(model: model, version: selector.version, window: window.text)] =
                        document
                }
            }
        }
        // A version with no prediction or label in any window has vanished: no series.
        var active = Set<String>()
        for (key, document) in next.documents where document.predictions > 0 || document.labeled > 0 {
            if let version = key.version { active.insert("\(key.model)\u{1}\(version)") }
        }
        next.documents = next.documents.filter { key, _ in
            key.version.map { active.contains("\(key.model)\u{1}\($0)") } ?? true
        }
        let versioned: [(key: EvaluationSnapshot.Key, value: MetricsDocument)] = next.documents.filter {
            $0.key.version != nil
        }
        let ordered = versioned.sorted { a, b in
            (a.key.model, a.key.version ?? "", a.key.window) < (b.key.model, b.key.version ?? "", b.key.window)
        }
        next.comparisons = await comparisons(models: schemas.keys.sorted(), at: now)
        next.exposition = WindowExposition.render(ordered.map { $0.value })
            + WindowExposition.render(comparisons: next.comparisons.sorted { a, b in
                (a.key.model, a.key.pair.baseline.description, a.key.pair.candidate.description, a.key.window)
                    < (b.key.model, b.key.pair.baseline.description, b.key.pair.candidate.description, b.key.window)
            }.map(\.value))
        return next
    }

    /// The watched comparisons of every model: its `release.watch` list and the comparison
    /// alert rules naming it.
    private func comparisons(models: [String], at now: Int64) async -> [EvaluationSnapshot.ComparisonKey: ComparisonDocument] {
        var watched: [(String, ComparisonPair, TimeLength)] = []
        for model in models {
            for w in config.model(model).release.watch {
                watched.append((model, w.pair, w.window))
            }
            for rule in config.alerts where rule.model == model {
                if let pair = rule.compare { watched.append((model, pair, rule.window)) }
            }
        }
        var out: [EvaluationSnapshot.ComparisonKey: ComparisonDocument] = [:]
        for (model, pair, window) in watched {
            let key = EvaluationSnapshot.ComparisonKey(model: model, pair: pair, window: window.text)
            guard out[key] == nil else { continue }
            do {
                out[key] = try await reader.comparison(
                    model: model, baseline: pair.baseline, candidate: pair.candidate, window: window, endingAt: now,
                    now: now)
            } catch {
                logger.error("comparing failed", metadata: ["model": "\(model)", "error": "\(error)"])
            }
        }
        return out
    }

    private func document(_ selector: SeriesSelector, window: TimeLength, at now: Int64) async -> MetricsDocument? {
        do {
            return try await reader.document(selector, window: window, endingAt: now)
        } catch {
            logger.error(
                "merging a window failed", metadata: ["model": "\(selector.model)", "error": "\(error)"])
            return nil
        }
    }

    private func triggerAlerts(_ alerts: AlertEngine, _ next: EvaluationSnapshot, models: [String], at now: Int64)
        async
    {
        var documents: [String: MetricsDocument] = [:]
        for rule in config.alerts where rule.compare == nil {
            for model in models where rule.model == "*" || rule.model == model {
                let key = rule.documentKey(model: model)
                if documents[key] != nil { continue }
                // All versions or one: the snapshot has it; a variant is merged now.
                let cached = rule.variant == nil
                    ? next.documents[EvaluationSnapshot.Key(model: model, version: rule.version, window: rule.window.text)]
                    : nil
                let document = await cached.asyncOr {
                    await self.document(
                        SeriesSelector(model: model, version: rule.version, variant: rule.variant), window: rule.window,
                        at: now)
                }
                documents[key] = document
            }
        }
        await alerts.evaluate(
            models: models, at: now,
            report: { model, rule in documents[rule.documentKey(model: model)] },
            comparison: { model, pair, window in
                next.comparisons[EvaluationSnapshot.ComparisonKey(model: model, pair: pair, window: window.text)]
            })
    }

    /// Records every watched comparison whose verdict differs from the last recorded one. On a
    /// failed write nothing is remembered, so the next evaluation records the change again.
    private func recordVerdictChanges(
        _ comparisons: [EvaluationSnapshot.ComparisonKey: ComparisonDocument], at now: Int64
    ) async {
        guard let releases, !comparisons.isEmpty else { return }
        var known = lastVerdicts.withLock { $0 }
        if known == nil {
            do {
                known = try await releases.lastVerdicts()
            } catch {
                logger.error("reading the release log failed", metadata: ["error": "\(error)"])
                return
            }
        }
        var last = known ?? [:]
        var events: [ReleaseEvent] = []
        for (key, document) in comparisons.sorted(by: { $0.key.window < $1.key.window }) {
            let (baseline, candidate) = (key.pair.baseline.description, key.pair.candidate.description)
            let id = ReleaseEvent.comparisonKey(model: key.model, baseline: baseline, candidate: candidate, window: key.window)
            guard last[id] != document.verdict.rawValue else { continue }
            events.append(
                ReleaseEvent(
                    at: now, model: key.model, kind: .verdict, baseline: baseline, candidate: candidate,
                    window: key.window, verdict: document.verdict.rawValue, previous: last[id],
                    detail: document.reason + (document.provisional ? " (provisional)" : "")))
            last[id] = document.verdict.rawValue
        }
        do {
            try await releases.record(events)
            lastVerdicts.withLock { $0 = last }
        } catch {
            lastVerdicts.withLock { $0 = known }
            logger.error("recording verdict changes failed", metadata: ["error": "\(error)"])
        }
    }

    /// Writes changed partials and the watermark; on failure they stay changed for the next flush.
    func flush() async {
        let batch = live.takeFlush()
        guard !batch.isEmpty || batch.watermark.predictions > 0 else { return }
        do {
            try await buckets.write(batch)
            live.flushed(batch)
        } catch {
            live.restore(failed: batch)
            if error is CancellationError {
                // Shutdown cancelled an evaluation's flush: the batch is kept, and what is not
                // stored replays from the events at the next start.
                logger.notice("aggregate flush cancelled by shutdown; the batch is kept")
            } else {
                logger.error("aggregate flush failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Folds what is queued and flushes (graceful shutdown).
    package func shutdown() async {
        await evaluating.withLock {
            await folds.settled()
            await flush()
        }
    }
}

extension Optional where Wrapped: Sendable {
    /// The value, or `fallback`'s when there is none.
    fileprivate func asyncOr(_ fallback: () async -> Wrapped?) async -> Wrapped? {
        if let self { return self }
        return await fallback()
    }
}
