import Foundation
import Testing

/// A committed fixture written by `tools/fixtures/generate.py` from the reference libraries.
struct FixtureFile<Case: Decodable>: Decodable {
    var versions: [String: String]
    var cases: [Case]

    static func load(_ name: String) throws -> FixtureFile<Case> {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "Fixtures/\(name).json")
        return try JSONDecoder().decode(FixtureFile<Case>.self, from: Data(contentsOf: url))
    }
}

/// Statistics: 1e-9 relative (with a 1e-12 absolute floor for values near zero).
let statisticTolerance = (relative: 1e-9, absolute: 1e-12)
/// p-values: 1e-6 relative wherever the reference value is at least 1e-300.
let pValueTolerance = (relative: 1e-6, absolute: 0.0)

/// Whether `actual` agrees with `expected` within a relative tolerance (or an absolute floor).
func agrees(_ actual: Double?, _ expected: Double?, relative: Double, absolute: Double = 0) -> Bool {
    switch (actual, expected) {
    case (nil, nil): return true
    case (let a?, let e?):
        if a == e { return true }
        return abs(a - e) <= max(absolute, relative * abs(e))
    default: return false
    }
}

func expectStatistic(
    _ actual: Double?, _ expected: Double?, _ what: @autoclosure () -> String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(
        agrees(actual, expected, relative: statisticTolerance.relative, absolute: statisticTolerance.absolute),
        "\(what()): \(String(describing: actual)) vs reference \(String(describing: expected))",
        sourceLocation: sourceLocation)
}

func expectPValue(
    _ actual: Double?, _ expected: Double?, _ what: @autoclosure () -> String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    if let e = expected, e < 1e-300 {
        #expect(
            (actual ?? 1) < 1e-290, "\(what()): \(String(describing: actual)) vs reference \(e)",
            sourceLocation: sourceLocation)
        return
    }
    #expect(
        agrees(actual, expected, relative: pValueTolerance.relative),
        "\(what()): \(String(describing: actual)) vs reference \(String(describing: expected))",
        sourceLocation: sourceLocation)
}
