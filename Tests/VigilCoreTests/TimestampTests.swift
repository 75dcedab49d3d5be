import Testing

@testable import VigilCore

@Suite struct TimestampTests {
    @Test(arguments: [
        ("1970-01-01T00:00:00Z", Int64(0)),
        ("2026-11-24T10:00:00Z", Int64(1_795_514_400_000)),
        ("2026-11-24T10:00:00.5Z", Int64(1_795_514_400_500)),
        ("2026-11-24T10:00:00.123456Z", Int64(1_795_514_400_123)),
        ("2026-11-24T12:00:00+02:00", Int64(1_795_514_400_000)),
        ("2026-11-24T05:30:00-04:30", Int64(1_795_514_400_000)),
        ("2026-11-24 10:00:00z", Int64(1_795_514_400_000)),
        ("2024-02-29T00:00:00Z", Int64(1_709_164_800_000)),
        ("2016-12-31T23:59:60Z", Int64(1_483_228_799_999)),
    ])
    func parsesRFC3339(_ text: String, _ millis: Int64) {
        #expect(Timestamp.parse(.string(text)) == millis)
    }

    @Test(arguments: [
        "2026-11-24", "2026-13-01T00:00:00Z", "2025-02-29T00:00:00Z", "2026-11-24T24:00:00Z", "2026-11-24T10:00:00",
        "2026-11-24T10:00:00+2:00", "2026-11-24T10:00:00.Z", "yesterday", "1969-12-31T23:59:59Z",
        "2026-11-24T10:00:00Zjunk",
    ])
    func rejectsMalformedStrings(_ text: String) {
        #expect(Timestamp.parse(.string(text)) == nil)
    }

    @Test func parsesUnixSeconds() {
        #expect(Timestamp.parse(.number(1_795_514_400)) == 1_795_514_400_000)
        #expect(Timestamp.parse(.number(1_795_514_400.25)) == 1_795_514_400_250)
        #expect(Timestamp.parse(.number(-1)) == nil)
        #expect(Timestamp.parse(.number(1e20)) == nil)
        #expect(Timestamp.parse(.bool(true)) == nil)
    }

    @Test func formatRoundTrips() {
        for millis: Int64 in [0, 1_795_514_400_000, 1_795_514_400_123, 951_782_400_000, Timestamp.maximum] {
            #expect(Timestamp.parseRFC3339(Timestamp.format(millis)) == millis)
        }
        #expect(Timestamp.format(1_795_514_400_000) == "2026-11-24T10:00:00Z")
        #expect(Timestamp.format(1_795_514_400_120) == "2026-11-24T10:00:00.120Z")
    }
}
