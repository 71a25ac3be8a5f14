#if os(Linux)
    import Foundation
    import Testing

    /// The child shares the host's memory and TLS until exec: the code it runs must not call
    /// out of spawn.c (no memcpy/memset from the compiler, no glibc wrapper, no PLT).
    struct SpawnPathTests {
        /// Functions of spawn.c that run in the child.
        static let childFunctions: Set<String> = [
            "child_entry", "child_main", "child_fail", "sys_err", "write_all_fd", "write_file",
            "format_identity_map", "map_identity", "host_gone", "bring_loopback_up", "close_range_fallback",
            "arrange_descriptors", "reset_signals", "add_path_rule",
        ]

        /// spawn.c's object file beside this test binary (`<build>/debug/CAirlockSandbox.build`).
        static func objectFile() -> String? {
            guard let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return nil }
            var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
            for _ in 0..<6 {
                let candidate = dir.appendingPathComponent("CAirlockSandbox.build/spawn.c.o").path
                if FileManager.default.fileExists(atPath: candidate) { return candidate }
                dir.deleteLastPathComponent()
            }
            return nil
        }

        @Test func childCodeCallsNothingOutsideSpawnC() throws {
            let object = try #require(Self.objectFile(), "spawn.c.o not found beside the test binary")
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["objdump", "-dr", "--no-show-raw-insn", object]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)

            var function = ""
            var seen: Set<String> = []
            var outside: [String] = []
            for line in text.split(separator: "\n") {
                // "0000000000000b20 <child_main>:" starts a function.
                if line.hasSuffix(">:"), let open = line.firstIndex(of: "<") {
                    function = String(line[line.index(after: open)..<line.index(line.endIndex, offsetBy: -2)])
                    continue
                }
                guard Self.childFunctions.contains(function) else { continue }
                seen.insert(function)
                // A relocation naming a symbol: local labels (.L...) are data in this object.
                guard line.contains("R_X86_64_") || line.contains("R_AARCH64_") else { continue }
                guard let target = line.split(separator: "\t").last?.split(separator: " ").last else { continue }
                let symbol = String(target.split(separator: "-").first ?? target).split(separator: "+").first.map(String.init) ?? ""
                if symbol.hasPrefix(".L") || Self.childFunctions.contains(symbol) || symbol == "sys6" { continue }
                outside.append("\(function) -> \(symbol)")
            }
            #expect(seen.contains("child_main"), "child_main not found in \(object)")
            #expect(outside.isEmpty, "child code calls out of spawn.c: \(outside)")
        }
    }
#endif
