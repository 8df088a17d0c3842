// The generated CUDA kernels (ssim_grad.cuh) against the generated C++ kernels (ssim_grad.hpp) on
// the same inputs, every boundary rule, float64 and float32: one JSON line per case with the
// relative differences of the value and of d/dx, d/dy. Built by test/emit/cuda.test.ts with nvcc;
// run only where a GPU is present.
#include <cstdio>
#include <string>
#include <cmath>
#include <vector>

#include "ssim_grad.cuh"
#include "ssim_grad.hpp"

/** Planes of the test images: 2 x 3, or 1 x 1 with argv[1] == "small" (the CPU emulation runs a thread per pixel). */
static long planesN = 2, planesC = 3;

template <typename T>
static void runCase(const char* name, ssim_grad::Boundary b, const std::vector<double>& taps, long crop, double cn) {
  ssim_grad::Params p;
  p.N = planesN; p.C = planesC; p.H = 45; p.W = 70;
  p.tapsH = p.tapsW = taps;
  p.C1 = 1e-4; p.C2 = 9e-4; p.c_n = cn; p.crop = crop; p.boundary = b;
  const ssim_grad::MapSize plan = ssim_grad::map_size(p);
  p.omega = 1.0 / (double(p.N * p.C) * double(plan.MH - 2 * crop) * double(plan.MW - 2 * crop));
  const long n = p.N * p.C * p.H * p.W, nm = p.N * p.C * plan.MH * plan.MW;
  std::vector<T> x(n), y(n), gx(n), gy(n), cgx(n), cgy(n), smap(nm);
  unsigned s = 12345;
  auto rnd = [&] { s = s * 1664525u + 1013904223u; return double(s >> 8) / double(1u << 24); };
  for (long i = 0; i < n; i++) { x[i] = T(rnd()); y[i] = T(std::fmin(1.0, std::fmax(0.0, double(x[i]) + 0.2 * (rnd() - 0.5)))); }
  const double v = ssim_grad::ssim_value_and_grad<T>(x.data(), y.data(), p, gx.data(), gy.data());
  T *dx, *dy, *dgx, *dgy, *ds, *dg;
  cudaMalloc(&dx, n * sizeof(T)); cudaMalloc(&dy, n * sizeof(T)); cudaMalloc(&dgx, n * sizeof(T)); cudaMalloc(&dgy, n * sizeof(T));
  cudaMalloc(&ds, nm * sizeof(T)); cudaMalloc(&dg, 5 * nm * sizeof(T));
  cudaMemcpy(dx, x.data(), n * sizeof(T), cudaMemcpyHostToDevice);
  cudaMemcpy(dy, y.data(), n * sizeof(T), cudaMemcpyHostToDevice);
  cudaError_t e = ssim_grad::cuda::ssim_value_and_grad<T>(dx, dy, p, ds, dg, dgx, dgy);
  if (e == cudaSuccess) e = cudaDeviceSynchronize();
  cudaMemcpy(cgx.data(), dgx, n * sizeof(T), cudaMemcpyDeviceToHost);
  cudaMemcpy(cgy.data(), dgy, n * sizeof(T), cudaMemcpyDeviceToHost);
  cudaMemcpy(smap.data(), ds, nm * sizeof(T), cudaMemcpyDeviceToHost);
  double cv = 0, mx = 0, ex = 0, ey = 0;
  for (long i = 0; i < nm; i++) cv += double(smap[i]);
  cv *= p.omega;
  for (long i = 0; i < n; i++) {
    mx = std::fmax(mx, std::fabs(double(gx[i])));
    ex = std::fmax(ex, std::fabs(double(cgx[i]) - double(gx[i])));
    ey = std::fmax(ey, std::fabs(double(cgy[i]) - double(gy[i])));
  }
  std::printf("{\"case\":\"%s-%s\",\"cuda\":\"%s\",\"value\":%.3e,\"gradX\":%.3e,\"gradY\":%.3e}\n", name, sizeof(T) == 8 ? "f64" : "f32", cudaGetErrorString(e),
              std::fabs(cv - v) / std::fabs(v), ex / mx, ey / mx);
  cudaFree(dx); cudaFree(dy); cudaFree(dgx); cudaFree(dgy); cudaFree(ds); cudaFree(dg);
}

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "small") planesN = planesC = 1;
  std::vector<double> g11(11), box7(7, 1.0 / 7);
  double sum = 0;
  for (int i = 0; i < 11; i++) sum += g11[i] = std::exp(-double((i - 5) * (i - 5)) / 4.5);
  for (auto& v : g11) v /= sum;
  using B = ssim_grad::Boundary;
  for (int f64 = 1; f64 >= 0; f64--) {
    auto run = [&](const char* name, B b, const std::vector<double>& t, long crop, double cn) {
      if (f64) runCase<double>(name, b, t, crop, cn); else runCase<float>(name, b, t, crop, cn);
    };
    run("same", B::same, g11, 0, 1);
    run("valid", B::valid, g11, 0, 1);
    run("reflect", B::reflect, box7, 3, 49.0 / 48);
    run("mirror", B::mirror, g11, 2, 1);
    run("replicate", B::replicate, g11, 0, 1);
  }
  return 0;
}
