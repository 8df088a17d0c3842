// The generated C++ kernels (src/generated/cpp) of every family (SSIM, MS-SSIM's cs, Wang's form)
// against libtorch autograd of their formulas, written here independently of the header
// (torch_reference.hpp: conv2d with the outer product of the taps, the boundary rule as libtorch
// padding, or flips for scipy's half-sample 'reflect'). Prints one JSON line per case with the
// relative errors; test/emit/cpp.test.ts judges them.
#include <torch/torch.h>

#include <cstdio>
#include <string>
#include <vector>

#include "ssim_grad.hpp"
#include "ssim_torch.hpp"
#include "torch_reference.hpp"

using ssim_grad::Boundary;

struct Case {
  std::string name;
  Boundary b;
  std::vector<double> taps;
  double C1, C2, cn;
  long crop;
  std::vector<long> shape;
};

/** Wang's exponents in the tests: none of them 1, so each term's power is exercised. */
const Exponents WANG{1.5, 0.75, 2};

template <typename T>
double valueAndGrad(Map m, const T* x, const T* y, const ssim_grad::Params& p, T* gx, T* gy) {
  if (m == Map::cs) return ssim_grad::cs_value_and_grad<T>(x, y, p, gx, gy);
  if (m == Map::wang) {
    ssim_grad::WangParams w;
    static_cast<ssim_grad::Params&>(w) = p;
    w.alpha = WANG.alpha; w.beta = WANG.beta; w.gamma = WANG.gamma;
    return ssim_grad::wang_value_and_grad<T>(x, y, w, gx, gy);
  }
  return ssim_grad::ssim_value_and_grad<T>(x, y, p, gx, gy);
}

template <typename T>
double valueOnly(Map m, const T* x, const T* y, const ssim_grad::Params& p) {
  if (m == Map::cs) return ssim_grad::cs_value<T>(x, y, p);
  if (m == Map::wang) {
    ssim_grad::WangParams w;
    static_cast<ssim_grad::Params&>(w) = p;
    w.alpha = WANG.alpha; w.beta = WANG.beta; w.gamma = WANG.gamma;
    return ssim_grad::wang_value<T>(x, y, w);
  }
  return ssim_grad::ssim_value<T>(x, y, p);
}

