import Foundation
import PEFTEngine
import Testing
import Workbench

private let avx512: CPUFeatures = CPUFeatures(
    avx: true, avx2: true, fma: true, avx512f: true, avx512dq: true, avx512cd: true,
    avx512bw: true, avx512vl: true, osxsave: true, xcr0: 0b1110_0111)
private let pid: Int32 = 4242

private func plan(_ arguments: [String], _ environment: [String: String] = [:], cores: Int = 2) -> BLASLaunchPlan {
    BLASLaunchPlan(arguments: arguments, environment: environment, cpu: avx512, processID: pid, cores: cores)
}

@Suite("Runtime options scanned and applied at process start")
struct RuntimeLaunchPlanTests {
    @Test("the pre-scan finds --blas-kernel and --threads anywhere, in both spellings, up to --")
    func scan() {
        #expect(RuntimeArguments.scan(["bench", "--quick", "--blas-kernel", "inherit"])
                == RuntimeArguments(blasKernel: "inherit"))
        #expect(RuntimeArguments.scan(["--threads=1", "bench", "--blas-kernel=Haswell"])
                == RuntimeArguments(blasKernel: "Haswell", threads: "1"))
        #expect(RuntimeArguments.scan(["--threads", "1", "bench", "--threads", "2"]).threads == "2")
        #expect(RuntimeArguments.scan(["bench", "--", "--threads", "1"]) == RuntimeArguments())
        #expect(RuntimeArguments.scan(["bench", "--threads"]) == RuntimeArguments())
    }

    @Test("auto under an inherited Haswell pin re-executes with the AVX-512 kernel, saving the pin")
    func autoOverridesPin() {
        let p = plan(["bench"], ["OPENBLAS_CORETYPE": "Haswell"])
        #expect(p.choice == .auto)
        #expect(p.wantedCoreType == "SkylakeX")
        #expect(p.reexecutes)
        #expect(p.environmentChanges == [
            "OPENBLAS_CORETYPE": "SkylakeX", "WORKBENCH_BLAS_REEXEC": "4242",
            "WORKBENCH_INHERITED_OPENBLAS_CORETYPE": "Haswell",
        ])
    }

    @Test("no re-exec when the wanted kernel is already set (any case), or for inherit")
    func noReexecWhenNotNeeded() {
        #expect(!plan(["bench"], ["OPENBLAS_CORETYPE": "skylakex"]).reexecutes)
        let inherit = plan(["bench", "--blas-kernel", "inherit"], ["OPENBLAS_CORETYPE": "Haswell"])
        #expect(inherit.choice == .inherit && inherit.wantedCoreType == nil && !inherit.reexecutes)
        #expect(inherit.environmentChanges.isEmpty)
    }

    @Test("the guard stops a second exec in the same process but not in a child process")
    func guardIsPerProcess() {
        let environment = ["OPENBLAS_CORETYPE": "Haswell", "WORKBENCH_BLAS_REEXEC": "4242"]
        #expect(!plan(["bench"], environment).reexecutes)
        let child = BLASLaunchPlan(
            arguments: ["bench"], environment: environment, cpu: avx512, processID: 7, cores: 2)
        #expect(child.reexecutes)
    }

    @Test("--blas-kernel beats WORKBENCH_BLAS_KERNEL, which beats auto; junk decides nothing")
    func choicePrecedence() {
        #expect(plan(["bench"], ["WORKBENCH_BLAS_KERNEL": "Haswell"]).wantedCoreType == "Haswell")
        #expect(plan(["bench", "--blas-kernel=Nehalem"], ["WORKBENCH_BLAS_KERNEL": "Haswell"]).wantedCoreType == "Nehalem")
        let junk = plan(["bench", "--blas-kernel", "x!"], ["OPENBLAS_CORETYPE": "Haswell"])
        #expect(junk.choice == nil && !junk.reexecutes)
    }

    @Test("threads: --threads, else OPENBLAS_NUM_THREADS is left to OpenBLAS, else all cores")
    func threads() {
        #expect(plan(["--threads", "1"], ["OPENBLAS_NUM_THREADS": "2"]).threadCount == 1)
        #expect(plan([], ["OPENBLAS_NUM_THREADS": "1"]).threadCount == nil)
        #expect(plan([], [:], cores: 8).threadCount == 8)
        #expect(plan(["--threads", "0"]).threadCount == nil)
        #expect(plan(["--threads", "many"]).threadCount == nil)
    }

    @Test("the inherited core type is the saved one only in the re-executed process")
    func inheritedCoreType() {
        let reexecuted = ["OPENBLAS_CORETYPE": "SkylakeX", "WORKBENCH_BLAS_REEXEC": "4242",
                          "WORKBENCH_INHERITED_OPENBLAS_CORETYPE": "Haswell"]
        #expect(BLASLaunchPlan.inheritedCoreType(environment: reexecuted, processID: pid) == "Haswell")
        #expect(BLASLaunchPlan.inheritedCoreType(environment: reexecuted, processID: 7) == "SkylakeX")
        var wasUnset = reexecuted
        wasUnset["WORKBENCH_INHERITED_OPENBLAS_CORETYPE"] = ""
        #expect(BLASLaunchPlan.inheritedCoreType(environment: wasUnset, processID: pid) == nil)
        #expect(BLASLaunchPlan.inheritedCoreType(environment: [:], processID: pid) == nil)
    }

    @Test("RuntimeInfo summarises CPU features and encodes with snake_case keys")
    func runtimeInfo() throws {
        #expect(RuntimeInfo.summary(of: avx512) == "avx avx2 fma avx512f avx512dq avx512cd avx512bw avx512vl (os: avx512)")
        #expect(RuntimeInfo.summary(of: CPUFeatures()) == "sse (os: sse)")
        let info = RuntimeInfo.current(requested: .inherit)
        #expect(info.requestedBLASKernel == "inherit")
        #expect(info.blasKernel == BLAS.kernelName && info.blasThreads == BLAS.threadCount)
        #expect(info.workbenchVersion == WorkbenchInfo.version)
        let object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(info)) as? [String: Any]
        let keys = Set(object?.keys.map { $0 } ?? [])
        #expect(keys.isSuperset(of: ["blas_kernel", "blas_threads", "requested_blas_kernel",
                                     "cpu_features", "cores", "os", "workbench_version"]))
        #expect(try JSONDecoder().decode(RuntimeInfo.self, from: JSONEncoder().encode(info)) == info)
    }
}
