// The C++ bench rows of `npm run bench` (bench/cpp.ts): SSIM value + d/dx on one thread, in one
// process, on the same inputs:
//   generated  ssim_grad::ssim_value_and_grad<T> (src/generated/cpp/ssim_grad.hpp)
//   conv2d     libtorch autograd of pytorch-ssim's formula: conv2d with the 11 x 11 Gaussian, groups = C, zero padding
//   separable  libtorch autograd of the same with the window as an 11 x 1 then a 1 x 11 conv2d
// argv: reps for the small shape, reps for the large one[, "quick": one 1x3x64x64 shape (the test that the rows agree)]. One JSON line per (shape, dtype, implementation):
// median and min milliseconds, and the gradient's relative distance from the generated one.
// argv: "schedules" reps [H W]: the binding's two schedules (ssim_torch.hpp, MapFunction<SsimMap|GsLossMap,
// store|recompute>), forward + backward of x and y needing gradients, float32 1x3xHxW (1080 x 1920 by
// default) after one warm-up: median and min ms, and the bytes the autograd context keeps between the
// forward and the backward beyond x and y (kept_bytes). One JSON line per (family, schedule).
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "ssim_grad.hpp"
#include "ssim_torch.hpp"

namespace F = torch::nn::functional;

static std::vector<double> gaussian11() {
  std::vector<double> t(11);
  double s = 0;
  for (int i = 0; i < 11; i++) s += t[i] = std::exp(-double((i - 5) * (i - 5)) / (2 * 1.5 * 1.5));
  for (auto& v : t) v /= s;
  return t;
}

static torch::Tensor ssimMap(const std::function<torch::Tensor(const torch::Tensor&)>& filt, const torch::Tensor& x, const torch::Tensor& y) {
  const double C1 = 1e-4, C2 = 9e-4;
  auto mu1 = filt(x), mu2 = filt(y);
  auto s11 = filt(x * x) - mu1 * mu1, s22 = filt(y * y) - mu2 * mu2, s12 = filt(x * y) - mu1 * mu2;
  return (((2 * mu1 * mu2 + C1) * (2 * s12 + C2)) / ((mu1 * mu1 + mu2 * mu2 + C1) * (s11 + s22 + C2))).mean();
}

/** Median and min of `reps` timed runs after `warmup` untimed ones, in ms. */
static std::pair<double, double> timeIt(const std::function<void()>& f, int reps, int warmup) {
  for (int i = 0; i < warmup; i++) f();
  std::vector<double> ts;
  for (int i = 0; i < reps; i++) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    ts.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ts.begin(), ts.end());
  const size_t n = ts.size();
  return {n % 2 ? ts[n / 2] : (ts[n / 2 - 1] + ts[n / 2]) / 2, ts[0]};
}

