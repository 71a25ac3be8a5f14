/// SHA-256 as specified by FIPS 180-4 (Secure Hash Standard), sections 4.1.2, 4.2.2, 5.1.1, 5.3.3 and 6.2.
///
/// A small, dependency-free implementation so that the sandbox does not have to load Foundation (which
/// swift-crypto pulls in on Linux) just to fingerprint a profile or a tool's output.
///
/// Streaming use:
///
///     var digest = SHA256Digest()
///     digest.update(firstChunk)
///     digest.update(secondChunk)
///     let hash = digest.finalize()            // 32 bytes
///     let text = SHA256Digest.hex(of: hash)   // 64 lowercase hex digits
///
/// One-shot use: `SHA256Digest.hash(bytes)`.
public struct SHA256Digest: Sendable {
    /// Size of a finished digest, in bytes.
    public static let byteCount = 32
    /// Size of the blocks the compression function consumes, in bytes.
    public static let blockByteCount = 64

    /// The eight working hash words H0…H7 (FIPS 180-4 §5.3.3 gives their initial values).
    private var state = State()
    /// Input bytes that do not yet fill a block; only the first `pendingCount` bytes are meaningful.
    private var pending: Block = (0, 0, 0, 0, 0, 0, 0, 0)
    private var pendingCount = 0
    /// Total number of message bytes seen so far (the padding encodes it in bits, modulo 2^64).
    private var messageByteCount: UInt64 = 0

    public init() {}

    // MARK: - Feeding input

    /// Adds `bytes` to the message. Contiguous collections (`[UInt8]`, `ArraySlice`, `UnsafeRawBufferPointer`, …)
    /// are hashed in place; any other collection is copied through a small buffer.
    public mutating func update(_ bytes: some Collection<UInt8>) {
        let handled: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            update(bufferPointer: UnsafeRawBufferPointer(buffer))
        }
        if handled != nil { return }

        // Non-contiguous input: stage it through a fixed-size buffer.
        let chunkSize = 16 * Self.blockByteCount
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: chunkSize) { chunk in
            var filled = 0
            for byte in bytes {
                chunk[filled] = byte
                filled += 1
                if filled == chunkSize {
                    update(bufferPointer: UnsafeRawBufferPointer(chunk))
                    filled = 0
                }
            }
            update(bufferPointer: UnsafeRawBufferPointer(start: chunk.baseAddress, count: filled))
        }
    }

    /// Adds the bytes of `buffer` to the message. This is the fast path every other entry point ends up in.
    public mutating func update(bufferPointer buffer: UnsafeRawBufferPointer) {
        guard let base = buffer.baseAddress, !buffer.isEmpty else { return }
        messageByteCount &+= UInt64(buffer.count)
        var next = base
        var remaining = buffer.count

        // Top up a partially filled block first.
        if pendingCount > 0 {
            let offset = pendingCount
            let taken = min(Self.blockByteCount - offset, remaining)
            withUnsafeMutableBytes(of: &pending) { block in
                (block.baseAddress! + offset).copyMemory(from: next, byteCount: taken)
            }
            pendingCount += taken
            next += taken
            remaining -= taken
            guard pendingCount == Self.blockByteCount else { return }
            let block = pending
            withUnsafeBytes(of: block) { state.compress(blocks: $0) }
            pendingCount = 0
        }

        // Then every whole block straight from the caller's memory.
        let wholeBlockBytes = remaining - remaining % Self.blockByteCount
        if wholeBlockBytes > 0 {
            state.compress(blocks: UnsafeRawBufferPointer(start: next, count: wholeBlockBytes))
            next += wholeBlockBytes
            remaining -= wholeBlockBytes
        }

        // Keep the tail for next time.
        if remaining > 0 {
            let tail = remaining
            withUnsafeMutableBytes(of: &pending) { block in
                block.baseAddress!.copyMemory(from: next, byteCount: tail)
            }
            pendingCount = remaining
        }
    }

    // MARK: - Finishing

    /// The 32-byte digest of everything passed to `update` so far. Does not change `self`, so more input may
    /// follow and `finalize()` may be called again for the digest of the longer message.
    public func finalize() -> [UInt8] {
        // FIPS 180-4 §5.1.1: append a 1 bit, then zeros up to 56 mod 64 bytes, then the length in bits as a
        // 64-bit big-endian integer.
        let bitLength = messageByteCount &<< 3
        let zeroCount = (pendingCount < 56 ? 55 : 119) - pendingCount
        var padding = [UInt8](repeating: 0, count: 1 + zeroCount + 8)
        padding[0] = 0x80
        for index in 0..<8 {
            padding[padding.count - 1 - index] = UInt8(truncatingIfNeeded: bitLength &>> (8 * UInt64(index)))
        }

        var copy = self
        padding.withUnsafeBytes { copy.update(bufferPointer: $0) }
        return copy.state.bigEndianBytes
    }

    // MARK: - Conveniences

    /// The SHA-256 digest of `bytes` (32 bytes).
    public static func hash(_ bytes: some Collection<UInt8>) -> [UInt8] {
        var digest = SHA256Digest()
        digest.update(bytes)
        return digest.finalize()
    }

    /// `bytes` as lowercase hexadecimal, two digits per byte.
    public static func hex(of bytes: [UInt8]) -> String {
        let digits: StaticString = "0123456789abcdef"
        return String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            digits.withUTF8Buffer { digit in
                for (index, byte) in bytes.enumerated() {
                    out[2 * index] = digit[Int(byte >> 4)]
                    out[2 * index + 1] = digit[Int(byte & 0x0f)]
                }
            }
            return bytes.count * 2
        }
    }
}

