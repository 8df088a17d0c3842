// The binding `ssim-grad emit cpp --preset matlab --out DIR` writes (MATLAB's automatic downsampling
// in libtorch, then SsimFunction) on a 1 x 1 x 400 x 420 pair in [0, 255] (so f = round(400/256) = 2):
// writes x.npy, y.npy and its d/dx as float64 .npy into argv[1] and prints the value; the test
// compares them with `ssim-grad grad --preset matlab` (test/cli/emit.test.ts).
#include <torch/torch.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

#include "npy.hpp"
#include "ssim_torch.hpp"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::string dir = argv[1];
  torch::manual_seed(3);
  auto x = 255 * torch::rand({1, 1, 400, 420}, torch::kFloat64);
  auto y = (x + 30 * torch::randn({1, 1, 400, 420}, torch::kFloat64)).clamp(0, 255);
  auto xr = x.clone().requires_grad_(true);
  auto s = ssim_grad::ssim(xr, y);
  s.backward();
  writeNpy<double>(dir + "/x.npy", x);
  writeNpy<double>(dir + "/y.npy", y);
  writeNpy<double>(dir + "/grad.npy", xr.grad());
  std::printf("{\"ssim\":%.17g,\"factor\":%ld}\n", s.item<double>(), ssim_grad::downsample_factor(ssim_grad::config(), 400, 420));
  return 0;
}
