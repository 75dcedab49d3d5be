/// A multiclass confusion matrix keyed by class name: `counts[truth][predicted]`.
///
/// Mergeable exactly (counts add). Memory: one entry per (truth, predicted) pair seen, at most
/// k² for k classes (callers cap k; the schema caps classes at 1,000).
public struct ConfusionMatrix: Sendable, Equatable {
    public private(set) var counts: [String: [String: Int]] = [:]
    public private(set) var total = 0
    /// Class → number of (truth, predicted) pairs naming it, so the class count is known in O(1).
    private var pairsNaming: [String: Int] = [:]

    public init() {}

    /// The number of distinct classes (truth or predicted).
    public var classCount: Int { pairsNaming.count }

    /// Counts one labelled prediction; a negative `count` takes counts back (a replaced label),
    /// and a pair whose count returns to zero is forgotten, so its classes leave `classes`.
    public mutating func add(truth: String, predicted: String, count: Int = 1) {
        let before = counts[truth]?[predicted] ?? 0
        counts[truth, default: [:]][predicted, default: 0] += count
        total += count
        let after = counts[truth]![predicted]!
        if after == 0 {
            counts[truth]![predicted] = nil
            if counts[truth]!.isEmpty { counts[truth] = nil }
        }
        if before == 0, after != 0 { name(truth, predicted, +1) }
        if before != 0, after == 0 { name(truth, predicted, -1) }
    }

    private mutating func name(_ truth: String, _ predicted: String, _ delta: Int) {
        for c in truth == predicted ? [truth] : [truth, predicted] {
            pairsNaming[c, default: 0] += delta
            if pairsNaming[c] == 0 { pairsNaming[c] = nil }
        }
    }

    /// Whether counting the pair keeps the matrix within `maxClasses` classes.
    public func admits(truth: String, predicted: String, maxClasses: Int) -> Bool {
        let new = (pairsNaming[truth] == nil ? 1 : 0) + (truth != predicted && pairsNaming[predicted] == nil ? 1 : 0)
        return classCount + new <= maxClasses
    }

    /// Takes back one count of the pair, if it has one (never below zero: a pair a cap kept out
    /// was never counted).
    public mutating func remove(truth: String, predicted: String) {
        guard count(truth: truth, predicted: predicted) > 0 else { return }
        add(truth: truth, predicted: predicted, count: -1)
    }

    /// Adds another matrix's counts.
    public mutating func merge(_ other: ConfusionMatrix) {
        for (truth, row) in other.counts {
            for (predicted, count) in row { add(truth: truth, predicted: predicted, count: count) }
        }
    }

    /// Every class seen as truth or prediction, sorted (scikit-learn's `unique_labels` order).
    public var classes: [String] {
        var set = Set(counts.keys)
        for row in counts.values { set.formUnion(row.keys) }
        return set.sorted()
    }

    public func count(truth: String, predicted: String) -> Int { counts[truth]?[predicted] ?? 0 }

    /// The dense matrix over `classes` (rows truth, columns predicted), as
    /// `sklearn.metrics.confusion_matrix(y_true, y_pred, labels=classes)`.
    public func dense(classes: [String]? = nil) -> (classes: [String], matrix: [[Int]]) {
        let labels = classes ?? self.classes
        return (labels, labels.map { t in labels.map { p in count(truth: t, predicted: p) } })
    }

    // MARK: - Encoding

    /// Compact binary form: entry count, then (truth, predicted, count) triples sorted.
    public func encoded() -> [UInt8] {
        var w = BinaryWriter()
        let entries = counts.flatMap { t, row in row.map { (t, $0.key, $0.value) } }.sorted {
            ($0.0, $0.1) < ($1.0, $1.1)
        }
        w.write(count: entries.count)
        for (t, p, c) in entries {
            w.write(string: t)
            w.write(string: p)
            w.write(count: c)
        }
        return w.bytes
    }

    /// Decodes `encoded()`; `nil` when malformed.
    public static func decode(_ bytes: [UInt8]) -> ConfusionMatrix? {
        var r = BinaryReader(bytes)
        guard let n = r.readVarint(), n <= UInt64(bytes.count) else { return nil }
        var m = ConfusionMatrix()
        for _ in 0..<n {
            guard let t = r.readString(), let p = r.readString(), let c = r.readVarint(), c <= UInt64(Int.max / 2)
            else { return nil }
            m.add(truth: t, predicted: p, count: Int(c))
        }
        return r.isAtEnd ? m : nil
    }
}

/// Precision, recall, F1 and support of one class.
public struct ClassScores: Sendable, Equatable {
    public var precision: Double
    public var recall: Double
    public var f1: Double
    public var support: Int
}

/// Classification quality as scikit-learn computes it.
public struct ClassificationReport: Sendable, Equatable {
    public var accuracy: Double
    public var perClass: [String: ClassScores]
    public var macro: ClassScores
    public var weighted: ClassScores
}

extension ConfusionMatrix {
    /// Scores of one class: precision = TP/(TP+FP), recall = TP/(TP+FN),
    /// F1 = 2TP/(2TP+FP+FN); a zero denominator gives 0 (`zero_division="warn"`, scikit-learn's
    /// default, returns 0 and warns). Matches `precision_recall_fscore_support(labels=[c])`.
    public func scores(of positive: String) -> ClassScores {
        var tp = 0
        var fp = 0
        var fn = 0
        tp = count(truth: positive, predicted: positive)
        for (truth, row) in counts {
            for (predicted, c) in row where truth != predicted {
                if predicted == positive { fp += c }
                if truth == positive { fn += c }
            }
        }
        func ratio(_ a: Int, _ b: Int) -> Double { b == 0 ? 0 : Double(a) / Double(b) }
        return ClassScores(
            precision: ratio(tp, tp + fp), recall: ratio(tp, tp + fn), f1: ratio(2 * tp, 2 * tp + fp + fn),
            support: tp + fn)
    }

    /// Accuracy, per-class, macro and support-weighted averages over every class seen (as
    /// `classification_report`); `nil` for an empty matrix.
    public func report() -> ClassificationReport? {
        guard total > 0 else { return nil }
        let labels = classes
        var perClass: [String: ClassScores] = [:]
        var correct = 0
        for label in labels {
            perClass[label] = scores(of: label)
            correct += count(truth: label, predicted: label)
        }
        let k = Double(labels.count)
        let support = labels.reduce(0) { $0 + perClass[$1]!.support }
        func average(_ weight: (ClassScores) -> Double, _ normaliser: Double) -> ClassScores {
            var p = 0.0
            var r = 0.0
            var f = 0.0
            for label in labels {
                let s = perClass[label]!
                p += s.precision * weight(s)
                r += s.recall * weight(s)
                f += s.f1 * weight(s)
            }
            return ClassScores(precision: p / normaliser, recall: r / normaliser, f1: f / normaliser, support: support)
        }
        let weighted =
            support == 0
            ? ClassScores(precision: 0, recall: 0, f1: 0, support: 0)
            : average({ Double($0.support) }, Double(support))
        return ClassificationReport(
            accuracy: Double(correct) / Double(total), perClass: perClass,
            macro: average({ _ in 1 }, k), weighted: weighted)
    }
}
