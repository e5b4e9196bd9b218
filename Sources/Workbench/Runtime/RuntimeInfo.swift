import Foundation
import PEFTEngine

/// How this process computes: the facts recorded beside every result, because OpenBLAS's kernel
/// and thread count change floating-point rounding (results are bit-identical only per kernel
/// and thread count) and speed.
public struct RuntimeInfo: Codable, Sendable, Equatable {
    /// The OpenBLAS kernel actually in use (`openblas_get_corename`), e.g. "Cooperlake".
    public var blasKernel: String
    /// OpenBLAS's thread count.
    public var blasThreads: Int
    /// What was asked for: "auto", "inherit" or a core type name.
    public var requestedBLASKernel: String
    /// The `OPENBLAS_CORETYPE` the process inherited from its environment (nil: unset).
    public var inheritedCoreType: String?
    /// CPU features relevant to the kernel choice, e.g. "avx avx2 fma avx512f … (os: avx512)".
    public var cpuFeatures: String
    /// `ProcessInfo.activeProcessorCount`.
    public var cores: Int
    /// Operating system description.
    public var os: String
    /// `WorkbenchInfo.version`.
    public var workbenchVersion: String

    enum CodingKeys: String, CodingKey {
        case blasKernel = "blas_kernel", blasThreads = "blas_threads"
        case requestedBLASKernel = "requested_blas_kernel", inheritedCoreType = "inherited_openblas_coretype"
        case cpuFeatures = "cpu_features", cores, os, workbenchVersion = "workbench_version"
    }

    public init(
        blasKernel: String, blasThreads: Int, requestedBLASKernel: String, inheritedCoreType: String?,
        cpuFeatures: String, cores: Int, os: String, workbenchVersion: String
    ) {
        self.blasKernel = blasKernel; self.blasThreads = blasThreads
        self.requestedBLASKernel = requestedBLASKernel; self.inheritedCoreType = inheritedCoreType
        self.cpuFeatures = cpuFeatures; self.cores = cores; self.os = os
        self.workbenchVersion = workbenchVersion
    }

    /// The runtime of this process now.
    public static func current(requested: BLASKernelChoice) -> RuntimeInfo {
        let process = ProcessInfo.processInfo
        return RuntimeInfo(
            blasKernel: BLAS.kernelName, blasThreads: BLAS.threadCount,
            requestedBLASKernel: requested.description,
            inheritedCoreType: BLASLaunchPlan.inheritedCoreType(
                environment: process.environment, processID: process.processIdentifier),
            cpuFeatures: summary(of: BLAS.cpuFeatures()), cores: process.activeProcessorCount,
            os: process.operatingSystemVersionString, workbenchVersion: WorkbenchInfo.version)
    }

    /// The CPUID flags present, then what the OS enables in XCR0: "avx avx2 fma (os: avx)".
    public static func summary(of cpu: CPUFeatures) -> String {
        let flags: [(String, Bool)] = [
            ("avx", cpu.avx), ("avx2", cpu.avx2), ("fma", cpu.fma), ("avx512f", cpu.avx512f),
            ("avx512dq", cpu.avx512dq), ("avx512cd", cpu.avx512cd), ("avx512bw", cpu.avx512bw),
            ("avx512vl", cpu.avx512vl), ("avx512bf16", cpu.avx512bf16),
        ]
        let present = flags.filter(\.1).map(\.0)
        let os = cpu.osEnablesAVX512 ? "avx512" : cpu.osEnablesAVX ? "avx" : "sse"
        return (present.isEmpty ? "sse" : present.joined(separator: " ")) + " (os: \(os))"
    }

    /// Lines "key: value" for a terminal header.
    public var lines: [String] {
        [
            "blas kernel: \(blasKernel) (requested \(requestedBLASKernel), inherited OPENBLAS_CORETYPE=\(inheritedCoreType ?? "unset"))",
            "blas threads: \(blasThreads) of \(cores) cores",
            "cpu: \(cpuFeatures)",
            "os: \(os)",
            "workbench: \(workbenchVersion)",
        ]
    }
}
