// Hand-written (not generated): the part of the libtorch binding that is the same for every
// configuration and family. The generated ssim_torch.hpp includes it, then defines config() (the
// emitted options), one Map struct per kernel family (its name, options and entry points in
// ssim_grad.hpp) and the functions ssim(), cs(), ... over MapFunction<Map>. `ssim-grad emit cpp`
// copies it beside the generated headers.
//
// A Map names a family for MapFunction:
//   static constexpr const char* name;                 // "SsimFunction": the error messages' subject
//   using Options = ...;                               // the family's own options (NoOptions: none)
//   static auto params(const Params&, const Options&); // the kernel parameters from the options' ones
//   static double offset(const Options&);              // a constant added to the kernels' value
//   static std::vector<double> pack(const Options&);   // the options as numbers (kept by 'recompute')
//   static Options unpack(const std::vector<double>&);
//   template <typename T> static double value(x, y, p), value_and_grad(x, y, p, grad_x, grad_y)
//   static constexpr bool second_order;                // whether it has hvp (a double backward):
//   template <typename T> static double hvp(x, y, vx, vy, p, wrt, grad_x, hvp_x, grad_y, hvp_y)
//                                                      // the family's value, gradient and Hessian times (vx, vy)
//
// Second order: a MapFunction's backward is itself differentiable when the Map has second_order
// (create_graph=true; torch::autograd::grad twice): the backward is MapGradFunction, whose own
// backward runs the Map's hvp. SsimMap's is ssim_hvp; GsLossMap's is ssim_hvp under the loss's SSIM
// weight (-lambda omega) with the L1 term's gradient added (|x - y| has no second derivative away
// from x = y). CsMap and WangMap have none: their Functions refuse create_graph=true. Forward-mode AD is not offered: libtorch's C++ custom Functions
// have no jvp (torch/csrc/autograd/custom_function.h: "jvp is not implemented for the c++ API of
// custom Function yet"), so forward-mode AD through these Functions stops with libtorch's error.
#pragma once

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "ssim_grad.hpp"

namespace ssim_grad {

/** The options a binding was emitted for. */
struct Config {
  std::vector<double> taps;
  /** Window size as the options give it (it sets what must fit; skimage's Gaussian may have more taps). */
  long size;
  Boundary padding;
  double C1, C2, c_n;
  long crop;
  /** pytorch-msssim: under 'valid', an axis shorter than the window is left unsmoothed. */
  bool skip_short_axes;
  /** true: mean over batch, channels and the region; false: sum over batch and channels of per-plane means. */
  bool mean;
  /** Wang's ssim.m: an f x f box downsampling first; 0 = auto (f = max(1, round(min(H, W) / 256))). */
  long downsample;
};

/** The options this binding was emitted for: defined by the generated ssim_torch.hpp. */
inline Config config();

/** The kernel parameters for images of N x C x H x W (the rules of mapGeometry in src/model/options.ts; the map's size: map_size). */
inline Params params_for(const Config& c, long N, long C, long H, long W) {
  const long k = std::max(c.size, static_cast<long>(c.taps.size()));
  const bool valid = c.padding == Boundary::valid;
  const bool shortAxis = H < k || W < k;
  const std::string hw = std::to_string(H) + " x " + std::to_string(W);
  if (shortAxis && valid && !c.skip_short_axes) throw std::invalid_argument("x: image of " + hw + " is smaller than the window under 'valid' padding");
  if (shortAxis && c.crop > 0) throw std::invalid_argument("x: image of " + hw + " is smaller than the window");
  const long nt = static_cast<long>(c.taps.size());
  Params p;
  p.N = N; p.C = C; p.H = H; p.W = W; p.boundary = c.padding;
  p.tapsH = valid && H < nt ? std::vector<double>{1.0} : c.taps;
  p.tapsW = valid && W < nt ? std::vector<double>{1.0} : c.taps;
  const MapSize m = map_size(p);
  if (2 * c.crop >= m.MH || 2 * c.crop >= m.MW) throw std::invalid_argument("crop: cropping leaves nothing of the SSIM map");
  const double region = double(m.MH - 2 * c.crop) * double(m.MW - 2 * c.crop);
  p.C1 = c.C1; p.C2 = c.C2; p.c_n = c.c_n; p.crop = c.crop;
  p.omega = c.mean ? 1.0 / (double(N * C) * region) : 1.0 / region;
  return p;
}

/** The options of a family without its own: none. */
struct NoOptions {};

/**
 * What MapFunction keeps between the forward and the backward.
 *   store:     the forward runs the value-and-gradient kernel and keeps d/dx (and d/dy): two
 *              image-sized tensors live until the backward, which only scales them. The default.
 *   recompute: the forward runs the value kernel only and keeps x and y (no extra memory); the
 *              backward runs the value-and-gradient kernel. Two more passes over the images, the
 *              same gradients bit for bit.
 */
enum class Schedule { store, recompute };

template <class Map>
class MapGradFunction;

/**
 * A map's mean (the options' reduction) as a libtorch autograd function over the generated kernels
 * (NCHW CPU, float32 or float64): apply(x, y) or apply(x, y, options).
 */
template <class Map, Schedule S = Schedule::store>
class MapFunction : public torch::autograd::Function<MapFunction<Map, S>> {
 public:
  using Options = typename Map::Options;

