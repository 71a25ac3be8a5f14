import AirlockSandbox
import ArgumentParser

struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show which confinement layers this kernel and this user can use.",
        discussion: "Exits 1 when a layer the shipped profiles require is missing."
    )

    @Flag(name: .long, help: "Print one JSON object.")
    var json = false

    /// Layers every shipped profile needs; the rest have fallbacks.
    static let required: Set<String> = [
        "seccomp", "landlock", "no_new_privs", "pid_namespace", "network_namespace", "mount_namespace",
    ]

    func run() throws {
        let layers = AirlockSandbox.Doctor.check()
        let missing = layers.filter { !$0.available && Self.required.contains($0.layer) }
        if json {
            var object: JSONObject = [:]
            var list: [JSONValue] = []
            for layer in layers {
                var entry: JSONObject = [:]
                entry["layer"] = .string(layer.layer)
                entry["available"] = .bool(layer.available)
                entry["required"] = .bool(Self.required.contains(layer.layer))
                entry["detail"] = .string(layer.detail)
                list.append(.object(entry))
            }
            object["layers"] = .array(list)
            object["ok"] = .bool(missing.isEmpty)
            printOut(JSONValue.object(object).serialized(pretty: true))
        } else {
            let width = (layers.map(\.layer.count).max() ?? 10) + 2
            for layer in layers {
                let mark = layer.available ? "yes" : (Self.required.contains(layer.layer) ? "NO " : "no ")
                let padded = layer.layer + String(repeating: " ", count: max(1, width - layer.layer.count))
                printOut("\(padded)\(mark)  \(layer.detail)")
            }
            if missing.isEmpty {
                printOut("\nall layers the shipped profiles need are available")
            } else {
                printOut("\nmissing: \(missing.map(\.layer).joined(separator: ", ")): profiles that need them fail closed")
            }
        }
        if !missing.isEmpty { throw ExitCode(1) }
    }
}
