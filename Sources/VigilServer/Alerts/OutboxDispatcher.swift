import Logging
import ServiceLifecycle
import VigilCore

/// Delivers the outbox (DESIGN §7): each notifier's pending notifications in order, oldest
/// first, retried with exponential backoff and jitter after 3xx, 429, 5xx or network failures.
/// Every notifier has its own loop, so a receiver that is slow or down holds up only its own
/// queue. Rows stay until settled, so delivery is at least once across restarts.
struct OutboxDispatcher: Service {
    static var baseDelay: Int64 { 1_000 }
    static var maxDelay: Int64 { 300_000 }

    let store: any Outbox
    let sender: NotificationSender
    /// Only the leader delivers; the others wait, polling, to take over.
    var leadership: any Leadership = SoleLeader(replica: "local")
    /// Where the answers to `http` notifiers (actions such as a kill switch) are recorded.
    var releases: (any ReleaseLog)? = nil
    let metrics: MetricsCatalog
    let poll: Duration
    let clock: any VigilClock
    let logger: Logger

    /// The wait before attempt `attempts + 1`: uniform in [d/2, d], d = min(max, base·2^attempts).
    static func backoff(attempts: Int, random: Double) -> Int64 {
        let d = min(Double(maxDelay), Double(baseDelay) * Double(1 << min(attempts, 20)))
        return Int64(d / 2 + d / 2 * random)
    }

    func run() async throws {
        let names = await notifiers()
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                for name in names {
                    group.addTask { await deliverInOrder(name) }
                }
                // Every loop may end (no notifier configured, old queues drained), but a service
                // that returns before shutdown stops the whole application.
                group.addTask { try? await gracefulShutdown() }
            }
        }
        try? await sender.client.shutdown()
    }

    /// The configured notifiers, and those with notifications queued under an earlier
    /// configuration (which fail for good rather than wait forever).
    private func notifiers() async -> [String] {
        var names = Set(sender.notifiers.keys)
        do {
            names.formUnion(try await store.outboxNotifiers())
        } catch {
            logger.error("reading the outbox failed", metadata: ["error": "\(error)"])
        }
        return names.sorted()
    }

    /// One notifier's queue: its oldest pending notification, attempted once due and settled
    /// before the next is read. Runs until cancelled, or until the queue of a notifier that is
    /// no longer configured is empty.
    func deliverInOrder(_ notifier: String) async {
        while true {
            guard leadership.isLeader else {
                do { try await clock.sleep(for: poll) } catch { return }
                continue
            }
            do {
                // A notifier waiting out its backoff sends nothing, not even a newer push.
                if var head = try await store.outboxHead(of: notifier), head.nextAttemptAt <= clock.now {
                    switch try await current(head) {
                    case nil:
                        // Every alert in it was pushed again later: the newer push goes instead.
                        try await store.settle(head.id, delivered: true, retryAt: nil, error: nil)
                        logger.info(
                            "stale Alertmanager push dropped for a newer one",
                            metadata: ["notifier": "\(notifier)", "id": "\(head.id)"])
                        continue
                    case let body?: head.body = body
                    }
                    // Settled: the next one goes at once.
                    if await deliver(head) { continue }
                } else if sender.notifiers[notifier] == nil, try await store.outboxHead(of: notifier) == nil {
                    return
                }
            } catch {
                logger.error("reading the outbox failed", metadata: ["notifier": "\(notifier)", "error": "\(error)"])
            }
            do { try await clock.sleep(for: poll) } catch { return }
        }
    }

    /// What of a queued notification is still worth sending: for an Alertmanager notifier, its
    /// alerts that no newer queued push carries (Alertmanager keeps the latest state of each
    /// alert, so replaying old pushes after an outage would resolve alerts by their passed
    /// `endsAt` and fire them again); `nil` when nothing is left. Webhook notifications are
    /// sent as they are, in order.
    func current(_ head: OutboxEntry) async throws -> [UInt8]? {
        guard sender.notifiers[head.notifier]?.type == .alertmanager else { return head.body }
        let newer = try await store.pendingBodies(of: head.notifier, after: head.id, limit: 200)
        guard !newer.isEmpty, case .array(let alerts)? = try? JSONParser.parse(head.body) else { return head.body }
        let later = Set(newer.flatMap { body -> [String] in
            guard case .array(let items)? = try? JSONParser.parse(body) else { return [] }
            return items.compactMap(Self.identity)
        })
        let kept = alerts.filter { Self.identity($0).map { !later.contains($0) } ?? true }
        if kept.isEmpty { return nil }
        return kept.count == alerts.count ? head.body : JSONWriter.bytes(.array(kept))
    }

    /// An `http` notifier's answer, in the release audit trail of the alert's model.
    private func recordAction(_ entry: OutboxEntry, _ outcome: NotificationSender.Outcome) async {
        guard let releases, sender.notifiers[entry.notifier]?.type == .http,
            case .object(let request)? = try? JSONParser.parse(entry.body), case .string(let model)? = request["model"]
        else { return }
        let (result, detail) = outcome.parts
        let rule = request["rule"].flatMap { if case .string(let s) = $0 { s } else { nil } } ?? ""
        let status = request["status"].flatMap { if case .string(let s) = $0 { s } else { nil } } ?? ""
        do {
            try await releases.record([
                ReleaseEvent(
                    at: clock.now, model: model, kind: .notification, detail: "\(rule) \(status): \(detail)",
                    notifier: entry.notifier, outcome: result)
            ])
        } catch {
            logger.error("recording a notifier's answer failed", metadata: ["error": "\(error)"])
        }
    }

    /// An Alertmanager alert's identity: its label set (sorted as Vigil writes it).
    static func identity(_ alert: JSONValue) -> String? {
        guard case .object(let object) = alert, case .object(let labels)? = object["labels"] else { return nil }
        return labels.members.map { "\($0.key)=\($0.value.stringValue ?? "")" }.joined(separator: "\u{1}")
    }

    /// One attempt at `entry`, recorded in the outbox; whether it was recorded.
    func deliver(_ entry: OutboxEntry) async -> Bool {
        let outcome = await sender.send(entry.body, to: entry.notifier)
        // Cut short by shutdown: not an attempt. The row stays as it was and goes out after a restart.
        if Task.isCancelled, !outcome.isDelivered { return false }
        await recordAction(entry, outcome)
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
                try await store.settle(entry.id, delivered: false, retryAt: clock.now + wait, error: reason)
            case .failed(let reason):
                metrics.recordDelivery(notifier: entry.notifier, outcome: "failed")
                logger.error(
                    "notification rejected for good",
                    metadata: ["notifier": "\(entry.notifier)", "reason": "\(reason)"])
                try await store.settle(entry.id, delivered: false, retryAt: nil, error: reason)
            }
            return true
        } catch {
            logger.error("recording a delivery failed", metadata: ["error": "\(error)"])
            return false
        }
    }
}
