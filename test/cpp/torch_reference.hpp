// pytorch-ssim's formula in libtorch, written independently of the generated header (conv2d with the
// outer product of the taps, each boundary rule in libtorch's own spelling): the reference the
// C++ test programs differentiate with libtorch autograd.
#pragma once

#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "ssim_grad.hpp"

namespace F = torch::nn::functional;
using ssim_grad::Boundary;

/** Gaussian taps, normalised (pytorch-ssim's gaussian()). */
inline std::vector<double> gaussian(int k, double sigma) {
  std::vector<double> t(k);
  double s = 0;
  for (int i = 0; i < k; i++) s += t[i] = std::exp(-double((i - k / 2) * (i - k / 2)) / (2 * sigma * sigma));
  for (auto& v : t) v /= s;
  return t;
}

/** z padded by r on each side of H and W under the rule (the torch spelling of each). */
inline torch::Tensor padded(const torch::Tensor& z, Boundary b, long r) {
  using M = F::PadFuncOptions;
  switch (b) {
    case Boundary::same: return F::pad(z, M({r, r, r, r}).mode(torch::kConstant));
    case Boundary::valid: return z;
    case Boundary::mirror: return F::pad(z, M({r, r, r, r}).mode(torch::kReflect));
    case Boundary::replicate: return F::pad(z, M({r, r, r, r}).mode(torch::kReplicate));
    case Boundary::reflect: {
      // half-sample symmetric: the first r samples, flipped, before; the last r, flipped, after
      auto h = torch::cat({z.slice(2, 0, r).flip({2}), z, z.slice(2, z.size(2) - r).flip({2})}, 2);
      return torch::cat({h.slice(3, 0, r).flip({3}), h, h.slice(3, h.size(3) - r).flip({3})}, 3);
    }
  }
  return z;
}

/** The maps the tests differentiate: SSIM, MS-SSIM's contrast-structure cs, Wang's l^alpha c^beta s^gamma (gsLoss: gsLossTorch below, over SSIM's). */
enum class Map { ssim, cs, wang, gsLoss };

/** Wang's exponents. */
struct Exponents {
  double alpha = 1, beta = 1, gamma = 1;
};

/**
 * pytorch-ssim's _ssim with a boundary rule, covariance normaliser and crop, for each map: the mean
 * of the map. From the definitions (Wang et al. 2004; MS-SSIM's cs):
 *   SSIM = (2 mu_x mu_y + C1)(2 sigma_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(sigma_x^2 + sigma_y^2 + C2))
 *   cs   = (2 sigma_xy + C2) / (sigma_x^2 + sigma_y^2 + C2)
 *   Wang = l^alpha c^beta s^gamma, l = (2 mu_x mu_y + C1) / (mu_x^2 + mu_y^2 + C1),
 *          c = (2 sigma_x sigma_y + C2) / (sigma_x^2 + sigma_y^2 + C2), s = (sigma_xy + C3) / (sigma_x sigma_y + C3), C3 = C2 / 2,
 * the variances and the covariance scaled by cn (sample covariance: NP / (NP - 1)).
 */
inline torch::Tensor mapTorch(Map m, const torch::Tensor& x, const torch::Tensor& y, const std::vector<double>& taps, Boundary b, double C1, double C2,
                              double cn, long crop, Exponents e = {}, double lambda = 0);
inline torch::Tensor gsLossTorch(const torch::Tensor& x, const torch::Tensor& y, const std::vector<double>& taps, Boundary b, double C1, double C2, double cn,
                                 long crop, double lambda);

/** As above; Map::gsLoss: gsLossTorch with lambda. */
inline torch::Tensor mapTorch(Map m, const torch::Tensor& x, const torch::Tensor& y, const std::vector<double>& taps, Boundary b, double C1, double C2,
                              double cn, long crop, Exponents e, double lambda) {
  if (m == Map::gsLoss) return gsLossTorch(x, y, taps, b, C1, C2, cn, crop, lambda);
  const long k = static_cast<long>(taps.size()), C = x.size(1);
  auto t = torch::tensor(taps, torch::kFloat64).to(x.scalar_type());
  auto w = torch::outer(t, t).expand({C, 1, k, k}).contiguous();
  auto filt = [&](const torch::Tensor& z) { return F::conv2d(padded(z, b, k / 2), w, F::Conv2dFuncOptions().groups(C)); };
  auto mu1 = filt(x), mu2 = filt(y);
  auto s11 = cn * (filt(x * x) - mu1 * mu1), s22 = cn * (filt(y * y) - mu2 * mu2), s12 = cn * (filt(x * y) - mu1 * mu2);
  torch::Tensor map;
  if (m == Map::ssim) map = ((2 * mu1 * mu2 + C1) * (2 * s12 + C2)) / ((mu1 * mu1 + mu2 * mu2 + C1) * (s11 + s22 + C2));
  if (m == Map::cs) map = (2 * s12 + C2) / (s11 + s22 + C2);
  if (m == Map::wang) {
    const double C3 = C2 / 2;
    auto sx = s11.clamp_min(0).sqrt(), sy = s22.clamp_min(0).sqrt();
    auto l = (2 * mu1 * mu2 + C1) / (mu1 * mu1 + mu2 * mu2 + C1);
    auto c = (2 * sx * sy + C2) / (s11 + s22 + C2);
    auto s = (s12 + C3) / (sx * sy + C3);
    map = l.pow(e.alpha) * c.pow(e.beta) * s.pow(e.gamma);
  }
  if (crop > 0) map = map.slice(2, crop, map.size(2) - crop).slice(3, crop, map.size(3) - crop);
  return map.mean();
}

/** pytorch-ssim's _ssim with a boundary rule, covariance normaliser and crop: the mean of the map. */
inline torch::Tensor ssimTorch(const torch::Tensor& x, const torch::Tensor& y, const std::vector<double>& taps, Boundary b, double C1, double C2,
                               double cn, long crop) {
  return mapTorch(Map::ssim, x, y, taps, b, C1, C2, cn, crop);
}

/**
 * The 3D Gaussian splatting loss (graphdeco-inria/gaussian-splatting train.py) in plain libtorch:
 * (1 - lambda) mean|x - y| + lambda (1 - SSIM), SSIM pytorch-ssim's mean map as above; torch's
 * abs has derivative sign(u), 0 at 0.
 */
inline torch::Tensor gsLossTorch(const torch::Tensor& x, const torch::Tensor& y, const std::vector<double>& taps, Boundary b, double C1, double C2, double cn,
                                 long crop, double lambda) {
  return (1 - lambda) * (x - y).abs().mean() + lambda * (1 - mapTorch(Map::ssim, x, y, taps, b, C1, C2, cn, crop));
}

inline double relErr(const torch::Tensor& a, const torch::Tensor& ref) {
  auto r = ref.to(torch::kFloat64);
  return ((a.to(torch::kFloat64) - r).abs().max() / r.abs().max()).item<double>();
}

