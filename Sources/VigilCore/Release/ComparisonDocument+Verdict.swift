import Foundation
import VigilStats

/// The verdict (DESIGN §5, Spotify's rule on the always-valid results): roll back on a guardrail
/// significantly worse or an absolute limit broken; promote when every guardrail is non-inferior
/// within its margin and, when success metrics are configured, one is significantly better;
/// otherwise inconclusive, with the sample size per side that would decide it.
extension ComparisonDocument {
    mutating func decide(_ release: ReleaseConfig) {
        let minSamples = release.minSamples
        let guardrails = metrics.filter(\.guardrail)
        guard baseline.predictions >= minSamples, candidate.predictions >= minSamples else {
            verdict = .inconclusive
            reason = "fewer than \(minSamples) predictions on a side (baseline \(baseline.predictions), candidate \(candidate.predictions))"
            neededPerSide = max(minSamples, neededPerSide(guardrails, tuning: release.sequentialTuning) ?? 0)
            return
        }
        // Only entries with enough samples on both sides may decide anything.
        let decisive = guardrails.filter { $0.n.baseline >= minSamples && $0.n.candidate >= minSamples }
        if rollback(decisive) { return }
        let missing = release.guardrails.filter { config in !metrics.contains { config.matches($0.id) } }
        if let first = missing.first {
            verdict = .inconclusive
            reason = "guardrail \(Self.configName(first)) has no data on both sides"
            return
        }
        guard !guardrails.isEmpty else {
            verdict = .inconclusive
            reason = "no guardrail has data on both sides yet (labels, CBPE estimates or configured metrics)"
            return
        }
        let undecided = guardrails.filter { entry in
            guard decisive.contains(where: { $0.id == entry.id }), let imp = entry.improvement else { return true }
            return imp.lower <= -(entry.margin ?? 0)
        }
        let successes = metrics.filter(\.success)
        let better = successes.filter { entry in
            entry.n.baseline >= minSamples && entry.n.candidate >= minSamples && (entry.improvement?.lower ?? 0) > 0
        }
        // A candidate significantly worse for one configured segment group, or widening a
        // fairness gap, is not promoted (it is not rolled back on that alone).
        let worseForASegment = metrics.first { entry in
            entry.id.isSegment && entry.worse == true && entry.n.baseline >= minSamples && entry.n.candidate >= minSamples
        }
        if let segment = worseForASegment, undecided.isEmpty {
            verdict = .inconclusive
            provisional = false
            reason = "\(segment.id.display) is worse by \(Self.format(abs(segment.difference))) (always-valid p=\(Self.format(segment.sequential?.pValue ?? 1))): not promoted"
            return
        }
        if undecided.isEmpty && (release.success.isEmpty || !better.isEmpty) {
            verdict = .promote
            provisional = !guardrails.contains { !$0.provisional }
            reason =
                better.first.map { "\($0.id.display) improved by \(Self.format($0.difference)) and every guardrail is within its margin" }
                ?? "every guardrail is within its margin (\(guardrails.map(\.id.display).joined(separator: ", ")))"
            return
        }
        verdict = .inconclusive
        provisional = !guardrails.contains { !$0.provisional }
        if let first = undecided.first {
            reason = "\(first.id.display) is not yet shown non-inferior within its margin \(Self.format(first.margin ?? 0))"
        } else {
            reason = "no success metric is significantly better yet"
        }
        let needed =
            undecided.isEmpty
            ? successes.compactMap { neededPerSide($0, tuning: release.sequentialTuning) }.min()
            : neededPerSide(undecided, tuning: release.sequentialTuning)
        neededPerSide = needed.map { max($0, minSamples) }
    }

