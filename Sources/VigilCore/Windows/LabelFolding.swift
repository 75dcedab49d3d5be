/// How a label was folded into its bucket: the task and positive class in force when it was
/// applied. Stored with the label (and with the label it replaced in the journal), so a
/// correction takes back exactly what was applied, even after the model's task or positive
/// class was inferred anew in between.
public struct LabelFolding: Sendable, Hashable {
    public var task: ModelTask
    /// The positive class of a binary model, `nil` while it cannot be told.
    public var positiveClass: String?

    public init(task: ModelTask, positiveClass: String?) {
        self.task = task
        self.positiveClass = task == .binary ? positiveClass : nil
    }

    /// The folding a schema implies now: its task and positive class (declared, else inferred).
    public init(config: ModelConfig, schema: ModelSchema) {
        let task = schema.task(declared: config.task)
        self.init(task: task, positiveClass: schema.positiveClass(declared: config.positiveClass))
    }

    /// The stored form: `task`, or `task:positive`.
    public var code: String {
        guard let positiveClass else { return task.rawValue }
        return task.rawValue + ":" + positiveClass
    }

    /// Parses `code`; `nil` for anything else.
    public init?(code: String) {
        let parts = code.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard let first = parts.first, let task = ModelTask(rawValue: String(first)) else { return nil }
        if parts.count == 2 {
            guard task == .binary else { return nil }
            self.init(task: task, positiveClass: String(parts[1]))
        } else {
            self.init(task: task, positiveClass: nil)
        }
    }

    var isClassification: Bool { task == .binary || task == .multiclass }
}
