import Logging
import VigilCore

/// Evaluates the alert rules after every window evaluation (DESIGN §7): steps the rule state
/// machine, decides notifications (dedup, repeat, resolved) and queues them in the outbox, all
/// persisted in one transaction so state and notifications survive restarts together.
package final class AlertEngine: Sendable {
    /// Resolved alerts stay in their group this long, so the resolved notification carries them.
    static let resolvedRetention: Int64 = 15 * 60_000
    /// Firing alerts are pushed to Alertmanager again at least this often (Prometheus' resend delay).
    static let resendDelay: Int64 = 60_000

    struct State: Sendable {
        var book: AlertStateMachine
        var planner: NotificationPlanner
        var recentlyResolved: [String: Alert] = [:]
        var lastPush: [String: Int64] = [:]
    }

    let config: VigilConfig
    let store: any AlertStore
    let externalURL: String
    let logger: Logger
    private let state: Locked<State>
    /// One evaluation at a time: each steps a copy of `state` and installs it after its save.
    private let evaluating = AsyncMutex()

    package init(config: VigilConfig, store: any AlertStore, externalURL: String, logger: Logger) throws {
        self.config = config
        self.store = store
        self.externalURL = externalURL
        self.logger = logger
        let stored = try store.loadAlertState()
        state = Locked(State(book: AlertStateMachine(active: stored.active), planner: NotificationPlanner(log: stored.log)))
    }

    /// Takes the stored alert state as it is now (a replica that became the leader continues
    /// from what the previous leader saved). Kept in memory only: recently resolved alerts and
    /// the last Alertmanager push, so a new leader may push once more than needed.
    package func reload() async {
        await evaluating.withLock {
            do {
                let stored = try store.loadAlertState()
                state.withLock {
                    $0 = State(book: AlertStateMachine(active: stored.active), planner: NotificationPlanner(log: stored.log))
                }
            } catch {
                logger.error("loading alert state failed; keeping what this replica had", metadata: ["error": "\(error)"])
            }
        }
    }

    /// One evaluation: `report` gives the document a rule reads for a model (its window, and
    /// its version and variant when it names them).
    /// `comparison` gives a watched comparison's document.
    func evaluate(
        models: [String], at now: Int64, report: (String, AlertRuleConfig) -> MetricsDocument?,
        comparison: (String, ComparisonPair, TimeLength) -> ComparisonDocument? = { _, _, _ in nil }
    ) async {
        guard !config.alerts.isEmpty else { return }
        var reports: [String: MetricsDocument] = [:]
        // By the rule's position: rule names may repeat across models.
        var comparisons: [Int: ComparisonDocument] = [:]
        for (index, rule) in config.alerts.enumerated() {
            if let pair = rule.compare {
                comparisons[index] = comparison(rule.model, pair, rule.window)
                continue
            }
            for model in targets(of: rule, models) where reports[rule.documentKey(model: model)] == nil {
                if let document = report(model, rule) { reports[rule.documentKey(model: model)] = document }
            }
        }
        await evaluating.withLock {
            // Memory advances only once the changes are committed: after a failed save the old
            // state stays, and the next evaluation makes the same transitions and queues the
            // same notifications again instead of believing they were sent.
            var next = state.withLock { $0 }
            let changes = step(&next, models: models, reports: reports, comparisons: comparisons, at: now)
            do {
                try await store.save(changes, at: now)
                state.withLock { [next] in $0 = next }
            } catch {
                logger.error(
                    "saving alert state failed; the next evaluation tries again", metadata: ["error": "\(error)"])
            }
        }
    }

    private func targets(of rule: AlertRuleConfig, _ models: [String]) -> [String] {
        rule.model == "*" ? models : models.filter { $0 == rule.model }
    }

    /// One evaluation's alert changes: rule transitions, then what each notifier is sent.
    private func step(
        _ s: inout State, models: [String], reports: [String: MetricsDocument],
        comparisons: [Int: ComparisonDocument], at now: Int64
    ) -> AlertChanges {
        var changes = AlertChanges()
        let transitions = transitions(&s, models: models, reports: reports, comparisons: comparisons, at: now)
        let (resolvedNow, firedAlerts) = record(transitions, in: &changes, &s)
        let firedNow = Set(firedAlerts.map(\.rule))
        s.recentlyResolved = s.recentlyResolved.filter { now - ($0.value.resolvedAt ?? now) < Self.resolvedRetention }
        let groups = Self.groups(
            firing: s.book.active.values.filter { $0.state == .firing }, resolved: Array(s.recentlyResolved.values))
        for (name, notifier) in config.notifiers.sorted(by: { $0.key < $1.key }) {
            let notified = Set(config.alerts.filter { $0.notify.contains(name) }.map(\.name))
            switch notifier.type {
            case .webhook:
                planWebhook(name, notifier, groups: groups.filter { notified.contains($0.rule) }, &s, &changes, at: now)
            case .alertmanager:
                planPush(
                    name, firing: groups.filter { notified.contains($0.rule) }.flatMap(\.firing),
                    resolved: resolvedNow.filter { notified.contains($0.rule) },
                    newlyFired: !firedNow.isDisjoint(with: notified), &s, &changes, at: now)
            case .http:
                // One request per alert as it fires (and resolves, when `on` says so): an action,
                // not a reminder, so no repeats.
                guard let http = notifier.http else { continue }
                let fired = http.on.contains("firing") ? firedAlerts.filter { notified.contains($0.rule) } : []
                let resolved = http.on.contains("resolved") ? resolvedNow.filter { notified.contains($0.rule) } : []
                for (alert, status) in fired.map({ ($0, "firing") }) + resolved.map({ ($0, "resolved") }) {
                    changes.outbox.append((name, JSONWriter.bytes(http.render(alert, status: status))))
                }
            }
        }
        return changes
    }

    /// Every rule evaluated on its window's document, and the alerts of rules or models gone.
    private func transitions(
        _ s: inout State, models: [String], reports: [String: MetricsDocument],
        comparisons: [Int: ComparisonDocument], at now: Int64
    ) -> [AlertTransition] {
        var transitions: [AlertTransition] = []
        for (index, rule) in config.alerts.enumerated() {
            if let verdict = rule.verdict {
                // A comparison rule: its sides' counts stand for the window's (min_samples per side).
                guard let c = comparisons[index], models.contains(rule.model) else { continue }
                transitions += s.book.evaluate(
                    rule, model: rule.model, samples: c.ruleSamples(verdict),
                    count: min(c.baseline.predictions, c.candidate.predictions), at: now)
                continue
            }
            for model in targets(of: rule, models) {
                guard let r = reports[rule.documentKey(model: model)] else { continue }
                transitions += s.book.evaluate(rule, model: model, samples: r.samples(), count: r.predictions, at: now)
            }
        }
        let rules = Set(config.alerts.map(\.name))
        transitions += s.book.retain(where: { rules.contains($0.rule) && models.contains($0.model) }, at: now)
        return transitions
    }

    /// Transitions as state changes to save; returns the alerts resolved now and fired now.
    private func record(_ transitions: [AlertTransition], in changes: inout AlertChanges, _ s: inout State)
        -> (resolved: [Alert], fired: [Alert])
    {
        var resolvedNow: [Alert] = []
        var firedNow: [Alert] = []
        for t in transitions {
            switch t.to {
            case .pending?: changes.upserts.append(t.alert)
            case .firing?:
                changes.upserts.append(t.alert)
                firedNow.append(t.alert)
            case .resolved?:
                changes.resolved.append(t.alert)
                s.recentlyResolved[t.alert.fingerprint] = t.alert
                resolvedNow.append(t.alert)
            case nil: changes.dropped.append(t.alert)
            }
            logger.info(
                "alert \(t.to?.rawValue ?? "inactive")",
                metadata: [
                    "rule": "\(t.alert.rule)", "model": "\(t.alert.model)", "fingerprint": "\(t.alert.fingerprint)",
                ])
        }
        return (resolvedNow, firedNow)
    }

    /// Webhook notifications the planner finds due for a notifier's groups, and its log changes.
    private func planWebhook(
        _ name: String, _ notifier: NotifierConfig, groups: [AlertGroup], _ s: inout State,
        _ changes: inout AlertChanges, at now: Int64
    ) {
        let before = s.planner.log[name] ?? [:]
        for n in s.planner.plan(notifier: name, config: notifier, groups: groups, at: now) {
            let body = NotificationPayload.webhook(n, receiver: name, externalURL: externalURL)
            changes.outbox.append((name, JSONWriter.bytes(body)))
        }
        let after = s.planner.log[name] ?? [:]
        for (key, record) in after where before[key] != record { changes.log.append((name, key, record)) }
        for key in before.keys where after[key] == nil { changes.log.append((name, key, nil)) }
    }

    /// An Alertmanager push of every firing and newly resolved alert, when one is due: something
    /// resolved or fired now, or the resend delay has passed while something fires.
    private func planPush(
        _ name: String, firing: [Alert], resolved: [Alert], newlyFired: Bool, _ s: inout State,
        _ changes: inout AlertChanges, at now: Int64
    ) {
        let due = now - (s.lastPush[name] ?? Int64.min / 2) >= Self.resendDelay
        guard !resolved.isEmpty || (!firing.isEmpty && (due || newlyFired)) else { return }
        let validUntil = now + 4 * max(config.evaluationInterval.millis, Self.resendDelay)
        let body = NotificationPayload.alertmanager(firing + resolved, validUntil: validUntil, externalURL: externalURL)
        changes.outbox.append((name, JSONWriter.bytes(body)))
        s.lastPush[name] = now
    }

    static func groups(firing: [Alert], resolved: [Alert]) -> [AlertGroup] {
        var byKey: [String: AlertGroup] = [:]
        for a in firing {
            byKey[
                "\(a.rule)\u{1}\(a.model)", default: AlertGroup(rule: a.rule, model: a.model, firing: [], resolved: [])
            ]
            .firing.append(a)
        }
        for a in resolved {
            byKey[
                "\(a.rule)\u{1}\(a.model)", default: AlertGroup(rule: a.rule, model: a.model, firing: [], resolved: [])
            ]
            .resolved.append(a)
        }
        return byKey.keys.sorted().map { byKey[$0]! }
    }

    // MARK: - Reading

    /// Active alerts, newest first, with their current values.
    package func active() -> [Alert] {
        state.withLock { s in
            s.book.active.values.sorted { ($0.activeAt, $0.fingerprint) > ($1.activeAt, $1.fingerprint) }
        }
    }

    /// `vigil_alerts_firing{alertname,severity}` for every configured rule, as exposition text.
    package func exposition() -> [UInt8] {
        guard !config.alerts.isEmpty else { return [] }
        let firing = state.withLock { s in s.book.active.values.filter { $0.state == .firing } }
        var counts: [String: Int] = [:]
        for rule in config.alerts { counts["\(rule.name)\u{1}\(rule.severity.rawValue)"] = 0 }
        for a in firing { counts["\(a.rule)\u{1}\(a.labels["severity"] ?? "")", default: 0] += 1 }
        var out = "# HELP vigil_alerts_firing \(WindowGauges.alertsFiring.help)\n# TYPE vigil_alerts_firing gauge\n"
        for key in counts.keys.sorted() {
            let parts = key.split(separator: "\u{1}", omittingEmptySubsequences: false)
            var line: [UInt8] = Array("vigil_alerts_firing{alertname=\"".utf8)
            WindowExposition.escape(String(parts[0]), into: &line)
            line += Array("\",severity=\"".utf8)
            WindowExposition.escape(String(parts[1]), into: &line)
            line += Array("\"} \(counts[key]!)\n".utf8)
            out += String(decoding: line, as: UTF8.self)
        }
        return Array(out.utf8)
    }
}