// MARK: - Compression function

extension SHA256Digest {
    /// 64 bytes of inline storage for a partial block.
    fileprivate typealias Block = (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)

    fileprivate struct State: Sendable {
        // FIPS 180-4 §5.3.3: the first 32 bits of the fractional parts of the square roots of the first 8 primes.
        var h0: UInt32 = 0x6a09_e667
        var h1: UInt32 = 0xbb67_ae85
        var h2: UInt32 = 0x3c6e_f372
        var h3: UInt32 = 0xa54f_f53a
        var h4: UInt32 = 0x510e_527f
        var h5: UInt32 = 0x9b05_688c
        var h6: UInt32 = 0x1f83_d9ab
        var h7: UInt32 = 0x5be0_cd19

        var bigEndianBytes: [UInt8] {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(SHA256Digest.byteCount)
            for word in [h0, h1, h2, h3, h4, h5, h6, h7] {
                bytes.append(UInt8(truncatingIfNeeded: word &>> 24))
                bytes.append(UInt8(truncatingIfNeeded: word &>> 16))
                bytes.append(UInt8(truncatingIfNeeded: word &>> 8))
                bytes.append(UInt8(truncatingIfNeeded: word))
            }
            return bytes
        }

        /// Runs the compression function (FIPS 180-4 §6.2.2) over `blocks`, whose length is a multiple of 64.
        mutating func compress(blocks: UnsafeRawBufferPointer) {
            precondition(blocks.count % SHA256Digest.blockByteCount == 0)
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { schedule in
                roundConstants.withUnsafeBufferPointer { k in
                    var offset = 0
                    while offset < blocks.count {
                        compressBlock(blocks, at: offset, schedule: schedule, k: k)
                        offset += SHA256Digest.blockByteCount
                    }
                }
            }
        }

        @inline(__always)
        private mutating func compressBlock(
            _ blocks: UnsafeRawBufferPointer, at offset: Int,
            schedule w: UnsafeMutableBufferPointer<UInt32>, k: UnsafeBufferPointer<UInt32>
        ) {
            // 1. Message schedule W0…W63 (§6.2.2 step 1); the block is read as big-endian 32-bit words.
            for t in 0..<16 {
                w[t] = UInt32(bigEndian: blocks.loadUnaligned(fromByteOffset: offset + 4 * t, as: UInt32.self))
            }
            for t in 16..<64 {
                w[t] = smallSigma1(w[t - 2]) &+ w[t - 7] &+ smallSigma0(w[t - 15]) &+ w[t - 16]
            }

            // 2. Initialise the working variables with the previous hash value.
            var a = h0, b = h1, c = h2, d = h3
            var e = h4, f = h5, g = h6, h = h7

            // 3. Sixty-four rounds.
            for t in 0..<64 {
                let t1 = h &+ bigSigma1(e) &+ choose(e, f, g) &+ k[t] &+ w[t]
                let t2 = bigSigma0(a) &+ majority(a, b, c)
                h = g
                g = f
                f = e
                e = d &+ t1
                d = c
                c = b
                b = a
                a = t1 &+ t2
            }

            // 4. The intermediate hash value.
            h0 &+= a; h1 &+= b; h2 &+= c; h3 &+= d
            h4 &+= e; h5 &+= f; h6 &+= g; h7 &+= h
        }
    }
}

// FIPS 180-4 §4.1.2 functions and §3.2 rotation.

@inline(__always) private func rotateRight(_ x: UInt32, _ n: UInt32) -> UInt32 { (x &>> n) | (x &<< (32 &- n)) }
@inline(__always) private func choose(_ x: UInt32, _ y: UInt32, _ z: UInt32) -> UInt32 { (x & y) ^ (~x & z) }
@inline(__always) private func majority(_ x: UInt32, _ y: UInt32, _ z: UInt32) -> UInt32 {
    (x & y) ^ (x & z) ^ (y & z)
}
@inline(__always) private func bigSigma0(_ x: UInt32) -> UInt32 {
    rotateRight(x, 2) ^ rotateRight(x, 13) ^ rotateRight(x, 22)
}
@inline(__always) private func bigSigma1(_ x: UInt32) -> UInt32 {
    rotateRight(x, 6) ^ rotateRight(x, 11) ^ rotateRight(x, 25)
}
@inline(__always) private func smallSigma0(_ x: UInt32) -> UInt32 {
    rotateRight(x, 7) ^ rotateRight(x, 18) ^ (x &>> 3)
}
@inline(__always) private func smallSigma1(_ x: UInt32) -> UInt32 {
    rotateRight(x, 17) ^ rotateRight(x, 19) ^ (x &>> 10)
}

/// FIPS 180-4 §4.2.2: the first 32 bits of the fractional parts of the cube roots of the first 64 primes.
private let roundConstants: [UInt32] = [
    0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
    0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174,
    0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
    0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7, 0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
    0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85,
    0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
    0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
    0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
]
