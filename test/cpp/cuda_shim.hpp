// A CPU emulation of the few CUDA features the generated kernels (ssim_grad.cuh) use, so that the
// tests run their index logic (tiles, halos, the padding folded back) on a machine without a GPU:
// every block runs as BX x BY std::threads meeting at a barrier for __syncthreads; blocks run one
// after another, so `__shared__` can be a static local. Included with -DSSIM_GRAD_CUDA_SHIM.
#pragma once

#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#define __global__
#define __device__
#define __forceinline__ inline
#define __restrict__
#define __constant__
#define __shared__ static

struct dim3 {
  unsigned x, y, z;
  dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {}
};
inline thread_local dim3 threadIdx, blockIdx;

using cudaError_t = int;
constexpr cudaError_t cudaSuccess = 0;
using cudaStream_t = void*;
enum cudaMemcpyKind { cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost };

template <typename S>
cudaError_t cudaMemcpyToSymbolAsync(S& symbol, const void* src, size_t n, size_t offset, cudaMemcpyKind, cudaStream_t) {
  std::memcpy(reinterpret_cast<char*>(&symbol) + offset, src, n);
  return cudaSuccess;
}
inline cudaError_t cudaGetLastError() { return cudaSuccess; }
inline cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }
inline const char* cudaGetErrorString(cudaError_t) { return "no error"; }
template <typename T>
cudaError_t cudaMalloc(T** p, size_t n) {
  *p = static_cast<T*>(std::malloc(n));
  return cudaSuccess;
}
inline cudaError_t cudaMemcpy(void* dst, const void* src, size_t n, cudaMemcpyKind) {
  std::memcpy(dst, src, n);
  return cudaSuccess;
}
inline cudaError_t cudaFree(void* p) {
  std::free(p);
  return cudaSuccess;
}

/** The threads of one block meet here. */
struct ShimBarrier {
  std::mutex m;
  std::condition_variable cv;
  unsigned n, waiting = 0;
  unsigned long generation = 0;
  explicit ShimBarrier(unsigned count) : n(count) {}
  void wait() {
    std::unique_lock<std::mutex> lock(m);
    const unsigned long g = generation;
    if (++waiting == n) {
      waiting = 0;
      generation++;
      cv.notify_all();
    } else {
      cv.wait(lock, [&] { return generation != g; });
    }
  }
};
inline ShimBarrier* shimBarrier = nullptr;
inline void __syncthreads() { shimBarrier->wait(); }

inline void shimLaunch(dim3 grid, dim3 block, const std::function<void()>& body) {
  for (unsigned z = 0; z < grid.z; z++)
    for (unsigned y = 0; y < grid.y; y++)
      for (unsigned x = 0; x < grid.x; x++) {
        ShimBarrier barrier(block.x * block.y * block.z);
        shimBarrier = &barrier;
        std::vector<std::thread> threads;
        for (unsigned tz = 0; tz < block.z; tz++)
          for (unsigned ty = 0; ty < block.y; ty++)
            for (unsigned tx = 0; tx < block.x; tx++)
              threads.emplace_back([=, &body] {
                threadIdx = dim3(tx, ty, tz);
                blockIdx = dim3(x, y, z);
                body();
              });
        for (auto& t : threads) t.join();
      }
}

#define SSIM_GRAD_LAUNCH(kernel, grid, block, stream, ...) shimLaunch(grid, block, [&] { kernel(__VA_ARGS__); })
