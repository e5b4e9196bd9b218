/// XXH64 (Yann Collet's xxHash, 64-bit variant; specification: xxhash.com's "xxHash fast digest
/// algorithm", v0.1.1): the content checksum of every file the workbench commits.
///
/// Not cryptographic: it detects damage (bit flips, truncation, a file swapped for another),
/// not tampering. Chosen for speed — it hashes a committed file at several GB/s, far below a
/// cell's training time — and because it needs no dependency. Streaming: `update` with any
/// chunk sizes gives the same digest as one call over the whole input.
public struct XXHash64 {
    static let prime1: UInt64 = 0x9E37_79B1_85EB_CA87
    static let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    static let prime3: UInt64 = 0x1656_67B1_9E37_79F9
    static let prime4: UInt64 = 0x85EB_CA77_C2B2_AE63
    static let prime5: UInt64 = 0x27D4_EB2F_1656_67C5

    private var v1: UInt64, v2: UInt64, v3: UInt64, v4: UInt64
    private let seed: UInt64
    private var totalLength = 0
    /// Bytes not yet forming a whole 32-byte stripe.
    private var pending: [UInt8] = []

    public init(seed: UInt64 = 0) {
        self.seed = seed
        v1 = seed &+ Self.prime1 &+ Self.prime2
        v2 = seed &+ Self.prime2
        v3 = seed
        v4 = seed &- Self.prime1
        pending.reserveCapacity(32)
    }

    @inline(__always) static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }

    @inline(__always) static func round(_ acc: UInt64, _ input: UInt64) -> UInt64 {
        rotl(acc &+ input &* prime2, 31) &* prime1
    }

    @inline(__always) static func merge(_ acc: UInt64, _ v: UInt64) -> UInt64 {
        (acc ^ round(0, v)) &* prime1 &+ prime4
    }

    /// Adds bytes to the digest.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard var p = bytes.baseAddress, bytes.count > 0 else { return }
        var n = bytes.count
        totalLength += n
        if !pending.isEmpty {
            let take = min(32 - pending.count, n)
            pending.append(contentsOf: UnsafeRawBufferPointer(start: p, count: take))
            p += take
            n -= take
            guard pending.count == 32 else { return }
            pending.withUnsafeBytes { stripes($0.baseAddress!, 1) }
            pending.removeAll(keepingCapacity: true)
        }
        let whole = n / 32
        if whole > 0 { stripes(p, whole) }
        p += whole * 32
        n -= whole * 32
        if n > 0 { pending.append(contentsOf: UnsafeRawBufferPointer(start: p, count: n)) }
    }

    @inline(__always) private mutating func stripes(_ p: UnsafeRawPointer, _ count: Int) {
        var a = v1, b = v2, c = v3, d = v4
        var q = p
        for _ in 0..<count {
            a = Self.round(a, UInt64(littleEndian: q.loadUnaligned(fromByteOffset: 0, as: UInt64.self)))
            b = Self.round(b, UInt64(littleEndian: q.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
            c = Self.round(c, UInt64(littleEndian: q.loadUnaligned(fromByteOffset: 16, as: UInt64.self)))
            d = Self.round(d, UInt64(littleEndian: q.loadUnaligned(fromByteOffset: 24, as: UInt64.self)))
            q += 32
        }
        v1 = a; v2 = b; v3 = c; v4 = d
    }

    /// The digest of everything added so far.
    public func finalize() -> UInt64 {
        var h: UInt64
        if totalLength >= 32 {
            h = Self.rotl(v1, 1) &+ Self.rotl(v2, 7) &+ Self.rotl(v3, 12) &+ Self.rotl(v4, 18)
            h = Self.merge(h, v1); h = Self.merge(h, v2); h = Self.merge(h, v3); h = Self.merge(h, v4)
        } else {
            h = seed &+ Self.prime5
        }
        h = h &+ UInt64(totalLength)
        pending.withUnsafeBytes { rest in
            var i = 0
            let n = rest.count
            while i + 8 <= n {
                h ^= Self.round(0, UInt64(littleEndian: rest.loadUnaligned(fromByteOffset: i, as: UInt64.self)))
                h = Self.rotl(h, 27) &* Self.prime1 &+ Self.prime4
                i += 8
            }
            if i + 4 <= n {
                h ^= UInt64(UInt32(littleEndian: rest.loadUnaligned(fromByteOffset: i, as: UInt32.self))) &* Self.prime1
                h = Self.rotl(h, 23) &* Self.prime2 &+ Self.prime3
                i += 4
            }
            while i < n {
                h ^= UInt64(rest[i]) &* Self.prime5
                h = Self.rotl(h, 11) &* Self.prime1
                i += 1
            }
        }
        h ^= h >> 33; h = h &* Self.prime2
        h ^= h >> 29; h = h &* Self.prime3
        h ^= h >> 32
        return h
    }

    /// The digest of `bytes` in one call.
    public static func hash(_ bytes: [UInt8], seed: UInt64 = 0) -> UInt64 {
        var state = XXHash64(seed: seed)
        bytes.withUnsafeBytes { state.update($0) }
        return state.finalize()
    }
}
