import Foundation

/// The unit, direction and default meaning of every column name the analyses write: one
/// meaning per name across all tables, so a script that reads `acc_new_task` or `sigma` from
/// any table reads the same quantity.
///
/// A table may give a column a more specific meaning (which stage, which model); the unit and
/// the direction always come from here. Summary columns are derived: `x_mean` (mean across
/// seeds), `x_std` (sample standard deviation, n − 1; missing when n < 2), `x_n` (seeds with a
/// value), `x_min`, `x_max` share x's unit; the direction of a spread or a count is none.
public enum ColumnSchema {
    /// Which way is better, for performance measures; `none` for descriptive quantities, keys and spreads.
    public enum Direction: String, Sendable, Codable {
        case higherIsBetter = "higher"
        case lowerIsBetter = "lower"
        case none
    }

    public struct Entry: Sendable, Equatable {
        public var unit: String
        public var direction: Direction
        public var meaning: String
    }

    /// The entry of `name`, derived for summary suffixes; nil for a name no table should carry.
    public static func entry(_ name: String) -> Entry? {
        if let entry = entries[name] { return entry }
        for (suffix, derive) in suffixes where name.hasSuffix(suffix) {
            let base = String(name.dropLast(suffix.count))
            if let entry = entries[base] { return derive(base, entry) }
        }
        return nil
    }

    private static let suffixes: [(String, @Sendable (String, Entry) -> Entry)] = [
        ("_mean", { base, e in Entry(unit: e.unit, direction: e.direction, meaning: "mean across seeds of \(base): \(e.meaning)") }),
        ("_std", { base, e in Entry(unit: e.unit, direction: .none, meaning: "sample standard deviation (n − 1) across seeds of \(base); missing when n < 2") }),
        ("_n", { base, _ in Entry(unit: "count", direction: .none, meaning: "seeds with a value of \(base)") }),
        ("_min", { base, e in Entry(unit: e.unit, direction: .none, meaning: "smallest \(base) over the rows summarized: \(e.meaning)") }),
        ("_max", { base, e in Entry(unit: e.unit, direction: .none, meaning: "largest \(base) over the rows summarized: \(e.meaning)") }),
    ]

    private static func key(_ meaning: String) -> Entry { Entry(unit: "key", direction: .none, meaning: meaning) }
    private static func e(_ unit: String, _ direction: Direction, _ meaning: String) -> Entry {
        Entry(unit: unit, direction: direction, meaning: meaning)
    }

