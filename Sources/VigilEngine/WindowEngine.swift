import Logging
import VigilCore

/// The window engine assembled: live buckets restored from storage, the fold queue, the one
/// read path, the evaluator, the reference manager and the alert engine, each its own type.
/// The HTTP layer sees it only through `Ingesting` and `MetricsDocuments`.
package final class WindowEngine: Sendable {
    package let live: LiveBuckets
    package let folds: FoldQueue
    package let ingestor: Ingestor
    package let reader: WindowReader
    package let evaluator: WindowEvaluator
    package let references: ReferenceManager
    package let alerts: AlertEngine?
    package let retention: RetentionService

    /// Loads references and this writer's stored partials, replays the events they are missing,
    /// and is ready to fold committed events.
    package init(
        config: VigilConfig, events: any EventStore, buckets: any BucketStore, references store: any ReferenceStore,
        alerts: AlertEngine?, releases: (any ReleaseLog)? = nil, leadership: any Leadership = SoleLeader(replica: "local"),
        clock: any VigilClock, logger: Logger
    ) throws {
        let now = clock.now
        let registry = events.registry
        let longest = config.windows.map(\.millis).max() ?? 86_400_000
        let holder = Locked<ReferenceManager?>(nil)
        let live = LiveBuckets(
            longestWindow: longest,
            makeContext: { model in
                holder.withLock { $0 }?.context(model)
                    ?? FoldContext(config: config.model(model), schema: registry.schema(model), reference: nil)
            },
            load: { id in buckets.loadBucket(id) })
        let references = try ReferenceManager(
            config: config, store: store, events: events, logger: logger,
            onChange: { model, context in live.setContext(context, for: model) })
        holder.withLock { $0 = references }
        try AggregateRestorer(buckets: buckets, events: events, logger: logger).restore(live, at: now)
        let folds = FoldQueue(buckets: live, limit: config.limits.foldQueueItems)
        let reader = WindowReader(
            config: config, live: live, buckets: buckets, events: events, references: references, registry: registry,
            snapshot: Locked(EvaluationSnapshot()), folds: folds)
        self.live = live
        self.folds = folds
        self.references = references
        self.reader = reader
        self.alerts = alerts
        ingestor = Ingestor(events: events, folds: folds)
        retention = RetentionService(config: config, buckets: buckets, events: events, clock: clock, logger: logger)
        evaluator = WindowEvaluator(
            config: config, live: live, buckets: buckets, reader: reader, references: references, folds: folds,
            alerts: alerts, releases: releases, leadership: leadership, logger: logger)
    }

    /// One evaluation at `now` (see `WindowEvaluator.evaluate`).
    package func evaluate(at now: Int64, flush: Bool = true) async { await evaluator.evaluate(at: now, flush: flush) }

    /// The `/metrics` text of the last evaluation.
    package var exposition: [UInt8] { reader.snapshot.withLock { $0.exposition } }
}
