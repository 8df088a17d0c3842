// The generated C++ kernels (src/generated/cpp/ssim_grad.hpp) on cases the test writes, their results
// printed as the 64-bit patterns of the doubles (float results widened exactly), so that
// test/kernel/print-cpp.test.ts can compare them with the TypeScript kernels bit for bit. No libtorch.
// Usage: bits CASES, CASES a text file of cases, each:
//   family storage N C H W boundary crop C1 C2 c_n omega alpha beta gamma kh tapsH... kw tapsW... x... y...
// family 0 ssim, 1 cs, 2 wang; storage 0 double, 1 float (Acc = double); boundary in enum order; numbers
// in decimal with 17 digits. One line per case: value valueOnly gradX... gradY... as hex bit patterns.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <vector>

#include "ssim_grad.hpp"

static void bits(double v) {
  std::uint64_t u;
  std::memcpy(&u, &v, sizeof u);
  std::printf(" %016llx", static_cast<unsigned long long>(u));
}

template <typename T>
static void run(int family, const ssim_grad::WangParams& p, const std::vector<double>& x64, const std::vector<double>& y64) {
  const std::vector<T> x(x64.begin(), x64.end()), y(y64.begin(), y64.end());
  std::vector<T> gx(x.size()), gy(x.size());
  double v = 0, vOnly = 0;
  if (family == 0) {
    v = ssim_grad::ssim_value_and_grad<T, double>(x.data(), y.data(), p, gx.data(), gy.data());
    vOnly = ssim_grad::ssim_value<T, double>(x.data(), y.data(), p);
  } else if (family == 1) {
    v = ssim_grad::cs_value_and_grad<T, double>(x.data(), y.data(), p, gx.data(), gy.data());
    vOnly = ssim_grad::cs_value<T, double>(x.data(), y.data(), p);
  } else {
    v = ssim_grad::wang_value_and_grad<T, double>(x.data(), y.data(), p, gx.data(), gy.data());
    vOnly = ssim_grad::wang_value<T, double>(x.data(), y.data(), p);
  }
  std::printf("{\"bits\":\"");
  bits(v);
  bits(vOnly);
  for (T g : gx) bits(double(g));
  for (T g : gy) bits(double(g));
  std::printf("\"}\n");
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: bits CASES\n");
    return 2;
  }
  std::ifstream f(argv[1]);
  int family = 0, storage = 0, b = 0;
  while (f >> family >> storage) {
    ssim_grad::WangParams p;
    long kh = 0, kw = 0;
    f >> p.N >> p.C >> p.H >> p.W >> b >> p.crop >> p.C1 >> p.C2 >> p.c_n >> p.omega >> p.alpha >> p.beta >> p.gamma >> kh;
    p.boundary = static_cast<ssim_grad::Boundary>(b);
    p.tapsH.resize(kh);
    for (auto& t : p.tapsH) f >> t;
    f >> kw;
    p.tapsW.resize(kw);
    for (auto& t : p.tapsW) f >> t;
    std::vector<double> x(p.N * p.C * p.H * p.W), y(x.size());
    for (auto& v : x) f >> v;
    for (auto& v : y) f >> v;
    if (!f) {
      std::fprintf(stderr, "cannot parse %s\n", argv[1]);
      return 2;
    }
    if (storage == 0) run<double>(family, p, x, y);
    else run<float>(family, p, x, y);
  }
  return 0;
}
