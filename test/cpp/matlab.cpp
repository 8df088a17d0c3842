// The binding `ssim-grad emit cpp --preset matlab --out DIR` writes (MATLAB's automatic downsampling
// in libtorch, then SsimFunction) on a 1 x 1 x 400 x 420 pair in [0, 255] (so f = round(400/256) = 2):
// writes x.npy, y.npy and its d/dx as float64 .npy into argv[1] and prints the value; the test
// compares them with `ssim-grad grad --preset matlab` (test/cli/emit.test.ts).
#include <torch/torch.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

#include "ssim_torch.hpp"

/** A float64 .npy (version 1.0, C order). */
static void writeNpy(const std::string& path, const torch::Tensor& t) {
  auto c = t.detach().to(torch::kFloat64).contiguous();
  std::string shape;
  for (auto s : c.sizes()) shape += std::to_string(s) + ", ";
  std::string dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (" + shape.substr(0, shape.size() - 2) + "), }";
  while ((10 + dict.size() + 1) % 64 != 0) dict += ' ';
  dict += '\n';
  std::ofstream f(path, std::ios::binary);
  f.write("\x93NUMPY\x01\x00", 8);
  const uint16_t n = static_cast<uint16_t>(dict.size());
  f.put(char(n & 0xff)).put(char(n >> 8));
  f << dict;
  f.write(reinterpret_cast<const char*>(c.data_ptr<double>()), c.numel() * 8);
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::string dir = argv[1];
  torch::manual_seed(3);
  auto x = 255 * torch::rand({1, 1, 400, 420}, torch::kFloat64);
  auto y = (x + 30 * torch::randn({1, 1, 400, 420}, torch::kFloat64)).clamp(0, 255);
  auto xr = x.clone().requires_grad_(true);
  auto s = ssim_grad::ssim(xr, y);
  s.backward();
  writeNpy(dir + "/x.npy", x);
  writeNpy(dir + "/y.npy", y);
  writeNpy(dir + "/grad.npy", xr.grad());
  std::printf("{\"ssim\":%.17g,\"factor\":%ld}\n", s.item<double>(), ssim_grad::downsample_factor(ssim_grad::config(), 400, 420));
  return 0;
}