  /** The value (into s) and the gradients wanted (undefined tensors for the others), from contiguous x and y. */
  template <class P>
  static std::pair<torch::Tensor, torch::Tensor> gradients(const torch::Tensor& xc, const torch::Tensor& yc, const P& p, bool gx, bool gy, double& s) {
    torch::Tensor dx, dy;
    if (gx) {
      // d/dy only when y needs it (a quarter of the backward work)
      dx = torch::empty_like(xc);
      if (gy) dy = torch::empty_like(yc);
      AT_DISPATCH_FLOATING_TYPES(xc.scalar_type(), "MapFunction", [&] {
        s = Map::template value_and_grad<scalar_t>(xc.data_ptr<scalar_t>(), yc.data_ptr<scalar_t>(), p, dx.data_ptr<scalar_t>(), gy ? dy.data_ptr<scalar_t>() : nullptr);
      });
    } else if (gy) {
      // every family's map is symmetric in x and y, so d/dy F(x, y) is d/dx F(y, x)
      dy = torch::empty_like(yc);
      AT_DISPATCH_FLOATING_TYPES(xc.scalar_type(), "MapFunction", [&] {
        s = Map::template value_and_grad<scalar_t>(yc.data_ptr<scalar_t>(), xc.data_ptr<scalar_t>(), p, dy.data_ptr<scalar_t>(), nullptr);
      });
    } else {
      AT_DISPATCH_FLOATING_TYPES(xc.scalar_type(), "MapFunction", [&] { s = Map::template value<scalar_t>(xc.data_ptr<scalar_t>(), yc.data_ptr<scalar_t>(), p); });
    }
    return {dx, dy};
  }

  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& y, Options o = {}) {
    const char* name = Map::name;
    TORCH_CHECK(x.dim() == 4, name, ": x must be N x C x H x W, got ", x.dim(), " dimensions");
    TORCH_CHECK(x.sizes() == y.sizes(), name, ": y's shape ", y.sizes(), " differs from x's ", x.sizes());
    TORCH_CHECK(x.device().is_cpu() && y.device().is_cpu(), name, ": CPU tensors only");
    TORCH_CHECK(x.scalar_type() == y.scalar_type(), name, ": x and y must have the same dtype");
    TORCH_CHECK(x.scalar_type() == torch::kFloat32 || x.scalar_type() == torch::kFloat64, name, ": float32 or float64 only");
    TORCH_CHECK(x.numel() > 0, name, ": x and y are empty (shape ", x.sizes(), "), expected at least one pixel");
    const torch::Tensor xc = x.contiguous(), yc = y.contiguous();
    const auto p = Map::params(params_for(config(), x.size(0), x.size(1), x.size(2), x.size(3)), o);
    const bool gx = x.requires_grad(), gy = y.requires_grad();
    double s = 0;
    // the options, and the images themselves (inputs: no copy, and a double backward differentiates
    // through them): nothing image-sized beside them but the store schedule's gradients
    ctx->saved_data["options"] = Map::pack(o);
    if (S == Schedule::store) {
      const auto g = gradients(xc, yc, p, gx, gy, s);
      ctx->save_for_backward({x, y, g.first, g.second});
    } else {
      gradients(xc, yc, p, false, false, s);
      if (gx || gy) ctx->save_for_backward({x, y});
    }
    return torch::scalar_tensor(s + Map::offset(o), x.options().requires_grad(false));
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::tensor_list grad_out) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& go = grad_out[0];
    const Options o = Map::unpack(ctx->saved_data["options"].toDoubleVector());
    const bool nx = ctx->needs_input_grad(0), ny = ctx->needs_input_grad(1);
    if (torch::GradMode::is_enabled()) {
      // create_graph=true: the backward as a Function of x, y and grad_out, differentiable in turn (its backward: the HVP kernel)
      if constexpr (Map::second_order) {
        const auto g = MapGradFunction<Map>::apply(saved[0], saved[1], go, o);
        return {nx ? g[0] : torch::Tensor(), ny ? g[1] : torch::Tensor(), torch::Tensor()};
      }
      // the gradient is a constant to autograd: a second derivative through it would be silently wrong
      TORCH_CHECK(false, Map::name, ": second derivatives (backward with create_graph=true) are not supported; the saved gradient carries no graph of its own");
    }
    torch::Tensor dx, dy;
    if (S == Schedule::store) {
      dx = saved[2];
      dy = saved[3];
    } else {
      const torch::Tensor xc = saved[0].contiguous(), yc = saved[1].contiguous();
      const auto p = Map::params(params_for(config(), xc.size(0), xc.size(1), xc.size(2), xc.size(3)), o);
      double s = 0;
      std::tie(dx, dy) = gradients(xc, yc, p, nx, ny, s);
    }
    // the options (when given) get no gradient: libtorch drops the trailing undefined one
    return {dx.defined() ? dx * go : torch::Tensor(), dy.defined() ? dy * go : torch::Tensor(), torch::Tensor()};
  }
};

