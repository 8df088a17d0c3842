// The binding that `ssim-grad emit cpp --preset skimage --data-range 1 --out DIR` writes, against
// libtorch autograd of skimage's SSIM as written here (box 7, scipy 'reflect', sample covariance
// 49/48, the map cropped by 3, C1 = 1e-4, C2 = 9e-4): the options are stated here, not read from
// the binding. One JSON line per dtype; test/cli/emit.test.ts judges them.
#include <torch/torch.h>

#include <cstdio>

#include "ssim_torch.hpp"
#include "torch_reference.hpp"

int main() {
  torch::manual_seed(7);
  const std::vector<double> box7(7, 1.0 / 7);
  auto x0 = torch::rand({2, 3, 23, 30}, torch::kFloat64);
  auto y0 = (x0 + 0.2 * torch::randn({2, 3, 23, 30}, torch::kFloat64)).clamp(0, 1);
  auto run = [&](bool ours, torch::ScalarType t) {
    auto x = x0.to(t).detach().requires_grad_(true), y = y0.to(t).detach().requires_grad_(true);
    auto s = ours ? ssim_grad::ssim(x, y) : ssimTorch(x, y, box7, Boundary::reflect, 1e-4, 9e-4, 49.0 / 48, 3);
    s.backward();
    return std::vector<torch::Tensor>{s.detach(), x.grad(), y.grad()};
  };
  auto truth = run(false, torch::kFloat64);
  for (auto t : {torch::kFloat64, torch::kFloat32}) {
    auto ours = run(true, t);
    std::printf("{\"dtype\":\"%s\",\"ssim\":%.17g,\"value\":%.3e,\"gradX\":%.3e,\"gradY\":%.3e}\n", t == torch::kFloat64 ? "float64" : "float32",
                truth[0].item<double>(), std::abs(ours[0].item<double>() - truth[0].item<double>()) / truth[0].item<double>(), relErr(ours[1], truth[1]),
                relErr(ours[2], truth[2]));
  }
  // a shape the options do not fit: libtorch's error (c10::Error) carries the binding's message
  try {
    ssim_grad::ssim(torch::rand({1, 1, 5, 5}, torch::kFloat64), torch::rand({1, 1, 5, 5}, torch::kFloat64));
    std::printf("{\"tooSmall\":\"no error\"}\n");
  } catch (const std::exception& e) {
    std::string m = e.what();
    std::printf("{\"tooSmall\":\"%s\"}\n", m.substr(0, m.find('\n')).c_str());
  }
  // only y needs a gradient: d/dy from the kernel with x and y swapped (S is symmetric)
  {
    auto x = x0.detach(), y = y0.detach().requires_grad_(true);
    ssim_grad::ssim(x, y).backward();
    auto yt = y0.detach().requires_grad_(true);
    ssimTorch(x0, yt, box7, Boundary::reflect, 1e-4, 9e-4, 49.0 / 48, 3).backward();
    std::printf("{\"onlyY\":%.3e,\"xGradDefined\":%s}\n", relErr(y.grad(), yt.grad()), x.grad().defined() ? "true" : "false");
  }
  // a second derivative through a family without HVP kernels (cs) would be silently wrong: it is refused
  auto firstLine = [](const std::exception& e) { std::string m = e.what(); return m.substr(0, m.find('\n')); };
  try {
    auto x = x0.detach().requires_grad_(true);
    auto g = torch::autograd::grad({ssim_grad::cs(x, y0)}, {x}, {}, true, true)[0];
    g.pow(2).sum().backward();
    std::printf("{\"secondOrder\":\"no error\"}\n");
  } catch (const std::exception& e) {
    std::printf("{\"secondOrder\":\"%s\"}\n", firstLine(e).c_str());
  }
  try {
    ssim_grad::ssim(torch::rand({0, 1, 12, 14}, torch::kFloat64), torch::rand({0, 1, 12, 14}, torch::kFloat64));
    std::printf("{\"empty\":\"no error\"}\n");
  } catch (const std::exception& e) {
    std::printf("{\"empty\":\"%s\"}\n", firstLine(e).c_str());
  }
  // the fused 3DGS loss under skimage's options (the L1 term over every pixel, the SSIM term over the
  // cropped map), default lambda (0.2), both schedules: against the loss in plain libtorch ops
  for (const auto sched : {ssim_grad::Schedule::store, ssim_grad::Schedule::recompute}) {
    auto lossOf = [&](bool ours) {
      auto x = x0.detach().requires_grad_(true), y = y0.detach().requires_grad_(true);
      auto l = ours ? ssim_grad::gs_loss(x, y, {}, sched) : gsLossTorch(x, y, box7, Boundary::reflect, 1e-4, 9e-4, 49.0 / 48, 3, 0.2);
      l.backward();
      return std::vector<torch::Tensor>{l.detach(), x.grad(), y.grad()};
    };
    auto ours = lossOf(true), want = lossOf(false);
    std::printf("{\"gsLoss\":\"%s\",\"value\":%.3e,\"gradX\":%.3e,\"gradY\":%.3e}\n", sched == ssim_grad::Schedule::store ? "store" : "recompute",
                std::abs(ours[0].item<double>() - want[0].item<double>()) / want[0].item<double>(), relErr(ours[1], want[1]), relErr(ours[2], want[2]));
  }
  // second derivatives under these options (reflect, box 7, sample covariance, crop): torch::autograd::grad
  // twice (create_graph=true) through SsimFunction against the formula's, float64, x and y
  {
    auto vx = torch::randn(x0.sizes(), torch::kFloat64), vy = torch::randn(x0.sizes(), torch::kFloat64);
    auto hvp = [&](bool ours) {
      auto x = x0.detach().requires_grad_(true), y = y0.detach().requires_grad_(true);
      auto s = ours ? ssim_grad::ssim(x, y) : ssimTorch(x, y, box7, Boundary::reflect, 1e-4, 9e-4, 49.0 / 48, 3);
      auto g = torch::autograd::grad({s * s}, {x, y}, {}, true, true);
      return torch::autograd::grad({(g[0] * vx).sum() + (g[1] * vy).sum()}, {x, y});
    };
    auto ours = hvp(true), want = hvp(false);
    std::printf("{\"doubleBackward\":true,\"hvpX\":%.3e,\"hvpY\":%.3e}\n", relErr(ours[0], want[0]), relErr(ours[1], want[1]));
  }
  // the same through GsLossFunction (default lambda 0.2) under these options, both schedules: the L1 term
  // over every pixel, the SSIM term over the cropped map (its own reduction), |x - y| >= 0.05
  for (const auto sched : {ssim_grad::Schedule::store, ssim_grad::Schedule::recompute}) {
    auto ya = x0 + (0.05 + 0.2 * torch::rand(x0.sizes(), torch::kFloat64)) * torch::where(torch::rand(x0.sizes(), torch::kFloat64) < 0.5, -1.0, 1.0);
    auto vx = torch::randn(x0.sizes(), torch::kFloat64), vy = torch::randn(x0.sizes(), torch::kFloat64);
    auto hvp = [&](bool ours) {
      auto x = x0.detach().requires_grad_(true), y = ya.detach().requires_grad_(true);
      auto l = ours ? ssim_grad::gs_loss(x, y, {}, sched) : gsLossTorch(x, y, box7, Boundary::reflect, 1e-4, 9e-4, 49.0 / 48, 3, 0.2);
      auto g = torch::autograd::grad({l * l}, {x, y}, {}, true, true);
      return torch::autograd::grad({(g[0] * vx).sum() + (g[1] * vy).sum()}, {x, y});
    };
    auto ours = hvp(true), want = hvp(false);
    std::printf("{\"gsLossDoubleBackward\":\"%s\",\"hvpX\":%.3e,\"hvpY\":%.3e}\n", sched == ssim_grad::Schedule::store ? "store" : "recompute", relErr(ours[0], want[0]),
                relErr(ours[1], want[1]));
  }
  return 0;
}