int main() {
  torch::manual_seed(12);
  const double C1 = 1e-4, C2 = 9e-4;
  const auto g11 = gaussian(11, 1.5);
  const std::vector<double> box7(7, 1.0 / 7);
  std::vector<Case> cases = {
      {"same-gauss11", Boundary::same, g11, C1, C2, 1, 0, {2, 3, 32, 29}},
      {"valid-gauss11", Boundary::valid, g11, C1, C2, 1, 0, {1, 3, 30, 27}},
      {"reflect-box7-skimage", Boundary::reflect, box7, C1, C2, 49.0 / 48, 3, {1, 3, 25, 31}},
      {"mirror-gauss11", Boundary::mirror, g11, C1, C2, 1, 2, {1, 2, 28, 33}},
      {"replicate-gauss11", Boundary::replicate, g11, C1, C2, 1, 0, {1, 2, 27, 30}},
      // a window no kernel is unrolled for: the generic kernels
      {"same-gauss9", Boundary::same, gaussian(9, 1.2), C1, C2, 1, 0, {1, 2, 21, 24}},
  };
  const std::vector<std::pair<Map, std::string>> maps = {{Map::ssim, ""}, {Map::cs, "cs-"}, {Map::wang, "wang-"}};
  for (const auto& [m, prefix] : maps)
  for (const auto& c : cases) {
    auto x64 = torch::rand(c.shape, torch::kFloat64);
    auto y64 = (x64 + 0.2 * torch::randn(c.shape, torch::kFloat64)).clamp(0, 1);
    ssim_grad::Params p;
    p.N = c.shape[0]; p.C = c.shape[1]; p.H = c.shape[2]; p.W = c.shape[3];
    p.tapsH = p.tapsW = c.taps;
    p.C1 = c.C1; p.C2 = c.C2; p.c_n = c.cn; p.crop = c.crop; p.boundary = c.b;
    const long MH = c.b == Boundary::valid ? p.H - long(c.taps.size()) + 1 : p.H, MW = c.b == Boundary::valid ? p.W - long(c.taps.size()) + 1 : p.W;
    p.omega = 1.0 / (double(p.N * p.C) * double(MH - 2 * c.crop) * double(MW - 2 * c.crop));
    // libtorch autograd, float64 and float32
    auto ref = [&](torch::ScalarType st) {
      auto x = x64.to(st).detach().requires_grad_(true), y = y64.to(st).detach().requires_grad_(true);
      auto l = mapTorch(m, x, y, c.taps, c.b, c.C1, c.C2, c.cn, c.crop, WANG);
      l.backward();
      return std::vector<torch::Tensor>{l.detach(), x.grad(), y.grad()};
    };
    auto r64 = ref(torch::kFloat64), r32 = ref(torch::kFloat32);
    // the generated kernels, float64 and float32
    auto gx64 = torch::empty_like(x64), gy64 = torch::empty_like(x64);
    const double v64 = valueAndGrad<double>(m, x64.data_ptr<double>(), y64.data_ptr<double>(), p, gx64.data_ptr<double>(), gy64.data_ptr<double>());
    const double vOnly = valueOnly<double>(m, x64.data_ptr<double>(), y64.data_ptr<double>(), p);
    auto gxOnly = torch::empty_like(x64);
    valueAndGrad<double>(m, x64.data_ptr<double>(), y64.data_ptr<double>(), p, gxOnly.data_ptr<double>(), nullptr);
    auto x32 = x64.to(torch::kFloat32), y32 = y64.to(torch::kFloat32);
    auto gx32 = torch::empty_like(x32), gy32 = torch::empty_like(x32);
    const double v32 = valueAndGrad<float>(m, x32.data_ptr<float>(), y32.data_ptr<float>(), p, gx32.data_ptr<float>(), gy32.data_ptr<float>());
    const double t64 = r64[0].item<double>();
    std::printf(
        "{\"case\":\"%s%s\",\"ssim\":%.17g,\"value64\":%.3e,\"valueOnly64\":%.3e,\"gradX64\":%.3e,\"gradY64\":%.3e,\"gradXOnly64\":%.3e,"
        "\"value32\":%.3e,\"gradX32\":%.3e,\"gradY32\":%.3e,\"torchValue32\":%.3e,\"torchGradX32\":%.3e,\"torchGradY32\":%.3e}\n",
        prefix.c_str(), c.name.c_str(), t64, std::abs(v64 - t64) / std::abs(t64), std::abs(vOnly - t64) / std::abs(t64), relErr(gx64, r64[1]), relErr(gy64, r64[2]),
        relErr(gxOnly, r64[1]), std::abs(v32 - t64) / std::abs(t64), relErr(gx32, r64[1]), relErr(gy32, r64[2]),
        std::abs(r32[0].item<double>() - t64) / std::abs(t64), relErr(r32[1], r64[1]), relErr(r32[2], r64[2]));
  }
  // the other families' bindings (pytorch-ssim's options): CsFunction and WangFunction inside a larger graph, float64
  for (const auto& [m, name] : std::vector<std::pair<Map, std::string>>{{Map::cs, "cs"}, {Map::wang, "wang"}}) {
    auto x0 = torch::rand({1, 3, 24, 26}, torch::kFloat64), y0 = (x0 + 0.2 * torch::randn({1, 3, 24, 26}, torch::kFloat64)).clamp(0, 1);
    auto run = [&](bool ours) {
      auto x = x0.detach().requires_grad_(true), y = y0.detach().requires_grad_(true);
      const ssim_grad::WangOptions o{WANG.alpha, WANG.beta, WANG.gamma};
      auto s = ours ? (m == Map::cs ? ssim_grad::CsFunction::apply(x, y) : ssim_grad::wang(x, y, o)) : mapTorch(m, x, y, gaussian(11, 1.5), Boundary::same, C1, C2, 1, 0, WANG);
      auto loss = 3.0 * (1 - s) + (x * x).sum() * 0.01;
      loss.backward();
      return std::vector<torch::Tensor>{s.detach(), x.grad(), y.grad()};
    };
    auto ours = run(true), truth = run(false);
    std::printf("{\"case\":\"binding-%s\",\"value\":%.3e,\"gradX\":%.3e,\"gradY\":%.3e}\n", name.c_str(),
                std::abs(ours[0].item<double>() - truth[0].item<double>()) / truth[0].item<double>(), relErr(ours[1], truth[1]), relErr(ours[2], truth[2]));
  }
  // the binding (pytorch-ssim's options): SsimFunction inside a larger autograd graph, float64 and float32
  for (auto st : {torch::kFloat64, torch::kFloat32}) {
    auto x0 = torch::rand({1, 3, 24, 26}, torch::kFloat64), y0 = torch::rand({1, 3, 24, 26}, torch::kFloat64);
    auto run = [&](bool ours, torch::ScalarType t) {
      auto x = x0.to(t).detach().requires_grad_(true), y = y0.to(t).detach().requires_grad_(true);
      auto s = ours ? ssim_grad::SsimFunction::apply(x, y) : ssimTorch(x, y, gaussian(11, 1.5), Boundary::same, C1, C2, 1, 0);
      auto loss = 3.0 * (1 - s) + (x * x).sum() * 0.01;  // the incoming gradient is -3, plus another path into x
      loss.backward();
      return std::vector<torch::Tensor>{s.detach(), x.grad(), y.grad()};
    };
    auto ours = run(true, st), truth = run(false, torch::kFloat64), torch32 = run(false, torch::kFloat32);
    std::printf("{\"case\":\"binding-%s\",\"value\":%.3e,\"gradX\":%.3e,\"gradY\":%.3e,\"dtype\":\"%s\",\"torchGradX32\":%.3e}\n",
                st == torch::kFloat64 ? "f64" : "f32", std::abs(ours[0].item<double>() - truth[0].item<double>()) / truth[0].item<double>(),
                relErr(ours[1], truth[1]), relErr(ours[2], truth[2]), std::string(c10::toString(ours[1].scalar_type())).c_str(),
                relErr(torch32[1], truth[1]));
  }
  // no gradient wanted: value only, no grad_fn
  auto a = torch::rand({1, 1, 16, 16}, torch::kFloat64), b2 = torch::rand({1, 1, 16, 16}, torch::kFloat64);
  auto s = ssim_grad::ssim(a, b2);
  std::printf("{\"case\":\"no-grad\",\"requiresGrad\":%s,\"value\":%.3e}\n", s.requires_grad() ? "true" : "false",
              std::abs(s.item<double>() - ssimTorch(a, b2, gaussian(11, 1.5), Boundary::same, C1, C2, 1, 0).item<double>()));
  return 0;
}
