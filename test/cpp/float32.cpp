// The generated C++ kernels in real float32 (T = Acc = float, what g++ compiles to IEEE single
// precision; the test compiles it with -ffp-contract=off, so no FMA), run on inputs and parameters the test
// writes: test/emit/float32-emulation.test.ts compares them with the TypeScript kernel that
// emulates float32 with Math.fround (the rounding floor's kernel). No libtorch, so it compiles fast.
// Usage: float32 PARAMS X Y GRADX GRADY, PARAMS a text file:
//   N C H W boundary crop C1 C2 c_n omega kh tapsH... kw tapsW...   (boundary 0..4 in enum order)
// X and Y raw little-endian float32 (N*C*H*W each); GRADX, GRADY written the same way.
#include <cstdio>
#include <fstream>
#include <vector>

#include "ssim_grad.hpp"

static std::vector<float> readRaw(const char* path, size_t n) {
  std::vector<float> v(n);
  std::ifstream f(path, std::ios::binary);
  f.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(n * sizeof(float)));
  if (!f) throw std::runtime_error(std::string("cannot read ") + path);
  return v;
}

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: float32 PARAMS X Y GRADX GRADY\n");
    return 2;
  }
  std::ifstream pf(argv[1]);
  ssim_grad::Params p;
  int b = 0;
  long kh = 0, kw = 0;
  pf >> p.N >> p.C >> p.H >> p.W >> b >> p.crop >> p.C1 >> p.C2 >> p.c_n >> p.omega >> kh;
  p.tapsH.resize(kh);
  for (auto& t : p.tapsH) pf >> t;
  pf >> kw;
  p.tapsW.resize(kw);
  for (auto& t : p.tapsW) pf >> t;
  if (!pf) {
    std::fprintf(stderr, "cannot parse %s\n", argv[1]);
    return 2;
  }
  p.boundary = static_cast<ssim_grad::Boundary>(b);
  const size_t n = static_cast<size_t>(p.N * p.C * p.H * p.W);
  const auto x = readRaw(argv[2], n), y = readRaw(argv[3], n);
  std::vector<float> gx(n), gy(n);
  const double v = ssim_grad::ssim_value_and_grad<float>(x.data(), y.data(), p, gx.data(), gy.data());
  const double vOnly = ssim_grad::ssim_value<float>(x.data(), y.data(), p);
  std::ofstream(argv[4], std::ios::binary).write(reinterpret_cast<const char*>(gx.data()), static_cast<std::streamsize>(n * sizeof(float)));
  std::ofstream(argv[5], std::ios::binary).write(reinterpret_cast<const char*>(gy.data()), static_cast<std::streamsize>(n * sizeof(float)));
  std::printf("{\"value\":%.17g,\"valueOnly\":%.17g}\n", v, vOnly);
  return 0;
}