/** The schedules' rows (see the head of this file). */
static int schedules(int reps, long H, long W) {
  using ssim_grad::MapFunction;
  using ssim_grad::Schedule;
  torch::manual_seed(7);
  auto x0 = torch::rand({1, 3, H, W}, torch::kFloat32);
  auto y0 = (x0 + 0.1 * torch::randn({1, 3, H, W}, torch::kFloat32)).clamp(0, 1);
  auto row = [&](const char* family, const char* schedule, auto apply, auto kept) {
    size_t bytes = 0;
    torch::Tensor gx;
    const auto t = timeIt([&] {
      auto x = x0.detach().requires_grad_(true), y = y0.detach().requires_grad_(true);
      auto l = apply(x, y);
      bytes = kept(l, x, y);
      l.backward();
      gx = x.grad();
    }, reps, 1);
    std::printf("{\"family\":\"%s\",\"schedule\":\"%s\",\"shape\":\"1x3x%ldx%ld\",\"medianMs\":%.2f,\"minMs\":%.2f,\"keptBytes\":%zu,\"imageBytes\":%ld,\"gradSum\":%.10g}\n", family, schedule,
                H, W, t.first, t.second, bytes, long(x0.numel() * 4), gx.sum().item<double>());
    std::fflush(stdout);
  };
  using SS = MapFunction<ssim_grad::SsimMap, Schedule::store>;
  using SR = MapFunction<ssim_grad::SsimMap, Schedule::recompute>;
  using GS = MapFunction<ssim_grad::GsLossMap, Schedule::store>;
  using GR = MapFunction<ssim_grad::GsLossMap, Schedule::recompute>;
  row("ssim", "store", [](const torch::Tensor& x, const torch::Tensor& y) { return SS::apply(x, y, ssim_grad::NoOptions{}); }, ssim_grad::kept_bytes<SS>);
  row("ssim", "recompute", [](const torch::Tensor& x, const torch::Tensor& y) { return SR::apply(x, y, ssim_grad::NoOptions{}); }, ssim_grad::kept_bytes<SR>);
  row("gsLoss", "store", [](const torch::Tensor& x, const torch::Tensor& y) { return GS::apply(x, y, ssim_grad::GsLossOptions{}); }, ssim_grad::kept_bytes<GS>);
  row("gsLoss", "recompute", [](const torch::Tensor& x, const torch::Tensor& y) { return GR::apply(x, y, ssim_grad::GsLossOptions{}); }, ssim_grad::kept_bytes<GR>);
  std::printf("{\"threads\":%d}\n", torch::get_num_threads());
  return 0;
}

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "schedules") {
    torch::set_num_threads(1);
    return schedules(argc > 2 ? std::atoi(argv[2]) : 5, argc > 3 ? std::atol(argv[3]) : 1080, argc > 4 ? std::atol(argv[4]) : 1920);
  }
  const int repsSmall = argc > 1 ? std::atoi(argv[1]) : 5, repsLarge = argc > 2 ? std::atoi(argv[2]) : 3;
  torch::set_num_threads(1);
  torch::manual_seed(2024);
  const auto taps = gaussian11();
  const bool quick = argc > 3 && std::string(argv[3]) == "quick";
  const std::vector<std::vector<long>> shapes = quick ? std::vector<std::vector<long>>{{1, 3, 64, 64}} : std::vector<std::vector<long>>{{1, 3, 512, 512}, {1, 3, 1080, 1920}};
  for (const auto& shape : shapes) {
    const int reps = shape[2] > 512 ? repsLarge : repsSmall;
    // float64 conv2d autograd of 1080 x 1920 takes minutes on one thread: no warm-up runs on the large shape
    const int warmup = shape[2] > 512 ? 0 : 1;
    auto x64 = torch::rand(shape, torch::kFloat64);
    auto y64 = (x64 + 0.1 * torch::randn(shape, torch::kFloat64)).clamp(0, 1);
    for (auto st : {torch::kFloat32, torch::kFloat64}) {
      auto x = x64.to(st), y = y64.to(st);
      const long C = shape[1];
      auto t = torch::tensor(taps, torch::kFloat64).to(st);
      auto w2 = torch::outer(t, t).expand({C, 1, 11, 11}).contiguous();
      auto wv = t.view({1, 1, 11, 1}).expand({C, 1, 11, 1}).contiguous(), wh = t.view({1, 1, 1, 11}).expand({C, 1, 1, 11}).contiguous();
      auto conv = [&](const torch::Tensor& z) { return F::conv2d(z, w2, F::Conv2dFuncOptions().padding(5).groups(C)); };
      auto sep = [&](const torch::Tensor& z) {
        return F::conv2d(F::conv2d(z, wv, F::Conv2dFuncOptions().padding({5, 0}).groups(C)), wh, F::Conv2dFuncOptions().padding({0, 5}).groups(C));
      };
      ssim_grad::Params p;
      p.N = shape[0]; p.C = C; p.H = shape[2]; p.W = shape[3];
      p.tapsH = p.tapsW = taps;
      p.C1 = 1e-4; p.C2 = 9e-4; p.omega = 1.0 / double(x.numel());
      torch::Tensor gOurs = torch::empty_like(x), gConv, gSep;
      double vOurs = 0, vConv = 0, vSep = 0;
      const auto ours = timeIt([&] {
        AT_DISPATCH_FLOATING_TYPES(st, "bench", [&] { vOurs = ssim_grad::ssim_value_and_grad<scalar_t>(x.data_ptr<scalar_t>(), y.data_ptr<scalar_t>(), p, gOurs.data_ptr<scalar_t>()); });
      }, reps, warmup);
      auto autograd = [&](const std::function<torch::Tensor(const torch::Tensor&)>& filt, torch::Tensor& g, double& v) {
        auto xr = x.detach().requires_grad_(true);
        auto l = ssimMap(filt, xr, y);
        l.backward();
        g = xr.grad();
        v = l.item<double>();
      };
      const auto convT = timeIt([&] { autograd(conv, gConv, vConv); }, reps, warmup);
      const auto sepT = timeIt([&] { autograd(sep, gSep, vSep); }, reps, warmup);
      auto rel = [&](const torch::Tensor& g) { return ((g.to(torch::kFloat64) - gOurs.to(torch::kFloat64)).abs().max() / gOurs.to(torch::kFloat64).abs().max()).item<double>(); };
      const std::string sh = std::to_string(shape[0]) + "x" + std::to_string(shape[1]) + "x" + std::to_string(shape[2]) + "x" + std::to_string(shape[3]);
      const char* dt = st == torch::kFloat32 ? "float32" : "float64";
      std::printf("{\"shape\":\"%s\",\"dtype\":\"%s\",\"impl\":\"generated\",\"medianMs\":%.2f,\"minMs\":%.2f,\"value\":%.10g,\"gradRel\":0}\n", sh.c_str(), dt, ours.first, ours.second, vOurs);
      std::printf("{\"shape\":\"%s\",\"dtype\":\"%s\",\"impl\":\"conv2d\",\"medianMs\":%.2f,\"minMs\":%.2f,\"value\":%.10g,\"gradRel\":%.3e}\n", sh.c_str(), dt, convT.first, convT.second, vConv, rel(gConv));
      std::printf("{\"shape\":\"%s\",\"dtype\":\"%s\",\"impl\":\"separable\",\"medianMs\":%.2f,\"minMs\":%.2f,\"value\":%.10g,\"gradRel\":%.3e}\n", sh.c_str(), dt, sepT.first, sepT.second, vSep, rel(gSep));
      std::fflush(stdout);
    }
  }
  std::printf("{\"threads\":%d}\n", torch::get_num_threads());
  return 0;
}
