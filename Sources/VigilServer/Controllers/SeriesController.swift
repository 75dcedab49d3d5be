import Hummingbird
import NIOCore
import VigilCore
import VigilEngine

/// `GET /v1/models/{model}/series?metric=&window=&step=&from=&to=` (DESIGN §11): one gauge of
/// §6 over time, each point the window ending at its instant, merged from the buckets in
/// memory and in storage through the one read path.
struct SeriesController: Sendable {
    let config: VigilConfig
    let registry: ModelRegistry
    let documents: any MetricsDocuments
    let clock: any VigilClock

    /// Points one request may ask for: each is a window's document built from its buckets.
    static let maxPoints = 300
    /// The span `from` defaults to before `to` (the newest `maxPoints` when steps are shorter).
    static let defaultSpan: Int64 = 86_400_000
    static let defaultStep = TimeLength(millis: 300_000, text: "5m")

    /// Bucket merges one series request may do (each point merges the buckets of its window):
    /// a bucket's outcomes are cheap to merge, its feature distributions are not. 300 points of
    /// a 1 h window of minute buckets are 18,000 merges; of a 24 h window, 432,000.
    static func maxMerges(_ scope: BucketAggregate.MergeScope) -> Int {
        switch scope {
        case .outcomes: 500_000
        case .feature: 200_000
        case .all: 30_000
        }
    }

    func series(_ request: Request, context: AppRequestContext) async throws -> Response {
        let model = try context.parameters.require("model")
        try registry.requireKnown(model)
        let query = request.uri.queryParameters
        let selection = try Self.selection(query)
        let window = try WindowQuery.window(query["window"].map(String.init), config: config)
        let step = try Self.step(query["step"].map(String.init), config: config)
        let to = try WindowQuery.instant(query, "to") ?? clock.now
        let asked = try WindowQuery.instant(query, "from") ?? (to - Self.defaultSpan)
        // Anchored at `to`: the last point is the document `?to=` gives, the first at or after
        // `from`. Past `maxPoints`, or past the merge budget, the newest are kept and
        // `truncated` says so; `from` after `to` holds no instant (no points).
        let wanted = asked <= to ? (to - asked) / step.millis + 1 : 0
        let count = min(wanted, Int64(Self.maxPoints))
        let from = count > 0 ? to - (count - 1) * step.millis : asked
        let ends = (0..<count).reversed().map { to - $0 * step.millis }
        let version = query.nonEmpty("version")
        let variant = query.nonEmpty("variant")
        let points = try await documents.series(
            model: model, window: window, version: version, variant: variant, endingAt: ends, scope: selection.scope,
            maxMerges: Self.maxMerges(selection.scope), values: { [selection.value(in: $0)] })
        // Past the merge budget the newest points were kept: `from` is the first one returned.
        let shownFrom = points.first?.t ?? from
        let body: JSONValue = .object([
            ("model", .string(model)), ("metric", .string(selection.family.ruleName)),
            ("labels", .object(selection.labels.map { (MetricSelection.queryName($0.0), JSONValue.string($0.1)) })),
            ("version", .from(version)), ("variant", .from(variant)),
            ("window", .string(window.text)), ("step", .string(step.text)),
            ("from", .string(Timestamp.format(shownFrom))), ("to", .string(Timestamp.format(to))),
            ("truncated", .bool(wanted > Int64(points.count))),
            (
                "points",
                .array(
                    points.map { p in
                        .object([
                            ("t", .string(Timestamp.format(p.t))), ("value", .from(p.values.first ?? nil)),
                            ("n", .from(p.predictions)), ("labeled", .from(p.labeled)),
                        ])
                    })
            ),
        ])
        return Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: JSONWriter.bytes(body))))
    }

    private static func selection(_ query: Parameters) throws -> MetricSelection {
        guard let metric = query.nonEmpty("metric") else {
            throw APIError(.badRequest, "'metric' is required: a gauge of DESIGN §6 without 'vigil_', such as quality_precision")
        }
        switch MetricSelection.make(metric: metric, value: { query.nonEmpty($0) }) {
        case .success(let selection): return selection
        case .failure(.unknownMetric):
            throw APIError(
                .badRequest,
                "'\(APIError.excerpt(metric))' is not a window metric; one of: \(WindowGauges.families.map(\.ruleName).joined(separator: ", "))")
        case .failure(.missingLabels(let all, let missing)):
            throw APIError(
                .badRequest,
                "\(metric) needs \(all.joined(separator: ", ")); missing: \(missing.joined(separator: ", "))")
        case .failure(.unusedLabels(let all, let unused)):
            let takes = all.isEmpty ? "no selector" : all.joined(separator: ", ")
            throw APIError(
                .badRequest, "\(metric) takes \(takes); not \(unused.joined(separator: ", "))")
        case .failure(.invalidValue(let name, let allowed)):
            throw APIError(.badRequest, "'\(name)' of \(metric) is one of \(allowed.joined(separator: ", "))")
        }
    }

    private static func step(_ raw: String?, config: VigilConfig) throws -> TimeLength {
        guard let raw else { return defaultStep }
        let longest = config.storage.aggregateRetention
        guard let step = TimeLength.parse(raw), step.millis >= 60_000, step.millis <= longest.millis else {
            throw APIError(
                .badRequest, "step must be a duration from 1m to the aggregate retention (\(longest.text)), such as 5m or 1h")
        }
        return step
    }

}
