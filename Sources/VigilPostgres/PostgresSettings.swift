import Foundation
import NIOCore
import NIOSSL
import PostgresNIO
import VigilCore

/// Where and how to connect to the shared PostgreSQL, resolved from `storage.postgres` and the
/// environment. The password lives only here and in the environment: never logged, never in
/// `description`.
public struct PostgresSettings: Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var username: String
    var password: String?
    public var database: String
    public var tls: PostgresConfig.TLSMode
    public var caFile: String?
    /// This replica's writer id.
    public var replicaID: String
    public var poolSize: Int
    public var connectTimeout: Duration

    /// A URL or configuration that cannot be used, named without the URL's password.
    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    /// Reads the URL from `config.urlEnv` in `environment`: `postgres://user:password@host:port/db`
    /// (or `postgresql://`), password and port optional, `?sslmode=` (disable, prefer, require,
    /// verify-full) overriding `tls`. User name and password may be percent-encoded (`%40` for `@`).
    public static func resolve(_ config: PostgresConfig, environment: [String: String], hostName: String)
        throws(Invalid) -> PostgresSettings
    {
        guard let text = environment[config.urlEnv], !text.isEmpty else {
            throw Invalid(
                description:
                    "storage.postgres: the environment variable \(config.urlEnv) (url_env) must hold the database URL, postgres://user:password@host:port/database"
            )
        }
        guard let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(),
            scheme == "postgres" || scheme == "postgresql"
        else {
            throw Invalid(description: "\(config.urlEnv) is not a postgres:// URL")
        }
        guard let host = url.host, !host.isEmpty else { throw Invalid(description: "\(config.urlEnv): the URL has no host") }
        guard let user = url.user, !user.isEmpty else {
            throw Invalid(description: "\(config.urlEnv): the URL has no user name (postgres://user@host/database)")
        }
        let database = String(url.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else {
            throw Invalid(description: "\(config.urlEnv): the URL must name one database (postgres://user@host/database)")
        }
        var tls = config.tls
        for item in url.queryItems ?? [] {
            guard item.name == "sslmode" else {
                throw Invalid(description: "\(config.urlEnv): unsupported URL parameter '\(item.name)' (only sslmode)")
            }
            guard let value = item.value, let mode = PostgresConfig.TLSMode(rawValue: value) else {
                throw Invalid(description: "\(config.urlEnv): sslmode must be disable, prefer, require or verify-full")
            }
            tls = mode
        }
        let replica = config.replicaIDEnv.flatMap { environment[$0] }.flatMap { $0.isEmpty ? nil : $0 }
            ?? config.replicaID ?? Self.replicaID(fromHostName: hostName)
        guard ModelName.isValid(replica) else {
            throw Invalid(description: "storage.postgres: replica id '\(replica)' must be 1 to 64 of [A-Za-z0-9_.-]")
        }
        return PostgresSettings(
            host: host, port: url.port ?? 5432, username: user, password: url.password, database: database,
            tls: tls, caFile: config.caFile, replicaID: replica, poolSize: config.poolSize,
            connectTimeout: .milliseconds(config.connectTimeout.millis))
    }

    /// A host name as a replica id: characters outside [A-Za-z0-9_.-] become `-`, at most 64.
    static func replicaID(fromHostName name: String) -> String {
        let mapped = String(
            name.unicodeScalars.prefix(64).map { s -> Character in
                s.isASCII && (s.properties.isAlphabetic || ("0"..."9").contains(s) || "_.-".unicodeScalars.contains(s))
                    ? Character(s) : "-"
            })
        return mapped.isEmpty ? "replica" : mapped
    }

    public var description: String {
        "postgres://\(username)@\(host):\(port)/\(database) (tls \(tls.rawValue), replica \(replicaID))"
    }

    /// The connection's configuration: TLS as libpq's `sslmode` (`require` encrypts without
    /// checking the certificate; `verify-full` checks it and the host name).
    func connectionConfiguration(applicationName: String) throws -> PostgresConnection.Configuration {
        let tlsConfiguration: PostgresConnection.Configuration.TLS
        switch tls {
        case .disable: tlsConfiguration = .disable
        case .prefer, .require:
            var c = TLSConfiguration.makeClientConfiguration()
            c.certificateVerification = .none
            let context = try NIOSSLContext(configuration: c)
            tlsConfiguration = tls == .prefer ? .prefer(context) : .require(context)
        case .verifyFull:
            var c = TLSConfiguration.makeClientConfiguration()
            c.certificateVerification = .fullVerification
            if let caFile { c.trustRoots = .file(caFile) }
            tlsConfiguration = .require(try NIOSSLContext(configuration: c))
        }
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: tlsConfiguration)
        configuration.options.connectTimeout = .milliseconds(Int64(connectTimeout.components.seconds * 1000))
        configuration.options.additionalStartupParameters = [("application_name", applicationName)]
        return configuration
    }
}
