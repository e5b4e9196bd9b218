#ifndef WORKBENCH_CBLAS_SHIM_H
#define WORKBENCH_CBLAS_SHIM_H
// OpenBLAS's own cblas.h (found through pkg-config "openblas") also declares
// openblas_set_num_threads, openblas_get_num_threads and openblas_get_corename.
#include <cblas.h>

// CPU features that decide which OpenBLAS kernel may run: what CPUID reports
// *and* what the OS enables in XCR0 (read with XGETBV). Swift has no inline
// assembly, so this lives here.
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
typedef struct {
    int avx, avx2, fma, avx512f, avx512dq, avx512cd, avx512bw, avx512vl, avx512bf16;
    int osxsave;
    unsigned long long xcr0;
} wb_cpu_features;

static inline unsigned long long wb_xgetbv0(void) {
    unsigned int lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}

static inline wb_cpu_features wb_read_cpu_features(void) {
    wb_cpu_features f = {0};
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
    f.fma = (c >> 12) & 1;
    f.osxsave = (c >> 27) & 1;
    f.avx = (c >> 28) & 1;
    f.xcr0 = f.osxsave ? wb_xgetbv0() : 0;
    if (__get_cpuid_max(0, 0) >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        f.avx2 = (b >> 5) & 1;
        f.avx512f = (b >> 16) & 1;
        f.avx512dq = (b >> 17) & 1;
        f.avx512cd = (b >> 28) & 1;
        f.avx512bw = (b >> 30) & 1;
        f.avx512vl = (b >> 31) & 1;
        __cpuid_count(7, 1, a, b, c, d);
        f.avx512bf16 = (a >> 5) & 1;
    }
    return f;
}
#define WB_HAVE_CPUID 1
#else
#define WB_HAVE_CPUID 0
#endif
#endif
