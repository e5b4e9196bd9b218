#ifndef WORKBENCH_CLAPACKE_SHIM_H
#define WORKBENCH_CLAPACKE_SHIM_H
#include <lapacke.h>
#endif
