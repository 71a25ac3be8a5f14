import Foundation
import Testing

@testable import AirlockSandbox

/// The repository root, found from this file's path.
private let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

private func sha256Hex(_ bytes: some Collection<UInt8>) -> String { SHA256Digest.hex(of: SHA256Digest.hash(bytes)) }

private func randomBytes(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
}

/// A fresh temporary directory, removed by the caller's `defer`.
private func makeTempDir() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("airlock-sha256-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// The digest `/usr/bin/sha256sum` prints for the file at `url`.
private func sha256sum(_ url: URL) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
    process.arguments = [url.path]
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    try #require(process.terminationStatus == 0)
    let line = try #require(String(data: data, encoding: .utf8))
    return String(try #require(line.split(separator: " ").first))
}

@Suite struct SHA256Tests {
    // FIPS 180-4 example vectors (NIST CSRC "Examples with intermediate values", SHA-256).
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        ),
        (
            "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"
        ),
    ])
    func nistVectors(message: String, expected: String) {
        #expect(sha256Hex(Array(message.utf8)) == expected)
        #expect(sha256Hex(message.utf8) == expected)  // String.UTF8View as well as [UInt8]
    }

    @Test func oneMillionA() {
        let expected = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        #expect(sha256Hex([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)) == expected)

        var digest = SHA256Digest()
        let thousand = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
        for _ in 0..<1000 { digest.update(thousand) }
        #expect(SHA256Digest.hex(of: digest.finalize()) == expected)
    }

    @Test func digestShapeAndHex() {
        #expect(SHA256Digest.hash([]).count == SHA256Digest.byteCount)
        #expect(SHA256Digest.hex(of: []) == "")
        #expect(SHA256Digest.hex(of: [0x00, 0x01, 0x0f, 0x10, 0xab, 0xff]) == "00010f10abff")
    }

    /// Every length around the padding boundaries (55/56/63/64 mod 64) must agree between one-shot and
    /// byte-at-a-time hashing.
    @Test func paddingBoundaries() {
        let data = randomBytes(300)
        for length in 0...data.count {
            let message = Array(data[0..<length])
            var digest = SHA256Digest()
            for byte in message { digest.update(CollectionOfOne(byte)) }
            #expect(digest.finalize() == SHA256Digest.hash(message), "length \(length)")
        }
    }

    @Test func streamingInOddChunksEqualsOneShot() {
        let data = randomBytes(100_003)
        let expected = SHA256Digest.hash(data)
        for chunkSizes in [[1], [3, 7, 13], [63, 65, 1], [64], [127, 200, 5, 1000], [4099]] {
            var digest = SHA256Digest()
            var offset = 0
            var index = 0
            while offset < data.count {
                let end = min(offset + chunkSizes[index % chunkSizes.count], data.count)
                digest.update(data[offset..<end])  // ArraySlice: contiguous
                offset = end
                index += 1
            }
            #expect(digest.finalize() == expected, "chunks \(chunkSizes)")
        }

        // Non-contiguous collections, and the raw-buffer entry point.
        #expect(SHA256Digest.hash(data.lazy.map { $0 }) == expected)
        var raw = SHA256Digest()
        data.withUnsafeBytes { buffer in
            raw.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<777]))
            raw.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[777...]))
        }
        #expect(raw.finalize() == expected)
    }

    @Test func finalizeLeavesTheDigestUsable() {
        var digest = SHA256Digest()
        digest.update(Array("ab".utf8))
        _ = digest.finalize()
        #expect(digest.finalize() == digest.finalize())
        digest.update(Array("c".utf8))
        #expect(digest.finalize() == SHA256Digest.hash(Array("abc".utf8)))
    }

    @Test(arguments: [0, 1, 55, 56, 64, 1000, 65_537, 3 * 1024 * 1024 + 17])
    func matchesSha256sum(count: Int) throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = randomBytes(count)
        let file = dir.appendingPathComponent("random.bin")
        try Data(data).write(to: file)
        #expect(sha256Hex(data) == (try sha256sum(file)), "\(count) bytes")
    }

    @Test func profileDigestIsSha256OfTheFile() throws {
        let url = repoRoot.appendingPathComponent("sandbox-profiles/default.json")
        let profile = try Profile.load(path: url.path)
        #expect(profile.sha256 == (try sha256sum(url)))
        #expect(try Profile.builtin("default")?.sha256 == (try sha256sum(url)))
    }
}
