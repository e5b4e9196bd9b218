import Foundation

/// Evaluation metrics stored as attributes of one group (`…/eval/tasks/mod7`):
/// `exact_match`, `token_accuracy`, `loss` (mean nats per answer token), `examples`,
/// `answer_tokens`, `perplexity` for language-modelling tasks, `choice_accuracy` for
/// multiple-choice probes, `kl_from_base` and `greedy_exact_match` where they were measured.
extension TaskMetrics {
    func write(to group: HDF5Group) throws {
        try group.setAttribute("exact_match", exactMatch)
        try group.setAttribute("token_accuracy", tokenAccuracy)
        try group.setAttribute("loss", meanLoss)
        try group.setAttribute("examples", exampleCount)
        try group.setAttribute("answer_tokens", answerTokenCount)
        if let perplexity { try group.setAttribute("perplexity", perplexity) }
        if let choiceAccuracy { try group.setAttribute("choice_accuracy", choiceAccuracy) }
        if let klFromBase { try group.setAttribute("kl_from_base", klFromBase) }
        if let greedyExactMatch { try group.setAttribute("greedy_exact_match", greedyExactMatch) }
    }

    init(readFrom group: HDF5Group) throws {
        self.init(exampleCount: Int(try group.integerAttribute("examples")),
                  answerTokenCount: Int(try group.integerAttribute("answer_tokens")),
                  exactMatch: try group.doubleAttribute("exact_match"),
                  tokenAccuracy: try group.doubleAttribute("token_accuracy"),
                  meanLoss: try group.doubleAttribute("loss"),
                  perplexity: try group.hasAttribute("perplexity") ? group.doubleAttribute("perplexity") : nil,
                  choiceAccuracy: try group.hasAttribute("choice_accuracy") ? group.doubleAttribute("choice_accuracy") : nil,
                  klFromBase: try group.hasAttribute("kl_from_base") ? group.doubleAttribute("kl_from_base") : nil,
                  greedyExactMatch: try group.hasAttribute("greedy_exact_match") ? group.doubleAttribute("greedy_exact_match") : nil)
    }
}
