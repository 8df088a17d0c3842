"""Generate test/fixtures/jvp/cases.json: PyTorch float64 forward mode and second order of SSIM
(five presets), the 3DGS loss and MS-SSIM, the oracles of test/ssim/jvp-torch.test.ts (issue 20).

For each case: torch.autograd.functional.jvp of the loss at (x, y) in the direction (dx, dy), of the
SSIM map too where the case has one (the per-pixel residuals of Levenberg-Marquardt),
torch.autograd.functional.hvp (the Hessian over both images times (dx, dy)), and the same Hessian
product a second way, as the vjp of the vjp (torch.autograd.grad twice, create_graph): the script
stops if the two differ beyond 1e-12 of their largest. All written with torch ops from the peers'
published formulas, not from ssim-grad:

  * pytorch-ssim (Po-Hsun-Su/pytorch-ssim _ssim: 11-tap Gaussian, sigma 1.5, conv2d zero padding 5,
    C1 = 0.01^2, C2 = 0.03^2, mean of the map);
  * the 3D Gaussian splatting loss (graphdeco-inria/gaussian-splatting train.py:
    (1 - lambda) mean|x - y| + lambda (1 - ssim), lambda 0.2, its ssim pytorch-ssim's);
  * scikit-image structural_similarity (box 7 or Gaussian sigma 1.5 truncate 3.5, scipy mode
    'reflect' = the edge-including mirror, sample covariance NP/(NP-1), the map cropped by
    (win - 1)/2 before the mean; data_range given);
  * TensorFlow tf.image.ssim (Gaussian 11, sigma 1.5, 'VALID', max_val 1) and pytorch-msssim's ssim
    (the same separable 'valid' filter, data_range 255);
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


def ssim_map(X, Y, filt, C1, C2, cov_norm=1.0):
    mu1, mu2 = filt(X), filt(Y)
    s11 = cov_norm * (filt(X * X) - mu1 * mu1)
    s22 = cov_norm * (filt(Y * Y) - mu2 * mu2)
    s12 = cov_norm * (filt(X * Y) - mu1 * mu2)
    return ((2 * mu1 * mu2 + C1) * (2 * s12 + C2)) / ((mu1 * mu1 + mu2 * mu2 + C1) * (s11 + s22 + C2))


def pytorch_ssim_map(X, Y):
    C = X.shape[1]
    g = gauss(11, 1.5).unsqueeze(1)
    w = g.mm(g.t()).unsqueeze(0).unsqueeze(0).expand(C, 1, 11, 11).contiguous()
    return ssim_map(X, Y, lambda t: F.conv2d(t, w, padding=5, groups=C), 0.01 ** 2, 0.03 ** 2)


def mirror(n, pad):
    """scipy.ndimage mode 'reflect' (d c b a | a b c d | d c b a) as source indices."""
    i = np.arange(-pad, n + pad)
    period = 2 * n
    i = np.mod(i, period)
    return torch.tensor(np.where(i >= n, period - 1 - i, i))


def skimage_ssim(win, gaussian, data_range):
    """skimage.metrics.structural_similarity with channel_axis, float images."""

    def loss(X, Y):
        C = X.shape[1]
        if gaussian:
            g = gauss(win, 1.5).unsqueeze(1)
            k = g.mm(g.t())
        else:
            k = torch.full((win, win), 1.0 / (win * win), dtype=torch.float64)
        w = k.unsqueeze(0).unsqueeze(0).expand(C, 1, win, win).contiguous()
        r = win // 2

        def filt(t):
            t = t[:, :, mirror(t.shape[2], r), :][:, :, :, mirror(t.shape[3], r)]
            return F.conv2d(t, w, groups=C)

        NP = win * win
        S = ssim_map(X, Y, filt, (0.01 * data_range) ** 2, (0.03 * data_range) ** 2, NP / (NP - 1.0))
        return S[:, :, r:-r, r:-r].mean()

    return loss


def valid_gaussian_ssim(data_range):
    """tf.image.ssim / pytorch-msssim ssim: the Gaussian 11, sigma 1.5, no padding."""

    def loss(X, Y):
        C = X.shape[1]
        g = gauss(11, 1.5).unsqueeze(1)
        w = g.mm(g.t()).unsqueeze(0).unsqueeze(0).expand(C, 1, 11, 11).contiguous()
        return ssim_map(X, Y, lambda t: F.conv2d(t, w, groups=C), (0.01 * data_range) ** 2, (0.03 * data_range) ** 2).mean()

    return loss


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


def vjp_of_vjp(loss, x, y, dx, dy):
    """The Hessian over both images times (dx, dy) as double backward: grad of <grad, (dx, dy)>."""
    X, Y = x.clone().requires_grad_(True), y.clone().requires_grad_(True)
    gx, gy = torch.autograd.grad(loss(X, Y), (X, Y), create_graph=True)
    return torch.autograd.grad((gx * dx).sum() + (gy * dy).sum(), (X, Y))


def case(name, source, options, loss, shape, scale=1.0, smooth=False, map_fn=None):
    x, y, dx, dy = images(shape, scale, smooth)
    t = [torch.tensor(a, dtype=torch.float64) for a in (x, y, dx, dy)]
    value, jvp = torch.autograd.functional.jvp(loss, (t[0], t[1]), (t[2], t[3]))
    _, (hx, hy) = torch.autograd.functional.hvp(loss, (t[0], t[1]), (t[2], t[3]))
    vx, vy = vjp_of_vjp(loss, *t)
    scale_h = max(float(hx.abs().max()), float(hy.abs().max()))
    gap = max(float((vx - hx).abs().max()), float((vy - hy).abs().max()))
    assert gap <= 1e-12 * scale_h, f"{name}: hvp and vjp of vjp differ by {gap} (largest {scale_h})"
    print(f"  {name:24s} value {value.item()!r}  jvp {jvp.item()!r}  |Hv| {scale_h:.3e}  hvp vs vjp-of-vjp {gap:.1e}")
    flat = lambda a: [float(v) for v in np.asarray(a, dtype=np.float64).reshape(-1)]
    c = {
        "name": name, "source": source, "options": options, "shape": list(shape),
        "x": flat(x), "y": flat(y), "dx": flat(dx), "dy": flat(dy),
        "value": value.item(), "jvp": jvp.item(), "hvpX": flat(hx.numpy()), "hvpY": flat(hy.numpy()),
    }
    if map_fn is not None:
        _, tangent = torch.autograd.functional.jvp(map_fn, (t[0], t[1]), (t[2], t[3]))
        c["mapTangent"] = flat(tangent.numpy())
    cases.append(c)


case("pytorch-ssim", "Po-Hsun-Su/pytorch-ssim _ssim, float64", {"preset": "pytorch-ssim"}, pytorch_ssim, (1, 2, 12, 13),
     map_fn=pytorch_ssim_map)
case("skimage-box", "skimage structural_similarity, win_size 7, data_range 1, float64", {"preset": "skimage", "dataRange": 1},
     skimage_ssim(7, False, 1.0), (1, 2, 13, 12))
case("skimage-gaussian", "skimage structural_similarity, gaussian_weights, data_range 255, float64",
     {"preset": "skimage", "window": "gaussian", "dataRange": 255}, skimage_ssim(11, True, 255.0), (1, 1, 16, 15), 255.0, True)
case("tf", "tf.image.ssim, max_val 1, float64", {"preset": "tf", "dataRange": 1}, valid_gaussian_ssim(1.0), (1, 3, 14, 13))
case("pytorch-msssim-ssim", "VainF/pytorch-msssim ssim, data_range 255, float64", {"preset": "pytorch-msssim"},
     valid_gaussian_ssim(255.0), (1, 1, 15, 17), 255.0, True)
case("3dgs-loss", "gaussian-splatting train.py loss, lambda_dssim 0.2, float64", {"preset": "pytorch-ssim", "variant": "3dgs-loss"}, gs_loss(0.2), (1, 3, 11, 12))
case("ms-ssim-pytorch-msssim", "VainF/pytorch-msssim ms_ssim, data_range 255, weights [0.4, 0.6], float64",
     {"preset": "pytorch-msssim", "variant": "ms-ssim", "weights": [0.4, 0.6]}, ms_ssim([0.4, 0.6]), (1, 2, 23, 25), 255.0, True)

os.makedirs(OUT, exist_ok=True)
with open(os.path.join(OUT, "cases.json"), "w") as f:
    json.dump(cases, f, separators=(",", ":"))
    f.write("\n")
print(f"wrote {len(cases)} cases to test/fixtures/jvp/cases.json")
