// Release-build microbenchmarks of VigilStats: ns per add and per merge of each aggregate, and
// the time to compute every statistic for 13 features from merged aggregates.
// Run: swift run -c release vigil-stats-bench
import VigilStats

var sink = 0.0
var rng = SplitMix64(state: 0x1234_5678)

/// Median of `runs` timings of `body`, in nanoseconds per `operations`.
@MainActor
func measure(_ name: String, operations: Int, runs: Int = 5, _ body: () -> Double) {
    var samples: [Double] = []
    for _ in 0..<runs {
        let start = ContinuousClock.now
        sink += body()
        let elapsed = ContinuousClock.now - start
        let ns = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
        samples.append(ns / Double(operations))
    }
    samples.sort()
    let median = samples[samples.count / 2]
    print(
        name + String(repeating: " ", count: max(1, 44 - name.count)),
        median < 1000 ? "\(Double(Int(median * 10)) / 10) ns" : "\(Double(Int(median / 100)) / 10) µs")
}

let n = 1_000_000
let values = (0..<n).map { _ in Double.random(in: -100...100, using: &rng) }
let categories = (0..<n).map { _ in "cat-\(Int.random(in: 0..<20, using: &rng))" }
let bools = (0..<n).map { _ in Bool.random(using: &rng) }
let edges = ReferenceBins.decileEdges(Array(values.prefix(5000)))!

print("VigilStats microbenchmarks (median of 5 runs; \(n) operations each unless noted)")
measure("Moments.add", operations: n) {
    var m = Moments()
    for v in values { m.add(v) }
    return m.mean
}
measure("BinnedHistogram.add (10 bins)", operations: n) {
    var h = BinnedHistogram(edges: edges)!
    for v in values { h.add(v) }
    return Double(h.total)
}
measure("CategoryCounts.add (20 categories)", operations: n) {
    var c = CategoryCounts()
    for s in categories { c.add(s) }
    return Double(c.total)
}
measure("ConfusionMatrix.add (2 classes)", operations: n) {
    var m = ConfusionMatrix()
    for (i, b) in bools.enumerated() {
        m.add(truth: b ? "fraud" : "ok", predicted: bools[(i + 1) % n] ? "fraud" : "ok")
    }
    return Double(m.total)
}
measure("GroupCounters.add (prediction + outcome)", operations: n) {
    var g = GroupCounters()
    for (i, b) in bools.enumerated() {
        g.addPrediction(positive: b)
        g.addOutcome(predictedPositive: b, actualPositive: bools[(i + 7) % n])
    }
    return Double(g.labelled)
}
measure("ExpectedConfusion.add", operations: n) {
    var e = ExpectedConfusion()
    for (i, b) in bools.enumerated() { e.add(predictedPositive: b, probability: abs(values[i]) / 100) }
    return e.truePositives
}
measure("QuantileSketch.add (k = 200)", operations: n) {
    var q = QuantileSketch()
    for v in values { q.add(v) }
    return q.quantile(0.5)!
}
measure("CalibrationBins.add", operations: n) {
    var c = CalibrationBins()
    for (i, b) in bools.enumerated() { c.add(probability: abs(values[i]) / 100, positive: b) }
    return c.squaredErrorSum
}

