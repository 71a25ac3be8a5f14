import AirlockSandbox
import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

struct Profiles: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List, show and check sandbox profiles.",
        subcommands: [List.self, Show.self, Check.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the built-in profiles and those in the search path.")

        @Flag(name: .long, help: "Print JSON.")
        var json = false

        func run() throws {
            var names = Profile.builtinNames
            for directory in Profile.defaultSearchPaths {
                guard let dir = opendir(directory) else { continue }
                defer { closedir(dir) }
                while let entry = readdir(dir) {
                    let name = withUnsafePointer(to: entry.pointee.d_name) {
                        $0.withMemoryRebound(to: UInt8.self, capacity: 256) { String(decoding: UnsafeBufferPointer(start: $0, count: strlen(UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))), as: UTF8.self) }
                    }
                    if name.hasSuffix(".json") {
                        let base = String(name.dropLast(5))
                        if !names.contains(base) { names.append(base) }
                    }
                }
            }
            var rows: [JSONValue] = []
            for name in names {
                var row: JSONObject = ["name": .string(name)]
                do {
                    let profile = try Profile.named(name)
                    row["description"] = .string(profile.description)
                    row["network"] = .string(profile.network.rawValue)
                    row["origin"] = .string(Profile.source(of: name)?.origin ?? "built-in")
                    row["sha256"] = .string(profile.sha256)
                } catch {
                    row["error"] = .string(error.description)
                }
                rows.append(.object(row))
            }
            if json {
                printOut(JSONValue.array(rows).serialized(pretty: true))
                return
            }
            let width = (names.map(\.count).max() ?? 8) + 2
            for row in rows {
                let name = row["name"]?.stringValue ?? ""
                let padded = name + String(repeating: " ", count: max(1, width - name.count))
                if let error = row["error"]?.stringValue {
                    printOut("\(padded)INVALID: \(error)")
                } else {
                    printOut("\(padded)\(row["description"]?.stringValue ?? "")  [\(row["origin"]?.stringValue ?? "")]")
                }
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a profile's source and digest.")

        @Argument(help: "Profile name or JSON file.")
        var name: String

        func run() throws {
            guard let source = Profile.source(of: name) else {
                printError("airlock profiles show: no profile named \(name) (see airlock profiles list)")
                throw ExitCode(2)
            }
            do {
                let profile = try Profile.named(name)
                printError("# \(source.origin), sha256 \(profile.sha256)")
            } catch {
                printError("# \(source.origin): INVALID\n\(error.description)")
                printOut(source.text)
                throw ExitCode(2)
            }
            printOut(source.text)
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a profile file; print every problem with its JSON path.",
            discussion: "Exits 0 when the profile is valid, 2 when it is not.")

        @Argument(help: "Profile JSON file.")
        var file: String

        @Flag(name: .long, help: "Print JSON.")
        var json = false

        func run() throws {
            let fd = open(file, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                printError("airlock profiles check: \(file): \(String(cString: strerror(errno)))")
                throw ExitCode(2)
            }
            var bytes: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                bytes += buffer[0..<n]
                if bytes.count > 16 << 20 { break }
            }
            close(fd)
            let issues = bytes.count > 16 << 20
                ? [ProfileIssue(path: "$", message: "file is larger than 16 MiB")] : Profile.check(bytes: bytes)
            if json {
                let list = issues.map { JSONValue.object(["path": .string($0.path), "message": .string($0.message)]) }
                printOut(JSONValue.object(["file": .string(file), "valid": .bool(issues.isEmpty), "issues": .array(list)]).serialized(pretty: true))
            } else if issues.isEmpty {
                printOut("\(file): ok")
            } else {
                for issue in issues { printOut("\(file): \(issue.path): \(issue.message)") }
                printError("\(issues.count) problem\(issues.count == 1 ? "" : "s") in \(file)")
            }
            if !issues.isEmpty { throw ExitCode(2) }
        }
    }
}
