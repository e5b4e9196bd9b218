import Testing
@testable import Workbench

/// Tests on the real model and texts run when they are in the cache. They never download
/// (`make test` runs `workbench fetch --all` first and sets `WORKBENCH_OFFLINE`); without the
/// cache they are skipped, saying so.
enum RealData {
    static var modelCached: Bool { PackageCache.isCached(.smollm2_135m_instruct) }
    static var textsCached: Bool { [KnownText.shakespeare, .milton, .worldEnglishBible].allSatisfy(\.isCached) }

    /// The trait of a test that needs the model.
    static let model = ConditionTrait.enabled(if: modelCached, "SmolLM2-135M is not in the cache: run `workbench fetch --all` (make test does)")
    /// The trait of a test that needs the model and the texts.
    static let modelAndTexts = ConditionTrait.enabled(if: modelCached && textsCached,
                                                      "the model or texts are not in the cache: run `workbench fetch --all` (make test does)")
}