    // Units: key (identifies the row), index (0- or 1-based position), count, rank (a number of
    // singular directions), fraction (0…1), ratio (dimensionless, may exceed 1), nats/token,
    // weight (the parameters' own scale: norms, singular values), cosine, degrees, seconds,
    // bytes, tokens/s, bits, flag (0/1), step, metric (the unit of the row's `metric` column).
    static let entries: [String: Entry] = [
        // Keys
        "analysis": key("analysis name"),
        "analysis_options": key("canonical JSON of the options the analysis ran with (its filters)"),
        "base": key("the base model or checkpoint compared against"),
        "column": key("evaluation column (skill or task) name"),
        "column_kind": key("skill (evaluated, never trained) or task (trained in sequence)"),
        "configuration": key("the method's configuration as canonical JSON"),
        "format": key("4-bit format: nf4, fp4, e2m1 or int4"),
        "kind": key("what the row describes (e.g. delta_cumulative, delta_task, base)"),
        "label": key("configuration label"), "label_a": key("first configuration label"), "label_b": key("second configuration label"),
        "lora": key("the LoRA configuration compared"), "lora_label": key("the LoRA configuration compared"),
        "qlora": key("the QLoRA configuration compared"), "qlora_label": key("the QLoRA configuration compared"),
        "matrix": key("linear matrix name, e.g. blocks.0.attn.q.weight"),
        "tensor": key("tensor name in the checkpoint"),
        "measure": key("which measure the row's numbers are"),
        "method": key("fine-tuning method (full, lora, qlora, dora, …)"),
        "metric": key("the column's metric (exact_match, mean_nll, …)"),
        "mode": key("low-rank truncation mode (all, matrices_only, or one matrix type) or the LoRA-family method"),
        "protocol": key("fine-tuning protocol: sequential, per-task or merge"),
        "quant_type": key("4-bit format of the (re-)quantization"),
        "r_source": key("where r comes from (the configuration, or the numerical rank)"),
        "skill": key("skill column name"),
        "statistic": key("which statistic of the distribution the row gives"),
        "svd_mode": key("full SVD (LAPACK sgesdd) or randomized top-k"),
        "target": key("which projection the row concerns"),
        "task": key("task name (the task trained at this stage)"), "task_a": key("first task"), "task_b": key("second task"),
        "seed": key("random seed"), "seed_a": key("first seed"), "seed_b": key("second seed"),
        "seeds": key("the seeds summarized"),
        "direction": key("which way is better for the measure"),
        // Positions
        "stage": e("index", .none, "stage t: 0 = the base before any task, t = after task t"),
        "task_index": e("index", .none, "position of the task in the sequence (1-based)"),
        "index": e("index", .none, "position of the singular value, 1 = largest"),
        "i": e("index", .none, "row of the accuracy matrix (after task i)"), "j": e("index", .none, "column of the accuracy matrix (task j)"),
        "step": e("step", .none, "training step within the stage"),
        "diverged_at_step": e("step", .none, "global step at which the loss diverged (non-finite, or above ln V and 10× its first value); missing when it did not"),
        // Counts
        "n": e("count", .none, "seeds (or matrices) summarized"),
        "count": e("count", .none, "rows counted"),
        "rows": e("count", .none, "rows of the matrix"), "columns": e("count", .none, "columns of the matrix"),
        "elements": e("count", .none, "values in the tensor"),
        "examples": e("count", .none, "held-out examples evaluated"),
        "matrices": e("count", .none, "matrices summarized"),
        "intruder_count": e("count", .none, "intruder dimensions: top singular vectors of W0 + ΔW whose max |cos| with W0's is below ε"),
        "intruder_k": e("count", .none, "top singular vectors of W0 + ΔW examined"),
        "trainable_parameters": e("count", .none, "parameters the method trains"),
        "training_tokens": e("count", .none, "tokens seen in training"),
        "blocksize": e("count", .none, "values per quantization block"),
        // Ranks
        "k": e("rank", .none, "rank k of the truncation or of the top-k singular vectors"),
        "k_50": e("rank", .lowerIsBetter, "smallest tested k recovering at least 50 % of the gain"),
        "k_90": e("rank", .lowerIsBetter, "smallest tested k recovering at least 90 % of the gain"),
        "k_tested": e("rank", .none, "largest rank tested"),
        "r": e("rank", .none, "the adapter's rank r"), "lora_r": e("rank", .none, "the LoRA configuration's rank r"),
        "full_rank": e("rank", .none, "min(out, in) of the matrix"),
        "numerical_rank": e("rank", .none, "σᵢ > max(m, n)·ε·σ₁, ε = 2⁻²³ (numpy matrix_rank's float32 tolerance)"),
        "energy_rank_50": e("rank", .none, "smallest k with Σ_{i≤k}σᵢ² ≥ 0.5·‖A‖²_F"),
        "energy_rank_90": e("rank", .none, "smallest k with Σ_{i≤k}σᵢ² ≥ 0.9·‖A‖²_F"),
        "energy_rank_99": e("rank", .none, "smallest k with Σ_{i≤k}σᵢ² ≥ 0.99·‖A‖²_F"),
        "effective_rank": e("rank", .none, "exp(−Σ pᵢ ln pᵢ), pᵢ = σᵢ/Σσⱼ (Roy & Vetterli 2007)"),
        "stable_rank": e("rank", .none, "‖A‖²_F / ‖A‖²₂ (Rudelson & Vershynin 2007)"),
        // Performance
        "exact_match": e("fraction", .higherIsBetter, "share of answers exactly right (teacher-forced)"),
        "greedy_exact_match": e("fraction", .higherIsBetter, "share of answers exactly right when decoded greedily"),
        "token_accuracy": e("fraction", .higherIsBetter, "share of answer tokens right (teacher-forced)"),
        "choice_accuracy": e("fraction", .higherIsBetter, "share of multiple-choice facts whose true answer has the highest summed log-likelihood"),
        "metric_value": e("metric", .none, "the column's own metric (its unit and direction: the metric column)"),
        "loss": e("nats/token", .lowerIsBetter, "training cross-entropy"),
        "kl_from_base": e("nats/token", .lowerIsBetter, "KL(base ‖ tuned) on held-out text: drift from the untouched base"),
        "acc_new_task": e("fraction", .higherIsBetter, "accuracy (score) on the task just trained"),
        "acc_earlier_tasks": e("fraction", .higherIsBetter, "mean accuracy (score) on the tasks trained before"),
        "acc_skills": e("fraction", .higherIsBetter, "mean accuracy (score) on the base skills"),
        "average_accuracy": e("fraction", .higherIsBetter, "A_T: mean over tasks of the final accuracy"),
        "final": e("fraction", .higherIsBetter, "accuracy after the last task"),
        "after_training": e("fraction", .higherIsBetter, "accuracy right after training the task"),
        "zero_shot": e("fraction", .none, "accuracy of the base before the task was trained"),
        "learning": e("fraction", .higherIsBetter, "accuracy gained on a task by training it"),
        "learned": e("fraction", .higherIsBetter, "gain on the trained tasks (after − before)"),
        "forgotten": e("fraction", .lowerIsBetter, "loss on the base skills (before − after)"),
        "forgetting_chaudhry": e("fraction", .lowerIsBetter, "max over earlier stages of the accuracy minus the final (Chaudhry et al. 2018)"),
        "forgetting_avalanche": e("fraction", .lowerIsBetter, "accuracy right after training minus the final (Avalanche)"),
        "forgetting_earlier_tasks": e("fraction", .lowerIsBetter, "mean over earlier tasks j of R[j][j] − acc_k[j]"),
        "bwt": e("fraction", .higherIsBetter, "backward transfer (Lopez-Paz & Ranzato 2017): negative is forgetting"),
        "fwt": e("fraction", .higherIsBetter, "forward transfer (Lopez-Paz & Ranzato 2017)"),
        "skill_retention": e("ratio", .higherIsBetter, "base skills after / before (1 = nothing forgotten)"),
        "retention": e("ratio", .higherIsBetter, "after / before (1 = nothing forgotten)"),
        "skill_drop": e("fraction", .lowerIsBetter, "mean over skills of (base accuracy − accuracy now)"),
        "drop": e("fraction", .lowerIsBetter, "accuracy before − after"),
        "skills_before": e("fraction", .higherIsBetter, "skills' accuracy before"), "skills_after": e("fraction", .higherIsBetter, "skills' accuracy after"),
        "new_task_before": e("fraction", .higherIsBetter, "new task's accuracy before"), "new_task_after": e("fraction", .higherIsBetter, "new task's accuracy after"),
        "earlier_tasks_before": e("fraction", .higherIsBetter, "earlier tasks' accuracy before"), "earlier_tasks_after": e("fraction", .higherIsBetter, "earlier tasks' accuracy after"),
        "difference": e("fraction", .none, "after − before"),
        "gain_recovered": e("ratio", .higherIsBetter, "(acc_k − acc_0)/(acc_full − acc_0) on the new task"),
        "lora_family_gain": e("ratio", .higherIsBetter, "the LoRA-family cell's gain over full's acc_0/acc_full"),
        "energy_kept": e("fraction", .none, "mean over the truncated matrices of Σ_{i≤k}σᵢ²/Σσᵢ²"),
        "energy_share": e("fraction", .none, "σᵢ²/Σσⱼ²"),
        "energy_cumulative": e("fraction", .none, "Σ_{j≤i}σⱼ²/Σσⱼ²"),
        // Spectra and subspaces
        "sigma": e("weight", .none, "singular value σᵢ"),
        "frobenius_norm": e("weight", .none, "‖A‖_F = √Σσᵢ²"),
        "spectral_norm": e("weight", .none, "‖A‖₂ = σ₁"),
        "delta_norm": e("weight", .none, "‖ΔW‖_F"), "update_norm": e("weight", .none, "‖ΔW‖_F"),
        "projected_norm": e("weight", .none, "‖Uᵀ·W0·V‖_F with U, V the top-r singular vectors of ΔW"),
        "projected_base_norm": e("weight", .none, "‖Uᵀ·W0·V‖_F with U, V the top-r singular vectors of ΔW"),
        "projected_base_norm_own_top": e("weight", .none, "‖Uᵀ·W0·V‖_F with U, V W0's own top-r singular vectors"),
        "projected_base_norm_random": e("weight", .none, "‖Uᵀ·W0·V‖_F with random orthonormal U, V (mean over draws)"),
        "random_projection": e("weight", .none, "‖Uᵀ·W0·V‖_F with random orthonormal U, V (mean over draws)"),
        "w0_top_projection": e("weight", .none, "‖Uᵀ·W0·V‖_F with U, V W0's own top-r singular vectors"),
        "amplification": e("ratio", .none, "‖ΔW‖_F / ‖Uᵀ·W0·V‖_F (Hu et al. 2021, §7.3)"),
        "svd_relative_residual": e("ratio", .lowerIsBetter, "‖A − UΣVᵀ‖_F / ‖A‖_F of the decomposition"),
        "phi": e("fraction", .none, "φ(A, B, i, j) = ‖U_Aᵢᵀ U_Bⱼ‖²_F / min(i, j) (Hu et al. 2021, §7.2)"),
        "phi_random": e("fraction", .none, "φ of random subspaces of the same sizes"),
        "angle_min_deg": e("degrees", .none, "smallest principal angle"), "angle_mean_deg": e("degrees", .none, "mean principal angle"),
        "angle_max_deg": e("degrees", .none, "largest principal angle"),
        "epsilon": e("cosine", .none, "threshold ε on max |cos| below which a direction is an intruder"),
        "mean_max_cos": e("cosine", .none, "mean over the top singular vectors of max |cos| with W0's"),
        "null_mean_max_cos": e("cosine", .none, "the same for random unit vectors (the null)"),
        "null_min": e("cosine", .none, "smallest max |cos| of a random unit vector"), "null_max": e("cosine", .none, "largest max |cos| of a random unit vector"),
        "intruder_fraction": e("fraction", .none, "intruder dimensions / k"),
        "null_intruder_fraction": e("fraction", .none, "share of random unit vectors below ε (the null)"),
        "excess_intruder_fraction": e("fraction", .none, "intruder_fraction − null_intruder_fraction"),
        "intruder_energy_share": e("fraction", .none, "share of ‖W0 + ΔW‖²_F in the intruder directions"),
        "value": e("metric", .none, "the value of the row's measure"),
        "mean": e("metric", .none, "mean of the row's measure"), "std": e("metric", .none, "sample standard deviation (n − 1) of the row's measure"),
        "min": e("metric", .none, "smallest value of the row's measure"), "max": e("metric", .none, "largest value of the row's measure"),
        // Quantization
        "mse": e("weight²", .lowerIsBetter, "mean (w − ŵ)²"),
        "relative_frobenius": e("ratio", .lowerIsBetter, "‖W − Ŵ‖_F / ‖W‖_F"),
        "error_over_delta": e("ratio", .lowerIsBetter, "‖Q(W0 + ΔW) − (W0 + ΔW)‖_F / ‖ΔW‖_F: quantization error against the update"),
        "error_over_weight": e("ratio", .lowerIsBetter, "‖Q(W) − W‖_F / ‖W‖_F"),
        "delta_below_half_step": e("fraction", .none, "share of ΔW entries smaller than half a quantization step (lost in the merge)"),
        "block_max_abs_mean": e("weight", .lowerIsBetter, "mean over blocks of max |w − ŵ|"), "block_max_abs_p50": e("weight", .lowerIsBetter, "median over blocks of max |w − ŵ|"),
        "block_max_abs_p90": e("weight", .lowerIsBetter, "90th percentile over blocks of max |w − ŵ|"), "block_max_abs_max": e("weight", .lowerIsBetter, "largest over blocks of max |w − ŵ|"),
        "block_max_mean": e("weight", .lowerIsBetter, "mean over blocks of max |w − ŵ|"), "block_max_p50": e("weight", .lowerIsBetter, "median over blocks of max |w − ŵ|"),
        "block_max_p90": e("weight", .lowerIsBetter, "90th percentile over blocks of max |w − ŵ|"), "block_max_max": e("weight", .lowerIsBetter, "largest over blocks of max |w − ŵ|"),
        "bits_per_parameter": e("bits", .lowerIsBetter, "storage per value, block scales included"),
        "double_quant": e("flag", .none, "1 when block absmaxes are double-quantized"),
        "stored_mismatch": e("flag", .lowerIsBetter, "1 when the re-evaluation differs from the stored value"),
        // Cost
        "wall_time": e("seconds", .lowerIsBetter, "wall-clock time"),
        "memory_total_bytes": e("bytes", .lowerIsBetter, "memory of weights, gradients and optimizer state"),
        "tokens_per_second": e("tokens/s", .higherIsBetter, "training throughput"),
    ]
}
