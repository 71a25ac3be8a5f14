extension SandboxReport {
    /// The report as `airlock exec --report` writes it (captured output is not included).
    public var json: JSONValue {
        var object: JSONObject = [:]
        object["outcome"] = .string(outcome.rawValue)
        object["exitCode"] = exitCode.map { .number(JSONNumber(Int($0))) } ?? .null
        object["signal"] = signal.map { .number(JSONNumber(Int($0))) } ?? .null
        object["wallMs"] = Self.number(wallMs)
        object["userMs"] = Self.number(userMs)
        object["sysMs"] = Self.number(sysMs)
        object["maxRssKiB"] = .number(JSONNumber(maxRssKiB))
        object["stdoutBytes"] = .number(JSONNumber(stdoutBytes))
        object["stderrBytes"] = .number(JSONNumber(stderrBytes))
        object["stdoutTruncated"] = .bool(stdoutTruncated)
        object["stderrTruncated"] = .bool(stderrTruncated)
        object["profile"] = .string(profile)
        object["profileSha256"] = .string(profileSha256)
        object["layers"] = .array(layers.map { .string($0) })
        object["violation"] = violation.map { .string($0) } ?? .null
        object["killReason"] = killReason.map { .string($0) } ?? .null
        if let setupFailure {
            var failure: JSONObject = [:]
            failure["stage"] = .string(setupFailure.stage)
            failure["errno"] = .number(JSONNumber(Int(setupFailure.errno)))
            failure["message"] = .string(setupFailure.message)
            object["setupFailure"] = .object(failure)
        } else {
            object["setupFailure"] = .null
        }
        object["exitStatus"] = .number(JSONNumber(Int(exitStatus)))
        return .object(object)
    }

    private static func number(_ value: Double) -> JSONValue {
        .number(JSONNumber((value * 1000).rounded() / 1000) ?? JSONNumber(0))
    }
}
