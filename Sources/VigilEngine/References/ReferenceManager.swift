import Logging
import VigilCore

/// Owns every model's reference profile (DESIGN §1): loads them at start-up, installs uploaded
/// and frozen ones, and builds the default (first `reference.first` predictions) once a model
/// has them. An actor: reference changes are rare, slow (a profile build) and serialised here,
/// while the fold path reads the installed profiles through a lock without awaiting.
package actor ReferenceManager {
    nonisolated let config: VigilConfig
    nonisolated let registry: ModelRegistry
    nonisolated let store: any ReferenceStore
    nonisolated let events: any EventStore
    nonisolated let logger: Logger
    nonisolated private let profiles: Locked<[String: ReferenceProfile]>
    /// Told when a model's fold context changes (the live buckets).
    nonisolated let onChange: @Sendable (String, FoldContext) -> Void

    package init(
        config: VigilConfig, store: any ReferenceStore, events: any EventStore, logger: Logger,
        onChange: @escaping @Sendable (String, FoldContext) -> Void
    ) throws {
        self.config = config
        self.registry = events.registry
        self.store = store
        self.events = events
        self.logger = logger
        self.onChange = onChange
        profiles = Locked(try store.loadReferences())
    }

    /// A model's installed reference, if any.
    package nonisolated func profile(_ model: String) -> ReferenceProfile? { profiles.withLock { $0[model] } }

    /// The context a model's events fold with and its documents are built with.
    package nonisolated func context(_ model: String, schema: ModelSchema? = nil) -> FoldContext {
        FoldContext(
            config: config.model(model), schema: schema ?? registry.schema(model), reference: profile(model))
    }

    /// Builds, stores and installs a model's reference from rows.
    package func install(model: String, rows: [ReferenceRow], source: ReferenceProfile.Source, at now: Int64)
        async throws -> ReferenceProfile
    {
        let previous = profile(model)?.generation ?? 0
        let profile = ReferenceProfile.build(
            rows: rows, context: buildContext(model, rows: rows), source: source,
            generation: max(now, previous + 1), at: now)
        try await store.saveReference(profile, model: model, at: now)
        profiles.withLock { $0[model] = profile }
        onChange(model, context(model))
        logger.info(
            "reference installed",
            metadata: ["model": "\(model)", "source": "\(source.rawValue)", "rows": "\(rows.count)"])
        return profile
    }

    /// Freezes the stored live predictions with event time in [from, to] as the reference;
    /// `nil` when there are none.
    package func freeze(model: String, from: Int64, to: Int64, version: String?, at now: Int64) async throws
        -> ReferenceProfile?
    {
        let rows = try await events.referenceRows(
            model: model, from: from, to: to, version: version, limit: ReferenceProfile.maxRows)
        guard !rows.isEmpty else { return nil }
        return try await install(model: model, rows: rows, source: .frozen, at: now)
    }

    /// Installs the references other replicas stored since (uploaded there, or built by the leader).
    package func reload() async {
        do {
            let stored = try store.loadReferences()
            for (model, profile) in stored where profile.generation != self.profile(model)?.generation {
                profiles.withLock { $0[model] = profile }
                onChange(model, context(model))
                logger.info("reference installed from another replica", metadata: ["model": "\(model)"])
            }
        } catch {
            logger.warning("reading stored references failed", metadata: ["error": "\(error)"])
        }
    }

    /// Installs the default reference of every model that has its first `reference.first`
    /// predictions and no reference yet.
    package func buildDue(at now: Int64) async {
        for (model, schema) in registry.snapshot() {
            let first = config.model(model).referenceFirst
            guard first > 0, schema.counts.predictions >= first, profile(model) == nil else { continue }
            do {
                let rows = try await events.referenceRows(model: model, from: nil, to: nil, version: nil, limit: first)
                _ = try await install(model: model, rows: rows, source: .first, at: now)
            } catch {
                logger.error(
                    "building the default reference failed", metadata: ["model": "\(model)", "error": "\(error)"])
            }
        }
    }

    /// Before any traffic the schema cannot tell a binary model's positive class; the rows can.
    private func buildContext(_ model: String, rows: [ReferenceRow]) -> FoldContext {
        let current = context(model)
        guard current.task == .binary, current.positiveClass == nil else { return current }
        var schema = ModelSchema(name: model, config: config.model(model))
        for (p, _) in rows { schema.observe(p) }
        return FoldContext(config: config.model(model), schema: schema, reference: nil)
    }
}
