import Logging
import ServiceLifecycle
import VigilStorage

/// Drops held labels whose prediction did not arrive within their model's `label_ttl`, every
/// `interval` of `clock`. Joins also check the TTL, so expiry is exact between sweeps too.
struct LabelExpiryService<C: Clock>: Service where C.Duration == Duration {
    let store: SQLiteStore
    let interval: Duration
    let clock: C
    let now: @Sendable () -> Int64
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while true {
                do { try await clock.sleep(for: interval) } catch { return }  // cancelled: shutting down
                do {
                    let expired = try await store.expireLabels(at: now())
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
