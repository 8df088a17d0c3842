"""Generate test/fixtures/torch/: PyTorch autograd of SSIM, in float64 and in float32, for the
boundary rules and presets the checker's tests run on (test/check/configs.ts).

Why a second script: scripts/make_fixtures.py regenerates every peer fixture from its RNG, and on
another numpy/torch build the old files change in their last bits. This one draws nothing: it reads
the committed inputs of test/fixtures/peers/, variants/ and examples/ (named in each case's "x", "y", relative to
test/fixtures/) and only writes its own folder, so rerunning it never touches the peers.

The oracles it gives, written here from the peers' own sources, not from ssim-grad:
  * float64 torch autograd of SSIM under PyTorch's 'reflect' padding (ssim-grad 'mirror') and
    'replicate' padding (F.pad, then an unpadded conv2d): the only fixtures for those two rules;
  * the same losses, and pytorch-ssim, skimage's structural_similarity and pytorch-msssim's ssim,
    run by torch in float32 as a float32 user would run them (float32 taps, float32 inputs,
    float32 autograd): independent float32 candidates for the rounding-floor tests (a correct
    float32 gradient must be a match).

Each case: {name, source, options, x, y, value, gradX, gradY, value32, gradX32, gradY32}; value,
gradX, gradY are float64 autograd (null where test/fixtures/peers or variants already has them),
value32, gradX32, gradY32 the float32 autograd. Arrays are .npy, C order, NCHW: float64, the
float32 gradients float32 (exactly what torch computed).

Run (Debian / Ubuntu: apt-get install python3-torch python3-skimage):
    python3 scripts/make_torch_fixtures.py
(tested with torch 1.13, numpy 1.24). torch runs single-threaded, so reruns are byte-identical on
one build.
"""

import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "test", "fixtures")
OUT = os.path.join(FIXTURES, "torch")

torch.set_num_threads(1)
os.makedirs(OUT, exist_ok=True)
for _old in os.listdir(OUT):  # drop stale outputs of earlier runs
    if _old.endswith(".npy") or _old == "manifest.json":
        os.remove(os.path.join(OUT, _old))
manifest = []


def load(rel):
    return np.load(os.path.join(FIXTURES, rel)).astype(np.float64)


def save(name, arr, dtype=np.float64):
    if arr is None:
        return None
    np.save(os.path.join(OUT, name), np.ascontiguousarray(np.asarray(arr, dtype=dtype)))
    return name


def autograd(loss_fn, x, y, dtype):
    tx = torch.tensor(x, dtype=dtype, requires_grad=True)
    ty = torch.tensor(y, dtype=dtype, requires_grad=True)
    loss = loss_fn(tx, ty)
    loss.backward()
    return (loss.item(), tx.grad.detach().numpy().astype(np.float64),
            ty.grad.detach().numpy().astype(np.float64))


def ssim_map(mu1, mu2, s11, s22, s12, C1, C2):
    """pytorch-ssim's _ssim map from the five windowed means (its order of operations)."""
    mu1_sq = mu1.pow(2)
    mu2_sq = mu2.pow(2)
    mu1_mu2 = mu1 * mu2
    sigma1_sq = s11 - mu1_sq
    sigma2_sq = s22 - mu2_sq
    sigma12 = s12 - mu1_mu2
    return ((2 * mu1_mu2 + C1) * (2 * sigma12 + C2)) / \
        ((mu1_sq + mu2_sq + C1) * (sigma1_sq + sigma2_sq + C2))


