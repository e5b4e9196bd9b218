import PEFTEngine
import Testing

/// XCR0 with x87, SSE and AVX state enabled (bits 0–2).
private let xcr0AVX: UInt64 = 0b111
/// XCR0 with AVX plus opmask, ZMM_Hi256 and Hi16_ZMM state (bits 5–7): AVX-512 allowed.
private let xcr0AVX512: UInt64 = 0b1110_0111

/// A CPU with every AVX-512 foundation flag `auto` requires, and the given extras.
private func avx512CPU(xcr0: UInt64, bf16: Bool = false) -> CPUFeatures {
    CPUFeatures(
        avx: true, avx2: true, fma: true, avx512f: true, avx512dq: true, avx512cd: true,
        avx512bw: true, avx512vl: true, avx512bf16: bf16, osxsave: true, xcr0: xcr0)
}

@Suite("BLASKernelChoice: which OpenBLAS core type to run with")
struct BLASKernelChoiceTests {
    @Test("auto picks SkylakeX for AVX-512 the OS enables")
    func avx512() {
        #expect(BLASKernelChoice.auto.coreType(for: avx512CPU(xcr0: xcr0AVX512)) == "SkylakeX")
    }

    @Test("auto picks Cooperlake when AVX-512 BF16 is there too")
    func bf16() {
        #expect(BLASKernelChoice.auto.coreType(for: avx512CPU(xcr0: xcr0AVX512, bf16: true)) == "Cooperlake")
    }

    @Test("AVX-512 in CPUID but not enabled in XCR0 falls back to Haswell")
    func avx512WithoutOSSupport() {
        #expect(BLASKernelChoice.auto.coreType(for: avx512CPU(xcr0: xcr0AVX)) == "Haswell")
        #expect(BLASKernelChoice.auto.coreType(for: avx512CPU(xcr0: xcr0AVX, bf16: true)) == "Haswell")
    }

    @Test("AVX-512 with one foundation flag missing falls back to Haswell")
    func incompleteAVX512() {
        var cpu = avx512CPU(xcr0: xcr0AVX512)
        cpu.avx512vl = false
        #expect(BLASKernelChoice.auto.coreType(for: cpu) == "Haswell")
    }

    @Test("AVX without AVX2 gives Sandybridge; no OSXSAVE means no AVX at all")
    func avxOnly() {
        let avx = CPUFeatures(avx: true, osxsave: true, xcr0: xcr0AVX)
        #expect(BLASKernelChoice.auto.coreType(for: avx) == "Sandybridge")
        let notEnabled = CPUFeatures(avx: true, avx2: true, fma: true, osxsave: false, xcr0: 0)
        #expect(BLASKernelChoice.auto.coreType(for: notEnabled) == "Nehalem")
    }

    @Test("no features at all gives Nehalem")
    func nothing() {
        #expect(BLASKernelChoice.auto.coreType(for: CPUFeatures()) == "Nehalem")
    }

    @Test("inherit leaves the environment alone; a name is used as given")
    func inheritAndNamed() {
        let cpu = avx512CPU(xcr0: xcr0AVX512)
        #expect(BLASKernelChoice.inherit.coreType(for: cpu) == nil)
        #expect(BLASKernelChoice.named("Haswell").coreType(for: cpu) == "Haswell")
        #expect(BLASKernelChoice.named("SkylakeX").coreType(for: CPUFeatures()) == "SkylakeX")
    }

    @Test("parses auto and inherit in any case, and core type names")
    func parsing() {
        #expect(BLASKernelChoice(parsing: "auto") == .auto)
        #expect(BLASKernelChoice(parsing: "AUTO") == .auto)
        #expect(BLASKernelChoice(parsing: " inherit ") == .inherit)
        #expect(BLASKernelChoice(parsing: "Inherit") == .inherit)
        #expect(BLASKernelChoice(parsing: "Haswell") == .named("Haswell"))
        #expect(BLASKernelChoice(parsing: "SKYLAKEX") == .named("SKYLAKEX"))
        #expect(BLASKernelChoice(parsing: "Haswell")?.description == "Haswell")
        #expect(BLASKernelChoice.auto.description == "auto")
    }

    @Test("rejects empty text and anything that is not a plain name", arguments: ["", "   ", "Has well", "x!", "a/b", "-1", "Haswell;rm"])
    func rejectsJunk(text: String) {
        #expect(BLASKernelChoice(parsing: text) == nil, "accepted \"\(text)\"")
    }
}
