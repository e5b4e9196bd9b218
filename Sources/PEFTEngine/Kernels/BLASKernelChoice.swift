import Foundation

/// Processor features relevant to choosing an OpenBLAS kernel: CPUID's flags plus
/// XCR0, the register in which the OS says which vector state it saves (and so allows).
public struct CPUFeatures: Sendable, Equatable {
    public var avx = false, avx2 = false, fma = false
    public var avx512f = false, avx512dq = false, avx512cd = false
    public var avx512bw = false, avx512vl = false, avx512bf16 = false
    public var osxsave = false
    public var xcr0: UInt64 = 0

    public init(
        avx: Bool = false, avx2: Bool = false, fma: Bool = false,
        avx512f: Bool = false, avx512dq: Bool = false, avx512cd: Bool = false,
        avx512bw: Bool = false, avx512vl: Bool = false, avx512bf16: Bool = false,
        osxsave: Bool = false, xcr0: UInt64 = 0
    ) {
        self.avx = avx; self.avx2 = avx2; self.fma = fma
        self.avx512f = avx512f; self.avx512dq = avx512dq; self.avx512cd = avx512cd
        self.avx512bw = avx512bw; self.avx512vl = avx512vl; self.avx512bf16 = avx512bf16
        self.osxsave = osxsave; self.xcr0 = xcr0
    }

    /// The OS saves XMM and YMM state (XCR0 bits 1 and 2): AVX/AVX2 code may run.
    public var osEnablesAVX: Bool { osxsave && (xcr0 & 0b110) == 0b110 }
    /// The OS also saves opmask, ZMM_Hi256 and Hi16_ZMM (XCR0 bits 5–7): AVX-512 may run.
    public var osEnablesAVX512: Bool { osEnablesAVX && (xcr0 & 0b1110_0000) == 0b1110_0000 }
}

/// How the workbench picks its OpenBLAS kernel (`--blas-kernel`, `WORKBENCH_BLAS_KERNEL`).
///
/// OpenBLAS reads `OPENBLAS_CORETYPE` once, when it loads, so a choice is applied by setting
/// that variable before BLAS initialises (the CLI re-executes itself once to do so).
public enum BLASKernelChoice: Sendable, Equatable, CustomStringConvertible {
    /// The fastest kernel the CPU supports *and* the OS enables; overrides an inherited
    /// `OPENBLAS_CORETYPE`.
    case auto
    /// Keep whatever the environment says (`OPENBLAS_CORETYPE` or OpenBLAS's own detection).
    case inherit
    /// A named OpenBLAS core type, e.g. "Haswell" or "SkylakeX".
    case named(String)

    /// Parses "auto", "inherit" or a core type name (case-insensitive for the two keywords).
    public init?(parsing text: String) {
        let t = text.trimmingCharacters(in: .whitespaces)
        switch t.lowercased() {
        case "auto": self = .auto
        case "inherit": self = .inherit
        case "": return nil
        default:
            guard t.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { return nil }
            self = .named(t)
        }
    }

    public var description: String {
        switch self {
        case .auto: return "auto"
        case .inherit: return "inherit"
        case .named(let n): return n
        }
    }

    /// The OpenBLAS core type to run with for this choice, or `nil` to leave the environment
    /// alone. `auto` maps: AVX-512 (F, DQ, CD, BW, VL, OS-enabled) → "Cooperlake" when BF16 is
    /// there too, else "SkylakeX"; AVX2 + FMA (OS-enabled) → "Haswell"; AVX → "Sandybridge";
    /// otherwise "Nehalem" (SSE only — always safe on x86-64).
    public func coreType(for cpu: CPUFeatures) -> String? {
        switch self {
        case .inherit: return nil
        case .named(let n): return n
        case .auto:
            if cpu.avx512f && cpu.avx512dq && cpu.avx512cd && cpu.avx512bw && cpu.avx512vl
                && cpu.osEnablesAVX512
            {
                return cpu.avx512bf16 ? "Cooperlake" : "SkylakeX"
            }
            if cpu.avx2 && cpu.fma && cpu.osEnablesAVX { return "Haswell" }
            if cpu.avx && cpu.osEnablesAVX { return "Sandybridge" }
            return "Nehalem"
        }
    }
}
