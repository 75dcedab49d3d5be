import Testing

@testable import VigilStats

/// Special functions against scipy.special / scipy.stats (tools/fixtures/generate.py).
@Suite struct SpecialFunctionsTests {
    struct Case: Decodable {
        var fn: String
        var a: Double?, b: Double?, x: Double?, df: Double?, t: Double?
        var expected: Double?
    }

    @Test func agreeWithScipy() throws {
        let fixture = try FixtureFile<Case>.load("special")
        #expect(fixture.cases.count >= 200)
        for c in fixture.cases {
            let actual: Double?
            switch c.fn {
            case "gammaincc": actual = SpecialFunctions.regularizedGammaQ(c.a!, c.x!)
            case "gammainc": actual = SpecialFunctions.regularizedGammaP(c.a!, c.x!)
            case "betainc": actual = SpecialFunctions.regularizedBeta(c.x!, c.a!, c.b!)
            case "norm_sf": actual = SpecialFunctions.normalSurvival(c.x!)
            case "chi2_sf": actual = SpecialFunctions.chiSquareSurvival(c.x!, degreesOfFreedom: c.df!)
            case "t_two_sided": actual = SpecialFunctions.studentTTwoSided(c.t!, degreesOfFreedom: c.df!)
            default:
                Issue.record("unknown function \(c.fn)")
                continue
            }
            // These are the probabilities behind every p-value: hold them to the p-value bar.
            expectPValue(
                actual, c.expected,
                "\(c.fn)(a: \(c.a ?? .nan), b: \(c.b ?? .nan), x: \(c.x ?? .nan), df: \(c.df ?? .nan), t: \(c.t ?? .nan))"
            )
        }
    }

    @Test func edgesOfTheDomain() {
        #expect(SpecialFunctions.regularizedGammaP(-1, 1) == nil)
        #expect(SpecialFunctions.regularizedGammaQ(2, 0) == 1)
        #expect(SpecialFunctions.regularizedBeta(0, 2, 3) == 0 && SpecialFunctions.regularizedBeta(1, 2, 3) == 1)
        #expect(SpecialFunctions.regularizedBeta(1.5, 2, 3) == nil)
        #expect(SpecialFunctions.chiSquareSurvival(0, degreesOfFreedom: 3) == 1)
        #expect(SpecialFunctions.studentTTwoSided(0, degreesOfFreedom: 10) == 1)
        #expect(SpecialFunctions.studentTTwoSided(.infinity, degreesOfFreedom: 10) == 0)
    }
}
