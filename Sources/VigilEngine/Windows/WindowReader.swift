import VigilCore

/// The metrics documents as the HTTP layer reads them.
package protocol MetricsDocuments: Sendable {
    /// The hours of hour buckets kept in memory (windows longer need `to`).
    var retainedSpan: Int64 { get }
    /// A window's document ending `endingAt` (now when `nil`).
    func document(
        model: String, window: TimeLength, version: String?, variant: String?, endingAt: Int64?, now: Int64
    ) async throws -> MetricsDocument
    /// The `values` read from the documents of the windows of `window` ending at each of `ends`;
    /// `.outcomes` leaves the feature distributions out (drift, calibration and data quality
    /// are then absent; everything else is as in the whole document). At most `maxMerges`
    /// bucket merges in all: past them only the newest points are returned (at least one).
    func series(
        model: String, window: TimeLength, version: String?, variant: String?, endingAt ends: [Int64],
        scope: BucketAggregate.MergeScope, maxMerges: Int, values: @Sendable (MetricsDocument) -> [Double?]
    ) async throws -> [SeriesPoint]
}

/// The one read path of every window (DESIGN §1, §9): configured windows, windows ending in the
/// past, variants, other widths — and next the comparison, the series endpoint and other
/// writers' partials — are all `merged(selector, span:)`. A read never flushes and never takes
/// the evaluation lock: it merges this writer's buckets in memory with the stored partials
/// memory does not hold (older than the memory floor, or other writers').
package struct WindowReader: MetricsDocuments {
    let config: VigilConfig
    let live: LiveBuckets
    let buckets: any BucketStore
    let events: any EventStore
    let references: ReferenceManager
    let registry: ModelRegistry
    let snapshot: Locked<EvaluationSnapshot>
    let folds: FoldQueue

    package var retainedSpan: Int64 { live.retainedSpan }

    /// The merge of the selected series' buckets starting in [span.from, span.to].
    package func merged(
        _ selector: SeriesSelector, span: (from: Int64, to: Int64), scope: BucketAggregate.MergeScope = .all
    ) async throws -> BucketAggregate {
        var merged = BucketAggregate()
        for part in try await parts(selector, span: span) { merged.merge(part.bucket, scope: scope) }
        return merged
    }

    /// The selected series' buckets starting in [span.from, span.to], from memory and storage,
    /// in a fixed merge order.
    private func parts(_ selector: SeriesSelector, span: (from: Int64, to: Int64)) async throws
        -> [(writer: String, id: BucketID, bucket: BucketAggregate)]
    {
        let memory = live.parts(selector, from: span.from, to: span.to)
        var parts = memory.parts.map { (writer: buckets.writer, id: $0.id, bucket: $0.bucket) }
        if span.from < memory.memoryFloor || buckets.sharesBuckets {
            for stored in try await buckets.partials(model: selector.model, from: span.from, to: span.to)
            where selector.matches(stored.id.series) {
                if stored.writer == buckets.writer, memory.superseded.contains(stored.id) { continue }
                parts.append((stored.writer, stored.id, stored.bucket))
            }
        }
        // A fixed merge order keeps sketch merges (and float sums) reproducible: the same
        // partials give the same document in every process.
        parts.sort { a, b in
            (a.id.series, a.id.start, a.id.resolution.rawValue, a.writer)
                < (b.id.series, b.id.start, b.id.resolution.rawValue, b.writer)
        }
        return parts
    }

    /// One point per end in `ends`: the window of `window` ending there, as `document` would
    /// build it (from `scope` of each bucket), with the `values` read from it. The buckets of all
    /// the windows are read once; each
    /// window merges those starting in its span, in the same order as `merged`, so every point
    /// equals the document of `?to=` at its instant.
    package func series(
        model: String, window: TimeLength, version: String?, variant: String?, endingAt ends: [Int64],
        scope: BucketAggregate.MergeScope, maxMerges: Int, values: @Sendable (MetricsDocument) -> [Double?]
    ) async throws -> [SeriesPoint] {
        guard let first = ends.min(), let last = ends.max() else { return [] }
        await folds.settled()
        let selector = SeriesSelector(model: model, version: version, variant: variant)
        let all = try await parts(
            selector, span: (LiveBuckets.span(width: window.millis, at: first).from, last))
        var points: [SeriesPoint] = []
        points.reserveCapacity(ends.count)
        var merges = 0
        // Newest first, so that when the budget runs out the points kept are the newest; the
        // newest is always computed (it costs what one document does).
        for end in ends.sorted(by: >) {
            try Task.checkCancellation()
            let span = LiveBuckets.span(width: window.millis, at: end)
            let mine = all.filter { $0.id.start >= span.from && $0.id.start <= span.to }
            if !points.isEmpty, merges + mine.count > maxMerges { break }
            merges += mine.count
            var merged = BucketAggregate()
            for part in mine { merged.merge(part.bucket, scope: scope) }
            let document = build(merged, selector: selector, window: window, span: span)
            points.append(
                SeriesPoint(
                    t: end, values: values(document), predictions: document.predictions,
                    labeled: document.labeled))
        }
        return points.reversed()
    }

    /// The document of a window of `width` ending at `end`.
    package func document(_ selector: SeriesSelector, window: TimeLength, endingAt end: Int64) async throws
        -> MetricsDocument
    {
        let span = LiveBuckets.span(width: window.millis, at: end)
        return build(try await merged(selector, span: span), selector: selector, window: window, span: span)
    }

    /// Builds a document from merged buckets with the model's current context.
    func build(_ merged: BucketAggregate, selector: SeriesSelector, window: TimeLength, span: (from: Int64, to: Int64))
        -> MetricsDocument
    {
        let schema = registry.schema(selector.model)
        return MetricsDocument.build(
            merged, selector: selector, window: window.text, span: span,
            context: references.context(selector.model, schema: schema), schema: schema,
            config: config.model(selector.model))
    }

    /// From the last evaluation's snapshot for configured windows of all series or one version;
    /// merged on request for variants, other widths and windows ending in the past.
    package func document(
        model: String, window: TimeLength, version: String?, variant: String?, endingAt: Int64?, now: Int64
    ) async throws -> MetricsDocument {
        if variant == nil, endingAt == nil,
            let cached = snapshot.withLock({
                $0.documents[EvaluationSnapshot.Key(model: model, version: version, window: window.text)]
            })
        {
            return cached
        }
        // Read-your-writes: what was acknowledged before this request is in the buckets.
        await folds.settled()
        return try await document(
            SeriesSelector(model: model, version: version, variant: variant), window: window, endingAt: endingAt ?? now)
    }
}

