import AirlockCore

/// The audit log's hash chain. Each entry is the RFC 8785 canonical JSON of
/// `{"seq", "prev", "at", "kind", "event"}`; its hash is the SHA-256 of those bytes, and the
/// next entry's `prev` holds it, so an edited, deleted, inserted or reordered entry breaks the
/// chain at that entry. An exported line is the entry with its `hash` added, verifiable elsewhere.
public enum AuditChain {
    /// The `prev` of the first entry.
    public static let genesis = String(repeating: "0", count: 64)

    /// Lower-case hex SHA-256 of the UTF-8 text.
    public static func sha256(_ text: String) -> String {
        SHA256Digest.hex(of: SHA256Digest.hash(Array(text.utf8)))
    }

    /// The canonical entry text and its hash.
    public static func link(seq: Int64, prev: String, at: Int64, kind: String, event: JSONObject) throws -> (entry: String, hash: String) {
        let entry: JSONValue = [
            "seq": .number(JSONNumber(seq)), "prev": .string(prev), "at": .number(JSONNumber(at)),
            "kind": .string(kind), "event": .object(event),
        ]
        let text = try entry.canonicalized()
        return (text, sha256(text))
    }

    /// The exported line of an entry: the entry with `hash` added, canonical.
    public static func exportLine(_ entry: AuditEntry) throws -> String {
        guard case .object(var object) = try JSONValue.parse(entry.entry) else {
            throw JournalError(.badRecord, "audit entry \(entry.seq) is not a JSON object")
        }
        object["hash"] = .string(entry.hash)
        return try JSONValue.object(object).canonicalized()
    }

    /// Walks the chain in order and remembers the first entry that does not fit.
    public struct Verifier {
        public private(set) var count: Int64 = 0
        public private(set) var previous = AuditChain.genesis
        public var firstBad: (seq: Int64, problem: String)?
        /// The receipt the last checked entry links to, if it was a receipt.
        public private(set) var lastReceiptLink: (step: String, attempt: Int, sha256: String)?

        public init() {}

        public mutating func check(_ entry: AuditEntry) {
            lastReceiptLink = nil
            guard firstBad == nil else { return }
            let expected = count + 1
            func bad(_ problem: String) { firstBad = (entry.seq, problem) }
            guard entry.seq == expected else {
                bad(entry.seq > expected
                    ? "entry \(expected) is missing (deleted?); the next entry found is \(entry.seq)"
                    : "entry \(entry.seq) is out of order")
                if entry.seq > expected { firstBad = (expected, firstBad!.problem) }
                return
            }
            guard AuditChain.sha256(entry.entry) == entry.hash else {
                bad("entry \(entry.seq) was edited: its hash does not match its content")
                return
            }
            guard case .object(let object)? = try? JSONValue.parse(entry.entry) else {
                bad("entry \(entry.seq) is not a JSON object")
                return
            }
            guard object["seq"]?.numberValue?.int64 == entry.seq else {
                bad("entry \(entry.seq) carries another sequence number (moved?)")
                return
            }
            guard object["prev"]?.stringValue == previous else {
                bad("entry \(entry.seq) does not follow entry \(entry.seq - 1): the chain is broken here (an entry was deleted, inserted or reordered)")
                return
            }
            if object["kind"]?.stringValue == "receipt", let event = object["event"]?.objectValue,
                let step = event["step"]?.stringValue, let attempt = event["attempt"]?.numberValue?.int64,
                let sha = event["receiptSha256"]?.stringValue
            {
                lastReceiptLink = (step, Int(attempt), sha)
            }
            count = entry.seq
            previous = entry.hash
        }

        /// The journal keeps the head (last sequence number and hash) beside the chain, so a
        /// deleted last entry shows too.
        public mutating func checkHead(seq: Int64, hash: String) {
            guard firstBad == nil else { return }
            if seq != count || hash != previous {
                if seq > count {
                    firstBad = (count + 1, "entry \(count + 1) is missing: the journal's head says \(seq) entries, the chain has \(count) (deleted?)")
                } else {
                    firstBad = (seq + 1, "the journal's head (entry \(seq)) does not match the chain's last entry \(count)")
                }
            }
        }
    }
}