/**
 * MapFunction's backward as a Function of x, y and grad_out (what create_graph=true records):
 * apply(x, y, grad_out, o) = (grad_out d/dx, grad_out d/dy), from the value-and-gradient kernel. Its
 * backward, for the incoming (u, w): grad_out (H_xx u + H_xy w) for x, grad_out (H_yx u + H_yy w) for y
 * (the HVP kernel, both rows, in the direction (u, w)), and <d/dx, u> + <d/dy, w> for grad_out. A third
 * derivative is refused.
 */
template <class Map>
class MapGradFunction : public torch::autograd::Function<MapGradFunction<Map>> {
 public:
  using Options = typename Map::Options;

  static torch::autograd::tensor_list forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& go, Options o = {}) {
    const torch::Tensor xc = x.contiguous(), yc = y.contiguous();
    const auto p = Map::params(params_for(config(), x.size(0), x.size(1), x.size(2), x.size(3)), o);
    double s = 0;
    const auto g = MapFunction<Map>::gradients(xc, yc, p, true, true, s);
    ctx->save_for_backward({x, y, go});
    ctx->saved_data["options"] = Map::pack(o);
    return {g.first * go, g.second * go};
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::tensor_list gg) {
    TORCH_CHECK(!torch::GradMode::is_enabled(), Map::name, ": third derivatives (create_graph=true on a second derivative) are not supported");
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor xc = saved[0].contiguous(), yc = saved[1].contiguous();
    const torch::Tensor& go = saved[2];
    const Options o = Map::unpack(ctx->saved_data["options"].toDoubleVector());
    const auto p = Map::params(params_for(config(), xc.size(0), xc.size(1), xc.size(2), xc.size(3)), o);
    // an output that nothing used has no incoming gradient: a zero direction
    const torch::Tensor u = gg[0].defined() ? gg[0].to(xc.scalar_type()).contiguous() : torch::Tensor();
    const torch::Tensor w = gg[1].defined() ? gg[1].to(xc.scalar_type()).contiguous() : torch::Tensor();
    torch::Tensor gx = torch::empty_like(xc), gy = torch::empty_like(yc), hx = torch::empty_like(xc), hy = torch::empty_like(yc);
    AT_DISPATCH_FLOATING_TYPES(xc.scalar_type(), "MapGradFunction", [&] {
      Map::template hvp<scalar_t>(xc.data_ptr<scalar_t>(), yc.data_ptr<scalar_t>(), u.defined() ? u.data_ptr<scalar_t>() : nullptr, w.defined() ? w.data_ptr<scalar_t>() : nullptr, p, Wrt::both,
                                  gx.data_ptr<scalar_t>(), hx.data_ptr<scalar_t>(), gy.data_ptr<scalar_t>(), hy.data_ptr<scalar_t>());
    });
    torch::Tensor dgo = torch::zeros({}, go.options());
    if (u.defined()) dgo = dgo + (gx * u).sum();
    if (w.defined()) dgo = dgo + (gy * w).sum();
    return {hx * go, hy * go, dgo.reshape(go.sizes()), torch::Tensor()};
  }
};

