import Logging
import ServiceLifecycle
import VigilCore

/// Drops held labels whose prediction did not arrive within their model's `label_ttl`, every
/// `interval`. Joins also check the TTL, so expiry is exact between sweeps too.
package struct LabelExpiryService: Service {
    let events: any EventStore
    let interval: Duration
    let clock: any VigilClock
    let logger: Logger

    package init(events: any EventStore, interval: Duration, clock: any VigilClock, logger: Logger) {
        self.events = events
        self.interval = interval
        self.clock = clock
        self.logger = logger
    }

    package func run() async throws {
        await cancelWhenGracefulShutdown {
            while true {
                do { try await clock.sleep(for: interval) } catch { return }  // cancelled: shutting down
                do {
                    let expired = try await events.expireLabels(at: clock.now)
                    if expired > 0 {
                        logger.info("expired held labels past label_ttl", metadata: ["count": "\(expired)"])
                    }
                } catch {
                    logger.error("label expiry failed", metadata: ["error": "\(error)"])
                }
            }
        }
    }
}