def gauss_taps(size, sigma, dtype):
    """pytorch-ssim's gaussian(): math.exp per tap, normalised; float64 taps in float64, and as the
    peer builds them (a float32 torch.Tensor, normalised in float32) in float32."""
    g = torch.tensor([math.exp(-(x - size // 2) ** 2 / float(2 * sigma ** 2)) for x in range(size)],
                     dtype=dtype)
    return g / g.sum()


def padded_ssim_loss(mode, reduction, C1=1e-4, C2=9e-4, size=11, sigma=1.5):
    """pytorch-ssim's _ssim with its conv2d zero padding replaced by F.pad(mode) and an unpadded
    conv2d: mode 'reflect' (whole-sample mirror, ssim-grad 'mirror') or 'replicate'; reduction
    'mean' (over everything) or 'sum' (of the per-image, per-channel means over H x W)."""

    def loss(img1, img2):
        channel = img1.shape[1]
        g = gauss_taps(size, sigma, img1.dtype).unsqueeze(1)
        window = g.mm(g.t()).unsqueeze(0).unsqueeze(0).expand(channel, 1, size, size).contiguous()
        r = size // 2

        def W(t):
            return F.conv2d(F.pad(t, (r, r, r, r), mode=mode), window, groups=channel)

        S = ssim_map(W(img1), W(img2), W(img1 * img1), W(img2 * img2), W(img1 * img2), C1, C2)
        return S.mean() if reduction == "mean" else S.mean(dim=(2, 3)).sum()

    return loss


def pytorch_ssim_loss(img1, img2):
    """Po-Hsun-Su/pytorch-ssim as published (conv2d zero padding 5, L = 1)."""
    channel = img1.shape[1]
    g = gauss_taps(11, 1.5, img1.dtype).unsqueeze(1)
    window = g.mm(g.t()).unsqueeze(0).unsqueeze(0).expand(channel, 1, 11, 11).contiguous()

    def W(t):
        return F.conv2d(t, window, padding=5, groups=channel)

    return ssim_map(W(img1), W(img2), W(img1 * img1), W(img2 * img2), W(img1 * img2), 1e-4, 9e-4).mean()


def skimage_loss(win_size=7, data_range=1.0):
    """skimage.metrics.structural_similarity(channel_axis, data_range, defaults: uniform 7 x 7
    window, use_sample_covariance, K1 .01, K2 .03) written with torch ops: scipy.ndimage's
    uniform_filter (mode 'reflect', half-sample symmetric: numpy's pad 'symmetric', gathered by an
    index table), cov_norm = NP/(NP-1), the map cropped by (win_size-1)/2, mean per channel, then
    over channels (skimage/metrics/_structural_similarity.py)."""
    r = (win_size - 1) // 2
    NP = win_size ** 2
    cov_norm = NP / (NP - 1)
    C1 = (0.01 * data_range) ** 2
    C2 = (0.03 * data_range) ** 2

    def loss(X, Y):
        _, C, H, Wd = X.shape
        rows = torch.tensor(np.pad(np.arange(H), r, mode="symmetric"))
        cols = torch.tensor(np.pad(np.arange(Wd), r, mode="symmetric"))
        box = torch.full((C, 1, win_size, win_size), 1.0 / NP, dtype=X.dtype)

        def filt(t):
            return F.conv2d(t[:, :, rows][:, :, :, cols], box, groups=C)

        ux, uy = filt(X), filt(Y)
        uxx, uyy, uxy = filt(X * X), filt(Y * Y), filt(X * Y)
        vx = cov_norm * (uxx - ux * ux)
        vy = cov_norm * (uyy - uy * uy)
        vxy = cov_norm * (uxy - ux * uy)
        A1, A2 = 2 * ux * uy + C1, 2 * vxy + C2
        B1, B2 = ux ** 2 + uy ** 2 + C1, vx + vy + C2
        S = (A1 * A2) / (B1 * B2)
        return S[:, :, r:-r, r:-r].mean(dim=(2, 3)).mean()

    return loss


def msssim_ssim_loss(data_range=255.0, win_size=11, win_sigma=1.5):
    """VainF/pytorch-msssim pytorch_msssim/ssim.py ssim(size_average=True): _fspecial_gauss_1d
    (coords in the input dtype), gaussian_filter as separable 'valid' conv2d along H then W,
    K = (0.01, 0.03), compensation 1, mean over H x W then channels and batch."""

    def loss(X, Y):
        C = X.shape[1]
        coords = torch.arange(win_size, dtype=X.dtype)
        coords -= win_size // 2
        g = torch.exp(-(coords ** 2) / (2 * win_sigma ** 2))
        g /= g.sum()
        win = g.reshape(1, 1, 1, win_size).repeat([C, 1, 1, 1])

        def filt(t):
            t = F.conv2d(t, win.transpose(2, -1), groups=C)
            return F.conv2d(t, win, groups=C)

        C1 = (0.01 * data_range) ** 2
        C2 = (0.03 * data_range) ** 2
        mu1, mu2 = filt(X), filt(Y)
        mu1_sq, mu2_sq, mu1_mu2 = mu1.pow(2), mu2.pow(2), mu1 * mu2
        sigma1_sq = filt(X * X) - mu1_sq
        sigma2_sq = filt(Y * Y) - mu2_sq
        sigma12 = filt(X * Y) - mu1_mu2
        cs_map = (2 * sigma12 + C2) / (sigma1_sq + sigma2_sq + C2)
        ssim_map_ = ((2 * mu1_mu2 + C1) / (mu1_sq + mu2_sq + C1)) * cs_map
        return torch.flatten(ssim_map_, 2).mean(-1).mean()

    return loss


def case(name, source, options, inputs, loss, with64):
    x, y = load(f"peers/{inputs}.x.npy"), load(f"peers/{inputs}.y.npy")
    v64, gx64, gy64 = autograd(loss, x, y, torch.float64) if with64 else (None, None, None)
    v32, gx32, gy32 = autograd(loss, x, y, torch.float32)
    if with64:
        rel = np.linalg.norm(gx32 - gx64) / np.linalg.norm(gx64)
        print(f"  {name:28s} value {v64!r}  float32 d/dx rel L2 {rel:.2e}")
        assert rel < 1e-4, (name, rel)
    else:
        print(f"  {name:28s} value32 {v32!r}")
    manifest.append({
        "name": name,
        "source": source,
        "options": options,
        "x": f"peers/{inputs}.x.npy",
        "y": f"peers/{inputs}.y.npy",
        "value": v64,
        "gradX": save(f"{name}.gradX.npy", gx64),
        "gradY": save(f"{name}.gradY.npy", gy64),
        "value32": v32,
        "gradX32": save(f"{name}.gradX32.npy", gx32, np.float32),
        "gradY32": save(f"{name}.gradY32.npy", gy32, np.float32),
    })


PAD_SRC = ("Po-Hsun-Su/pytorch-ssim pytorch_ssim/__init__.py _ssim (11 x 11 Gaussian, sigma 1.5, "
           "taps by math.exp, C1 = 1e-4, C2 = 9e-4) with its conv2d zero padding replaced by "
           "F.pad(img, (5, 5, 5, 5), mode='{mode}') and an unpadded conv2d; {red}; torch autograd "
           "in float64 (value, gradX, gradY) and in float32 on the inputs rounded to float32 "
           "(value32, gradX32, gradY32; float32 taps)")

case("mirror", PAD_SRC.format(mode="reflect", red="mean over N C H W"), {"padding": "mirror"},
     "pytorch-ssim-L1", padded_ssim_loss("reflect", "mean"), True)
case("replicate-sum", PAD_SRC.format(mode="replicate", red="sum over N and C of the mean over H W"),
     {"padding": "replicate", "reduction": "sum"}, "pytorch-ssim-L1",
     padded_ssim_loss("replicate", "sum"), True)
case("pytorch-ssim", "Po-Hsun-Su/pytorch-ssim pytorch_ssim/__init__.py run as published in float32 "
     "(conv2d zero padding 5, taps by math.exp into a float32 tensor); float64 case: "
     "peers/pytorch-ssim-L1", {"preset": "pytorch-ssim"}, "pytorch-ssim-L1", pytorch_ssim_loss, False)
case("skimage-rgb-box", "skimage/metrics/_structural_similarity.py structural_similarity("
     "data_range=1, channel_axis) written with torch ops (uniform 7 x 7 window over numpy "
     "'symmetric' padding = scipy 'reflect', cov_norm 49/48, crop 3, mean per channel then over "
     "channels), run in float32; float64 value: peers/skimage-rgb-box",
     {"preset": "skimage", "dataRange": 1}, "skimage-rgb-box", skimage_loss(), False)
case("valid-gaussian-L255", "VainF/pytorch-msssim pytorch_msssim/ssim.py ssim(data_range=255, "
     "size_average=True) run in float32 (float32 _fspecial_gauss_1d taps, separable 'valid' conv); "
     "float64 case: peers/valid-gaussian-L255", {"preset": "pytorch-msssim"}, "valid-gaussian-L255",
     msssim_ssim_loss(), False)


# -- the built-in variants in float32 (inputs from test/fixtures/variants; float64: that folder's cases)

MSSSIM_WEIGHTS = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333]


def msssim_loss(weights=MSSSIM_WEIGHTS, data_range=255.0, win_size=11, win_sigma=1.5):
    """VainF/pytorch-msssim pytorch_msssim/ssim.py ms_ssim(size_average=True): per level _ssim's
    per-channel means of ssim_map and cs_map (separable 'valid' Gaussian, taps by
    _fspecial_gauss_1d in the input dtype); levels before the last keep relu(cs) and pool both
    images by avg_pool2d(2, padding=[s % 2 for s in shape]); the last keeps relu(ssim); the
    product over levels of value ** weight, mean over N and C."""

    def loss(X, Y):
        C = X.shape[1]
        coords = torch.arange(win_size, dtype=X.dtype)
        coords -= win_size // 2
        g = torch.exp(-(coords ** 2) / (2 * win_sigma ** 2))
        g /= g.sum()
        win = g.reshape(1, 1, 1, win_size).repeat([C, 1, 1, 1])

        def filt(t):
            for i, s in enumerate(t.shape[2:]):
                if s >= win_size:
                    t = F.conv2d(t, win.transpose(2 + i, -1), groups=C)
            return t

        C1 = (0.01 * data_range) ** 2
        C2 = (0.03 * data_range) ** 2
        w = X.new_tensor(weights)
        mcs = []
        for level in range(len(weights)):
            mu1, mu2 = filt(X), filt(Y)
            mu1_sq, mu2_sq, mu1_mu2 = mu1.pow(2), mu2.pow(2), mu1 * mu2
            sigma1_sq = filt(X * X) - mu1_sq
            sigma2_sq = filt(Y * Y) - mu2_sq
            sigma12 = filt(X * Y) - mu1_mu2
            cs_map = (2 * sigma12 + C2) / (sigma1_sq + sigma2_sq + C2)
            ssim_map_ = ((2 * mu1_mu2 + C1) / (mu1_sq + mu2_sq + C1)) * cs_map
            ssim_pc = torch.flatten(ssim_map_, 2).mean(-1)
            cs = torch.flatten(cs_map, 2).mean(-1)
            if level < len(weights) - 1:
                mcs.append(torch.relu(cs))
                padding = [s % 2 for s in X.shape[2:]]
                X = F.avg_pool2d(X, kernel_size=2, padding=padding)
                Y = F.avg_pool2d(Y, kernel_size=2, padding=padding)
        stack = torch.stack(mcs + [torch.relu(ssim_pc)], dim=0)
        return torch.prod(stack ** w.view(-1, 1, 1), dim=0).mean()

    return loss


def variant_case(name, source, options, inputs, loss):
    """A float32 case on test/fixtures/variants' inputs (its float64 gradients live there)."""
    x, y = load(f"variants/{inputs}.x.npy"), load(f"variants/{inputs}.y.npy")
    v32, gx32, gy32 = autograd(loss, x, y, torch.float32)
    print(f"  {name:28s} value32 {v32!r}")
    manifest.append({
        "name": name, "source": source, "options": options,
        "x": f"variants/{inputs}.x.npy", "y": f"variants/{inputs}.y.npy",
        "value": None, "gradX": None, "gradY": None,
        "value32": v32, "gradX32": save(f"{name}.gradX32.npy", gx32, np.float32), "gradY32": save(f"{name}.gradY32.npy", gy32, np.float32),
    })


variant_case("dssim-half", "DSSIM = (1 - SSIM) / 2 with pytorch-ssim run as published in float32; "
             "float64 case: variants/dssim-half", {"preset": "pytorch-ssim", "variant": "dssim"},
             "dssim-half", lambda a, b: (1 - pytorch_ssim_loss(a, b)) / 2)
variant_case("3dgs-loss", "graphdeco-inria/gaussian-splatting train.py (1 - 0.2) l1 + 0.2 (1 - ssim), "
             "pytorch-ssim run as published, in float32; float64 case: variants/3dgs-loss",
             {"preset": "pytorch-ssim", "variant": "3dgs-loss"}, "3dgs-loss",
             lambda a, b: 0.8 * torch.abs(a - b).mean() + 0.2 * (1 - pytorch_ssim_loss(a, b)))
variant_case("msssim-pytorch-custom-weights", "VainF/pytorch-msssim pytorch_msssim/ssim.py "
             "ms_ssim(data_range=255, size_average=True, weights=[0.3, 0.3, 0.4]) in float32 (float32 "
             "taps; its size assertion for 5 levels left out, as in the float64 case); inputs uint8, "
             "evaluated as float32; float64 case: variants/msssim-pytorch-custom-weights",
             {"preset": "pytorch-msssim", "variant": "ms-ssim", "weights": [0.3, 0.3, 0.4]},
             "msssim-pytorch-custom-weights", msssim_loss([0.3, 0.3, 0.4]))


def wang_loss(alpha, beta, gamma, padding):
    """Wang, Bovik, Sheikh, Simoncelli 2004 eq. 12, l^alpha c^beta s^gamma with C3 = C2/2 and
    sigma = sqrt(max(var, 0)), over pytorch-ssim's window statistics (taps by math.exp in the input
    dtype; conv2d zero padding 5 'same', or none 'valid'), L = 1, mean over the map."""

    def loss(img1, img2):
        channel = img1.shape[1]
        g = gauss_taps(11, 1.5, img1.dtype).unsqueeze(1)
        window = g.mm(g.t()).expand(channel, 1, 11, 11).contiguous()
        pad = 5 if padding == "same" else 0

        def W(t):
            return F.conv2d(t, window, padding=pad, groups=channel)

        mu1, mu2 = W(img1), W(img2)
        var1 = W(img1 * img1) - mu1 * mu1
        var2 = W(img2 * img2) - mu2 * mu2
        cov = W(img1 * img2) - mu1 * mu2
        C1, C2 = 1e-4, 9e-4
        C3 = C2 / 2
        s1, s2 = torch.sqrt(torch.clamp(var1, min=0)), torch.sqrt(torch.clamp(var2, min=0))
        lum = (2 * mu1 * mu2 + C1) / (mu1 * mu1 + mu2 * mu2 + C1)
        con = (2 * s1 * s2 + C2) / (var1 + var2 + C2)
        struct = (cov + C3) / (s1 * s2 + C3)
        return (lum ** alpha * con ** beta * struct ** gamma).mean()

    return loss


variant_case("wang-same", "Wang et al. 2004 eq. 12, l^1.5 c^0.5 s^1.25 over pytorch-ssim's statistics "
             "('same' zero padding), in float32; float64 case: variants/wang-same",
             {"preset": "pytorch-ssim", "variant": "wang", "alpha": 1.5, "beta": 0.5, "gamma": 1.25},
             "wang-same", wang_loss(1.5, 0.5, 1.25, "same"))

# -- the two example user variants (examples/variants) in float32, on test/fixtures/examples' inputs


def ssim_map_same(img1, img2):
    """pytorch-ssim's per-pixel map (conv2d zero padding 5, taps by math.exp in the input dtype)."""
    channel = img1.shape[1]
    g = gauss_taps(11, 1.5, img1.dtype).unsqueeze(1)
    window = g.mm(g.t()).unsqueeze(0).unsqueeze(0).expand(channel, 1, 11, 11).contiguous()

    def W(t):
        return F.conv2d(t, window, padding=5, groups=channel)

    return ssim_map(W(img1), W(img2), W(img1 * img1), W(img2 * img2), W(img1 * img2), 1e-4, 9e-4)


def example_case(name, source, options, inputs, loss, mask=None):
    x, y = load(f"examples/{inputs}.x.npy"), load(f"examples/{inputs}.y.npy")
    v32, gx32, gy32 = autograd(loss, x, y, torch.float32)
    print(f"  {name:28s} value32 {v32!r}")
    manifest.append({
        "name": name, "source": source, "options": options,
        "x": f"examples/{inputs}.x.npy", "y": f"examples/{inputs}.y.npy",
        **({"mask": f"examples/{mask}.mask.npy"} if mask else {}),
        "value": None, "gradX": None, "gradY": None,
        "value32": v32, "gradX32": save(f"{name}.gradX32.npy", gx32, np.float32), "gradY32": save(f"{name}.gradY32.npy", gy32, np.float32),
    })


_mask = torch.tensor(load("examples/masked-ssim-rgb.mask.npy"), dtype=torch.float32)
example_case("masked-ssim-rgb", "examples/variants/masked-ssim.ts: (m * S).sum() / (C * m.sum()), S "
             "pytorch-ssim's map, m [N, 1, H, W] broadcast over channels, in float32 (mask rounded to "
             "float32); float64 case: examples/masked-ssim-rgb", {"preset": "pytorch-ssim", "dataRange": 1},
             "masked-ssim-rgb", lambda a, b: (_mask * ssim_map_same(a, b)).sum() / (a.shape[1] * _mask.sum()),
             mask="masked-ssim-rgb")
_709 = [0.2126, 0.7152, 0.0722]
example_case("luma-ssim-709", "examples/variants/luma-ssim.ts: mean of pytorch-ssim's map of the luma "
             "0.2126 R + 0.7152 G + 0.0722 B of x and of y, in float32; float64 case: "
             "examples/luma-ssim-709", {"preset": "pytorch-ssim", "dataRange": 1, "coefficients": _709},
             "luma-ssim-709", lambda a, b: ssim_map_same(
                 _709[0] * a[:, 0:1] + _709[1] * a[:, 1:2] + _709[2] * a[:, 2:3],
                 _709[0] * b[:, 0:1] + _709[1] * b[:, 1:2] + _709[2] * b[:, 2:3]).mean())

with open(os.path.join(OUT, "manifest.json"), "w") as fh:
    json.dump(manifest, fh, indent=1)
    fh.write("\n")
total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
print(f"wrote {len(manifest)} cases to {os.path.normpath(OUT)} ({total / 1024:.0f} KiB)")