    /// Rolls back when a decisive guardrail breaks its limit or is significantly worse; labelled
    /// evidence first, so a verdict is provisional only when CBPE alone decided it.
    private mutating func rollback(_ decisive: [ComparisonEntry]) -> Bool {
        // The strongest evidence names the reason: the smallest always-valid p-value first.
        let ordered = (decisive.filter { !$0.provisional } + decisive.filter(\.provisional)).enumerated()
            .sorted { a, b in
                (a.element.provisional ? 1 : 0, a.element.sequential?.pValue ?? 1, a.offset)
                    < (b.element.provisional ? 1 : 0, b.element.sequential?.pValue ?? 1, b.offset)
            }.map(\.element)
        if let broken = ordered.first(where: \.breaksLimit) {
            verdict = .rollback
            provisional = broken.provisional
            let side = broken.direction == .lowerIsBetter ? "above" : "below"
            reason = "\(broken.id.display) is \(Self.format(broken.candidate)), \(side) its limit \(Self.format(broken.limit ?? 0))"
            return true
        }
        if let worse = ordered.first(where: { $0.worse == true }) {
            verdict = .rollback
            provisional = worse.provisional
            let moved = worse.difference < 0 ? "fell" : "rose"
            reason = "\(worse.id.display) \(moved) by \(Self.format(abs(worse.difference))) (always-valid p=\(Self.format(worse.sequential?.pValue ?? 1)))"
            return true
        }
        return false
    }

    /// Per side, the sample size at which the observed differences would decide undecided
    /// guardrails: the first to be proven worse when any points that way (one is enough to roll
    /// back), else the last to be shown non-inferior (promotion needs them all).
    func neededPerSide(_ guardrails: [ComparisonEntry], tuning: Int) -> Int? {
        let pointingWorse = guardrails.filter { e in e.direction.map { e.difference * $0.sign < 0 } ?? false }
        let needs = (pointingWorse.isEmpty ? guardrails : pointingWorse).compactMap {
            neededPerSide($0, tuning: tuning)
        }
        return pointingWorse.isEmpty ? needs.max() : needs.min()
    }

    /// Per side, the predictions at which the observed difference would decide the entry by the
    /// always-valid test the verdict uses (power 0.8): prove it worse when it points that way,
    /// non-inferior within its margin otherwise. An entry rests on fewer observations than its
    /// side has predictions (precision on predicted positives, everything on labelled ones), so
    /// its sample size is scaled by the larger of the sides' predictions per observation.
    func neededPerSide(_ entry: ComparisonEntry, tuning: Int) -> Int? {
        guard let direction = entry.direction, entry.n.baseline > 0, entry.n.candidate > 0 else { return nil }
        let improvement = entry.difference * direction.sign
        let distance = improvement < 0 ? -improvement : improvement + (entry.margin ?? 0)
        guard
            let n = ConfidenceSequence.sampleSizePerSide(
                difference: distance, variance1: entry.variances.baseline, variance2: entry.variances.candidate,
                tuning: tuning)
        else { return nil }
        let perObservation = max(
            Double(baseline.predictions) / Double(entry.n.baseline),
            Double(candidate.predictions) / Double(entry.n.candidate), 1)
        let scaled = (Double(n) * perObservation).rounded(.up)
        return scaled < Double(Int.max / 2) ? Int(scaled) : nil
    }

    static func configName(_ c: ReleaseMetricConfig) -> String {
        [c.metric, c.name, c.stat].compactMap { $0 }.joined(separator: " ")
    }

    /// Four significant digits.
    static func format(_ x: Double) -> String {
        guard x.isFinite else { return "\(x)" }
        if x == 0 { return "0" }
        let magnitude = abs(x)
        if magnitude >= 1e-3 && magnitude < 1e6 {
            let digits = max(0, 3 - Int(log10(magnitude).rounded(.down)))
            var text = String(format: "%.\(digits)f", x)
            if text.contains(".") {
                while text.hasSuffix("0") { text.removeLast() }
                if text.hasSuffix(".") { text.removeLast() }
            }
            return text
        }
        return String(format: "%.3g", x)
    }
}
