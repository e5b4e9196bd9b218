import Foundation
import PEFTEngine
import Testing
@testable import Workbench

@Suite("smoke run")
struct SmokeRunTests {
    @Test("BLAS, LAPACK, the engine and HDF5 work end to end and the file is complete")
    func endToEnd() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("smoke-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("smoke.h5")
        let report = try SmokeRun.run(output: url, runtime: RuntimeInfo.current(requested: .inherit))
        #expect(report.foundRank == 8)
        #expect(report.lastLoss < 0.5 * report.firstLoss, "loss \(report.firstLoss) → \(report.lastLoss)")
        #expect(report.readBackExact)
        #expect(report.passed)
        let file = try HDF5File.open(url)
        #expect(try file.isComplete())
        #expect(try file.root().stringAttribute("blas_kernel") == BLAS.kernelName)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["smoke.h5"], "temporary left behind")
    }
}
