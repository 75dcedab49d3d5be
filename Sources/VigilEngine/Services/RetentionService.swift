import Logging
import ServiceLifecycle
import VigilCore

/// Deletes hour partials older than `storage.retention.aggregates` and events older than
/// `storage.retention.events`: at start-up and then every `interval` (hourly).
package struct RetentionService: Service {
    let config: VigilConfig
    let buckets: any BucketStore
    let events: any EventStore
    let interval: Duration
    let clock: any VigilClock
    let logger: Logger

    package init(
        config: VigilConfig, buckets: any BucketStore, events: any EventStore, interval: Duration = .seconds(3_600),
        clock: any VigilClock, logger: Logger
    ) {
        self.config = config
        self.buckets = buckets
        self.events = events
        self.interval = interval
        self.clock = clock
        self.logger = logger
    }

    package func run() async throws {
        await enforce(at: clock.now)
        await cancelWhenGracefulShutdown {
            while true {
                do { try await clock.sleep(for: interval) } catch { return }  // cancelled: shutting down
                await enforce(at: clock.now)
            }
        }
    }

    /// One retention pass at `now`.
    package func enforce(at now: Int64) async {
        do {
            let deletedBuckets = try await buckets.deleteBuckets(before: now - config.storage.aggregateRetention.millis)
            let deletedEvents = try await events.deleteEvents(before: now - config.storage.eventRetention.millis)
            if deletedBuckets + deletedEvents > 0 {
                logger.info("retention", metadata: ["buckets": "\(deletedBuckets)", "predictions": "\(deletedEvents)"])
            }
        } catch {
            logger.error("retention failed", metadata: ["error": "\(error)"])
        }
    }
}