/// The comparisons of two sides of a model as the HTTP layer and the alert engine read them.
package protocol Comparisons: Sendable {
    /// Two sides' window ending `endingAt` (now when `nil`), compared (DESIGN §5).
    func comparison(
        model: String, baseline: ComparisonSide, candidate: ComparisonSide, window: TimeLength, endingAt: Int64?,
        now: Int64
    ) async throws -> ComparisonDocument
    /// A watched comparison as the last evaluation left it (`nil` before one has); pages that
    /// list every watched pair read these rather than merging each pair on request.
    func watchedComparison(model: String, pair: ComparisonPair, window: TimeLength) -> ComparisonDocument?
}

extension WindowReader: Comparisons {
    /// Both sides merged over the same span through the one read path, then compared with the
    /// model's release configuration.
    package func comparison(
        model: String, baseline: ComparisonSide, candidate: ComparisonSide, window: TimeLength, endingAt: Int64?,
        now: Int64
    ) async throws -> ComparisonDocument {
        await folds.settled()
        let span = LiveBuckets.span(width: window.millis, at: endingAt ?? now)
        let a = try await merged(baseline.selector(model: model), span: span, scope: .outcomes)
        let b = try await merged(candidate.selector(model: model), span: span, scope: .outcomes)
        let context = references.context(model, schema: registry.schema(model))
        var document = ComparisonDocument.build(
            model: model, window: window.text, span: span, baseline: (baseline, a), candidate: (candidate, b),
            task: context.task, positiveClass: context.positiveClass, release: config.model(model).release)
        if baseline.isShadow || candidate.isShadow {
            let pairs = try await events.shadowPairs(
                model: model, from: span.from, to: span.to, limit: Self.maxShadowPairs)
            document.addShadows(pairs: pairs, task: context.task)
        }
        return document
    }

    package func watchedComparison(model: String, pair: ComparisonPair, window: TimeLength) -> ComparisonDocument? {
        snapshot.withLock {
            $0.comparisons[EvaluationSnapshot.ComparisonKey(model: model, pair: pair, window: window.text)]
        }
    }

    /// Shadow pairs read for one comparison at most.
    static let maxShadowPairs = 200_000
}
