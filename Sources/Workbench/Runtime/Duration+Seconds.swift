extension Duration {
    /// The duration in seconds, as a Double (timings in figures, summaries and logs).
    var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) * 1e-18
    }
}
