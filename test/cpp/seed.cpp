// The seed question's libtorch code (shared/seed-question.md), its `ssim` function verbatim, run in
// C++ on a 3 x 32 x 32 float32 image pair (the seed's kind of input): writes x.npy, y.npy, the
// seed's analytical gradient seed_grad.npy and libtorch autograd's autograd_grad.npy into the
// folder given as argv[1], for `ssim-grad check` (test/check/seed-cpp.test.ts).
#include <torch/torch.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

#include "npy.hpp"

// ---- the seed's code, as posted ----
std::pair<torch::Tensor, torch::Tensor> ssim(const torch::Tensor& img1, const torch::Tensor& img2, const torch::Tensor& window, int window_size, int channel) {
static const float C1 = 0.01f * 0.01f;
static const float C2 = 0.03f * 0.03f;
const auto mu1 = torch::nn::functional::conv2d(img1, window, torch::nn::functional::Conv2dFuncOptions().padding(window_size / 2).groups(channel));
const auto mu1_sq = mu1.pow(2);
const auto sigma1_sq = torch::nn::functional::conv2d(img1 * img1, window, torch::nn::functional::Conv2dFuncOptions().padding(window_size / 2).groups(channel)) - mu1_sq;
const auto mu2 = torch::nn::functional::conv2d(img2, window, torch::nn::functional::Conv2dFuncOptions().padding(window_size / 2).groups(channel));
const auto mu2_sq = mu2.pow(2);
const auto sigma2_sq = torch::nn::functional::conv2d(img2 * img2, window, torch::nn::functional::Conv2dFuncOptions().padding(window_size / 2).groups(channel)) - mu2_sq;
const auto mu1_mu2 = mu1 * mu2;
const auto sigma12 = torch::nn::functional::conv2d(img1 * img2, window, torch::nn::functional::Conv2dFuncOptions().padding(window_size / 2).groups(channel)) - mu1_mu2;
const auto l_p = (2.f * mu1_mu2 + C1) / (mu1_sq + mu2_sq + C1);
const auto cs_p = (2.f * sigma12 + C2) / (sigma1_sq + sigma2_sq + C2);
const auto ssim_map = l_p * cs_p;
auto grad_mu1_wrt_img1 = torch::nn::functional::conv2d(torch::ones_like(mu1), torch::flip(window, {2, 3}), torch::nn::functional::Conv2dFuncOptions().padding(window_size / 2).groups(channel));
auto lp_x = 2.f * grad_mu1_wrt_img1 * ((mu2 - mu1 * l_p) / (mu1_sq + mu2_sq + C1));
auto cs_x = (2.f / (sigma1_sq + sigma2_sq + C2)) * grad_mu1_wrt_img1 * ((img2 - mu2) - cs_p * (img1 - mu1));
auto dL_ssim_dimg1 = (lp_x * cs_p + l_p * cs_x) / static_cast<float>(img1.size(1) * img1.size(2));
auto loss = ssim_map.mean();
loss.backward();
return {loss, dL_ssim_dimg1};
}
// ---- end of the seed's code ----

/** pytorch-ssim's create_window(window_size, channel): the outer product of a Gaussian (sigma 1.5), float32. */
static torch::Tensor createWindow(int size, int channel) {
  auto i = torch::arange(size, torch::kFloat32) - size / 2;
  auto g = torch::exp(-(i * i) / (2 * 1.5 * 1.5));
  g = g / g.sum();
  return torch::outer(g, g).expand({channel, 1, size, size}).contiguous();
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: seed OUT_DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  torch::manual_seed(2024);
  // smooth images in [0, 1] (a blurred noise field) and a noisy copy: like a render and its target
  auto base = torch::rand({1, 3, 32, 32});
  auto x = torch::nn::functional::avg_pool2d(torch::nn::functional::pad(base, torch::nn::functional::PadFuncOptions({1, 1, 1, 1}).mode(torch::kReplicate)),
                                             torch::nn::functional::AvgPool2dFuncOptions(3).stride(1))[0];
  auto y = (x + 0.1 * torch::randn({3, 32, 32})).clamp(0, 1);
  auto img1 = x.clone().requires_grad_(true);
  const int channel = 3, window_size = 11;
  auto [loss, grad] = ssim(img1, y, createWindow(window_size, channel), window_size, channel);
  writeNpy<float>(dir + "/x.npy", x);
  writeNpy<float>(dir + "/y.npy", y);
  writeNpy<float>(dir + "/seed_grad.npy", grad);
  writeNpy<float>(dir + "/autograd_grad.npy", img1.grad());
  std::printf("{\"loss\":%.9g,\"shape\":[%ld,%ld,%ld]}\n", loss.item<double>(), long(grad.size(0)), long(grad.size(1)), long(grad.size(2)));
  return 0;
}
