import Testing

@testable import VigilStats

/// Classification (scikit-learn), fairness (Fairlearn), CBPE (NannyML) and calibration
/// (scikit-learn's Brier score; ECE by its definition with numpy) against the fixtures.
@Suite struct QualityTests {
    struct ClassificationCase: Decodable {
        struct Scores: Decodable { var precision: Double, recall: Double, f1: Double, support: Int }
        var y_true: [String], y_pred: [String], labels: [String], accuracy: Double
        var per_class: [String: Scores], macro: [Double], weighted: [Double], confusion_matrix: [[Int]]
    }

    @Test func classificationAgreesWithScikitLearn() throws {
        let fixture = try FixtureFile<ClassificationCase>.load("classification")
        #expect(fixture.cases.count >= 200)
        for (i, c) in fixture.cases.enumerated() {
            var matrix = ConfusionMatrix()
            for (t, p) in zip(c.y_true, c.y_pred) { matrix.add(truth: t, predicted: p) }
            let report = try #require(matrix.report())
            #expect(matrix.classes == c.labels, "case \(i) labels")
            #expect(matrix.dense().matrix == c.confusion_matrix, "case \(i) confusion matrix")
            expectStatistic(report.accuracy, c.accuracy, "case \(i) accuracy")
            for (label, expected) in c.per_class {
                let s = try #require(report.perClass[label], "case \(i) class \(label) exactly as sent")
                expectStatistic(s.precision, expected.precision, "case \(i) \(label) precision")
                expectStatistic(s.recall, expected.recall, "case \(i) \(label) recall")
                expectStatistic(s.f1, expected.f1, "case \(i) \(label) f1")
                #expect(s.support == expected.support)
            }
            expectStatistic(report.macro.precision, c.macro[0], "case \(i) macro precision")
            expectStatistic(report.macro.recall, c.macro[1], "case \(i) macro recall")
            expectStatistic(report.macro.f1, c.macro[2], "case \(i) macro f1")
            expectStatistic(report.weighted.precision, c.weighted[0], "case \(i) weighted precision")
            expectStatistic(report.weighted.recall, c.weighted[1], "case \(i) weighted recall")
            expectStatistic(report.weighted.f1, c.weighted[2], "case \(i) weighted f1")
        }
        #expect(ConfusionMatrix().report() == nil)
    }

    struct FairnessCase: Decodable {
        var y_true: [Int], y_pred: [Int], groups: [String]
        var by_group: [String: [String: Double?]]
        var demographic_parity_difference: Double?, demographic_parity_ratio: Double?
        var equal_opportunity_difference: Double?, equalized_odds_difference: Double?
    }

    @Test func fairnessAgreesWithFairlearn() throws {
        let fixture = try FixtureFile<FairnessCase>.load("fairness")
        #expect(fixture.cases.count >= 200)
        for (i, c) in fixture.cases.enumerated() {
            var groups: [String: GroupCounters] = [:]
            for ((t, p), g) in zip(zip(c.y_true, c.y_pred), c.groups) {
                groups[g, default: GroupCounters()].addPrediction(positive: p == 1)
                groups[g, default: GroupCounters()].addOutcome(predictedPositive: p == 1, actualPositive: t == 1)
            }
            for (name, expected) in c.by_group {
                let counters = try #require(groups[name])
                expectStatistic(counters.truePositiveRate, expected["tpr"] ?? nil, "case \(i) \(name) TPR")
                expectStatistic(counters.falsePositiveRate, expected["fpr"] ?? nil, "case \(i) \(name) FPR")
                expectStatistic(counters.selectionRate, expected["sel"] ?? nil, "case \(i) \(name) selection rate")
            }
            let gaps = FairnessGaps(groups: groups.values)
            expectStatistic(
                gaps.demographicParityDifference, c.demographic_parity_difference, "case \(i) DP difference")
            expectStatistic(gaps.demographicParityRatio, c.demographic_parity_ratio, "case \(i) DP ratio")
            expectStatistic(gaps.equalOpportunityDifference, c.equal_opportunity_difference, "case \(i) EO difference")
            expectStatistic(gaps.equalizedOddsDifference, c.equalized_odds_difference, "case \(i) EOdds difference")
        }
        #expect(FairnessGaps(groups: [GroupCounters]()).demographicParityDifference == nil)
    }

    struct CBPECase: Decodable {
        var y_pred: [Int], probability: [Double], calibrated: Bool
        var precision: Double?, recall: Double?, f1: Double?, accuracy: Double?
    }

    @Test func cbpeAgreesWithNannyML() throws {
        let fixture = try FixtureFile<CBPECase>.load("cbpe")
        #expect(fixture.cases.count >= 20)
        for (i, c) in fixture.cases.enumerated() {
            var expected = ExpectedConfusion()
            for (y, p) in zip(c.y_pred, c.probability) { expected.add(predictedPositive: y == 1, probability: p) }
            expectStatistic(expected.precision, c.precision, "case \(i) estimated precision")
            expectStatistic(expected.recall, c.recall, "case \(i) estimated recall")
            expectStatistic(expected.f1, c.f1, "case \(i) estimated f1")
            expectStatistic(expected.accuracy, c.accuracy, "case \(i) estimated accuracy")
        }
        #expect(ExpectedConfusion().accuracy == nil)
    }

    struct CalibrationCase: Decodable {
        var probability: [Double], outcome: [Int], brier: Double?, ece: Double?
    }

    @Test func calibrationAgreesWithTheReferences() throws {
        let fixture = try FixtureFile<CalibrationCase>.load("calibration")
        #expect(fixture.cases.count >= 200)
        for (i, c) in fixture.cases.enumerated() {
            var bins = CalibrationBins()
            for (p, y) in zip(c.probability, c.outcome) { bins.add(probability: p, positive: y == 1) }
            expectStatistic(bins.brierScore, c.brier, "case \(i) Brier")
            expectStatistic(bins.expectedCalibrationError, c.ece, "case \(i) ECE")
        }
        #expect(CalibrationBins().brierScore == nil)
    }
}
