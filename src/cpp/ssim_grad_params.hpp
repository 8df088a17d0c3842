// Hand-written (not generated): the public parameters of the kernels in ssim_grad.hpp, the same for
// every configuration. ssim_grad.hpp includes this file after the boundary rules it prints
// (enum class Boundary, boundaryIndex, mapLength), inside namespace ssim_grad; it is not meant to be
// included on its own. `ssim-grad emit cpp` copies it beside the generated headers.
#pragma once

#include <stdexcept>
#include <vector>

namespace ssim_grad {

/** Where index j of an axis of length n reads under rule b (-1: a zero). */
inline long source(Boundary b, long j, long n) { return boundaryIndex(j, n, b); }

/** What every kernel takes (the fields of src/emit/params.ts KernelParams). */
struct Params {
  /** Batch, channels, height, width of x and y (NCHW, contiguous). */
  long N = 1, C = 1, H = 0, W = 0;
  /** Normalised, symmetric window taps along H and W (odd lengths; {1} leaves an axis unsmoothed). */
  std::vector<double> tapsH, tapsW;
  double C1 = 0, C2 = 0;
  /** Covariance normaliser NP/(NP-1), or 1. */
  double c_n = 1;
  /** Pixels cropped from each side of the map before the reduction. */
  long crop = 0;
  /** Reduction weight of one map pixel (1/count for a mean). */
  double omega = 1;
  Boundary boundary = Boundary::same;
  /** A weight per (image, channel) plane instead of omega (N x C values; MS-SSIM's product rule), or null. */
  const double* planeOmega = nullptr;
  /** If not null, receives each plane's unweighted sum of the map over the region (N x C values). */
  double* planeSums = nullptr;
  /** If not null, receives each map row's unweighted sum over the region (N x C x MH values). */
  double* rowSums = nullptr;
  /** The weight of each pixel's term in a family with one (gsLoss: (1 - lambda) / (N C H W)); others ignore it. */
  double pixelOmega = 0;
};

/** Height and width of the map. */
struct MapSize {
  long MH, MW;
};

/** The map's size under p's rule and taps: the image's, or under 'valid' one value per window that fits (mapLength). */
inline MapSize map_size(const Params& p) {
  return {mapLength(p.boundary, p.H, static_cast<long>(p.tapsH.size())), mapLength(p.boundary, p.W, static_cast<long>(p.tapsW.size()))};
}

namespace detail {

/** What the kernels assume of their parameters: odd, symmetric taps, a map left by the rule and the crop. */
inline void check(const Params& p) {
  const long kh = static_cast<long>(p.tapsH.size()), kw = static_cast<long>(p.tapsW.size());
  if (kh % 2 != 1 || kw % 2 != 1) throw std::invalid_argument("ssim_grad: taps must have odd lengths");
  for (long t = 0; t < kh; t++) if (p.tapsH[t] != p.tapsH[kh - 1 - t]) throw std::invalid_argument("ssim_grad: tapsH must be symmetric");
  for (long t = 0; t < kw; t++) if (p.tapsW[t] != p.tapsW[kw - 1 - t]) throw std::invalid_argument("ssim_grad: tapsW must be symmetric");
  const MapSize m = map_size(p);
  if (m.MH < 1 || m.MW < 1) throw std::invalid_argument("ssim_grad: the image is smaller than the window under 'valid'");
  if (2 * p.crop >= m.MH || 2 * p.crop >= m.MW) throw std::invalid_argument("ssim_grad: the crop leaves nothing of the SSIM map");
}

}  // namespace detail

}  // namespace ssim_grad
