import Foundation
import Testing

@testable import AirlockSandbox

@Suite struct SeccompDiskCacheTests {
    private func temporaryDirectory() throws -> String {
        var template = Array("/tmp/airlock-cache-test-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        #expect(made != nil)
        return String(cString: made!)
    }

    private let program = SeccompProgram(bytes: Array(repeating: 0x06, count: 8) + Array(repeating: 0, count: 8))

    @Test func storedProgramLoadsBack() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let dir = root + "/cache/seccomp"
        SeccompDiskCache.store("k1", program, in: dir)
        #expect(SeccompDiskCache.load("k1", from: dir) == program)
        #expect(SeccompDiskCache.load("other", from: dir) == nil)
        var st = stat()
        #expect(stat(dir, &st) == 0 && st.st_mode & 0o777 == 0o700)
        #expect(stat(dir + "/k1.bpf", &st) == 0 && st.st_mode & 0o777 == 0o600)
    }

    @Test func entriesOthersCouldWriteAreIgnored() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let dir = root + "/seccomp"
        SeccompDiskCache.store("k", program, in: dir)
        chmod(dir + "/k.bpf", 0o666)
        #expect(SeccompDiskCache.load("k", from: dir) == nil)
        chmod(dir + "/k.bpf", 0o600)
        chmod(dir, 0o777)
        #expect(SeccompDiskCache.load("k", from: dir) == nil)
        chmod(dir, 0o700)
        #expect(SeccompDiskCache.load("k", from: dir) == program)
    }

    @Test func truncatedOrLinkedEntriesAreIgnored() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let dir = root + "/seccomp"
        SeccompDiskCache.store("k", program, in: dir)
        #expect(truncate(dir + "/k.bpf", 7) == 0)
        #expect(SeccompDiskCache.load("k", from: dir) == nil)
        SeccompDiskCache.store("real", program, in: dir)
        #expect(symlink(dir + "/real.bpf", dir + "/link.bpf") == 0)
        #expect(SeccompDiskCache.load("link", from: dir) == nil)
    }

    @Test func keyFollowsEveryPartOfThePolicy() throws {
        let base = SeccompPolicy(
            defaultAction: .errno, defaultErrnoRet: 1,
            syscalls: [SeccompRule(names: ["read"], action: .allow, args: [SeccompArg(index: 0, value: 1, op: .equal)])])
        var changedArg = base
        changedArg.syscalls[0].args[0].value = 2
        var changedAction = base
        changedAction.syscalls[0].action = .log
        var changedErrno = base
        changedErrno.defaultErrnoRet = 38
        let keys = Set([base, changedArg, changedAction, changedErrno].map(SeccompDiskCache.key(for:)))
        #expect(keys.count == 4)
        #expect(SeccompDiskCache.key(for: base) == SeccompDiskCache.key(for: base))
    }
}