/**
 * The bytes that the autograd context of out (the result of Function::apply(x, y, ...)) keeps for
 * the backward beyond the storage of x and y themselves: the store schedule's gradients (two
 * image-sized tensors when both need one); 0 under the recompute schedule (x and y are kept as they
 * are, made contiguous in the backward).
 */
template <class Function>
inline size_t kept_bytes(const torch::Tensor& out, const torch::Tensor& x, const torch::Tensor& y) {
  const auto node = std::dynamic_pointer_cast<torch::autograd::CppNode<Function>>(out.grad_fn());
  TORCH_CHECK(node != nullptr, "kept_bytes: out was not made by this Function (or needs no gradient)");
  size_t bytes = 0;
  for (const auto& t : node->ctx_.get_saved_variables()) {
    if (!t.defined()) continue;
    const void* data = t.storage().data();
    if (data == x.storage().data() || data == y.storage().data()) continue;
    bytes += t.storage().nbytes();
  }
  return bytes;
}

/** MapFunction<Map, s>::apply(x, y, o) for a schedule chosen at run time. */
template <class Map>
inline torch::Tensor map_apply(const torch::Tensor& x, const torch::Tensor& y, const typename Map::Options& o, Schedule s) {
  return s == Schedule::store ? MapFunction<Map, Schedule::store>::apply(x, y, o) : MapFunction<Map, Schedule::recompute>::apply(x, y, o);
}

/**
 * MATLAB's f x f box downsampling along one dimension (src/field/linear.ts boxDownsample): output i
 * averages input samples i f + t - origin, t < f, under the half-sample symmetric rule. Written as
 * index_select and a sum, so libtorch's autograd gives its exact transpose (the fold back).
 */
inline torch::Tensor box_downsample_dim(const torch::Tensor& z, int64_t dim, long f) {
  const long n = z.size(dim), out = (n + f - 1) / f, origin = (f + 1) / 2 - 1;
  std::vector<int64_t> idx(out * f);
  for (long i = 0; i < out; i++)
    for (long t = 0; t < f; t++) idx[i * f + t] = source(Boundary::reflect, i * f + t - origin, n);
  auto sel = z.index_select(dim, torch::tensor(idx, torch::kLong));
  auto shape = sel.sizes().vec();
  shape[dim] = out;
  shape.insert(shape.begin() + dim + 1, f);
  return (sel.reshape(shape) * (1.0 / double(f))).sum(dim + 1);
}

/** The downsampling factor for images of H x W under the options (MATLAB rounds halves up, as lround does for positives). */
inline long downsample_factor(const Config& c, long H, long W) {
  return c.downsample > 0 ? c.downsample : std::max(1L, std::lround(double(std::min(H, W)) / 256.0));
}

/** The downsampling of the options (when they have one) in libtorch, then f on the smaller images. */
template <typename F>
inline torch::Tensor downsampled(const torch::Tensor& x, const torch::Tensor& y, F f) {
  const long k = x.dim() == 4 ? downsample_factor(config(), x.size(2), x.size(3)) : 1;
  if (k == 1) return f(x, y);
  auto down = [&](const torch::Tensor& z) { return box_downsample_dim(box_downsample_dim(z, 2, k), 3, k); };
  return f(down(x), down(y));
}

/** f(x, y) when the options do not downsample these images; an error naming `who` when they do (a pixel term runs at the image's size). */
template <typename F>
inline torch::Tensor full_size(const char* who, const torch::Tensor& x, const torch::Tensor& y, F f) {
  const long k = x.dim() == 4 ? downsample_factor(config(), x.size(2), x.size(3)) : 1;
  TORCH_CHECK(k == 1, who, ": these options downsample by ", k, " first; the fused pixel term runs at the image's size (emit with --downsample 1 and downsample before)");
  return f(x, y);
}

}  // namespace ssim_grad
