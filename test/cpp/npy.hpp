// Writes a tensor as a .npy (version 1.0, C order, little-endian) for `ssim-grad check`/`grad`:
// float64 ('<f8') or float32 ('<f4'), the test programs' one writer.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <fstream>
#include <string>

template <typename T>
void writeNpy(const std::string& path, const torch::Tensor& t) {
  static_assert(sizeof(T) == 4 || sizeof(T) == 8, "float or double");
  auto c = t.detach().to(sizeof(T) == 8 ? torch::kFloat64 : torch::kFloat32).contiguous();
  std::string shape;
  for (auto s : c.sizes()) shape += std::to_string(s) + ", ";
  std::string dict = std::string("{'descr': '") + (sizeof(T) == 8 ? "<f8" : "<f4") + "', 'fortran_order': False, 'shape': (" +
                     shape.substr(0, shape.size() - 2) + (c.dim() == 1 ? "," : "") + "), }";
  while ((10 + dict.size() + 1) % 64 != 0) dict += ' ';
  dict += '\n';
  std::ofstream f(path, std::ios::binary);
  f.write("\x93NUMPY\x01\x00", 8);
  const uint16_t n = static_cast<uint16_t>(dict.size());
  f.put(char(n & 0xff)).put(char(n >> 8));
  f << dict;
  f.write(reinterpret_cast<const char*>(c.data_ptr<T>()), c.numel() * sizeof(T));
}
