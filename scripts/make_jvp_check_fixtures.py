"""Generate test/fixtures/jvp-check/: PyTorch float32 JVPs and HVPs of SSIM for `check --jvp` and
`check --hvp` (issue 20), the oracles of test/check/forward-check.test.ts and the README's examples.

The loss is pytorch-ssim's formula (Po-Hsun-Su/pytorch-ssim _ssim: 11-tap Gaussian, sigma 1.5,
conv2d zero padding 5, C1 = 0.01^2, C2 = 0.03^2, the mean of the map), written with torch ops
here, not from ssim-grad, and differentiated by torch in float32:

  jvp-torch32.npy       torch.autograd.functional.jvp of ssim(X, Y) in the direction (dX, dY), float32:
                        right beyond rounding, `check --jvp` says MATCH
  jvp-torch32-dx.npy    the same with dY = 0 (the JVP along dX alone): MATCH without --dy, and the
                        mistake "dy ignored" with --dy
  jvp-per-pixel32.npy   the per-pixel chain rule's JVP: S's tangent at each pixel from the directions at
                        that pixel alone, the moments' tangents (W 1) dx, (W 1) 2x dx, (W 1)(y dx + x dy), ...
                        in place of W dx, W(2x dx), W(y dx + x dy): MISMATCH naming per-pixel-chain-rule
  hvp-torch32.npy       torch.autograd.functional.hvp of ssim(., Y) at X times V, float32: MATCH
  hvp-gn32.npy          the HVP with S's partials held constant along V (they are detached, and the gradient
                        W^T g_mu + 2X W^T g_xx + Y W^T g_xy differentiated along V by torch): 2 V W^T g_xx,
                        MISMATCH naming map-second-partials-dropped

Inputs (numpy default_rng, seed 2020), float32 .npy (the values torch's float32 reads, exact in
float64), 1 x 3 x 16 x 20, NCHW: x uniform in [0, 1], y = x plus noise, dx = (y - x) times a random
factor in [0.5, 1.5] (a direction towards y, whose JVP is far from zero), dy and v uniform in [-1, 1].
Candidates are 0-d float32 .npy (a JVP) or float32 with X's shape (an HVP). Run:
    python3 scripts/make_jvp_check_fixtures.py
(tested with torch 1.13, numpy 1.24; single-threaded).
"""

import math
import os

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "test", "fixtures", "jvp-check")
torch.set_num_threads(1)
rng = np.random.default_rng(2020)
DT = torch.float32


def window(C):
    g = torch.tensor([math.exp(-((i - 5) ** 2) / (2.0 * 1.5 ** 2)) for i in range(11)], dtype=torch.float64)
    g = (g / g.sum()).unsqueeze(1)
    return g.mm(g.t()).unsqueeze(0).unsqueeze(0).expand(C, 1, 11, 11).contiguous().to(DT)


def W(t, w):
    return F.conv2d(t, w, padding=5, groups=t.shape[1])


def Wt(t, w):
    # the adjoint of W: conv_transpose2d with the same weights and padding
    return F.conv_transpose2d(t, w, padding=5, groups=t.shape[1])


C1, C2 = 0.01 ** 2, 0.03 ** 2


def S_of(mu1, mu2, m11, m22, m12):
    s11 = m11 - mu1 * mu1
    s22 = m22 - mu2 * mu2
    s12 = m12 - mu1 * mu2
    return ((2 * mu1 * mu2 + C1) * (2 * s12 + C2)) / ((mu1 * mu1 + mu2 * mu2 + C1) * (s11 + s22 + C2))


def ssim(X, Y):
    w = window(X.shape[1])
    return S_of(W(X, w), W(Y, w), W(X * X, w), W(Y * Y, w), W(X * Y, w)).mean()


shape = (1, 3, 16, 20)
n = int(np.prod(shape))
x = rng.random(n)
y = np.clip(x + 0.3 * (rng.random(n) - 0.5), 0.0, 1.0)
dx = (y - x) * (0.5 + rng.random(n))
dy = 2 * rng.random(n) - 1
v = 2 * rng.random(n) - 1
x, y, dx, dy, v = (a.reshape(shape).astype(np.float32) for a in (x, y, dx, dy, v))
X, Y, dX, dY, V = (torch.tensor(a, dtype=DT) for a in (x, y, dx, dy, v))
w = window(3)

# the JVP, torch's own, in float32
_, jvp = torch.autograd.functional.jvp(ssim, (X, Y), (dX, dY))
_, jvp_dx = torch.autograd.functional.jvp(ssim, (X, Y), (dX, torch.zeros_like(dY)))

# the per-pixel chain rule: S's tangent from the moments' tangents taken per pixel, (W 1) times the pixel's own
ones = W(torch.ones_like(X), w)
moments = (W(X, w), W(Y, w), W(X * X, w), W(Y * Y, w), W(X * Y, w))
per_pixel = (ones * dX, ones * dY, ones * 2 * X * dX, ones * 2 * Y * dY, ones * (Y * dX + X * dY))
_, jvp_pp = torch.autograd.functional.jvp(lambda *m: S_of(*m).mean(), moments, per_pixel)

# the HVP, torch's own (double backward), in float32, over X with Y fixed
_, hvp = torch.autograd.functional.hvp(lambda A: ssim(A, Y), X, V)

# S's partials held constant along V: the gradient written over detached partial maps, differentiated by torch
leaves = [m.detach().requires_grad_(True) for m in moments]
g_mu, _, g_xx, _, g_xy = torch.autograd.grad(S_of(*leaves).mean(), leaves)
g_mu, g_xx, g_xy = g_mu.detach(), g_xx.detach(), g_xy.detach()
_, hvp_gn = torch.autograd.functional.jvp(lambda A: Wt(g_mu, w) + 2 * A * Wt(g_xx, w) + Y * Wt(g_xy, w), X, V)

os.makedirs(OUT, exist_ok=True)
for name, a in (("x", x), ("y", y), ("dx", dx), ("dy", dy), ("v", v)):
    np.save(os.path.join(OUT, f"{name}.npy"), a)
for name, t in (("jvp-torch32", jvp), ("jvp-torch32-dx", jvp_dx), ("jvp-per-pixel32", jvp_pp), ("hvp-torch32", hvp), ("hvp-gn32", hvp_gn)):
    a = t.detach().numpy().astype(np.float32)
    np.save(os.path.join(OUT, f"{name}.npy"), a)
    print(f"  {name:18s} shape {list(a.shape)}  {float(a.reshape(-1)[0])!r}{'' if a.ndim == 0 else f'  |max| {float(np.abs(a).max()):.3e}'}")
print("wrote test/fixtures/jvp-check/")
