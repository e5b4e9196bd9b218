import Foundation

/// Mutates peft adapter folders: adapter_config.json's values replaced (rank, alpha, patterns,
/// target modules, layer lists, flags) by extreme or mistyped ones, keys deleted or repeated, the
/// text truncated; or the adapter's safetensors damaged (`SafetensorsMutator`); or a file
/// removed or replaced by a folder or a FIFO.
enum AdapterConfigMutator {
    static let keys = ["r", "lora_alpha", "alpha_pattern", "rank_pattern", "target_modules", "peft_type", "use_dora",
                       "use_rslora", "layers_to_transform", "layers_pattern", "fan_in_fan_out", "bias", "modules_to_save",
                       "lora_dropout", "init_lora_weights", "exclude_modules", "base_model_name_or_path", "task_type"]
    static let values = ["0", "-4", "1", "4", "8", "2.5", "1e309", "-0.0", "null", "true", "false", "\"4\"", "\"\"", "[]", "{}",
                         "[\"fc1\"]", "[\"q_proj\", \"fc1\"]", "[\"nothing\"]", "\"all-linear\"", "\".*\"", "\"(\"", "\"fc1\"",
                         "[0]", "[5]", "[-1]", "{\"fc1\": 0}", "{\"fc1\": -2}", "{\"q_proj\": 1e30}", "{\"nothing\": 2}",
                         "\"LORA\"", "\"LOHA\"", "\"ADALORA\"", "\"all\"", "\"lora_only\"", "9223372036854775807", "1e-45"]

    static func mutateConfig(_ data: Data, random: inout FuzzRandom) throws -> (Data, String) {
        var entries = try FuzzJSON(parsing: data).entries ?? []
        switch random.int(0..<100) {
        case 0..<60:
            let key = random.pick(keys), value = random.pick(values)
            if let i = entries.firstIndex(where: { $0.key == key }) { entries[i].value = .raw(value) } else { entries.append(.init(key: key, value: .raw(value))) }
            if random.chance(0.3) {
                let key2 = random.pick(keys), value2 = random.pick(values)
                if let i = entries.firstIndex(where: { $0.key == key2 }) { entries[i].value = .raw(value2) }
                return (Data(FuzzJSON.object(entries).text.utf8), "\(key) = \(value), \(key2) = \(value2)")
            }
            return (Data(FuzzJSON.object(entries).text.utf8), "\(key) = \(value)")
        case 60..<72:
            let key = random.pick(keys)
            entries.removeAll { $0.key == key }
            return (Data(FuzzJSON.object(entries).text.utf8), "\(key) deleted")
        case 72..<82:
            let key = random.pick(keys)
            entries.append(.init(key: key, value: .raw(random.pick(values))))
            return (Data(FuzzJSON.object(entries).text.utf8), "\(key) repeated")
        default:
            var bytes = Array(data)
            switch random.int(0..<4) {
            case 0: bytes.removeSubrange(random.int(0..<bytes.count)...); return (Data(bytes), "config truncated")
            case 1: return (Data(random.pick(["[]", "null", "", "\u{FEFF}{}", "{}"]).utf8), "config replaced")
            case 2: bytes.insert(0xFF, at: random.int(0..<bytes.count)); return (Data(bytes), "invalid UTF-8 in the config")
            default: return (Data((String(repeating: "[", count: 100_000)).utf8), "config nested 100000 deep")
            }
        }
    }

    static func runCase(in folder: URL, random: inout FuzzRandom) throws -> [FuzzRunRecord] {
        let seed = random.pick([FuzzSeeds.peftLoRA, FuzzSeeds.peftDoRA])
        let adapter = folder.appendingPathComponent("adapter")
        try FileManager.default.copyItem(at: seed, to: adapter)
        try FileManager.default.copyItem(at: FuzzSeeds.peftBase, to: folder.appendingPathComponent("base.safetensors"))
        let config = adapter.appendingPathComponent("adapter_config.json"), weights = adapter.appendingPathComponent("adapter_model.safetensors")
        var mutations = [seed.lastPathComponent]
        switch random.int(0..<100) {
        case 0..<65:
            let (data, what) = try mutateConfig(try Data(contentsOf: config), random: &random)
            try data.write(to: config); mutations.append(what)
        case 65..<90:
            let (bytes, what) = try SafetensorsMutator.mutate(Array(try Data(contentsOf: weights)), random: &random)
            try Data(bytes).write(to: weights); mutations.append("adapter_model: " + what)
        default:
            let victim = random.pick([config, weights])
            try FileManager.default.removeItem(at: victim)
            switch random.int(0..<3) {
            case 0: mutations.append("\(victim.lastPathComponent) removed")
            case 1: try FileManager.default.createDirectory(at: victim, withIntermediateDirectories: false); mutations.append("\(victim.lastPathComponent) is a folder")
            default: mkfifo(victim.path, 0o644); mutations.append("\(victim.lastPathComponent) is a FIFO")
            }
        }
        let arguments = random.pick([
            ["spectrum", "--adapter", "adapter", "--base", "base.safetensors"],
            ["spectrum", "--adapter", "adapter"],
            ["report", "--adapter", "adapter", "--base", "base.safetensors", "--output", "out/report.html"],
        ])
        let outcome = try WorkbenchProcess.run(arguments, in: folder, timeLimit: 20, outputFolder: folder.appendingPathComponent("out"))
        return [FuzzRunRecord(mutation: mutations.joined(separator: "; "), arguments: arguments, outcome: outcome)]
    }
}
