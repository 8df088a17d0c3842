"""Generate test/fixtures/jvp/cases.json: PyTorch float64 forward mode and second order of SSIM,
the 3DGS loss and MS-SSIM, the oracles of test/ssim/jvp-torch.test.ts (issue 20).

For each case: torch.autograd.functional.jvp of the loss at (x, y) in the direction (dx, dy), and
torch.autograd.functional.hvp (the Hessian over both images times (dx, dy)), written with torch
ops from the peers' published formulas, not from ssim-grad:

  * pytorch-ssim (Po-Hsun-Su/pytorch-ssim _ssim: 11-tap Gaussian, sigma 1.5, conv2d zero padding 5,
    C1 = 0.01^2, C2 = 0.03^2, mean of the map);
  * the 3D Gaussian splatting loss (graphdeco-inria/gaussian-splatting train.py:
    (1 - lambda) mean|x - y| + lambda (1 - ssim), lambda 0.2, its ssim pytorch-ssim's);
  * MS-SSIM (VainF/pytorch-msssim ms_ssim, data_range 255: per level the separable 'valid'
    Gaussian filter, cs and ssim per channel; relu(cs) at the levels before the last, relu(ssim)
    at the last, 2 x 2 avg_pool2d with padding [s % 2] between levels; the product of the levels
    raised to their weights, mean over N and C).

The inputs are drawn here (numpy default_rng, seed 20) and stored in the file with the results, so
the test needs no Python. Arrays are flat lists in C order, NCHW. Run:
    python3 scripts/make_jvp_fixtures.py
(tested with torch 1.13, numpy 1.24; single-threaded).
"""

import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "test", "fixtures", "jvp")
torch.set_num_threads(1)
rng = np.random.default_rng(20)


def gauss(size, sigma):
    g = torch.tensor([math.exp(-((i - size // 2) ** 2) / (2.0 * sigma ** 2)) for i in range(size)], dtype=torch.float64)
    return g / g.sum()


def pytorch_ssim(X, Y):
    C = X.shape[1]
    g = gauss(11, 1.5).unsqueeze(1)
    w = g.mm(g.t()).unsqueeze(0).unsqueeze(0).expand(C, 1, 11, 11).contiguous()

    def W(t):
        return F.conv2d(t, w, padding=5, groups=C)

    mu1, mu2 = W(X), W(Y)
    s11 = W(X * X) - mu1 * mu1
    s22 = W(Y * Y) - mu2 * mu2
    s12 = W(X * Y) - mu1 * mu2
    C1, C2 = 0.01 ** 2, 0.03 ** 2
    S = ((2 * mu1 * mu2 + C1) * (2 * s12 + C2)) / ((mu1 * mu1 + mu2 * mu2 + C1) * (s11 + s22 + C2))
    return S.mean()


def gs_loss(lam):
    def loss(X, Y):
        return (1 - lam) * (X - Y).abs().mean() + lam * (1 - pytorch_ssim(X, Y))

    return loss


def ms_ssim(weights, data_range=255.0):
    def loss(X, Y):
        C = X.shape[1]
        win = gauss(11, 1.5).reshape(1, 1, 1, 11).repeat([C, 1, 1, 1])

        def filt(t):
            return F.conv2d(F.conv2d(t, win.transpose(2, -1), groups=C), win, groups=C)

        C1, C2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
        levels = []
        for j in range(len(weights)):
            mu1, mu2 = filt(X), filt(Y)
            s11 = filt(X * X) - mu1 * mu1
            s22 = filt(Y * Y) - mu2 * mu2
            s12 = filt(X * Y) - mu1 * mu2
            cs_map = (2 * s12 + C2) / (s11 + s22 + C2)
            ssim_map = ((2 * mu1 * mu2 + C1) / (mu1 * mu1 + mu2 * mu2 + C1)) * cs_map
            if j < len(weights) - 1:
                levels.append(torch.relu(torch.flatten(cs_map, 2).mean(-1)))
                pad = [s % 2 for s in X.shape[2:]]
                X = F.avg_pool2d(X, kernel_size=2, padding=pad)
                Y = F.avg_pool2d(Y, kernel_size=2, padding=pad)
            else:
                levels.append(torch.relu(torch.flatten(ssim_map, 2).mean(-1)))
        stacked = torch.stack(levels, dim=0)
        assert (stacked > 0).all()
        w = X.new_tensor(weights).view(-1, 1, 1)
        return torch.prod(stacked ** w, dim=0).mean()

    return loss


def images(shape, scale, smooth):
    n = int(np.prod(shape))
    if smooth:
        H, W = shape[2], shape[3]
        i = np.arange(n)
        x = 0.5 + 0.3 * np.sin((i % W) / 5.0) * np.cos((i // W % H) / 7.0) + 0.1 * rng.random(n)
        noise = (0.02 + 0.05 * rng.random(n)) * np.where(rng.random(n) < 0.5, -1.0, 1.0)
    else:
        x = rng.random(n)
        # |x - y| >= 0.05: the 3DGS loss's L1 term is away from its kink
        noise = (0.05 + 0.25 * rng.random(n)) * np.where(rng.random(n) < 0.5, -1.0, 1.0)
    y = x + noise
    dx = 2 * rng.random(n) - 1
    dy = 2 * rng.random(n) - 1
    return [a.reshape(shape) * s for a, s in ((x, scale), (y, scale), (dx, scale), (dy, scale))]


cases = []


def case(name, source, options, loss, shape, scale=1.0, smooth=False):
    x, y, dx, dy = images(shape, scale, smooth)
    t = [torch.tensor(a, dtype=torch.float64) for a in (x, y, dx, dy)]
    value, jvp = torch.autograd.functional.jvp(loss, (t[0], t[1]), (t[2], t[3]))
    _, (hx, hy) = torch.autograd.functional.hvp(loss, (t[0], t[1]), (t[2], t[3]))
    print(f"  {name:24s} value {value.item()!r}  jvp {jvp.item()!r}  |Hv| {float(hx.abs().max()):.3e}")
    flat = lambda a: [float(v) for v in np.asarray(a, dtype=np.float64).reshape(-1)]
    cases.append({
        "name": name, "source": source, "options": options, "shape": list(shape),
        "x": flat(x), "y": flat(y), "dx": flat(dx), "dy": flat(dy),
        "value": value.item(), "jvp": jvp.item(), "hvpX": flat(hx.numpy()), "hvpY": flat(hy.numpy()),
    })


case("pytorch-ssim", "Po-Hsun-Su/pytorch-ssim _ssim, float64", {"preset": "pytorch-ssim"}, pytorch_ssim, (1, 2, 12, 13))
case("3dgs-loss", "gaussian-splatting train.py loss, lambda_dssim 0.2, float64", {"preset": "pytorch-ssim", "variant": "3dgs-loss"}, gs_loss(0.2), (1, 3, 11, 12))
case("ms-ssim-pytorch-msssim", "VainF/pytorch-msssim ms_ssim, data_range 255, weights [0.4, 0.6], float64",
     {"preset": "pytorch-msssim", "variant": "ms-ssim", "weights": [0.4, 0.6]}, ms_ssim([0.4, 0.6]), (1, 2, 23, 25), 255.0, True)

os.makedirs(OUT, exist_ok=True)
with open(os.path.join(OUT, "cases.json"), "w") as f:
    json.dump(cases, f, separators=(",", ":"))
    f.write("\n")
print(f"wrote {len(cases)} cases to test/fixtures/jvp/cases.json")
