import Synchronization
import VigilStats

/// The in-memory time buckets of every series (DESIGN §1, §9).
///
/// Layout: events fold into one-minute buckets; once a whole hour is older than `fineHorizon`
/// its minute buckets roll up into one hour bucket (late events that old fold into the hour
/// directly). Memory holds every minute bucket (at most `fineHorizon` + 1 h of them per series)
/// and the hour buckets of the last `retainedSpan`; older buckets live only in storage and are
/// loaded back when a late label touches one. A window is the merge of the buckets starting in
/// [floor(now − w), now], at minute alignment for windows up to `fineHorizon` and hour alignment
/// beyond, so it spans at least w and at most w plus one bucket.
public final class LiveBuckets: Sendable {
    public static let fineHorizon: Int64 = 2 * 3_600_000

    struct SeriesBuckets {
        var minutes: [Int64: BucketAggregate] = [:]
        var hours: [Int64: BucketAggregate] = [:]
    }

    struct State {
        var series: [SeriesKey: SeriesBuckets] = [:]
        var contexts: [String: FoldContext] = [:]
        var dirty: Set<BucketID> = []
        var rolled: [BucketID] = []
        /// Rolled-up minute buckets a flush in progress is deleting (reads must not count them).
        var deleting: Set<BucketID> = []
        var rolledBefore = Int64.min
        /// Hour buckets before this were evicted from memory (and may be in storage).
        var memoryFloor = Int64.min
        var watermark = FoldWatermark()
        /// Events that could not be folded because their stored bucket could not be read.
        var unfolded = 0
    }

    /// Hour buckets kept in memory: the longest window plus one bucket.
    public let retainedSpan: Int64
    private let state: Mutex<State>
    private let makeContext: @Sendable (String) -> FoldContext
    private let load: @Sendable (BucketID) -> BucketLoad

    /// - Parameters:
    ///   - longestWindow: the longest configured window, in ms.
    ///   - makeContext: a model's fold context, when the book has none yet.
    ///   - load: a bucket from storage (for late labels on evicted buckets).
    public init(
        longestWindow: Int64, makeContext: @escaping @Sendable (String) -> FoldContext,
        load: @escaping @Sendable (BucketID) -> BucketLoad = { _ in .absent }
    ) {
        retainedSpan = max(longestWindow, Self.fineHorizon) + Resolution.hour.millis
        self.state = Mutex(State())
        self.makeContext = makeContext
        self.load = load
    }

    // MARK: - Restoring

    /// Installs this writer's partials and watermark read from storage (at start-up).
    public func restore(_ buckets: [(BucketID, BucketAggregate)], watermark: FoldWatermark, at now: Int64) {
        state.withLock { s in
            for (id, bucket) in buckets {
                switch id.resolution {
                case .minute: s.series[id.series, default: SeriesBuckets()].minutes[id.start] = bucket
                case .hour: s.series[id.series, default: SeriesBuckets()].hours[id.start] = bucket
                }
            }
            s.watermark = watermark
            s.memoryFloor = Resolution.floor(now - retainedSpan, Resolution.hour.millis)
            // Events replayed or arriving now for hours already rolled up go to their hour bucket.
            s.rolledBefore = Resolution.floor(now - Self.fineHorizon, Resolution.hour.millis)
        }
    }

    // MARK: - Contexts

    /// Replaces a model's fold context (new reference, schema or configuration).
    public func setContext(_ context: FoldContext, for model: String) {
        state.withLock { $0.contexts[model] = context }
    }

    // MARK: - Folding

    /// Folds committed events, in commit order. Events at or below the watermarks (already in
    /// the aggregates, as when replaying after a restart) are skipped.
    public func fold(_ events: [CommittedEvent]) {
        state.withLock { s in
            for event in events {
                switch event {
                case .prediction(let p, let rowID):
                    guard rowID > s.watermark.predictions else { continue }
                    s.watermark.predictions = rowID
                    let context = context(p.model, &s)
                    update(bucket(for: p, &s), &s) { $0.fold(p, context: context) }
                case .label(let label, let folding, let p, let old, let seq):
                    guard seq > s.watermark.labels else { continue }
                    s.watermark.labels = seq
                    let context = context(p.model, &s)
                    update(bucket(for: p, &s), &s) {
                        $0.fold(label: label, folding: folding, of: p, replacing: old, context: context)
                    }
                }
            }
        }
    }

    private func context(_ model: String, _ s: inout State) -> FoldContext {
        if let c = s.contexts[model] { return c }
        let c = makeContext(model)
        s.contexts[model] = c
        return c
    }

    private func bucket(for p: Prediction, _ s: inout State) -> BucketID {
        let series = SeriesKey(model: p.model, version: p.version, variant: p.variant)
        let resolution: Resolution = p.timestamp < s.rolledBefore ? .hour : .minute
        return BucketID(series: series, resolution: resolution, start: resolution.start(of: p.timestamp))
    }

    private func update(_ id: BucketID, _ s: inout State, _ body: (inout BucketAggregate) -> Void) {
        switch id.resolution {
        case .minute:
            s.dirty.insert(id)
            body(&s.series[id.series, default: SeriesBuckets()].minutes[id.start, default: BucketAggregate()])
        case .hour:
            guard loadIfEvicted(id, &s) else {
                // The stored bucket could not be read: leave it as stored rather than overwrite
                // it with this event alone. The event itself stays in storage.
                s.unfolded += 1
                return
            }
            s.dirty.insert(id)
            body(&s.series[id.series, default: SeriesBuckets()].hours[id.start, default: BucketAggregate()])
        }
    }