// Merges: 10,000 shards each, as a window merges its buckets.
let shards = 10_000
func shardsOf<T>(_ make: (Int) -> T) -> [T] { (0..<shards).map(make) }
let momentShards = shardsOf { i -> Moments in
    var m = Moments()
    for v in values[(i * 100)..<(i * 100 + 100)] { m.add(v) }
    return m
}
let histogramShards = shardsOf { i -> BinnedHistogram in
    var h = BinnedHistogram(edges: edges)!
    for v in values[(i * 100)..<(i * 100 + 100)] { h.add(v) }
    return h
}
let categoryShards = shardsOf { i -> CategoryCounts in
    var c = CategoryCounts()
    for s in categories[(i * 100)..<(i * 100 + 100)] { c.add(s) }
    return c
}
let matrixShards = shardsOf { i -> ConfusionMatrix in
    var m = ConfusionMatrix()
    for b in bools[(i * 100)..<(i * 100 + 100)] { m.add(truth: b ? "a" : "b", predicted: "a") }
    return m
}
let sketchShards = (0..<1000).map { i -> QuantileSketch in
    var q = QuantileSketch()
    for v in values[(i * 1000)..<(i * 1000 + 1000)] { q.add(v) }
    return q
}
measure("QuantileSketch.merge (1,000 shards of 1,000)", operations: 1000) {
    var q = QuantileSketch()
    for s in sketchShards { q.merge(s) }
    return q.quantile(0.5)!
}
var sketchA = QuantileSketch()
var sketchB = QuantileSketch()
for v in values.prefix(500_000) { sketchA.add(v) }
for v in values.suffix(500_000) { sketchB.add(v + 1) }
measure("KS + Wasserstein from two sketches", operations: 1, runs: 101) {
    SketchDrift.ksStatistic(sketchA, sketchB)!.value + SketchDrift.wasserstein(sketchA, sketchB)!.value
}
measure("Moments.merge", operations: shards) {
    var m = Moments()
    for s in momentShards { m.merge(s) }
    return m.mean
}
measure("BinnedHistogram.merge", operations: shards) {
    var h = BinnedHistogram(edges: edges)!
    for s in histogramShards { h.merge(s) }
    return Double(h.total)
}
measure("CategoryCounts.merge (20 categories)", operations: shards) {
    var c = CategoryCounts()
    for s in categoryShards { c.merge(s) }
    return Double(c.total)
}
measure("ConfusionMatrix.merge", operations: shards) {
    var m = ConfusionMatrix()
    for s in matrixShards { m.merge(s) }
    return Double(m.total)
}

// Every statistic for 13 features (10 numeric, 3 categorical) from merged aggregates, plus
// quality, fairness over 2 segments × 3 groups, CBPE and calibration.
var referenceHist = BinnedHistogram(edges: edges)!
var currentHist = BinnedHistogram(edges: edges)!
for v in values.prefix(50_000) { referenceHist.add(v) }
for v in values.suffix(50_000) { currentHist.add(v * 1.1 + 2) }
var referenceCats = CategoryCounts()
var currentCats = CategoryCounts()
for s in categories.prefix(50_000) { referenceCats.add(s) }
for s in categories.suffix(50_000) { currentCats.add(s) }
var matrix = ConfusionMatrix()
for (i, b) in bools.prefix(50_000).enumerated() {
    matrix.add(truth: b ? "fraud" : "ok", predicted: bools[i + 3] ? "fraud" : "ok")
}
let groups = (0..<6).map { g -> GroupCounters in
    var c = GroupCounters()
    for b in bools[(g * 1000)..<(g * 1000 + 1000)] {
        c.addPrediction(positive: b)
        c.addOutcome(predictedPositive: b, actualPositive: !b)
    }
    return c
}
var expected = ExpectedConfusion()
var calibration = CalibrationBins()
for (i, b) in bools.prefix(50_000).enumerated() {
    expected.add(predictedPositive: b, probability: abs(values[i]) / 100)
    calibration.add(probability: abs(values[i]) / 100, positive: b)
}
let keys = referenceCats.counts.keys.sorted()
measure("all statistics, 13 features (one document)", operations: 1, runs: 201) {
    var pValues: [Double] = []
    var total = 0.0
    for _ in 0..<10 {
        total += DriftStatistics.psi(reference: referenceHist.counts, current: currentHist.counts)!
        total += DriftStatistics.jensenShannonDistance(reference: referenceHist.counts, current: currentHist.counts)!
        let chi = DriftStatistics.chiSquareContingency([referenceHist.counts, currentHist.counts])!
        pValues.append(chi.pValue)
    }
    for _ in 0..<3 {
        let r = keys.map { referenceCats.counts[$0] ?? 0 }
        let c = keys.map { currentCats.counts[$0] ?? 0 }
        total +=
            DriftStatistics.psi(reference: r, current: c)! + DriftStatistics.jensenShannonDistance(
                reference: r, current: c)!
        pValues.append(DriftStatistics.chiSquareContingency([r, c])!.pValue)
    }
    total += HypothesisTests.benjaminiHochberg(pValues).reduce(0, +)
    let report = matrix.report()!
    total += report.macro.f1 + (HypothesisTests.wilson(successes: 400, trials: 1000)?.lower ?? 0)
    for _ in 0..<2 { total += FairnessGaps(groups: groups.prefix(3)).equalizedOddsDifference ?? 0 }
    total += (expected.precision ?? 0) + (calibration.expectedCalibrationError ?? 0)
    return total
}
print("(checksum \(sink))")
