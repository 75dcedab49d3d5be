/// Event-time parsing and formatting. Times are milliseconds since the Unix epoch (UTC).
public enum Timestamp {
    /// The earliest accepted instant, 1970-01-01T00:00:00Z.
    public static let minimum: Int64 = 0
    /// The latest accepted instant, 9999-12-31T23:59:59.999Z.
    public static let maximum: Int64 = 253_402_300_799_999

    /// Parses an RFC 3339 string or a number of Unix seconds (fractions allowed) into
    /// milliseconds; `nil` when malformed or outside 1970…9999.
    public static func parse(_ value: JSONValue) -> Int64? {
        switch value {
        case .number(let seconds):
            guard seconds.isFinite else { return nil }
            let millis = (seconds * 1000).rounded()
            guard millis >= Double(minimum), millis <= Double(maximum) else { return nil }
            return Int64(millis)
        case .string(let text):
            return parseRFC3339(text)
        default:
            return nil
        }
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; `T` may be a space or `t`, `Z` may be `z`.
    /// A leap second (`:60`) is read as `:59.999`.
    public static func parseRFC3339(_ text: String) -> Int64? {
        let b = Array(text.utf8)
        guard b.count >= 20 else { return nil }
        func number(_ from: Int, _ length: Int) -> Int? {
            var value = 0
            for i in from..<(from + length) {
                guard b[i] >= 48, b[i] <= 57 else { return nil }
                value = value * 10 + Int(b[i] - 48)
            }
            return value
        }
        guard let year = number(0, 4), b[4] == 45, let month = number(5, 2), b[7] == 45,
            let day = number(8, 2), [84, 116, 32].contains(b[10]), let hour = number(11, 2), b[13] == 58,
            let minute = number(14, 2), b[16] == 58, var second = number(17, 2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year), hour <= 23,
            minute <= 59, second <= 60
        else { return nil }
        var index = 19
        var millis = 0
        if b[index] == 46 {  // '.'
            index += 1
            var scale = 100
            let start = index
            while index < b.count, b[index] >= 48, b[index] <= 57 {
                millis += Int(b[index] - 48) * scale
                scale /= 10
                index += 1
            }
            guard index > start else { return nil }
        }
        if second == 60 {
            second = 59
            millis = 999
        }
        guard index < b.count else { return nil }
        var offsetMinutes = 0
        if b[index] == 90 || b[index] == 122 {  // 'Z' / 'z'
            index += 1
        } else if b[index] == 43 || b[index] == 45, b.count - index == 6, b[index + 3] == 58,
            let oh = number(index + 1, 2), let om = number(index + 4, 2), oh <= 23, om <= 59
        {
            offsetMinutes = (oh * 60 + om) * (b[index] == 45 ? -1 : 1)
            index += 6
        } else {
            return nil
        }
        guard index == b.count else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetMinutes * 60)
        let result = seconds * 1000 + Int64(millis)
        guard result >= minimum, result <= maximum else { return nil }
        return result
    }

    /// Formats milliseconds as RFC 3339 UTC, with milliseconds only when non-zero.
    public static func format(_ millis: Int64) -> String {
        let seconds = millis.floorDiv(1000)
        let ms = Int(millis - seconds * 1000)
        let days = seconds.floorDiv(86_400)
        let secondOfDay = Int(seconds - days * 86_400)
        let (y, m, d) = civilFromDays(Int(days))
        func pad(_ v: Int, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        var text = "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(secondOfDay / 3600, 2)):"
        text += "\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2))"
        if ms != 0 { text += "." + pad(ms, 3) }
        return text + "Z"
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The inverse of `daysFromCivil` (Hinnant's `civil_from_days`).
    static func civilFromDays(_ days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}

extension Int64 {
    /// Division rounding towards negative infinity.
    func floorDiv(_ divisor: Int64) -> Int64 {
        let q = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? q - 1 : q
    }
}
