// The CUDA kernels (ssim_grad.cuh: every family's GPU pass programs, printed) against the C++ kernels
// (ssim_grad.hpp) on the same inputs: every family (ssim, cs with per-plane weights, wang, the fused
// 3DGS loss), both schedules, every boundary rule, windows 5, 11, 15 and 7 x 3, float64 and float32.
// One JSON line per case with the relative differences of the value, the plane sums, d/dx and d/dy.
// Built by test/emit/cuda.test.ts: g++ on the CPU emulation of CUDA (test/cpp/cuda_shim.hpp) always,
// nvcc where it is (run where a GPU is). argv[1] == "small": the emulation's sizes (it runs every
// thread one after another).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "ssim_grad.cuh"

namespace {

// ---- the buffers of any program, by name: bound when the program's struct has the member ----

#define EVERY_BUFFER(X) X(x) X(y) X(tapsH) X(tapsW) X(weight) X(value) X(planeSums) X(g_mu_x) X(g_xx) X(g_xy) X(g_mu_y) X(g_yy) X(rows) X(smap) X(rowSums) X(l1Rows) X(l1Planes) X(gradX) X(gradY)
#define HAS_MEMBER(name) \
  template <typename K, typename = void> struct has_##name : std::false_type {}; \
  template <typename K> struct has_##name<K, std::void_t<decltype(std::declval<K&>().name)>> : std::true_type {};
EVERY_BUFFER(HAS_MEMBER)

/** Device buffers by name, zero-filled when first asked for; the same name is the same buffer (forward -> backward). */
struct Pool {
  std::map<std::string, std::pair<void*, size_t>> bufs;
  cudaError_t error = cudaSuccess;
  template <typename E>
  E* get(const char* name, long long count) {
    const size_t bytes = sizeof(E) * static_cast<size_t>(count > 0 ? count : 1);
    auto it = bufs.find(name);
    if (it != bufs.end()) {
      if (it->second.second < bytes) { std::fprintf(stderr, "%s: %zu bytes, asked for %zu\n", name, it->second.second, bytes); std::exit(5); }
      return static_cast<E*>(it->second.first);
    }
    void* p = nullptr;
    if (error == cudaSuccess) error = cudaMalloc(&p, bytes);
    if (error == cudaSuccess) error = cudaMemset(p, 0, bytes);
    bufs[name] = {p, bytes};
    return static_cast<E*>(p);
  }
  template <typename E>
  void upload(const char* name, const std::vector<E>& v) {
    if (error == cudaSuccess) error = cudaMemcpy(get<E>(name, static_cast<long long>(v.size())), v.data(), sizeof(E) * v.size(), cudaMemcpyHostToDevice);
  }
  template <typename E>
  std::vector<E> download(const char* name, size_t n) {
    std::vector<E> v(n);
    if (error == cudaSuccess) error = cudaMemcpy(v.data(), get<E>(name, static_cast<long long>(n)), sizeof(E) * n, cudaMemcpyDeviceToHost);
    return v;
  }
  ~Pool() {
    for (auto& b : bufs) cudaFree(b.second.first);
  }
};

template <typename K, typename S>
void bind(K& k, const S& sizes, Pool& pool) {
#define BIND(name) \
  if constexpr (has_##name<K>::value) k.name = pool.get<std::remove_cv_t<std::remove_pointer_t<decltype(k.name)>>>(#name, sizes.name);
  EVERY_BUFFER(BIND)
}

long planesN = 2, planesC = 3, height = 45, width = 70;

/** Max |a - b| over max |b| (or the difference itself where b is all zero). */
template <typename A, typename B>
double relErr(const std::vector<A>& a, const std::vector<B>& b) {
  double m = 0, e = 0;
  for (size_t i = 0; i < b.size(); i++) m = std::fmax(m, std::fabs(double(b[i])));
  for (size_t i = 0; i < b.size(); i++) e = std::fmax(e, std::fabs(double(a[i]) - double(b[i])));
  return m == 0 ? e : e / m;
}

/** Normalised Gaussian taps of k entries (odd k). */
std::vector<double> gaussian(long k, double sigma) {
  std::vector<double> t(k);
  double s = 0;
  for (long i = 0; i < k; i++) s += t[i] = std::exp(-double((i - k / 2) * (i - k / 2)) / (2 * sigma * sigma));
  for (auto& v : t) v /= s;
  return t;
}

enum class Family { ssim, cs, wang, gsLoss };
const char* const FAMILY_NAMES[] = {"ssim", "cs", "wang", "gs-loss"};
const char* const RULE_NAMES[] = {"same", "valid", "reflect", "mirror", "replicate"};

struct Case {
  Family family;
  ssim_grad::WangParams p;
  std::vector<double> weight;  // the GPU programs' weight per plane
  double lambda = 0.3;
  double valueShift = 0;  // what the GPU value exceeds the C++ one by (the 3DGS loss's lambda)
};

/** Forward then backward of a GPU program pair on the pool's buffers; the outputs. */
template <typename T, typename F, typename B, typename Set, typename FS, typename FL, typename BS, typename BL>
void runPrograms(const Case& c, const std::vector<T>& x, const std::vector<T>& y, F f, B b, Set set, FS fsizes, FL flaunch, BS bsizes, BL blaunch, const char* name,
                 const std::vector<T>& gx, const std::vector<T>& gy, double v, const std::vector<double>& planeSums) {
  Pool pool;
  set(f);
  set(b);
  const long n = static_cast<long>(x.size()), NC = planesN * planesC;
  bind(f, fsizes(f), pool);
  pool.upload("x", x);
  pool.upload("y", y);
  pool.upload("tapsH", std::vector<T>(c.p.tapsH.begin(), c.p.tapsH.end()));
  pool.upload("tapsW", std::vector<T>(c.p.tapsW.begin(), c.p.tapsW.end()));
  pool.upload("weight", std::vector<T>(c.weight.begin(), c.weight.end()));
  cudaError_t e = pool.error;
  if (e == cudaSuccess) e = flaunch(f);
  bind(b, bsizes(b), pool);
  if (e == cudaSuccess) e = pool.error;
  if (e == cudaSuccess) e = blaunch(b);
  if (e == cudaSuccess) e = cudaDeviceSynchronize();
  const std::vector<T> value = pool.download<T>("value", 1), sums = pool.download<T>("planeSums", NC);
  const std::vector<T> cgx = pool.download<T>("gradX", n), cgy = pool.download<T>("gradY", n);
  if (e == cudaSuccess) e = pool.error;
  double gmax = 0;
  for (auto g : gx) gmax = std::fmax(gmax, std::fabs(double(g)));
  std::printf("{\"case\":\"%s %s %s %ldx%ld %s\",\"cuda\":\"%s\",\"value\":%.3e,\"planeSums\":%.3e,\"gradX\":%.3e,\"gradY\":%.3e,\"gradMax\":%.3e}\n", FAMILY_NAMES[int(c.family)],
              RULE_NAMES[int(c.p.boundary)], name, long(c.p.tapsH.size()), long(c.p.tapsW.size()), sizeof(T) == 8 ? "f64" : "f32", cudaGetErrorString(e),
              std::fabs(double(value[0]) - c.valueShift - v) / std::fabs(v), relErr(sums, planeSums), relErr(cgx, gx), relErr(cgy, gy), gmax);
}

#define PROGRAM(fwd, Fwd, bwd, Bwd, schedule)                                                                          \
  runPrograms<T>(c, x, y, ssim_grad::cuda::Fwd<T, T>{}, ssim_grad::cuda::Bwd<T, T>{}, set,                             \
                 [](auto& k) { return ssim_grad::cuda::fwd##_sizes(k); }, [](auto& k) { return ssim_grad::cuda::fwd##_launch(k); }, \
                 [](auto& k) { return ssim_grad::cuda::bwd##_sizes(k); }, [](auto& k) { return ssim_grad::cuda::bwd##_launch(k); }, schedule, gx, gy, v, planeSums)

template <typename T>
void runCase(Case c) {
  ssim_grad::WangParams& p = c.p;
  const long n = p.N * p.C * p.H * p.W, NC = p.N * p.C;
  std::vector<T> x(n), y(n), gx(n), gy(n);
  unsigned s = 12345u + unsigned(p.tapsH.size()) * 7u + unsigned(p.boundary);
  auto rnd = [&] { s = s * 1664525u + 1013904223u; return double(s >> 8) / double(1u << 24); };
  for (long i = 0; i < n; i++) {
    x[i] = T(rnd());
    y[i] = i % 11 == 0 ? x[i] : T(std::fmin(1.0, std::fmax(0.0, double(x[i]) + 0.2 * (rnd() - 0.5))));
  }
  std::vector<double> planeSums(NC);
  p.planeSums = planeSums.data();
  double v = 0;
  switch (c.family) {
    case Family::ssim: v = ssim_grad::ssim_value_and_grad<T>(x.data(), y.data(), p, gx.data(), gy.data()); break;
    case Family::cs: v = ssim_grad::cs_value_and_grad<T>(x.data(), y.data(), p, gx.data(), gy.data()); break;
    case Family::wang: v = ssim_grad::wang_value_and_grad<T>(x.data(), y.data(), p, gx.data(), gy.data()); break;
    case Family::gsLoss: v = ssim_grad::gsLoss_value_and_grad<T>(x.data(), y.data(), p, gx.data(), gy.data()); break;
  }
  p.planeSums = nullptr;
  switch (c.family) {
    case Family::ssim: {
      auto set = [&](auto& k) { ssim_grad::cuda::set_scalars(k, static_cast<const ssim_grad::Params&>(p)); };
      PROGRAM(ssim_forward_store, SsimForwardStoreParams, ssim_backward_store, SsimBackwardStoreParams, "store");
      PROGRAM(ssim_forward_recompute, SsimForwardRecomputeParams, ssim_backward_recompute, SsimBackwardRecomputeParams, "recompute");
      break;
    }
    case Family::cs: {
      auto set = [&](auto& k) { ssim_grad::cuda::set_scalars(k, static_cast<const ssim_grad::Params&>(p)); };
      PROGRAM(cs_forward_store, CsForwardStoreParams, cs_backward_store, CsBackwardStoreParams, "store");
      PROGRAM(cs_forward_recompute, CsForwardRecomputeParams, cs_backward_recompute, CsBackwardRecomputeParams, "recompute");
      break;
    }
    case Family::wang: {
      auto set = [&](auto& k) { ssim_grad::cuda::set_scalars(k, p); };
      PROGRAM(wang_forward_store, WangForwardStoreParams, wang_backward_store, WangBackwardStoreParams, "store");
      PROGRAM(wang_forward_recompute, WangForwardRecomputeParams, wang_backward_recompute, WangBackwardRecomputeParams, "recompute");
      break;
    }
    case Family::gsLoss: {
      auto set = [&](auto& k) { ssim_grad::cuda::set_scalars(k, static_cast<const ssim_grad::Params&>(p), c.lambda); };
      PROGRAM(gs_loss_forward_store, GsLossForwardStoreParams, gs_loss_backward_store, GsLossBackwardStoreParams, "store");
      PROGRAM(gs_loss_forward_recompute, GsLossForwardRecomputeParams, gs_loss_backward_recompute, GsLossBackwardRecomputeParams, "recompute");
      break;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "small") { planesN = 1; planesC = 2; height = 19; width = 22; }
  // windows: 5 (radius 2), 11 (the C++ kernels' unrolled size), 15, and 7 x 3 (not square)
  const std::vector<std::pair<std::vector<double>, std::vector<double>>> windows = {
      {gaussian(5, 1.0), gaussian(5, 1.0)}, {gaussian(11, 1.5), gaussian(11, 1.5)}, {gaussian(15, 2.5), gaussian(15, 2.5)}, {gaussian(7, 1.2), std::vector<double>(3, 1.0 / 3)}};
  for (int f64 = 1; f64 >= 0; f64--)
    for (int family = 0; family < 4; family++)
      for (int rule = 0; rule < 5; rule++)
        for (size_t w = 0; w < windows.size(); w++) {
          Case c;
          c.family = Family(family);
          ssim_grad::WangParams& p = c.p;
          p.N = planesN; p.C = planesC; p.H = height; p.W = width;
          p.tapsH = windows[w].first;
          p.tapsW = windows[w].second;
          p.C1 = 1e-4; p.C2 = 9e-4;
          p.boundary = ssim_grad::Boundary(rule);
          p.crop = long((rule + w) % 3);
          p.c_n = w == 2 ? 49.0 / 48 : 1;
          const ssim_grad::MapSize m = ssim_grad::map_size(p);
          const long NC = p.N * p.C;
          const double count = double(NC) * double(m.MH - 2 * p.crop) * double(m.MW - 2 * p.crop);
          p.omega = 1.0 / count;
          c.weight.assign(NC, p.omega);
          std::vector<double> planeOmega;
          if (c.family == Family::cs) {
            for (long q = 0; q < NC; q++) planeOmega.push_back((0.5 + 0.25 * double(q)) / count);
            p.planeOmega = planeOmega.data();
            c.weight = planeOmega;
          }
          if (c.family == Family::wang) { p.alpha = 1.3; p.beta = 0.7; p.gamma = 2.0; }
          if (c.family == Family::gsLoss) {
            // the C++ kernels' weights (ssim_grad.hpp's gsLoss): omega = -lambda / count, pixelOmega = (1 - lambda) / (N C H W)
            p.omega = -c.lambda / count;
            p.pixelOmega = (1 - c.lambda) / double(NC * p.H * p.W);
            c.valueShift = c.lambda;
          }
          if (f64) runCase<double>(c); else runCase<float>(c);
        }
  return 0;
}
