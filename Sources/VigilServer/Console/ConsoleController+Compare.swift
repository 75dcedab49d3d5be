import Foundation
import Hummingbird
import VigilCore
import VigilEngine

extension ConsoleController {
    struct PairRow {
        var model: String
        var baseline: String
        var candidate: String
        var window: String
        var verdict: String
        var verdictClass: String
        var reason: String
        var href: String
        var bad: Bool
    }

    struct ComparisonsPage {
        var chrome: ConsoleViews.Chrome
        var pairs: [PairRow]
        var hasPairs = false
    }

    struct EntryRow {
        var name: String
        var baseline: String
        var candidate: String
        var difference: String
        var interval: String
        var sequential: String
        var pValue: String
        var role: String
        var judged: String
        var worse: Bool
    }

    struct ComparePage {
        var chrome: ConsoleViews.Chrome
        var model: String
        var baseline: String
        var candidate: String
        var window: String
        var verdict: String
        var verdictClass: String
        var provisional: Bool
        var reason: String
        var baselinePredictions: Int
        var baselineLabeled: Int
        var candidatePredictions: Int
        var candidateLabeled: Int
        var needed: Int?
        var entries: [EntryRow]
        var agreement: String?
        var documentHref: String
        var hasEntries = false
    }

    /// Watched pairs a page evaluates at most.
    static let maxPairs = 100

    static func comparePath(_ model: String, _ pair: ComparisonPair, window: String) -> String {
        "/console/models/\(percentEncoded(model))/compare?baseline=\(percentEncoded(pair.baseline.description))"
            + "&candidate=\(percentEncoded(pair.candidate.description))&window=\(percentEncoded(window))"
    }

    static func verdictClass(_ v: ReleaseVerdict) -> String {
        switch v {
        case .rollback: "bad"
        case .promote: "ok"
        default: "warn"
        }
    }

    /// Every watched pair (`release.watch`) with its verdict and reason, as of the last evaluation.
    func comparisonsPage(_ request: Request, context: AppRequestContext, user: String?) async throws -> Response {
        var rows: [PairRow] = []
        let now = clock.now
        outer: for model in config.models.keys.sorted() where registry.schema(model) != nil {
            for watch in config.model(model).release.watch {
                guard rows.count < Self.maxPairs else { break outer }
                // The last evaluation's verdict when there is one (every evaluation computes the
                // watched pairs); merged on request only before the first.
                let cached = comparisons.watchedComparison(model: model, pair: watch.pair, window: watch.window)
                let d: ComparisonDocument
                if let cached {
                    d = cached
                } else {
                    d = try await comparisons.comparison(
                        model: model, baseline: watch.pair.baseline, candidate: watch.pair.candidate,
                        window: watch.window, endingAt: nil, now: now)
                }
                rows.append(
                    PairRow(
                        model: model, baseline: watch.pair.baseline.description,
                        candidate: watch.pair.candidate.description, window: watch.window.text,
                        verdict: d.verdict.rawValue, verdictClass: Self.verdictClass(d.verdict), reason: d.reason,
                        href: Self.comparePath(model, watch.pair, window: watch.window.text), bad: d.verdict == .rollback))
            }
        }
        var page = ComparisonsPage(chrome: chrome("Comparisons", user: user), pairs: rows)
        page.hasPairs = !rows.isEmpty
        return html("comparisons", page)
    }

    /// One comparison: both sides, each entry's difference with its intervals, the verdict and
    /// its reason.
    func comparePage(_ request: Request, context: AppRequestContext, user: String?) async throws -> Response {
        let model = try context.parameters.require("model")
        try registry.requireKnown(model)
        let query = request.uri.queryParameters
        let baseline = try ComparisonsController.side(query["baseline"], "baseline")
        let candidate = try ComparisonsController.side(query["candidate"], "candidate")
        let window = try WindowQuery.window(query["window"].map(String.init), config: config)
        let d = try await comparisons.comparison(
            model: model, baseline: baseline, candidate: candidate, window: window, endingAt: nil, now: clock.now)
        let entries = d.metrics.map { e in
            EntryRow(
                name: e.id.display, baseline: SVGChart.number(e.baseline), candidate: SVGChart.number(e.candidate),
                difference: SVGChart.number(e.difference), interval: ConsoleViews.interval(e.interval),
                sequential: ConsoleViews.interval(e.sequential?.interval),
                pValue: ConsoleViews.value(e.pValueAdjusted ?? e.pValue),
                role: e.guardrail ? "guardrail" : e.success ? "success" : "",
                judged: e.worse == true ? "worse" : e.worse == false ? "not worse" : "", worse: e.worse == true)
        }
        var page = ComparePage(
            chrome: chrome("\(model) comparison", user: user), model: model, baseline: baseline.description,
            candidate: candidate.description, window: window.text, verdict: d.verdict.rawValue,
            verdictClass: Self.verdictClass(d.verdict), provisional: d.provisional, reason: d.reason,
            baselinePredictions: d.baseline.predictions, baselineLabeled: d.baseline.labeled,
            candidatePredictions: d.candidate.predictions, candidateLabeled: d.candidate.labeled,
            needed: d.neededPerSide, entries: entries,
            agreement: d.agreement.map { "\(SVGChart.percent($0.rate)) of \($0.n) ids \(ConsoleViews.interval($0.interval))" },
            documentHref: "/v1/models/\(Self.percentEncoded(model))/compare?baseline=\(Self.percentEncoded(baseline.description))"
                + "&candidate=\(Self.percentEncoded(candidate.description))&window=\(window.text)")
        page.hasEntries = !entries.isEmpty
        return html("compare", page)
    }
}
