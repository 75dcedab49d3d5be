/// A template of the `http` notifier (DESIGN §7): text with `{{ $labels.NAME }}`,
/// `{{ $annotations.NAME }}`, `{{ $value }}`, `{{ $status }}` and `{{ env "NAME" }}`.
///
/// Rendering happens in two steps so a secret never reaches the database and no alert value can
/// smuggle one in: when a notification is queued, everything but `env` is rendered into
/// `RenderedTemplate` parts (text, or the name of an environment variable); the sender joins the
/// parts with the environment read at start-up. A label value that itself reads
/// `{{ env "X" }}` stays that text.
public struct RequestTemplate: Sendable, Equatable {
    enum Piece: Sendable, Equatable {
        case text(String)
        case label(String)
        case annotation(String)
        case value
        case status
        case env(String)
    }

    let pieces: [Piece]
    /// How substituted values are written into the text.
    public enum Escaping: Sendable { case none, url, json, header }

    /// Parses `text`; the error names the first problem.
    public static func parse(_ text: String) -> Result<RequestTemplate, TemplateError> {
        var pieces: [Piece] = []
        var rest = Substring(text)
        while let open = rest.range(of: "{{") {
            if open.lowerBound > rest.startIndex { pieces.append(.text(String(rest[..<open.lowerBound]))) }
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                return .failure(TemplateError("'{{' without '}}'"))
            }
            let expression = rest[open.upperBound..<close.lowerBound].trimmingSpaces
            switch expression {
            case "$value": pieces.append(.value)
            case "$status": pieces.append(.status)
            case _ where expression.hasPrefix("$labels."): pieces.append(.label(String(expression.dropFirst(8))))
            case _ where expression.hasPrefix("$annotations."):
                pieces.append(.annotation(String(expression.dropFirst(13))))
            case _ where expression.hasPrefix("env "):
                let name = expression.dropFirst(4).trimmingSpaces
                guard name.count >= 3, name.first == "\"", name.last == "\"",
                    EnvName.isValid(String(name.dropFirst().dropLast()))
                else { return .failure(TemplateError("env needs a quoted variable name: {{ env \"NAME\" }}")) }
                pieces.append(.env(String(name.dropFirst().dropLast())))
            default:
                return .failure(
                    TemplateError(
                        "unknown expression '{{ \(expression) }}' (use $labels.NAME, $annotations.NAME, $value, $status or env \"NAME\")"
                    ))
            }
            rest = rest[close.upperBound...]
        }
        if !rest.isEmpty { pieces.append(.text(String(rest))) }
        return .success(RequestTemplate(pieces: pieces))
    }

    /// The environment variables the template reads.
    public var environmentNames: [String] {
        pieces.compactMap { if case .env(let name) = $0 { name } else { nil } }
    }

    /// Renders everything but `env` for `alert` in `status` (`firing` or `resolved`).
    public func render(_ alert: Alert, status: String, escaping: Escaping) -> RenderedTemplate {
        var parts: [RenderedTemplate.Part] = []
        func text(_ s: String) {
            if case .text(let previous)? = parts.last {
                parts[parts.count - 1] = .text(previous + s)
            } else {
                parts.append(.text(s))
            }
        }
        for piece in pieces {
            switch piece {
            case .text(let s): text(s)
            case .label(let name): text(Self.escape(alert.labels[name] ?? "", escaping))
            case .annotation(let name): text(Self.escape(alert.annotations[name] ?? "", escaping))
            case .value: text(Self.escape(AlertTemplate.format(alert.value), escaping))
            case .status: text(status)
            case .env(let name): parts.append(.env(name))
            }
        }
        return RenderedTemplate(parts: parts)
    }

    static func escape(_ value: String, _ escaping: Escaping) -> String {
        switch escaping {
        case .none: return value
        case .url:
            // Unreserved characters only (RFC 3986): a value can add no path segment or query.
            var out = ""
            for byte in value.utf8 {
                switch byte {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                    UInt8(ascii: "~"):
                    out.unicodeScalars.append(Unicode.Scalar(byte))
                default:
                    out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
                }
            }
            return out
        case .json:
            let quoted = JSONWriter.string(.string(value))
            return String(quoted.dropFirst().dropLast())
        case .header:
            // No line breaks or other control characters: a value cannot add a header.
            return String(String.UnicodeScalarView(value.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7f }))
        }
    }
}

/// A template rendered but for its environment variables (what the outbox stores).
public struct RenderedTemplate: Sendable, Equatable {
    public enum Part: Sendable, Equatable {
        case text(String)
        case env(String)
    }

    public var parts: [Part]

    /// The final text with `environment`'s values (a variable that is not set renders empty;
    /// start-up refuses a configuration naming one that is not set).
    public func text(environment: [String: String]) -> String {
        parts.map { part in
            switch part {
            case .text(let s): s
            case .env(let name): environment[name] ?? ""
            }
        }.joined()
    }

    /// `[{"text": …} | {"env": …}]`.
    public var json: JSONValue {
        .array(
            parts.map { part in
                switch part {
                case .text(let s): .object([("text", .string(s))])
                case .env(let name): .object([("env", .string(name))])
                }
            })
    }

    public init(parts: [Part]) { self.parts = parts }

    public init?(json: JSONValue) {
        guard case .array(let items) = json else { return nil }
        var parts: [Part] = []
        for item in items {
            guard case .object(let object) = item else { return nil }
            if case .string(let s)? = object["text"] {
                parts.append(.text(s))
            } else if case .string(let name)? = object["env"] {
                parts.append(.env(name))
            } else {
                return nil
            }
        }
        self.parts = parts
    }
}

/// Why a template did not parse.
public struct TemplateError: Error, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

/// The request an `http` notifier makes for each notification (DESIGN §7).
public struct HTTPNotifierTemplate: Sendable, Equatable {
    public struct Header: Sendable, Equatable {
        public var name: String
        public var value: RequestTemplate
    }

    public var method = "POST"
    public var url: RequestTemplate
    public var headers: [Header] = []
    public var body: RequestTemplate?
    /// Which transitions send a request: `firing` by default (one-way: a flag turned off stays off).
    public var on: Set<String> = ["firing"]

    public init(url: RequestTemplate) { self.url = url }

    /// Every environment variable the templates read.
    public var environmentNames: [String] {
        url.environmentNames + headers.flatMap(\.value.environmentNames) + (body?.environmentNames ?? [])
    }

    /// Whether the body is JSON (values substituted into it are JSON-escaped).
    public var jsonBody: Bool {
        headers.first { $0.name.lowercased() == "content-type" }.map {
            $0.value.pieces.contains { if case .text(let t) = $0 { t.lowercased().contains("json") } else { false } }
        } ?? true
    }

    /// The request for `alert` in `status`, rendered but for environment variables, as the
    /// outbox stores it: `{"method", "url", "headers": [[name, parts]], "body"}`.
    public func render(_ alert: Alert, status: String) -> JSONValue {
        .object([
            ("model", .string(alert.model)), ("rule", .string(alert.rule)), ("status", .string(status)),
            ("method", .string(method)),
            ("url", url.render(alert, status: status, escaping: .url).json),
            (
                "headers",
                .array(
                    headers.map { h in
                        .array([.string(h.name), h.value.render(alert, status: status, escaping: .header).json])
                    })
            ),
            ("body", body.map { $0.render(alert, status: status, escaping: jsonBody ? .json : .none).json } ?? .null),
        ])
    }
}
