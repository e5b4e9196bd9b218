extension RuntimeInfo {
    /// Records the runtime as attributes of `group` (every results file carries them at its
    /// root): the BLAS kernel and thread count change floating-point rounding, so a result is
    /// reproducible bit for bit only with the same pair.
    public func write(to group: HDF5Group) throws {
        try group.setAttribute("blas_kernel", blasKernel)
        try group.setAttribute("blas_threads", blasThreads)
        try group.setAttribute("blas_kernel_requested", requestedBLASKernel)
        try group.setAttribute("inherited_openblas_coretype", inheritedCoreType ?? "")
        try group.setAttribute("cpu_features", cpuFeatures)
        try group.setAttribute("cores", cores)
        try group.setAttribute("os", os)
        try group.setAttribute("workbench_version", workbenchVersion)
    }
}
