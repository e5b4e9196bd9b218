#ifndef WORKBENCH_CHDF5_SHIM_H
#define WORKBENCH_CHDF5_SHIM_H
#include <hdf5.h>
// HDF5's H5T_NATIVE_*, H5F_ACC_*, H5P_* are macros that call H5open(): Swift
// cannot import them, so they are exposed here as static inline functions.
static inline hid_t wb_h5t_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t wb_h5t_native_double(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t wb_h5t_native_int32(void) { return H5T_NATIVE_INT32; }
static inline hid_t wb_h5t_native_int64(void) { return H5T_NATIVE_INT64; }
static inline hid_t wb_h5t_native_uint8(void) { return H5T_NATIVE_UINT8; }
static inline hid_t wb_h5t_native_uint16(void) { return H5T_NATIVE_UINT16; }
static inline hid_t wb_h5t_c_s1(void) { return H5T_C_S1; }
static inline hid_t wb_h5p_file_access(void) { return H5P_FILE_ACCESS; }
static inline hid_t wb_h5p_file_create(void) { return H5P_FILE_CREATE; }
static inline hid_t wb_h5p_dataset_create(void) { return H5P_DATASET_CREATE; }
static inline hid_t wb_h5p_link_create(void) { return H5P_LINK_CREATE; }
static inline hid_t wb_h5p_default(void) { return H5P_DEFAULT; }
static inline hid_t wb_h5s_all(void) { return H5S_ALL; }
static inline unsigned wb_h5f_acc_trunc(void) { return H5F_ACC_TRUNC; }
static inline unsigned wb_h5f_acc_excl(void) { return H5F_ACC_EXCL; }
static inline unsigned wb_h5f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline unsigned wb_h5f_acc_rdwr(void) { return H5F_ACC_RDWR; }
// Further object-like macros the store needs (size_t / hid_t constants).
static inline size_t wb_h5t_variable(void) { return H5T_VARIABLE; }
static inline hid_t wb_h5e_default(void) { return H5E_DEFAULT; }
static inline hid_t wb_h5p_attribute_create(void) { return H5P_ATTRIBUTE_CREATE; }
static inline H5Z_filter_t wb_h5z_filter_deflate(void) { return H5Z_FILTER_DEFLATE; }
static inline H5Z_filter_t wb_h5z_filter_shuffle(void) { return H5Z_FILTER_SHUFFLE; }
#endif
