/// A little-endian byte writer for the compact binary encodings of persisted records and
/// aggregates. Integers are LEB128 varints, doubles their IEEE-754 bit pattern, strings
/// length-prefixed UTF-8.
public struct BinaryWriter: Sendable {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8]

    /// Creates an empty writer with room for `capacity` bytes.
    public init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Appends one raw byte.
    public mutating func write(byte: UInt8) { bytes.append(byte) }

    /// Appends an unsigned LEB128 varint.
    public mutating func write(varint value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// Appends a count as an unsigned varint. Total: a negative count (a bug elsewhere) is
    /// written as 0 instead of trapping, so one bad aggregate cannot take the process down.
    public mutating func write(count value: Int) {
        write(varint: value > 0 ? UInt64(value) : 0)
    }

    /// Appends a signed integer as a zig-zag varint.
    public mutating func write(int value: Int64) {
        write(varint: UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    /// Appends a double as its 8-byte bit pattern.
    public mutating func write(double value: Double) {
        var bits = value.bitPattern
        for _ in 0..<8 {
            bytes.append(UInt8(truncatingIfNeeded: bits))
            bits >>= 8
        }
    }

    /// Appends a float as its 4-byte bit pattern.
    public mutating func write(float value: Float) {
        var bits = value.bitPattern
        for _ in 0..<4 {
            bytes.append(UInt8(truncatingIfNeeded: bits))
            bits >>= 8
        }
    }

    /// Appends length-prefixed bytes (a nested encoding).
    public mutating func write(blob: [UInt8]) {
        write(count: blob.count)
        bytes.append(contentsOf: blob)
    }

    /// Appends a length-prefixed UTF-8 string.
    public mutating func write(string value: String) {
        var s = value
        s.withUTF8 { utf8 in
            write(count: utf8.count)
            bytes.append(contentsOf: utf8)
        }
    }
}

/// Reads what `BinaryWriter` wrote. Every read returns `nil` on truncated or malformed input
/// instead of trapping, because persisted bytes are input too.
public struct BinaryReader: Sendable {
    private let bytes: [UInt8]
    /// The offset of the next byte to read.
    public private(set) var offset: Int

    /// Creates a reader positioned at the start of `bytes`.
    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        self.offset = 0
    }

    /// Whether every byte has been consumed.
    public var isAtEnd: Bool { offset >= bytes.count }

    /// Reads one raw byte.
    public mutating func readByte() -> UInt8? {
        guard offset < bytes.count else { return nil }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// Reads an unsigned LEB128 varint of at most 10 bytes.
    public mutating func readVarint() -> UInt64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while shift < 70 {
            guard let byte = readByte() else { return nil }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
        return nil
    }

    /// Reads a zig-zag varint.
    public mutating func readInt() -> Int64? {
        guard let raw = readVarint() else { return nil }
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    /// Reads an 8-byte double.
    public mutating func readDouble() -> Double? {
        guard bytes.count - offset >= 8 else { return nil }
        var bits: UInt64 = 0
        for i in 0..<8 { bits |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
        offset += 8
        return Double(bitPattern: bits)
    }

    /// Reads a 4-byte float.
    public mutating func readFloat() -> Float? {
        guard bytes.count - offset >= 4 else { return nil }
        var bits: UInt32 = 0
        for i in 0..<4 { bits |= UInt32(bytes[offset + i]) << (8 * UInt32(i)) }
        offset += 4
        return Float(bitPattern: bits)
    }

    /// Steps over `count` bytes; `false` (and nothing consumed) when fewer remain.
    public mutating func skip(_ count: Int) -> Bool {
        guard count >= 0, bytes.count - offset >= count else { return false }
        offset += count
        return true
    }

    /// Steps over length-prefixed bytes; `false` when truncated.
    public mutating func skipBlob() -> Bool {
        guard let length = readVarint(), length <= UInt64(bytes.count - offset) else { return false }
        offset += Int(length)
        return true
    }

    /// Steps over a length-prefixed UTF-8 string without building it; `false` when truncated or
    /// not valid UTF-8 (what `readString` refuses).
    public mutating func skipString() -> Bool {
        guard let length = readVarint(), length <= UInt64(bytes.count - offset) else { return false }
        let end = offset + Int(length)
        var iterator = bytes[offset..<end].makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid: continue
            case .error: return false
            case .emptyInput:
                offset = end
                return true
            }
        }
    }

    /// Reads length-prefixed bytes; `nil` when truncated.
    public mutating func readBlob() -> [UInt8]? {
        guard let length = readVarint(), length <= UInt64(bytes.count - offset) else { return nil }
        let end = offset + Int(length)
        defer { offset = end }
        return Array(bytes[offset..<end])
    }

    /// Reads a length-prefixed UTF-8 string; `nil` when truncated or not valid UTF-8.
    public mutating func readString() -> String? {
        guard let length = readVarint(), length <= UInt64(bytes.count - offset) else { return nil }
        let end = offset + Int(length)
        defer { offset = end }
        return String(validating: bytes[offset..<end], as: UTF8.self)
    }
}