    /// Brings an hour bucket older than the memory floor back from storage, if it is there, so
    /// folding into it adds to what was stored instead of replacing it. `false` when storage
    /// could not tell whether it has the bucket.
    private func loadIfEvicted(_ id: BucketID, _ s: inout State) -> Bool {
        guard s.series[id.series]?.hours[id.start] == nil, id.start < s.memoryFloor else { return true }
        switch load(id) {
        case .found(let stored): s.series[id.series, default: SeriesBuckets()].hours[id.start] = stored
        case .absent: break
        case .unavailable: return false
        }
        return true
    }

    /// Events left unfolded because their stored bucket could not be read (a gauge of trouble).
    public var unfoldedEvents: Int { state.withLock { $0.unfolded } }

    // MARK: - Maintenance

    /// Rolls minute buckets of hours older than `fineHorizon` into hour buckets and evicts hour
    /// buckets older than `retainedSpan` that storage already has.
    public func maintain(at now: Int64) {
        state.withLock { s in
            let boundary = Resolution.floor(now - Self.fineHorizon, Resolution.hour.millis)
            for key in Array(s.series.keys) {
                let old = s.series[key]!.minutes.filter { $0.key < boundary }
                for (start, bucket) in old {
                    let hour = Resolution.hour.start(of: start)
                    // An hour no longer in memory may be in storage: merge into it, not over it;
                    // while storage cannot be read, the minute bucket waits in memory.
                    guard loadIfEvicted(BucketID(series: key, resolution: .hour, start: hour), &s) else { continue }
                    s.series[key]!.hours[hour, default: BucketAggregate()].merge(bucket)
                    s.series[key]!.minutes[start] = nil
                    let minute = BucketID(series: key, resolution: .minute, start: start)
                    s.dirty.remove(minute)
                    s.rolled.append(minute)
                    s.dirty.insert(BucketID(series: key, resolution: .hour, start: hour))
                }
            }
            s.rolledBefore = max(s.rolledBefore, boundary)
            let floor = Resolution.floor(now - retainedSpan, Resolution.hour.millis)
            for key in Array(s.series.keys) {
                for start in s.series[key]!.hours.keys where start < floor {
                    if !s.dirty.contains(BucketID(series: key, resolution: .hour, start: start)) {
                        s.series[key]!.hours[start] = nil
                    }
                }
                if s.series[key]!.minutes.isEmpty && s.series[key]!.hours.isEmpty { s.series[key] = nil }
            }
            s.memoryFloor = max(s.memoryFloor, floor)
        }
    }

    /// Takes the changes since the last flush; `restore(failed:)` puts them back if the write fails.
    public func takeFlush() -> PartialFlush {
        state.withLock { s in
            var upserts: [(id: BucketID, bytes: [UInt8], predictions: Int)] = []
            for id in s.dirty {
                let bucket =
                    id.resolution == .minute
                    ? s.series[id.series]?.minutes[id.start] : s.series[id.series]?.hours[id.start]
                if let bucket { upserts.append((id, bucket.encoded(), bucket.predictions)) }
            }
            let batch = PartialFlush(upserts: upserts, deletes: s.rolled, watermark: s.watermark)
            s.deleting.formUnion(s.rolled)
            s.dirty = []
            s.rolled = []
            return batch
        }
    }

    /// Records that a flush was written: its deleted minute buckets are gone from storage too.
    public func flushed(_ batch: PartialFlush) {
        state.withLock { s in s.deleting.subtract(batch.deletes) }
    }

    /// Marks a failed flush's buckets as changed again.
    public func restore(failed batch: PartialFlush) {
        state.withLock { s in
            for u in batch.upserts { s.dirty.insert(u.id) }
            s.rolled.append(contentsOf: batch.deletes)
            s.deleting.subtract(batch.deletes)
        }
    }

    // MARK: - Windows

    /// The span a window of `width` covers at `now`.
    public static func span(width: Int64, at now: Int64) -> (from: Int64, to: Int64) {
        let alignment = width > fineHorizon ? Resolution.hour.millis : Resolution.minute.millis
        return (Resolution.floor(now - width, alignment), now)
    }

    /// The selected series' buckets in memory starting in [from, to], and which of this
    /// writer's stored partials memory supersedes: those it holds, and rolled-up minute buckets
    /// whose deletion is not yet written. Before `memoryFloor` memory holds only hour buckets
    /// brought back for late labels; storage has the rest.
    public func parts(_ selector: SeriesSelector, from: Int64, to: Int64) -> LiveParts {
        // Copy out under the lock (copy-on-write values: retains, not copies); callers merge
        // outside it so folding never waits for a merge.
        state.withLock { s in
            var out = LiveParts(memoryFloor: s.memoryFloor)
            for (key, buckets) in s.series where selector.matches(key) {
                for (start, bucket) in buckets.hours where start >= from && start <= to {
                    out.parts.append((BucketID(series: key, resolution: .hour, start: start), bucket))
                }
                for (start, bucket) in buckets.minutes where start >= from && start <= to {
                    out.parts.append((BucketID(series: key, resolution: .minute, start: start), bucket))
                }
            }
            out.superseded = Set(out.parts.map(\.id))
            for id in s.rolled where selector.matches(id.series) { out.superseded.insert(id) }
            for id in s.deleting where selector.matches(id.series) { out.superseded.insert(id) }
            return out
        }
    }

    /// Every series with buckets in memory.
    public func seriesKeys() -> [SeriesKey] { state.withLock { Array($0.series.keys).sorted() } }
}
