import Testing

@testable import VigilStats

@Suite struct BinaryCodingTests {
    @Test(arguments: [UInt64(0), 1, 127, 128, 16_383, 16_384, UInt64(UInt32.max), UInt64.max])
    func varintsRoundTrip(_ value: UInt64) {
        var w = BinaryWriter()
        w.write(varint: value)
        var r = BinaryReader(w.bytes)
        #expect(r.readVarint() == value && r.isAtEnd)
    }

    @Test(arguments: [Int64(0), -1, 1, -64, 64, Int64.min, Int64.max])
    func signedIntegersRoundTripAsZigZag(_ value: Int64) {
        var w = BinaryWriter()
        w.write(int: value)
        var r = BinaryReader(w.bytes)
        #expect(r.readInt() == value)
        if (-64..<64).contains(value) { #expect(w.bytes.count == 1) }
    }

    @Test func doublesAndStringsRoundTripExactly() {
        let doubles = [0.0, -0.0, 1.5, .pi, .leastNonzeroMagnitude, .greatestFiniteMagnitude, .infinity, -1e-300]
        let strings = ["", "a", "ä b.c", "日本語 🚀", String(repeating: "x", count: 1000)]
        var w = BinaryWriter()
        for d in doubles { w.write(double: d) }
        for s in strings { w.write(string: s) }
        var r = BinaryReader(w.bytes)
        for d in doubles { #expect(r.readDouble()?.bitPattern == d.bitPattern) }
        for s in strings { #expect(r.readString() == s) }
        #expect(r.isAtEnd)
        var nan = BinaryWriter()
        nan.write(double: .nan)
        var nanReader = BinaryReader(nan.bytes)
        #expect(nanReader.readDouble()?.isNaN == true)
    }

    @Test func truncatedOrMalformedInputReadsAsNilInsteadOfTrapping() {
        var w = BinaryWriter()
        w.write(string: "hello")
        w.write(double: 2)
        let bytes = w.bytes
        for cut in 0..<bytes.count {
            var r = BinaryReader(Array(bytes.prefix(cut)))
            let s = r.readString()
            let d = s == nil ? nil : r.readDouble()
            #expect(s == nil || d == nil, "prefix \(cut) decoded fully")
        }
        var overlong = BinaryReader([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        #expect(overlong.readVarint() == nil)
        var badUTF8 = BinaryReader([2, 0xFF, 0xFE])
        #expect(badUTF8.readString() == nil)
        var hugeLength = BinaryReader([0xFF, 0xFF, 0x03, 0x41])
        #expect(hugeLength.readString() == nil)
    }
}
