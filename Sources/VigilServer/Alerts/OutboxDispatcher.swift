import Logging
import ServiceLifecycle
import VigilCore
import VigilStorage

/// Delivers the outbox (DESIGN §7): the oldest pending notification of each notifier, in order,
/// retried with exponential backoff and full jitter after 429, 5xx or network failures. Rows stay
/// until delivered, so delivery is at least once across restarts.
struct OutboxDispatcher<C: Clock>: Service where C.Duration == Duration {
    static var baseDelay: Int64 { 1_000 }
    static var maxDelay: Int64 { 300_000 }

    let store: SQLiteStore
    let sender: NotificationSender
    let metrics: MetricsCatalog
    let poll: Duration
    let clock: C
    let now: @Sendable () -> Int64
    let logger: Logger

    /// The wait before attempt `attempts + 1`: uniform in [d/2, d], d = min(max, base·2^attempts).
    static func backoff(attempts: Int, random: Double) -> Int64 {
        let d = min(Double(maxDelay), Double(baseDelay) * Double(1 << min(attempts, 20)))
        return Int64(d / 2 + d / 2 * random)
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while true {
                await deliverDue()
                do { try await clock.sleep(for: poll) } catch { return }
            }
        }
        try? await sender.client.shutdown()
    }

    /// One pass: every notifier whose head entry is due gets one attempt, concurrently.
    func deliverDue() async {
        let heads: [OutboxEntry]
        do {
            heads = try await store.outboxHeads()
        } catch {
            logger.error("reading the outbox failed", metadata: ["error": "\(error)"])
            return
        }
        let due = heads.filter { $0.nextAttemptAt <= now() }
        await withTaskGroup(of: Void.self) { group in
            for entry in due { group.addTask { await deliver(entry) } }
        }
    }

    func deliver(_ entry: OutboxEntry) async {
        let outcome = await sender.send(entry.body, to: entry.notifier)
        do {
            switch outcome {
            case .delivered:
                metrics.recordDelivery(notifier: entry.notifier, outcome: "success")
                try await store.settle(entry.id, delivered: true, retryAt: nil, error: nil)
            case .retry(let reason):
                metrics.recordDelivery(notifier: entry.notifier, outcome: "retry")
                let wait = Self.backoff(attempts: entry.attempts, random: Double.random(in: 0...1))
                logger.warning(
                    "notification delivery failed, retrying",
                    metadata: [
                        "notifier": "\(entry.notifier)", "reason": "\(reason)", "attempt": "\(entry.attempts + 1)",
                        "retry_in_ms": "\(wait)",
                    ])
                try await store.settle(entry.id, delivered: false, retryAt: now() + wait, error: reason)
            case .failed(let reason):
                metrics.recordDelivery(notifier: entry.notifier, outcome: "failed")
                logger.error(
                    "notification rejected for good",
                    metadata: ["notifier": "\(entry.notifier)", "reason": "\(reason)"])
                try await store.settle(entry.id, delivered: false, retryAt: nil, error: reason)
            }
        } catch {
            logger.error("recording a delivery failed", metadata: ["error": "\(error)"])
        }
    }
}
