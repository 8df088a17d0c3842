// The generated C++ JVP and HVP kernels (ssim_jvp, ssim_hvp in src/generated/cpp/ssim_grad.hpp) on cases
// the test writes, their results printed as the 64-bit patterns of the doubles (float results widened
// exactly), so that test/emit/cpp-derivatives.test.ts can compare them with the TypeScript kernels
// (src/generated/derivatives.ts) bit for bit. No libtorch.
// Usage: derivatives CASES, CASES a text file of cases, each:
//   storage N C H W boundary crop C1 C2 c_n omega kh tapsH... kw tapsW... x... y... dx... dy...
// storage 0 double, 1 float (Acc = double); boundary in enum order. One line per case, the bits of:
//   jvp: value jvp map... mapTangent...; hvp both: value gradX... hvpX... gradY... hvpY...;
//   hvp x: value gradX... hvpX...; hvp y: value gradY... hvpY...; jvp with dy null: jvp
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
static void all(const std::vector<T>& v) {
  for (T u : v) bits(double(u));
}

template <typename T>
static void run(const ssim_grad::Params& p, const std::vector<double>& x64, const std::vector<double>& y64, const std::vector<double>& dx64, const std::vector<double>& dy64) {
  using ssim_grad::Wrt;
  const std::vector<T> x(x64.begin(), x64.end()), y(y64.begin(), y64.end()), dx(dx64.begin(), dx64.end()), dy(dy64.begin(), dy64.end());
  const ssim_grad::MapSize m = ssim_grad::map_size(p);
  const size_t n = x.size(), nm = static_cast<size_t>(p.N * p.C * m.MH * m.MW);
  std::vector<T> map(nm), mapTangent(nm), gx(n), hx(n), gy(n), hy(n);
  std::printf("{\"bits\":\"");
  const ssim_grad::ValueJvp j = ssim_grad::ssim_jvp<T, double>(x.data(), y.data(), dx.data(), dy.data(), p, map.data(), mapTangent.data());
  bits(j.value);
  bits(j.jvp);
  all(map);
  all(mapTangent);
  bits(ssim_grad::ssim_hvp<T, double>(x.data(), y.data(), dx.data(), dy.data(), p, Wrt::both, gx.data(), hx.data(), gy.data(), hy.data()));
  all(gx);
  all(hx);
  all(gy);
  all(hy);
  bits(ssim_grad::ssim_hvp<T, double>(x.data(), y.data(), dx.data(), dy.data(), p, Wrt::x, gx.data(), hx.data()));
  all(gx);
  all(hx);
  bits(ssim_grad::ssim_hvp<T, double>(x.data(), y.data(), dx.data(), dy.data(), p, Wrt::y, nullptr, nullptr, gy.data(), hy.data()));
  all(gy);
  all(hy);
  bits(ssim_grad::ssim_jvp<T, double>(x.data(), y.data(), dx.data(), nullptr, p).jvp);
  std::printf("\"}\n");
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: derivatives CASES\n");
    return 2;
  }
  std::ifstream f(argv[1]);
  int storage = 0, b = 0;
  while (f >> storage) {
    ssim_grad::Params p;
    long kh = 0, kw = 0;
    f >> p.N >> p.C >> p.H >> p.W >> b >> p.crop >> p.C1 >> p.C2 >> p.c_n >> p.omega >> kh;
    p.boundary = static_cast<ssim_grad::Boundary>(b);
    p.tapsH.resize(kh);
    for (auto& t : p.tapsH) f >> t;
    f >> kw;
    p.tapsW.resize(kw);
    for (auto& t : p.tapsW) f >> t;
    std::vector<double> x(p.N * p.C * p.H * p.W), y(x.size()), dx(x.size()), dy(x.size());
    for (auto* v : {&x, &y, &dx, &dy})
      for (auto& u : *v) f >> u;
    if (!f) {
      std::fprintf(stderr, "cannot parse %s\n", argv[1]);
      return 2;
    }
    if (storage == 0) run<double>(p, x, y, dx, dy);
    else run<float>(p, x, y, dx, dy);
  }
  return 0;
}
