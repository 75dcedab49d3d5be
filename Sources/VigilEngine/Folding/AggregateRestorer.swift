import Logging
import VigilCore

/// Rebuilds the live buckets at start-up: this writer's stored partials and watermark, then the
/// events committed after the watermark (the tail a crash kept out of the stored partials).
package struct AggregateRestorer {
    let buckets: any BucketStore
    let events: any EventStore
    let logger: Logger

    package init(buckets: any BucketStore, events: any EventStore, logger: Logger) {
        self.buckets = buckets
        self.events = events
        self.logger = logger
    }

    package func restore(_ live: LiveBuckets, at now: Int64) throws {
        let stored = try buckets.loadPartials(hoursSince: now - live.retainedSpan - 3_600_000)
        live.restore(stored.buckets, watermark: stored.watermark, at: now)
        let replayed = try events.replay(after: stored.watermark, batchSize: 10_000) { live.fold($0) }
        logger.info(
            "window aggregates restored",
            metadata: [
                "buckets": "\(stored.buckets.count)", "replayed_predictions": "\(replayed.predictions)",
                "replayed_labels": "\(replayed.labels)",
            ])
    }
}
