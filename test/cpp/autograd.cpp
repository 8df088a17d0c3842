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

/** A type carried as a value (the Function whose context kept_bytes reads). */
template <class T>
struct template_tag {
  using type = T;
};

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
/** The 3DGS loss's lambda in the kernel cases (not the default 0.2, so that its every use is exercised). */
const double GS_LAMBDA = 0.3;

/**
 * The gsLoss kernels' parameters for (1 - lambda) mean|x - y| + lambda (1 - SSIM): the kernels return
 * the loss less lambda when omega = -lambda / (map pixels) and pixelOmega = (1 - lambda) / (N C H W).
 */
ssim_grad::Params gsParams(const ssim_grad::Params& p) {
  ssim_grad::Params q = p;
  q.omega = -GS_LAMBDA * p.omega;
  q.pixelOmega = (1 - GS_LAMBDA) / double(p.N * p.C * p.H * p.W);
  return q;
}

template <typename T>
double valueAndGrad(Map m, const T* x, const T* y, const ssim_grad::Params& p, T* gx, T* gy) {
  if (m == Map::cs) return ssim_grad::cs_value_and_grad<T>(x, y, p, gx, gy);
  if (m == Map::gsLoss) return GS_LAMBDA + ssim_grad::gsLoss_value_and_grad<T>(x, y, gsParams(p), gx, gy);
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
  if (m == Map::gsLoss) return GS_LAMBDA + ssim_grad::gsLoss_value<T>(x, y, gsParams(p));
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
  const std::vector<std::pair<Map, std::string>> maps = {{Map::ssim, ""}, {Map::cs, "cs-"}, {Map::wang, "wang-"}, {Map::gsLoss, "gs-"}};
  for (const auto& [m, prefix] : maps)
  for (const auto& c : cases) {
    auto x64 = torch::rand(c.shape, torch::kFloat64);
    auto y64 = (x64 + 0.2 * torch::randn(c.shape, torch::kFloat64)).clamp(0, 1);
    // the 3DGS loss: ties (x = y) at every 7th pixel, where d|x - y| is sign(0) = 0
    if (m == Map::gsLoss) y64 = torch::where(torch::arange(x64.numel(), torch::kLong).reshape(c.shape).remainder(7) == 0, x64, y64);
    ssim_grad::Params p;
    p.N = c.shape[0]; p.C = c.shape[1]; p.H = c.shape[2]; p.W = c.shape[3];
    p.tapsH = p.tapsW = c.taps;
    p.C1 = c.C1; p.C2 = c.C2; p.c_n = c.cn; p.crop = c.crop; p.boundary = c.b;
    const long MH = c.b == Boundary::valid ? p.H - long(c.taps.size()) + 1 : p.H, MW = c.b == Boundary::valid ? p.W - long(c.taps.size()) + 1 : p.W;
    p.omega = 1.0 / (double(p.N * p.C) * double(MH - 2 * c.crop) * double(MW - 2 * c.crop));
    // libtorch autograd, float64 and float32
    auto ref = [&](torch::ScalarType st) {
      auto x = x64.to(st).detach().requires_grad_(true), y = y64.to(st).detach().requires_grad_(true);
      auto l = mapTorch(m, x, y, c.taps, c.b, c.C1, c.C2, c.cn, c.crop, WANG, GS_LAMBDA);
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
  // GsLossFunction (pytorch-ssim's options) inside a larger graph, float64: gs_loss() with the default
  // lambda against the loss written with lambda 0.2 (the variant's default), and apply() with 0.35
  for (const double lambda : {0.2, 0.35}) {
    auto x0 = torch::rand({2, 3, 24, 26}, torch::kFloat64), y0 = (x0 + 0.2 * torch::randn({2, 3, 24, 26}, torch::kFloat64)).clamp(0, 1);
    y0 = torch::where(torch::arange(x0.numel(), torch::kLong).reshape(x0.sizes()).remainder(5) == 0, x0, y0);
    auto run = [&](bool ours) {
      auto x = x0.detach().requires_grad_(true), y = y0.detach().requires_grad_(true);
      auto s = !ours ? gsLossTorch(x, y, gaussian(11, 1.5), Boundary::same, C1, C2, 1, 0, lambda)
                     : lambda == 0.2 ? ssim_grad::gs_loss(x, y) : ssim_grad::GsLossFunction::apply(x, y, ssim_grad::GsLossOptions{lambda});
      auto loss = 3.0 * s + (x * x).sum() * 0.01;
      loss.backward();
      return std::vector<torch::Tensor>{s.detach(), x.grad(), y.grad()};
    };
    auto ours = run(true), truth = run(false);
    std::printf("{\"case\":\"binding-gsLoss-%s\",\"loss\":%.17g,\"value\":%.3e,\"gradX\":%.3e,\"gradY\":%.3e}\n", lambda == 0.2 ? "default" : "0.35",
                truth[0].item<double>(), std::abs(ours[0].item<double>() - truth[0].item<double>()) / truth[0].item<double>(), relErr(ours[1], truth[1]),
                relErr(ours[2], truth[2]));
  }
  // the two schedules of every family: the same value and gradients bit for bit (x and y needing
  // gradients, only x, only y), and what each keeps between the forward and the backward
  {
    using ssim_grad::Schedule;
    auto x0 = torch::rand({1, 3, 20, 23}, torch::kFloat64), y0 = (x0 + 0.2 * torch::randn({1, 3, 20, 23}, torch::kFloat64)).clamp(0, 1);
    auto schedules = [&](const char* family, auto store, auto recompute, auto keptStore, auto keptRecompute) {
      double maxDiff = 0, valueDiff = 0;
      long kept[2] = {0, 0};
      for (int wants = 1; wants <= 3; wants++) {
        std::vector<torch::Tensor> out[2];
        for (int k = 0; k < 2; k++) {
          auto x = x0.detach().requires_grad_((wants & 1) != 0), y = y0.detach().requires_grad_((wants & 2) != 0);
          auto s = k == 0 ? store(x, y) : recompute(x, y);
          if (wants == 3) kept[k] = long(k == 0 ? keptStore(s, x, y) : keptRecompute(s, x, y));
          (2.5 * s).backward();
          out[k] = {s.detach(), x.grad(), y.grad()};
        }
        valueDiff = std::max(valueDiff, std::abs(out[0][0].item<double>() - out[1][0].item<double>()));
        for (int g = 1; g <= 2; g++) {
          if (out[0][g].defined() != out[1][g].defined()) maxDiff = 1e300;
          else if (out[0][g].defined()) maxDiff = std::max(maxDiff, (out[0][g] - out[1][g]).abs().max().item<double>());
        }
      }
      std::printf("{\"case\":\"schedules-%s\",\"valueDiff\":%.3e,\"gradDiff\":%.3e,\"keptStore\":%ld,\"keptRecompute\":%ld,\"imageBytes\":%ld}\n", family, valueDiff,
                  maxDiff, kept[0], kept[1], long(x0.numel() * 8));
    };
    auto withSchedule = [](auto f, Schedule s) { return [f, s](const torch::Tensor& x, const torch::Tensor& y) { return f(x, y, s); }; };
    using ssim_grad::MapFunction;
    auto kept = [](auto fn) { return [](const torch::Tensor& s, const torch::Tensor& x, const torch::Tensor& y) { return ssim_grad::kept_bytes<typename decltype(fn)::type>(s, x, y); }; };
    auto ssimF = [](const torch::Tensor& x, const torch::Tensor& y, Schedule s) { return ssim_grad::ssim(x, y, s); };
    auto csF = [](const torch::Tensor& x, const torch::Tensor& y, Schedule s) { return ssim_grad::cs(x, y, s); };
    auto gsF = [](const torch::Tensor& x, const torch::Tensor& y, Schedule s) { return ssim_grad::gs_loss(x, y, {0.4}, s); };
    auto wangF = [](const torch::Tensor& x, const torch::Tensor& y, Schedule s) { return ssim_grad::wang(x, y, {WANG.alpha, WANG.beta, WANG.gamma}, s); };
    template_tag<MapFunction<ssim_grad::SsimMap, Schedule::store>> ss; template_tag<MapFunction<ssim_grad::SsimMap, Schedule::recompute>> sr;
    template_tag<MapFunction<ssim_grad::CsMap, Schedule::store>> cs; template_tag<MapFunction<ssim_grad::CsMap, Schedule::recompute>> cr;
    template_tag<MapFunction<ssim_grad::GsLossMap, Schedule::store>> gs; template_tag<MapFunction<ssim_grad::GsLossMap, Schedule::recompute>> gr;
    template_tag<MapFunction<ssim_grad::WangMap, Schedule::store>> ws; template_tag<MapFunction<ssim_grad::WangMap, Schedule::recompute>> wr;
    schedules("ssim", withSchedule(ssimF, Schedule::store), withSchedule(ssimF, Schedule::recompute), kept(ss), kept(sr));
    schedules("cs", withSchedule(csF, Schedule::store), withSchedule(csF, Schedule::recompute), kept(cs), kept(cr));
    schedules("gsLoss", withSchedule(gsF, Schedule::store), withSchedule(gsF, Schedule::recompute), kept(gs), kept(gr));
    schedules("wang", withSchedule(wangF, Schedule::store), withSchedule(wangF, Schedule::recompute), kept(ws), kept(wr));
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

  // second derivatives: torch::autograd::grad with create_graph=true, then grad of <g, v>, through
  // SsimFunction (its backward MapGradFunction, whose backward runs the HVP kernel) against the same
  // loss in plain libtorch ops, float64, both schedules; the loss f(s) = (1 - s)^2 + s / 2 makes
  // grad_out depend on x and y (the term f''(s) grad grad^T flows through d/d grad_out); with y
  // requiring grad or not
  {
    auto x0 = torch::rand({2, 2, 19, 23}, torch::kFloat64);
    auto y0 = (x0 + 0.2 * torch::randn(x0.sizes(), torch::kFloat64)).clamp(0, 1);
    auto vx = torch::randn(x0.sizes(), torch::kFloat64), vy = torch::randn(x0.sizes(), torch::kFloat64);
    for (const auto sched : {ssim_grad::Schedule::store, ssim_grad::Schedule::recompute})
      for (const bool withY : {true, false}) {
        auto second = [&](bool ours) {
          auto x = x0.detach().requires_grad_(true), y = y0.detach().requires_grad_(withY);
          auto s = ours ? ssim_grad::ssim(x, y, sched) : ssimTorch(x, y, gaussian(11, 1.5), Boundary::same, C1, C2, 1, 0);
          auto loss = (1 - s).pow(2) + 0.5 * s;
          torch::autograd::variable_list in = withY ? torch::autograd::variable_list{x, y} : torch::autograd::variable_list{x};
          auto g = torch::autograd::grad({loss}, in, {}, true, true);
          auto dot = (g[0] * vx).sum();
          if (withY) dot = dot + (g[1] * vy).sum();
          auto h = torch::autograd::grad({dot}, in);
          return std::vector<torch::Tensor>{g[0].detach(), withY ? g[1].detach() : torch::zeros({1}), h[0], withY ? h[1] : torch::zeros({1})};
        };
        auto ours = second(true), want = second(false);
        std::printf("{\"case\":\"double-backward-%s%s\",\"gradX\":%.3e,\"gradY\":%.3e,\"hvpX\":%.3e,\"hvpY\":%.3e,\"hvpScale\":%.3e}\n",
                    sched == ssim_grad::Schedule::store ? "store" : "recompute", withY ? "" : "-x", relErr(ours[0], want[0]), withY ? relErr(ours[1], want[1]) : 0.0,
                    relErr(ours[2], want[2]), withY ? relErr(ours[3], want[3]) : 0.0, want[2].abs().max().item<double>());
      }
    // the same through GsLossFunction (lambda 0.35, not the default): (1 - lambda) mean|x - y| + lambda (1 - SSIM)
    // against gsLossTorch, whose abs libtorch differentiates as sign(u) (0 at 0) and sign's derivative as 0;
    // |x - y| >= 0.05 everywhere, and once with ties (x = y at every 7th pixel, where both take sign(0) = 0)
    auto away = x0 + (0.05 + 0.2 * torch::rand(x0.sizes(), torch::kFloat64)) * torch::where(torch::rand(x0.sizes(), torch::kFloat64) < 0.5, -1.0, 1.0);
    auto ties = torch::where(torch::arange(x0.numel(), torch::kLong).reshape(x0.sizes()).remainder(7) == 0, x0, away);
    const double lambda = 0.35;
    struct GsCase {
      std::string name;
      ssim_grad::Schedule sched;
      bool withY;
      torch::Tensor y;
    };
    const std::vector<GsCase> gsCases = {{"store", ssim_grad::Schedule::store, true, away}, {"store-x", ssim_grad::Schedule::store, false, away},
                                         {"recompute", ssim_grad::Schedule::recompute, true, away}, {"recompute-x", ssim_grad::Schedule::recompute, false, away},
                                         {"ties", ssim_grad::Schedule::store, true, ties}};
    for (const auto& c : gsCases) {
      auto second = [&](bool ours) {
        auto x = x0.detach().requires_grad_(true), y = c.y.detach().requires_grad_(c.withY);
        auto l = ours ? ssim_grad::gs_loss(x, y, {lambda}, c.sched) : gsLossTorch(x, y, gaussian(11, 1.5), Boundary::same, C1, C2, 1, 0, lambda);
        auto loss = (1 - l).pow(2) + 0.5 * l;
        torch::autograd::variable_list in = c.withY ? torch::autograd::variable_list{x, y} : torch::autograd::variable_list{x};
        auto g = torch::autograd::grad({loss}, in, {}, true, true);
        auto dot = (g[0] * vx).sum();
        if (c.withY) dot = dot + (g[1] * vy).sum();
        auto h = torch::autograd::grad({dot}, in);
        return std::vector<torch::Tensor>{g[0].detach(), c.withY ? g[1].detach() : torch::zeros({1}), h[0], c.withY ? h[1] : torch::zeros({1})};
      };
      auto ours = second(true), want = second(false);
      std::printf("{\"case\":\"double-backward-gsLoss-%s\",\"gradX\":%.3e,\"gradY\":%.3e,\"hvpX\":%.3e,\"hvpY\":%.3e,\"hvpScale\":%.3e,\"minAbsDiff\":%.3e}\n",
                  c.name.c_str(), relErr(ours[0], want[0]), c.withY ? relErr(ours[1], want[1]) : 0.0, relErr(ours[2], want[2]), c.withY ? relErr(ours[3], want[3]) : 0.0,
                  want[2].abs().max().item<double>(), (x0 - c.y).abs().min().item<double>());
    }
    // a third derivative is refused, not silently wrong; a family without HVP kernels refuses the second
    auto firstLine = [](const std::exception& e) { std::string m = e.what(); return m.substr(0, m.find('\n')); };
    auto x = x0.detach().requires_grad_(true);
    std::string third = "no error", gsThird = "no error", csSecond = "no error", wangSecond = "no error";
    try {
      auto g = torch::autograd::grad({ssim_grad::ssim(x, y0)}, {x}, {}, true, true)[0];
      auto h = torch::autograd::grad({(g * vx).sum()}, {x}, {}, true, true)[0];
      h.sum().backward();
    } catch (const std::exception& e) {
      third = firstLine(e);
    }
    try {
      auto g = torch::autograd::grad({ssim_grad::gs_loss(x, away)}, {x}, {}, true, true)[0];
      auto h = torch::autograd::grad({(g * vx).sum()}, {x}, {}, true, true)[0];
      h.sum().backward();
    } catch (const std::exception& e) {
      gsThird = firstLine(e);
    }
    try {
      auto g = torch::autograd::grad({ssim_grad::cs(x, y0)}, {x}, {}, true, true)[0];
      g.sum().backward();
    } catch (const std::exception& e) {
      csSecond = firstLine(e);
    }
    try {
      auto g = torch::autograd::grad({ssim_grad::wang(x, y0, {WANG.alpha, WANG.beta, WANG.gamma})}, {x}, {}, true, true)[0];
      g.sum().backward();
    } catch (const std::exception& e) {
      wangSecond = firstLine(e);
    }
    std::printf("{\"case\":\"higher-order\",\"third\":\"%s\",\"gsThird\":\"%s\",\"csSecond\":\"%s\",\"wangSecond\":\"%s\"}\n", third.c_str(), gsThird.c_str(),
                csSecond.c_str(), wangSecond.c_str());
  }
  return 0;
}
