// The `gpu` label: runs where a CUDA device exists, and is skipped (not failed) elsewhere.
// The driver is opened with dlopen so the CPU build needs no CUDA at all.
#include <dlfcn.h>

#include <gtest/gtest.h>

namespace {

int CudaDeviceCount() {
  void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) return 0;
  using InitFn = int (*)(unsigned);
  using CountFn = int (*)(int*);
  auto init = reinterpret_cast<InitFn>(dlsym(lib, "cuInit"));
  auto count = reinterpret_cast<CountFn>(dlsym(lib, "cuDeviceGetCount"));
  int n = 0;
  if (!init || !count || init(0) != 0 || count(&n) != 0) n = 0;
  dlclose(lib);
  return n;
}

TEST(Gpu, DriverSeesADevice) {
  int n = CudaDeviceCount();
  if (n == 0) GTEST_SKIP() << "no CUDA device on this machine";
  EXPECT_GE(n, 1);
}

}  // namespace
