import Foundation

/// The sbatch script that runs a study as Slurm job arrays: one array for the bases, one for
/// the cells (`--dependency=afterok` on the bases), and a last job that verifies the study.
///
/// Array indices are `StudyPlan` indices (from 0). Every task runs `workbench run STUDY
/// --bases`-style on exactly one part, so a killed task is redone by resubmitting (finished
/// parts are skipped), and two tasks never compute the same part (`PartLock`). Nothing needs
/// gathering: the index links every part by name (`ResultsIndex`); the last job runs
/// `workbench verify`, which fails the job when a part is missing or damaged.
public struct SlurmScript {
    /// sbatch options a cluster asks for; nil leaves Slurm's default.
    public struct Options: Sendable, Equatable {
        public var partition: String?
        public var time: String?
        public var cpusPerTask: Int
        public var mem: String?
        public var account: String?
        public var threads: Int
        /// The workbench executable the jobs run (absolute path by default).
        public var executable: String
        /// Folder for the jobs' output files.
        public var logs: String

        public init(partition: String? = nil, time: String? = nil, cpusPerTask: Int = 1, mem: String? = nil,
                    account: String? = nil, threads: Int = 1, executable: String, logs: String) {
            self.partition = partition
            self.time = time
            self.cpusPerTask = cpusPerTask
            self.mem = mem
            self.account = account
            self.threads = threads
            self.executable = executable
            self.logs = logs
        }
    }

    /// A bash script that submits the arrays when run (`bash SCRIPT`), printing the job ids.
    public static func make(study: String, output: String, plan: StudyPlan, options o: Options) -> String {
        func q(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        var common: [String] = ["--parsable", "--cpus-per-task=\(o.cpusPerTask)", "--output=\(q(o.logs + "/%x-%A_%a.out"))"]
        if let p = o.partition { common.append("--partition=\(q(p))") }
        if let t = o.time { common.append("--time=\(q(t))") }
        if let m = o.mem { common.append("--mem=\(q(m))") }
        if let a = o.account { common.append("--account=\(q(a))") }
        let flags = common.joined(separator: " ")
        let run = "\(q(o.executable)) --threads \(o.threads) run \(q(study)) --output \(q(output))"
        let verify = "\(q(o.executable)) verify \(q(output))"
        let name = ResultsLayout.fileSafe(plan.layout.index.deletingPathExtension().lastPathComponent)
        return """
            #!/bin/bash
            # Runs \(study) as Slurm job arrays (written by `workbench slurm`).
            #   bases: \(plan.bases.count) array tasks (indices 0-\(max(plan.bases.count - 1, 0))), one pretraining each
            #   cells: \(plan.cells.count) array tasks (indices 0-\(max(plan.cells.count - 1, 0))), after every base succeeded
            #   verify: one job after every cell; it fails when a part is missing or damaged
            # Resubmit this script to redo killed tasks: finished parts are skipped.
            set -euo pipefail
            mkdir -p \(q(o.logs))
            bases=$(sbatch \(flags) --job-name=\(name)-bases --array=0-\(max(plan.bases.count - 1, 0)) --wrap=\(q("\(run) --bases --base-index slurm")))
            cells=$(sbatch \(flags) --job-name=\(name)-cells --array=0-\(max(plan.cells.count - 1, 0)) --dependency=afterok:${bases} --wrap=\(q("\(run) --cells slurm")))
            check=$(sbatch \(flags) --job-name=\(name)-verify --dependency=afterok:${cells} --wrap=\(q(verify)))
            echo "bases ${bases}  cells ${cells}  verify ${check}"

            """
    }
}
