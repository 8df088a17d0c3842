"""Generate the peer fixtures in test/fixtures/peers/.

Each fixture is one SSIM evaluation by a "peer" -- another implementation of
SSIM that ssim-grad is checked against:

  * torch-autograd (float64): the loss formulas of Po-Hsun-Su/pytorch-ssim and
    VainF/pytorch-msssim written out with torch ops, differentiated with
    ``loss.backward()``; value, d loss/dx and d loss/dy are stored.
  * torch-autograd-float32: pytorch-ssim exactly as it runs in float32.
  * skimage.structural_similarity (the installed scikit-image): value only, plus
    4th-order central differences of skimage's own value with respect to x at
    a few pixels.
  * numpy-reimplementation: tf.image.ssim and Wang's MATLAB ssim.m, which cannot
    be run here, re-implemented in float64 numpy following their source.

Every case follows that peer's own source (named in the case's "source"); the
only deliberate change is that the Gaussian taps of pytorch-ssim and
pytorch-msssim are computed in float64 rather than float32 in the float64
cases.

Output: arrays as .npy (np.save, C order, NCHW; float64 except the two
MATLAB downsampling inputs, stored as uint8 to keep the folder small) and
manifest.json, a list of cases:
  {name, peer, source, options, x, y, value, gradX, gradY, centralDifferences}
where options uses ssim-grad's option names and centralDifferences is null or
{"wrt": "x", "pixels": [[n,c,i,j],...], "values": [...], "step": h}.

The RNG seed is fixed and torch runs single-threaded, so reruns are
byte-identical.

A second, separate section (make_variants, at the end) writes the variant
fixtures to test/fixtures/variants/ with its own manifest.json in the same
format and its own RNG seed (VARIANT_SEED), so the peers output above does not
depend on it: MS-SSIM (pytorch-msssim, default and custom weights; inputs
stored as uint8), DSSIM ((1 - SSIM)/2 and 1 - SSIM, pytorch-ssim) and the 3D
Gaussian splatting training loss (lambda 0.2 and 0.5), all torch float64
autograd with float64 Gaussian taps; plus tf.image.ssim_multiscale re-implemented
in float64 numpy (value only, inputs stored as uint8); and Wang et al.'s general
form l^alpha c^beta s^gamma with exponents != 1 ('same' and 'valid', its own RNG
seed WANG_SEED); "value" is the variant's value.

A third section (make_examples, after it) writes test/fixtures/examples/, with its
own manifest.json and RNG seed (EXAMPLE_SEED), for the two user-written SSIM variants
examples/variants/masked-ssim.ts and examples/variants/luma-ssim.ts, all torch
float64 autograd over pytorch_ssim_map (pytorch-ssim's per-pixel map, 'same' zero
padding, float64 taps, L = 1): masked SSIM sum(m S) / (C sum(m)) with a soft mask m
[N, 1, H, W] broadcast over channels (cases add a "mask" field, the mask's .npy);
and SSIM of luma Y = c0 R + c1 G + c2 B (Rec. 709 and BT.601; options.coefficients),
differentiated w.r.t. the RGB inputs (cases have "mask": null). Every case carries
centralDifferences at 5 pixels of x, h = 1e-6.

Run (Debian / Ubuntu):
    apt-get install python3-torch python3-skimage   # also pulls numpy, scipy
    python3 scripts/make_fixtures.py
(tested with torch 1.13, scikit-image 0.19.3, scipy 1.10, numpy 1.24).
"""

import json
import math
import os
import warnings

import numpy as np
import scipy.ndimage as ndi
import torch
import torch.nn.functional as F
from numpy.lib.stride_tricks import sliding_window_view
from skimage.metrics import structural_similarity

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "test", "fixtures", "peers")
SEED = 20240611

torch.set_num_threads(1)
os.makedirs(OUT, exist_ok=True)
for _old in os.listdir(OUT):  # drop stale outputs of earlier runs
    if _old.endswith(".npy") or _old == "manifest.json":
        os.remove(os.path.join(OUT, _old))
rng = np.random.default_rng(SEED)
manifest = []


# ----------------------------------------------------------------------------
# helpers

def save(name, arr, dtype=np.float64):
    arr = np.ascontiguousarray(np.asarray(arr, dtype=dtype))
    np.save(os.path.join(OUT, name), arr)
    return name


def make_pair(shape, L, noise, gen=None):
    """x: smooth-ish random NCHW image in [0, L]; y: noisy, lightly blurred x.
    gen: the numpy Generator to draw from (default: the peers' rng)."""
    if gen is None:
        gen = rng
    base = gen.random(shape)
    sig = (0,) * (len(shape) - 2) + (1.0, 1.0)
    x = ndi.gaussian_filter(base, sigma=sig, mode="reflect")
    x = 0.6 * x + 0.4 * base
    x = (x - x.min()) / (x.max() - x.min())
    y = np.clip(x + noise * gen.standard_normal(shape), 0.0, 1.0)
    y = 0.75 * y + 0.25 * ndi.gaussian_filter(y, sigma=(0,) * (len(shape) - 2) + (0.7, 0.7),
                                              mode="reflect")
    return x * L, y * L


def gauss_taps64(size, sigma):
    i = np.arange(size, dtype=np.float64)
    t = np.exp(-((i - (size - 1) / 2.0) ** 2) / (2.0 * sigma ** 2))
    return t / t.sum()


def add_case(name, peer, source, options, x, y, value, gradX=None, gradY=None, cd=None):
    manifest.append({
        "name": name,
        "peer": peer,
        "source": source,
        "options": options,
        "x": x,
        "y": y,
        "value": float(value),
        "gradX": gradX,
        "gradY": gradY,
        "centralDifferences": cd,
    })


# ----------------------------------------------------------------------------
# A. torch autograd

def pytorch_ssim_loss(img1, img2, L, window_size=11, sigma=1.5):
    """Po-Hsun-Su/pytorch-ssim pytorch_ssim/__init__.py: gaussian/create_window/_ssim
    with size_average=True; float64 taps; C1, C2 = (0.01 L)^2, (0.03 L)^2."""
    return pytorch_ssim_map(img1, img2, L, window_size, sigma).mean()


def pytorch_ssim_map(img1, img2, L, window_size=11, sigma=1.5):
    """pytorch_ssim_loss's per-pixel SSIM map (NCHW, conv2d zero padding window_size//2,
    'same'), before the mean; the same ops in the same order."""
    channel = img1.shape[1]
    g = torch.tensor(gauss_taps64(window_size, sigma), dtype=torch.float64).unsqueeze(1)
    w2 = g.mm(g.t()).unsqueeze(0).unsqueeze(0)
    window = w2.expand(channel, 1, window_size, window_size).contiguous().type_as(img1)
    pad = window_size // 2
    mu1 = F.conv2d(img1, window, padding=pad, groups=channel)
    mu2 = F.conv2d(img2, window, padding=pad, groups=channel)
    mu1_sq = mu1.pow(2)
    mu2_sq = mu2.pow(2)
    mu1_mu2 = mu1 * mu2
    sigma1_sq = F.conv2d(img1 * img1, window, padding=pad, groups=channel) - mu1_sq
    sigma2_sq = F.conv2d(img2 * img2, window, padding=pad, groups=channel) - mu2_sq
    sigma12 = F.conv2d(img1 * img2, window, padding=pad, groups=channel) - mu1_mu2
    C1 = (0.01 * L) ** 2
    C2 = (0.03 * L) ** 2
    ssim_map = ((2 * mu1_mu2 + C1) * (2 * sigma12 + C2)) / \
        ((mu1_sq + mu2_sq + C1) * (sigma1_sq + sigma2_sq + C2))
    return ssim_map


def pytorch_ssim_loss_float32(img1, img2, window_size=11):
    """pytorch-ssim exactly as published: taps by math.exp, stored in a float32
    torch.Tensor, normalised in float32, 2-D window by float32 mm; L = 1."""
    channel = img1.shape[1]
    gauss = torch.Tensor([math.exp(-(x - window_size // 2) ** 2 / float(2 * 1.5 ** 2))
                          for x in range(window_size)])
    _1D_window = (gauss / gauss.sum()).unsqueeze(1)
    _2D_window = _1D_window.mm(_1D_window.t()).float().unsqueeze(0).unsqueeze(0)
    window = _2D_window.expand(channel, 1, window_size, window_size).contiguous().type_as(img1)
    pad = window_size // 2
    mu1 = F.conv2d(img1, window, padding=pad, groups=channel)
    mu2 = F.conv2d(img2, window, padding=pad, groups=channel)
    mu1_sq = mu1.pow(2)
    mu2_sq = mu2.pow(2)
    mu1_mu2 = mu1 * mu2
    sigma1_sq = F.conv2d(img1 * img1, window, padding=pad, groups=channel) - mu1_sq
    sigma2_sq = F.conv2d(img2 * img2, window, padding=pad, groups=channel) - mu2_sq
    sigma12 = F.conv2d(img1 * img2, window, padding=pad, groups=channel) - mu1_mu2
    C1 = 0.01 ** 2
    C2 = 0.03 ** 2
    ssim_map = ((2 * mu1_mu2 + C1) * (2 * sigma12 + C2)) / \
        ((mu1_sq + mu2_sq + C1) * (sigma1_sq + sigma2_sq + C2))
    return ssim_map.mean()


def msssim_gaussian_filter(inp, win):
    """pytorch_msssim/ssim.py gaussian_filter: separable 1-D 'valid' conv per
    spatial axis, skipping (with a warning) an axis shorter than the window."""
    C = inp.shape[1]
    out = inp
    for i, s in enumerate(inp.shape[2:]):
        if s >= win.shape[-1]:
            out = F.conv2d(out, weight=win.transpose(2 + i, -1), stride=1, padding=0, groups=C)
        else:
            warnings.warn(f"Skipping Gaussian Smoothing at dimension 2+{i} for input: "
                          f"{tuple(inp.shape)} and win size: {win.shape[-1]}")
    return out


def pytorch_msssim_loss(X, Y, data_range, win_size=11, win_sigma=1.5, K=(0.01, 0.03)):
    """pytorch_msssim/ssim.py ssim(size_average=True) -> _ssim; float64 taps."""
    win = torch.tensor(gauss_taps64(win_size, win_sigma), dtype=torch.float64)
    win = win.reshape(1, 1, 1, win_size).repeat([X.shape[1], 1, 1, 1]).to(dtype=X.dtype)
    K1, K2 = K
    compensation = 1.0
    C1 = (K1 * data_range) ** 2
    C2 = (K2 * data_range) ** 2
    mu1 = msssim_gaussian_filter(X, win)
    mu2 = msssim_gaussian_filter(Y, win)
    mu1_sq = mu1.pow(2)
    mu2_sq = mu2.pow(2)
    mu1_mu2 = mu1 * mu2
    sigma1_sq = compensation * (msssim_gaussian_filter(X * X, win) - mu1_sq)
    sigma2_sq = compensation * (msssim_gaussian_filter(Y * Y, win) - mu2_sq)
    sigma12 = compensation * (msssim_gaussian_filter(X * Y, win) - mu1_mu2)
    cs_map = (2 * sigma12 + C2) / (sigma1_sq + sigma2_sq + C2)
    ssim_map = ((2 * mu1_mu2 + C1) / (mu1_sq + mu2_sq + C1)) * cs_map
    ssim_per_channel = torch.flatten(ssim_map, 2).mean(-1)
    return ssim_per_channel.mean()


def autograd(loss_fn, x, y, dtype=torch.float64):
    tx = torch.tensor(x, dtype=dtype, requires_grad=True)
    ty = torch.tensor(y, dtype=dtype, requires_grad=True)
    loss = loss_fn(tx, ty)
    loss.backward()
    return (loss.item(), tx.grad.detach().numpy().astype(np.float64),
            ty.grad.detach().numpy().astype(np.float64))


SRC_PTSSIM = ("Po-Hsun-Su/pytorch-ssim pytorch_ssim/__init__.py (_ssim, size_average=True; "
              "C1,C2 = (0.01 L)^2,(0.03 L)^2); Gaussian taps computed in float64 "
              "(the peer builds them in float32)")
SRC_MSSSIM = ("VainF/pytorch-msssim pytorch_msssim/ssim.py (ssim -> _ssim, gaussian_filter "
              "separable 'valid' conv along H then W, size_average=True); Gaussian taps "
              "computed in float64 (the peer builds them in float32)")


def case_pytorch_ssim(name, L, options, noise):
    x, y = make_pair((2, 3, 16, 20), L, noise)
    v, gx, gy = autograd(lambda a, b: pytorch_ssim_loss(a, b, L), x, y)
    fx, fy = save(f"{name}.x.npy", x), save(f"{name}.y.npy", y)
    add_case(name, "torch-autograd", SRC_PTSSIM, options, fx, fy, v,
             save(f"{name}.gradX.npy", gx), save(f"{name}.gradY.npy", gy))
    return x, y, fx, fy


def case_msssim(name, shape, L, options, noise):
    x, y = make_pair(shape, L, noise)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        v, gx, gy = autograd(lambda a, b: pytorch_msssim_loss(a, b, L), x, y)
    src = SRC_MSSSIM
    if caught:
        src += "; the peer skips smoothing along an axis shorter than the window and warns: " \
            + str(caught[0].message)
    add_case(name, "torch-autograd", src, options,
             save(f"{name}.x.npy", x), save(f"{name}.y.npy", y), v,
             save(f"{name}.gradX.npy", gx), save(f"{name}.gradY.npy", gy))


x1, y1, fx1, fy1 = case_pytorch_ssim("pytorch-ssim-L1", 1.0, {"preset": "pytorch-ssim"}, 0.2)
case_pytorch_ssim("pytorch-ssim-L255", 255.0, {"preset": "pytorch-ssim", "dataRange": 255}, 0.3)
case_msssim("valid-gaussian-L255", (2, 2, 17, 23), 255.0, {"preset": "pytorch-msssim"}, 0.15)
case_msssim("valid-gaussian-L1", (3, 1, 15, 12), 1.0, {"preset": "pytorch-msssim", "dataRange": 1}, 0.4)
case_msssim("pytorch-msssim-short-axis", (1, 2, 8, 25), 255.0, {"preset": "pytorch-msssim"}, 0.25)

# 6. pytorch-ssim as published, in float32, on case 1's inputs (rounded to float32).
v32, gx32, _ = autograd(pytorch_ssim_loss_float32, x1, y1, dtype=torch.float32)
add_case("pytorch-ssim-float32-autograd", "torch-autograd-float32",
         "Po-Hsun-Su/pytorch-ssim pytorch_ssim/__init__.py run as published in float32 "
         "(taps by math.exp into a float32 torch.Tensor, float32 normalisation and mm); "
         "inputs are case pytorch-ssim-L1's, rounded to float32; gradX is the float32 "
         "autograd gradient widened to float64",
         {"preset": "pytorch-ssim"}, fx1, fy1, v32, save("pytorch-ssim-float32-autograd.gradX.npy", gx32))


# ----------------------------------------------------------------------------
# B. scikit-image

def nchw_to_sk(a):
    # (1,1,H,W) -> HW ; (1,C,H,W) -> HWC
    return a[0, 0] if a.shape[1] == 1 else np.transpose(a[0], (1, 2, 0))


def pick_pixels(shape, count=10, borders=4):
    _, C, H, W = shape
    chosen = []
    corners = [(0, 0), (H - 1, W - 1), (0, int(rng.integers(1, W - 1))), (int(rng.integers(1, H - 1)), 0),
               (H - 1, 0), (0, W - 1)]
    for (i, j) in corners[:borders]:
        chosen.append([0, int(rng.integers(0, C)), i, j])
    while len(chosen) < count:
        p = [0, int(rng.integers(0, C)), int(rng.integers(0, H)), int(rng.integers(0, W))]
        if p not in chosen:
            chosen.append(p)
    return chosen


def case_skimage(name, shape, L, options, noise, **kw):
    x, y = make_pair(shape, L, noise)
    multichannel = shape[1] > 1
    kwargs = dict(kw, data_range=L)
    if multichannel:
        kwargs["channel_axis"] = -1

    def f(xx):
        return float(structural_similarity(nchw_to_sk(xx), nchw_to_sk(y), **kwargs))

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning here would mean an unexpected code path
        value = f(x)
        h = 1e-3 * L
        pixels = pick_pixels(shape)
        values = []
        for p in pixels:
            fk = {}
            for k in (-2, -1, 1, 2):
                xp = x.copy()
                xp[tuple(p)] += k * h
                fk[k] = f(xp)
            values.append((fk[-2] - 8 * fk[-1] + 8 * fk[1] - fk[2]) / (12 * h))
    args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    src = (f"scikit-image {__import__('skimage').__version__} skimage/metrics/_structural_similarity.py "
           f"structural_similarity({args}) on float64 images ("
           + ("HWC" if multichannel else "HW") + " layout); centralDifferences: 4th-order "
           "stencil (f(-2h)-8f(-h)+8f(h)-f(2h))/(12h) of skimage's value wrt x")
    add_case(name, "skimage.structural_similarity", src, options,
             save(f"{name}.x.npy", x), save(f"{name}.y.npy", y), value,
             cd={"wrt": "x", "pixels": pixels, "values": values, "step": h})


case_skimage("skimage-gray-box", (1, 1, 24, 29), 1.0, {"preset": "skimage", "dataRange": 1}, 0.2)
case_skimage("skimage-gray-gaussian-L255", (1, 1, 31, 27), 255.0,
             {"preset": "skimage", "window": "gaussian", "dataRange": 255}, 0.3,
             gaussian_weights=True)
case_skimage("skimage-rgb-box", (1, 3, 20, 22), 1.0, {"preset": "skimage", "dataRange": 1}, 0.4)
case_skimage("skimage-rgb-gaussian", (1, 3, 23, 21), 1.0,
             {"preset": "skimage", "window": "gaussian", "dataRange": 1}, 0.15,
             gaussian_weights=True)
case_skimage("skimage-gray-box-nosample", (1, 1, 19, 25), 1.0,
             {"preset": "skimage", "size": 9, "sampleCovariance": False, "dataRange": 1}, 0.25,
             use_sample_covariance=False, win_size=9)


# ----------------------------------------------------------------------------
# C. numpy re-implementations

def correlate_valid(img, kernel):
    """2-D 'valid' correlation of the last two axes with a 2-D kernel."""
    win = sliding_window_view(img, kernel.shape, axis=(-2, -1))
    return np.einsum("...ij,ij->...", win, kernel)


def tf_fspecial_gauss(size, sigma):
    coords = np.arange(size, dtype=np.float64)
    coords -= (size - 1) / 2.0
    g = np.square(coords)
    g *= -0.5 / np.square(sigma)
    g = g.reshape(1, -1) + g.reshape(-1, 1)
    g = g.reshape(-1)
    g = np.exp(g - g.max())  # softmax, as tf.nn.softmax does it
    g = g / g.sum()
    return g.reshape(size, size)


def tf_ssim(img1, img2, max_val, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03):
    """tensorflow/python/ops/image_ops_impl.py ssim -> _ssim_per_channel -> _ssim_helper,
    NCHW here (TF is NHWC); returns per-image values like TF."""
    kernel = tf_fspecial_gauss(filter_size, filter_sigma)

    def reducer(v):
        return correlate_valid(v, kernel)

    c1 = (k1 * max_val) ** 2
    c2 = (k2 * max_val) ** 2
    mean0 = reducer(img1)
    mean1 = reducer(img2)
    num0 = mean0 * mean1 * 2.0
    den0 = np.square(mean0) + np.square(mean1)
    luminance = (num0 + c1) / (den0 + c1)
    num1 = reducer(img1 * img2) * 2.0
    den1 = reducer(np.square(img1) + np.square(img2))
    c2 *= 1.0  # compensation
    cs = (num1 - num0 + c2) / (den1 - den0 + c2)
    ssim_per_channel = np.mean(luminance * cs, axis=(-2, -1))
    return np.mean(ssim_per_channel, axis=-1)


x, y = make_pair((2, 3, 18, 16), 1.0, 0.3)
add_case("tf-ssim", "numpy-reimplementation",
         "tensorflow tf.image.ssim (image_ops_impl.py _fspecial_gauss softmax kernel, depthwise "
         "'VALID' conv, _ssim_helper luminance*cs, mean over H,W then channels) in float64 "
         "(TF casts to float32); TF returns one value per image, this is their mean over the batch",
         {"preset": "tf", "dataRange": 1},
         save("tf-ssim.x.npy", x), save("tf-ssim.y.npy", y), np.mean(tf_ssim(x, y, 1.0)))


def matlab_round(v):
    return math.floor(abs(v) + 0.5) * (1 if v >= 0 else -1)


def matlab_ssim(img1, img2):
    """Wang's ssim.m (2009 version with automatic downsampling), default K, window, L."""
    K1, K2, L = 0.01, 0.03, 255.0
    ax = np.arange(-5, 6, dtype=np.float64)
    xx, yy = np.meshgrid(ax, ax)
    window = np.exp(-(xx ** 2 + yy ** 2) / (2 * 1.5 ** 2))  # fspecial('gaussian', 11, 1.5)
    window[window < np.finfo(np.float64).eps * window.max()] = 0
    window = window / window.sum()
    img1 = img1.astype(np.float64)
    img2 = img2.astype(np.float64)
    M, N = img1.shape
    f = max(1, matlab_round(min(M, N) / 256))
    if f > 1:
        lpf = np.ones((f, f)) / (f * f)
        c0 = (f + 1) // 2 - 1  # imfilter origin floor((f+1)/2), 0-based
        pad = ((c0, f - 1 - c0), (c0, f - 1 - c0))
        # imfilter(img, lpf, 'symmetric', 'same'): correlation, half-sample mirror padding
        img1 = correlate_valid(np.pad(img1, pad, mode="symmetric"), lpf)
        img2 = correlate_valid(np.pad(img2, pad, mode="symmetric"), lpf)
        img1 = img1[0::f, 0::f]
        img2 = img2[0::f, 0::f]
    C1 = (K1 * L) ** 2
    C2 = (K2 * L) ** 2
    window = window / window.sum()
    mu1 = correlate_valid(img1, window)  # filter2(window, img, 'valid')
    mu2 = correlate_valid(img2, window)
    mu1_sq = mu1 * mu1
    mu2_sq = mu2 * mu2
    mu1_mu2 = mu1 * mu2
    sigma1_sq = correlate_valid(img1 * img1, window) - mu1_sq
    sigma2_sq = correlate_valid(img2 * img2, window) - mu2_sq
    sigma12 = correlate_valid(img1 * img2, window) - mu1_mu2
    ssim_map = ((2 * mu1_mu2 + C1) * (2 * sigma12 + C2)) / \
        ((mu1_sq + mu2_sq + C1) * (sigma1_sq + sigma2_sq + C2))
    return ssim_map.mean(), f


SRC_MATLAB = ("Wang's ssim.m (2009, automatic downsampling f = max(1,round(min(M,N)/256)), "
              "imfilter(ones(f)/f^2,'symmetric','same'), img(1:f:end,1:f:end), "
              "fspecial('gaussian',11,1.5), filter2 'valid', K=[.01 .03], L=255, mean2) "
              "re-implemented in float64")

# MATLAB, downsampling: 385x387 (f = round(1.504) = 2; the odd sizes make the
# kept last row/column use imfilter's symmetric padding). Stored as uint8.
x8, y8 = make_pair((1, 1, 385, 387), 255.0, noise=0.15)
x8 = np.round(x8).astype(np.uint8)
y8 = np.round(y8).astype(np.uint8)
v, f = matlab_ssim(x8[0, 0], y8[0, 0])
assert f == 2
add_case("matlab-ssim-downsampled", "numpy-reimplementation",
         SRC_MATLAB + f"; f = {f}; x and y are stored as uint8 .npy (integer pixel values)",
         {"preset": "matlab"},
         save("matlab-ssim-downsampled.x.npy", x8, np.uint8),
         save("matlab-ssim-downsampled.y.npy", y8, np.uint8), v)

x, y = make_pair((1, 1, 32, 40), 255.0, 0.35)
v, f = matlab_ssim(x[0, 0], y[0, 0])
assert f == 1
add_case("matlab-ssim-small", "numpy-reimplementation", SRC_MATLAB + "; f = 1 (no downsampling)",
         {"preset": "matlab"},
         save("matlab-ssim-small.x.npy", x), save("matlab-ssim-small.y.npy", y), v)


# ----------------------------------------------------------------------------

with open(os.path.join(OUT, "manifest.json"), "w") as fh:
    json.dump(manifest, fh, indent=1)
    fh.write("\n")

total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
print(f"wrote {len(manifest)} cases to {os.path.normpath(OUT)} ({total / 1024:.0f} KiB)")
for c in manifest:
    print(f"  {c['name']:32s} {c['value']!r}")


# ============================================================================
# Variant fixtures: test/fixtures/variants/ (MS-SSIM, DSSIM, the 3DGS loss)
#
# A separate output folder, manifest and RNG (VARIANT_SEED): nothing here draws
# from the peers' rng, and it all runs after the peers are written, so the peers
# output is unaffected. Same manifest format; "value" is the variant's value
# (the quantity differentiated), gradX/gradY its gradients, all torch float64
# autograd with float64 Gaussian taps t_i = exp(-(i-(size-1)/2)^2/(2 sigma^2)) / sum;
# the one exception, msssim-tf, is a float64 numpy re-implementation of
# tf.image.ssim_multiscale (value only, gradX/gradY null), like tf-ssim in the peers.

VARIANT_OUT = os.path.join(HERE, "..", "test", "fixtures", "variants")
VARIANT_SEED = 20240917

MSSSIM_WEIGHTS = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333]

SRC_TAPS64 = ("Gaussian taps computed in float64, t_i = exp(-(i-(size-1)/2)^2/(2 sigma^2)) "
              "normalised to sum 1 (the peer builds them in float32)")


def pytorch_msssim_ssim_cs(X, Y, data_range, win, K=(0.01, 0.03)):
    """pytorch_msssim/ssim.py _ssim(size_average=False): (ssim_per_channel, cs), each (N, C)."""
    K1, K2 = K
    compensation = 1.0
    C1 = (K1 * data_range) ** 2
    C2 = (K2 * data_range) ** 2
    win = win.to(dtype=X.dtype)
    mu1 = msssim_gaussian_filter(X, win)
    mu2 = msssim_gaussian_filter(Y, win)
    mu1_sq = mu1.pow(2)
    mu2_sq = mu2.pow(2)
    mu1_mu2 = mu1 * mu2
    sigma1_sq = compensation * (msssim_gaussian_filter(X * X, win) - mu1_sq)
    sigma2_sq = compensation * (msssim_gaussian_filter(Y * Y, win) - mu2_sq)
    sigma12 = compensation * (msssim_gaussian_filter(X * Y, win) - mu1_mu2)
    cs_map = (2 * sigma12 + C2) / (sigma1_sq + sigma2_sq + C2)
    ssim_map = ((2 * mu1_mu2 + C1) / (mu1_sq + mu2_sq + C1)) * cs_map
    ssim_per_channel = torch.flatten(ssim_map, 2).mean(-1)
    cs = torch.flatten(cs_map, 2).mean(-1)
    return ssim_per_channel, cs


def pytorch_msssim_ms_ssim(X, Y, data_range=255, win_size=11, win_sigma=1.5, weights=None,
                           K=(0.01, 0.03), trace=None):
    """pytorch_msssim/ssim.py ms_ssim(size_average=True), float64 taps. The size assertion
    (smaller_side > (win_size-1) * 2**4) is checked by the caller. trace, if a list, gets
    the per-level (N, C) values that enter the product (relu'd cs, last relu'd ssim)."""
    if weights is None:
        weights = MSSSIM_WEIGHTS
    weights_tensor = X.new_tensor(weights)
    win = torch.tensor(gauss_taps64(win_size, win_sigma), dtype=torch.float64)
    win = win.reshape(1, 1, 1, win_size).repeat([X.shape[1], 1, 1, 1])
    levels = weights_tensor.shape[0]
    mcs = []
    for i in range(levels):
        ssim_per_channel, cs = pytorch_msssim_ssim_cs(X, Y, data_range, win, K)
        if i < levels - 1:
            mcs.append(torch.relu(cs))
            padding = [s % 2 for s in X.shape[2:]]
            X = F.avg_pool2d(X, kernel_size=2, padding=padding)
            Y = F.avg_pool2d(Y, kernel_size=2, padding=padding)
    ssim_per_channel = torch.relu(ssim_per_channel)  # (batch, channel)
    mcs_and_ssim = torch.stack(mcs + [ssim_per_channel], dim=0)  # (level, batch, channel)
    if trace is not None:
        trace.append(mcs_and_ssim.detach().numpy().copy())
    ms_ssim_val = torch.prod(mcs_and_ssim ** weights_tensor.view(-1, 1, 1), dim=0)
    return ms_ssim_val.mean()


def tf_ssim_per_channel(img1, img2, max_val, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03):
    """tensorflow/python/ops/image_ops_impl.py _ssim_per_channel -> _ssim_helper
    (compensation 1.0), NCHW here (TF is NHWC): (ssim_per_channel, cs), each (N, C)."""
    assert min(img1.shape[-2:]) >= filter_size  # TF asserts H, W >= filter_size
    kernel = tf_fspecial_gauss(filter_size, filter_sigma)

    def reducer(v):  # depthwise conv2d, 'VALID'
        return correlate_valid(v, kernel)

    c1 = (k1 * max_val) ** 2
    c2 = (k2 * max_val) ** 2
    mean0 = reducer(img1)
    mean1 = reducer(img2)
    num0 = mean0 * mean1 * 2.0
    den0 = np.square(mean0) + np.square(mean1)
    luminance = (num0 + c1) / (den0 + c1)
    num1 = reducer(img1 * img2) * 2.0
    den1 = reducer(np.square(img1) + np.square(img2))
    c2 *= 1.0  # compensation
    cs = (num1 - num0 + c2) / (den1 - den0 + c2)
    return np.mean(luminance * cs, axis=(-2, -1)), np.mean(cs, axis=(-2, -1))


def tf_ssim_multiscale(img1, img2, max_val, power_factors=None, filter_size=11,
                       filter_sigma=1.5, k1=0.01, k2=0.03, trace=None):
    """tensorflow/python/ops/image_ops_impl.py ssim_multiscale in float64, NCHW; returns the
    per-image values (N,) like TF. Between scales: if H or W is odd, pad both images at the
    bottom/right by (H % 2, W % 2) with mode SYMMETRIC (repeats the edge row/column), then
    2x2 average pooling 'VALID', stride 2. trace, if a list, gets the (scale, N, C) values
    that enter the product (relu'd cs of every scale but the last, then the last relu'd ssim)
    and the (H, W) of every scale."""
    if power_factors is None:
        power_factors = MSSSIM_WEIGHTS
    imgs = [np.asarray(img1, dtype=np.float64), np.asarray(img2, dtype=np.float64)]
    mcs = []
    sizes = []
    for k in range(len(power_factors)):
        if k > 0:
            rh, rw = (s % 2 for s in imgs[0].shape[-2:])
            if rh or rw:  # TF's cond(need_padding, do_pad, ...)
                imgs = [np.pad(v, ((0, 0), (0, 0), (0, rh), (0, rw)), mode="symmetric")
                        for v in imgs]
            imgs = [(v[..., 0::2, 0::2] + v[..., 0::2, 1::2] + v[..., 1::2, 0::2]
                     + v[..., 1::2, 1::2]) / 4.0 for v in imgs]
        sizes.append(tuple(imgs[0].shape[-2:]))
        ssim_per_channel, cs = tf_ssim_per_channel(*imgs, max_val=max_val, filter_size=filter_size,
                                                   filter_sigma=filter_sigma, k1=k1, k2=k2)
        mcs.append(np.maximum(cs, 0.0))  # relu
    mcs.pop()  # the last scale's cs is dropped; its relu'd ssim takes the place
    mcs_and_ssim = np.stack(mcs + [np.maximum(ssim_per_channel, 0.0)], axis=0)  # (scale, N, C)
    if trace is not None:
        trace.append(mcs_and_ssim.copy())
        trace.append(sizes)
    ms_ssim = np.prod(mcs_and_ssim ** np.asarray(power_factors).reshape(-1, 1, 1), axis=0)
    return np.mean(ms_ssim, axis=-1)  # average over channels


WANG_SEED = 20261201


def wang_general_loss(img1, img2, L, alpha, beta, gamma, padding, window_size=11, sigma=1.5,
                      trace=None):
    """Wang et al. 2004 eq. 12, l^alpha c^beta s^gamma with C3 = C2/2, over pytorch-ssim's
    window statistics (float64 taps; conv2d zero padding 'same' or no padding, 'valid');
    mean over the map. trace gets (min variance, min s)."""
    channel = img1.shape[1]
    g = torch.tensor(gauss_taps64(window_size, sigma), dtype=torch.float64).unsqueeze(1)
    window = g.mm(g.t()).expand(channel, 1, window_size, window_size).contiguous().type_as(img1)
    pad = window_size // 2 if padding == "same" else 0
    conv = lambda t: F.conv2d(t, window, padding=pad, groups=channel)
    mu1, mu2 = conv(img1), conv(img2)
    var1 = conv(img1 * img1) - mu1 * mu1
    var2 = conv(img2 * img2) - mu2 * mu2
    cov = conv(img1 * img2) - mu1 * mu2
    C1, C2 = (0.01 * L) ** 2, (0.03 * L) ** 2
    C3 = C2 / 2
    s1, s2 = torch.sqrt(torch.clamp(var1, min=0)), torch.sqrt(torch.clamp(var2, min=0))
    lum = (2 * mu1 * mu2 + C1) / (mu1 * mu1 + mu2 * mu2 + C1)
    con = (2 * s1 * s2 + C2) / (var1 + var2 + C2)
    struct = (cov + C3) / (s1 * s2 + C3)
    if trace is not None:
        trace.append((float(torch.min(torch.minimum(var1, var2))), float(struct.min())))
    return (lum ** alpha * con ** beta * struct ** gamma).mean()


def make_variants():
    vrng = np.random.default_rng(VARIANT_SEED)
    os.makedirs(VARIANT_OUT, exist_ok=True)
    for old in os.listdir(VARIANT_OUT):  # drop stale outputs of earlier runs
        if old.endswith(".npy") or old == "manifest.json":
            os.remove(os.path.join(VARIANT_OUT, old))
    vmanifest = []

    def vsave(name, arr, dtype=np.float64):
        arr = np.ascontiguousarray(np.asarray(arr, dtype=dtype))
        np.save(os.path.join(VARIANT_OUT, name), arr)
        return name

    def vcase(name, source, options, fx, fy, value, gx, gy, peer="torch-autograd"):
        vmanifest.append({
            "name": name,
            "peer": peer,
            "source": source,
            "options": options,
            "x": fx,
            "y": fy,
            "value": float(value),
            "gradX": None if gx is None else vsave(f"{name}.gradX.npy", gx),
            "gradY": None if gy is None else vsave(f"{name}.gradY.npy", gy),
            "centralDifferences": None,
        })

    # -- MS-SSIM (pytorch-msssim), inputs stored as uint8 (integer values 0..255, L = 255)
    def msssim_case(name, shape, weights, options, noise, note):
        x, y = make_pair(shape, 255.0, noise, gen=vrng)
        x = np.round(x).astype(np.uint8)
        y = np.round(y).astype(np.uint8)
        win_size = 11
        levels = len(weights)
        smaller = min(shape[-2:])
        assert smaller > (win_size - 1) * 2 ** (levels - 1)  # ssim-grad's rule
        # pytorch-msssim asserts smaller > (win_size - 1) * 2**4 for any level count
        assert (smaller > (win_size - 1) * 2 ** 4) == (levels == 5)
        trace = []
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no skipped smoothing expected at these sizes
            v, gx, gy = autograd(lambda a, b: pytorch_msssim_ms_ssim(
                a, b, data_range=255, win_size=win_size, win_sigma=1.5, weights=weights,
                trace=trace), x.astype(np.float64), y.astype(np.float64))
        per_level = trace[0]
        assert per_level.shape == (levels,) + tuple(shape[:2])
        assert (per_level > 0).all(), per_level  # every relu'd cs (and the last ssim) positive
        src = ("VainF/pytorch-msssim pytorch_msssim/ssim.py ms_ssim(size_average=True, "
               f"data_range=255, win_size=11, win_sigma=1.5, K=(0.01, 0.03), weights={weights}) "
               "written out with torch ops: per level _ssim (gaussian_filter separable 'valid' "
               "conv along H then W; ssim_per_channel, cs = per-channel spatial means of "
               "ssim_map and cs_map = (2 sigma12 + C2)/(sigma1_sq + sigma2_sq + C2)); levels "
               "before the last append relu(cs) and 2x2 avg_pool2d both images with padding "
               "[s % 2 for s in X.shape[2:]] (count_include_pad=True); last level relu(ssim); "
               "prod over levels of value ** weight per (N, C), mean over N and C; "
               + SRC_TAPS64 + "; x and y are stored as uint8 .npy (integer pixel values "
               "0..255, data range 255), evaluated as float64; per-level values (level, N, C) "
               + json.dumps(np.round(per_level, 6).tolist()) + note)
        fx = vsave(f"{name}.x.npy", x, np.uint8)
        fy = vsave(f"{name}.y.npy", y, np.uint8)
        vcase(name, src, options, fx, fy, v, gx, gy)

    msssim_case("msssim-pytorch", (1, 2, 168, 176), MSSSIM_WEIGHTS,
                {"preset": "pytorch-msssim", "variant": "ms-ssim"}, 0.22,
                "; sizes per level H 168,84,42,21,11 and W 176,88,44,22,11 (the odd 21 is "
                "pooled with a zero row in front)")
    msssim_case("msssim-pytorch-custom-weights", (2, 1, 96, 100), [0.3, 0.3, 0.4],
                {"preset": "pytorch-msssim", "variant": "ms-ssim", "weights": [0.3, 0.3, 0.4]},
                0.22,
                "; 3 levels (96x100, 48x50, 24x25). pytorch-msssim asserts smaller_side > "
                "(win_size-1) * 2**4 = 160 whatever the number of levels, so it would refuse "
                "this 96x100 input; ssim-grad's rule is (win_size-1) * 2**(levels-1) = 40 here, "
                "and this fixture is the formula above evaluated without that assertion")

    # -- DSSIM with pytorch-ssim's SSIM (L = 1); both cases share one image pair
    x, y = make_pair((2, 3, 20, 24), 1.0, 0.2, gen=vrng)
    fx, fy = vsave("dssim-half.x.npy", x), vsave("dssim-half.y.npy", y)
    src_dssim = ("Po-Hsun-Su/pytorch-ssim pytorch_ssim/__init__.py SSIM (_ssim, conv2d zero "
                 "padding window_size//2 ('same'), window 11, sigma 1.5, C1 = 0.01^2, "
                 "C2 = 0.03^2, size_average=True: mean over all); " + SRC_TAPS64)
    for name, d, options in (("dssim-half", 2, {"preset": "pytorch-ssim", "variant": "dssim"}),
                             ("dssim-one", 1, {"preset": "pytorch-ssim", "variant": "dssim",
                                               "dssimDivisor": 1})):
        v, gx, gy = autograd(lambda a, b: (1 - pytorch_ssim_loss(a, b, 1.0)) / d, x, y)
        what = "(1 - SSIM) / 2" if d == 2 else "1 - SSIM"
        vcase(name, f"DSSIM = {what}, " + src_dssim + ("; inputs shared with dssim-half"
                                                       if d == 1 else ""),
              options, fx, fy, v, gx, gy)

    # -- 3D Gaussian splatting training loss; x = render, y = gt; no pixel with x == y
    x, y = make_pair((1, 3, 22, 26), 1.0, 0.15, gen=vrng)
    x = 0.05 + 0.9 * x  # keep x off 0 and 1, where y may be clipped
    d = y - x
    small = np.abs(d) < 1e-3
    y = np.where(small, x + np.where(d < 0, -1e-3, 1e-3), y)
    assert np.abs(x - y).min() >= 1e-3 * (1 - 1e-9) and 0 <= y.min() and y.max() <= 1
    fx, fy = vsave("3dgs-loss.x.npy", x), vsave("3dgs-loss.y.npy", y)
    for name, lam, options in (("3dgs-loss", 0.2, {"preset": "pytorch-ssim", "variant": "3dgs-loss"}),
                               ("3dgs-loss-lambda", 0.5, {"preset": "pytorch-ssim",
                                                          "variant": "3dgs-loss", "lambda": 0.5})):
        def loss_3dgs(image, gt, lam=lam):
            l1 = torch.abs(image - gt).mean()
            return (1.0 - lam) * l1 + lam * (1.0 - pytorch_ssim_loss(image, gt, 1.0))
        v, gx, gy = autograd(loss_3dgs, x, y)
        src = (f"graphdeco-inria/gaussian-splatting train.py loss = (1 - lambda_dssim) * "
               f"l1_loss(image, gt_image) + lambda_dssim * (1 - ssim(image, gt_image)), "
               f"lambda_dssim = {lam}; utils/loss_utils.py l1_loss = abs(a - b).mean() and "
               "ssim = pytorch-ssim's _ssim (conv2d zero padding 'same', window 11, sigma 1.5, "
               "C1 = 0.01^2, C2 = 0.03^2, mean over all); the fallback ssim, not the "
               "fused_ssim CUDA kernel newer train.py uses when installed; 3DGS passes CHW "
               "images, here NCHW with N = 1 (same conv2d result); x = image (the render), "
               "y = gt_image; |x - y| >= 1e-3 at every pixel (|.| is not differentiable at 0); "
               + SRC_TAPS64 + ("; inputs shared with 3dgs-loss" if lam != 0.2 else ""))
        vcase(name, src, options, fx, fy, v, gx, gy)

    # -- MS-SSIM (tf.image.ssim_multiscale), numpy float64, value only; drawn last from vrng
    # so the cases above are unchanged. Odd sizes at several scales exercise TF's SYMMETRIC
    # padding: H 177,89,45,23,12 and W 171,86,43,22,11.
    x, y = make_pair((1, 2, 177, 171), 255.0, 0.22, gen=vrng)
    x = np.round(x).astype(np.uint8)
    y = np.round(y).astype(np.uint8)
    trace = []
    v = np.mean(tf_ssim_multiscale(x, y, 255.0, power_factors=MSSSIM_WEIGHTS, trace=trace))
    per_scale, sizes = trace
    assert per_scale.shape == (len(MSSSIM_WEIGHTS), 1, 2)
    assert (per_scale > 0).all(), per_scale  # every relu'd factor positive
    src = ("numpy re-implementation of tensorflow tf.image.ssim_multiscale "
           "(tensorflow/python/ops/image_ops_impl.py ssim_multiscale) in float64, Gaussian "
           "taps (_fspecial_gauss softmax kernel) in float64 (TF casts to float32): "
           f"power_factors={MSSSIM_WEIGHTS}, max_val=255, filter_size=11, filter_sigma=1.5, "
           "k1=0.01, k2=0.03; per scale _ssim_per_channel (11x11 kernel = softmax of "
           "-0.5 (i^2 + j^2) / 1.5^2 over i, j in -5..5, depthwise conv2d 'VALID'; "
           "_ssim_helper luminance = (2 mu_x mu_y + c1)/(mu_x^2 + mu_y^2 + c1) and "
           "cs = (2 E[xy] - 2 mu_x mu_y + c2)/(E[x^2 + y^2] - (mu_x^2 + mu_y^2) + c2), "
           "c1 = (0.01 L)^2, c2 = (0.03 L)^2; cs and luminance * cs averaged over H, W per "
           "channel); relu(cs) kept for every scale but the last, relu(ssim) of the last; "
           "between scales, if H or W is odd both images are padded at the bottom/right by "
           "H % 2 rows and W % 2 columns with mode SYMMETRIC (repeating the edge row/column), "
           "then 2x2 avg_pool stride 2 'VALID'; prod over scales of value ** power_factor per "
           "channel, mean over channels (TF's per-image value), then mean over the batch "
           "(N = 1 here); x and y are stored as uint8 .npy (integer pixel values 0..255, "
           "data range 255), evaluated as float64 with max_val 255 (TF given uint8 would "
           "convert both the images and max_val to [0, 1] floats, the same value up to "
           "rounding); per-scale values (scale, N, C) "
           + json.dumps(np.round(per_scale, 6).tolist())
           + "; sizes per scale H " + ",".join(str(h) for h, _ in sizes)
           + " and W " + ",".join(str(w) for _, w in sizes))
    fx = vsave("msssim-tf.x.npy", x, np.uint8)
    fy = vsave("msssim-tf.y.npy", y, np.uint8)
    vcase("msssim-tf", src, {"preset": "tf", "variant": "ms-ssim", "dataRange": 255},
          fx, fy, v, None, None, peer="numpy-reimplementation")

    # -- Wang et al. 2004's general form l^alpha c^beta s^gamma (their eq. 12), exponents != 1,
    # torch float64 autograd. Its own RNG (WANG_SEED), so the cases above are unchanged.
    wrng = np.random.default_rng(WANG_SEED)
    for name, shape, pad, (alpha, beta, gamma), options in (
            ("wang-same", (2, 2, 18, 21), "same", (1.5, 0.5, 1.25),
             {"preset": "pytorch-ssim", "variant": "wang", "alpha": 1.5, "beta": 0.5, "gamma": 1.25}),
            ("wang-valid", (1, 3, 19, 17), "valid", (0.5, 2.0, 3.0),
             {"preset": "pytorch-ssim", "variant": "wang", "padding": "valid",
              "alpha": 0.5, "beta": 2, "gamma": 3})):
        x, y = make_pair(shape, 1.0, 0.12, gen=wrng)
        trace = []
        v, gx, gy = autograd(lambda a, b: wang_general_loss(a, b, 1.0, alpha, beta, gamma, pad,
                                                            trace=trace), x, y)
        var_min, s_min = trace[0]
        # sqrt(var) has no derivative at 0 and s^gamma none for s <= 0: keep both away
        assert var_min > 1e-6 and s_min > 0, (name, var_min, s_min)
        src = ("Wang, Bovik, Sheikh, Simoncelli 2004, eqs. 6, 9, 10, 12: l = (2 mu_x mu_y + C1)/"
               "(mu_x^2 + mu_y^2 + C1), c = (2 sigma_x sigma_y + C2)/(sigma_x^2 + sigma_y^2 + C2), "
               "s = (sigma_xy + C3)/(sigma_x sigma_y + C3), C3 = C2/2, sigma = sqrt(max(sigma^2, 0)); "
               f"map l^{alpha} c^{beta} s^{gamma}, mean over the map; statistics as "
               "Po-Hsun-Su/pytorch-ssim _ssim (11x11 Gaussian, sigma 1.5, conv2d "
               + ("zero padding 5, 'same'" if pad == "same" else "padding 0, 'valid'")
               + ", C1 = 0.01^2, C2 = 0.03^2, L = 1); " + SRC_TAPS64
               + f"; min variance {var_min:.3g}, min s {s_min:.3g}")
        fx, fy = vsave(f"{name}.x.npy", x), vsave(f"{name}.y.npy", y)
        vcase(name, src, options, fx, fy, v, gx, gy)

    with open(os.path.join(VARIANT_OUT, "manifest.json"), "w") as fh:
        json.dump(vmanifest, fh, indent=1)
        fh.write("\n")
    total = sum(os.path.getsize(os.path.join(VARIANT_OUT, n)) for n in os.listdir(VARIANT_OUT))
    print(f"wrote {len(vmanifest)} cases to {os.path.normpath(VARIANT_OUT)} ({total / 1024:.0f} KiB)")
    for c in vmanifest:
        print(f"  {c['name']:32s} {c['value']!r}")


make_variants()


# ============================================================================
# Example fixtures: test/fixtures/examples/ (examples/variants/masked-ssim.ts and
# examples/variants/luma-ssim.ts, SSIM variants a user writes in one file each)
#
# A separate output folder, manifest and RNG (EXAMPLE_SEED), run after the peers and
# the variants are written, so neither is affected. Same manifest format; "value" is
# the example's value, gradX/gradY its gradients, torch float64 autograd over
# pytorch_ssim_map (pytorch-ssim's _ssim map, float64 taps); centralDifferences are
# (f(x+h) - f(x-h)) / (2h) of the same float64 value, h = 1e-6, at 5 pixels of x, with
# the per-pixel terms subtracted before the (linear) reduction; checked against the
# autograd gradient to 1e-6 relative (the script asserts it).

EXAMPLE_OUT = os.path.join(HERE, "..", "test", "fixtures", "examples")
EXAMPLE_SEED = 20261202
EXAMPLE_STEP = 1e-6

SRC_PTSSIM_MAP = ("S = Po-Hsun-Su/pytorch-ssim pytorch_ssim/__init__.py _ssim's ssim_map "
                  "(11x11 Gaussian window, sigma 1.5, F.conv2d zero padding 5 ('same'), "
                  "groups = channels; C1 = (0.01 L)^2, C2 = (0.03 L)^2, L = 1; "
                  "S = ((2 mu1 mu2 + C1)(2 sigma12 + C2)) / ((mu1^2 + mu2^2 + C1)"
                  "(sigma1^2 + sigma2^2 + C2)) per pixel and channel); " + SRC_TAPS64)


def soft_mask(shape, gen):
    """[N, 1, H, W] float64 mask in [0, 1]: per image a smooth Gaussian blob, mapped by
    clip(1.6 b - 0.3, 0, 1) (exact ones at its core, fractional on its slopes, exact zeros
    far out), then a hard-zero rectangle."""
    N, _, H, W = shape
    m = np.zeros(shape)
    ii, jj = np.meshgrid(np.arange(H, dtype=np.float64), np.arange(W, dtype=np.float64),
                         indexing="ij")
    rects = []
    for n in range(N):
        cy, cx = gen.uniform(0.35, 0.65) * (H - 1), gen.uniform(0.35, 0.65) * (W - 1)
        sy, sx = gen.uniform(0.3, 0.45) * H, gen.uniform(0.3, 0.45) * W
        blob = np.exp(-0.5 * (((ii - cy) / sy) ** 2 + ((jj - cx) / sx) ** 2))
        m[n, 0] = np.clip(1.6 * blob - 0.3, 0.0, 1.0)
        r0, c0 = int(gen.integers(2, H // 3)), int(gen.integers(W // 2, W - 12))
        r1, c1 = r0 + H // 3, c0 + 10
        m[n, 0, r0:r1, c0:c1] = 0.0
        rects.append([r0, r1, c0, c1])
    return m, rects


def make_examples():
    erng = np.random.default_rng(EXAMPLE_SEED)
    os.makedirs(EXAMPLE_OUT, exist_ok=True)
    for old in os.listdir(EXAMPLE_OUT):  # drop stale outputs of earlier runs
        if old.endswith(".npy") or old == "manifest.json":
            os.remove(os.path.join(EXAMPLE_OUT, old))
    emanifest = []

    def esave(name, arr):
        arr = np.ascontiguousarray(np.asarray(arr, dtype=np.float64))
        np.save(os.path.join(EXAMPLE_OUT, name), arr)
        return name

    # Each example's value is reduce(terms(x, y)) with reduce linear (a weighted sum), so
    # f(x+h) - f(x-h) = reduce(terms(x+h) - terms(x-h)): subtracting the per-pixel terms
    # before the reduction leaves only the ~121 changed terms' rounding, where subtracting
    # the two values cancels the whole sum's (~1e-16 |f| / 2h ~ 1e-10 absolute).
    def t64(a):
        return torch.tensor(a, dtype=torch.float64)

    def central_differences(terms, reduce, x, y, pixels, gx, name):
        h = EXAMPLE_STEP
        values = []
        with torch.no_grad():
            ty = t64(y)
            for p in pixels:
                xp, xm = x.copy(), x.copy()
                xp[tuple(p)] += h
                xm[tuple(p)] -= h
                tp, tm_ = terms(t64(xp), ty), terms(t64(xm), ty)
                cd = (reduce(tp - tm_) / (2 * h)).item()
                plain = (reduce(tp).item() - reduce(tm_).item()) / (2 * h)
                g = gx[tuple(p)]
                rel, rel_plain = abs(cd - g) / abs(g), abs(plain - g) / abs(g)
                print(f"  {name:22s} d/dx{p}: autograd {g:+.12e} central {cd:+.12e} rel "
                      f"{rel:.1e} (values subtracted: rel {rel_plain:.1e})")
                assert g != 0 and rel < 1e-6, (name, p, g, cd)
                values.append(cd)
        return {"wrt": "x", "pixels": pixels, "values": values, "step": h}

    def ecase(name, source, options, x, y, terms, reduce, pixels, fx=None, fy=None, mask=None):
        v, gx, gy = autograd(lambda a, b: reduce(terms(a, b)), x, y)
        cd = central_differences(terms, reduce, x, y, pixels, gx, name)
        emanifest.append({
            "name": name,
            "peer": "torch-autograd",
            "source": source,
            "options": options,
            "x": fx or esave(f"{name}.x.npy", x),
            "y": fy or esave(f"{name}.y.npy", y),
            "mask": mask,
            "value": float(v),
            "gradX": esave(f"{name}.gradX.npy", gx),
            "gradY": esave(f"{name}.gradY.npy", gy),
            "centralDifferences": cd,
        })
        return emanifest[-1]["x"], emanifest[-1]["y"]

    CD_SRC = ("; centralDifferences: (f(x+h) - f(x-h))/(2h) wrt x, h = 1e-06, float64, "
              "evaluated as the reduction above applied to (terms at x+h) - (terms at x-h) "
              "(f is linear in its per-pixel terms; subtracting before the reduction avoids "
              "the cancellation of the whole sum)")

    # -- masked SSIM: sum(m * S) / (C * sum(m)), m [N, 1, H, W] broadcast over channels
    for name, shape in (("masked-ssim-rgb", (1, 3, 40, 52)),
                        ("masked-ssim-gray-batch", (2, 1, 33, 29))):
        N, C, H, W = shape
        x, y = make_pair(shape, 1.0, 0.2, gen=erng)
        m, rects = soft_mask((N, 1, H, W), erng)
        tm = torch.tensor(m, dtype=torch.float64)
        n_zero, n_one = int((m == 0).sum()), int((m == 1).sum())
        n_frac = m.size - n_zero - n_one
        assert n_zero > 0 and n_one > 0 and n_frac > 0

        def masked_terms(a, b, tm=tm):  # m * S, [N, C, H, W]
            return tm * pytorch_ssim_map(a, b, 1.0)

        def masked_reduce(t, tm=tm, C=C):
            return t.sum() / (C * tm.sum())

        # pixels: two corners, one where 0 < m < 1, one just inside the first hard-zero
        # rectangle (its gradient comes from unmasked neighbours), one at random
        frac = np.argwhere((m[:, 0] > 0) & (m[:, 0] < 1))
        fn, fi, fj = (int(v) for v in frac[erng.integers(0, len(frac))])
        r0, r1, c0, c1 = rects[0]
        pixels = [[0, 0, 0, 0], [N - 1, C - 1, H - 1, W - 1],
                  [fn, int(erng.integers(0, C)), fi, fj],
                  [0, C - 1, r0 + 1, c0 + 2],
                  [int(erng.integers(0, N)), int(erng.integers(0, C)),
                   int(erng.integers(0, H)), int(erng.integers(0, W))]]
        src = ("masked SSIM (the 3D Gaussian splatting masked-loss form): value = "
               "sum_{n,c,i,j} m[n,0,i,j] S[n,c,i,j] / (C sum_{n,i,j} m[n,0,i,j]) = "
               "mean(m * S) / mean(m) with m broadcast over channels, computed as "
               "(m * S).sum() / (C * m.sum()) in torch float64; gradX, gradY by "
               "loss.backward() (m is a constant); " + SRC_PTSSIM_MAP
               + f"; mask m (file in \"mask\", float64 [N, 1, H, W]): per image "
               "clip(1.6 b - 0.3, 0, 1) of a Gaussian blob b, then a hard-zero rectangle "
               f"(rows r0:r1, cols c0:c1 per image: {rects}); {n_zero} zeros, {n_one} ones, "
               f"{n_frac} fractional values; terms m * S, reduction sum / (C * m.sum())" + CD_SRC)
        ecase(name, src, {"preset": "pytorch-ssim", "dataRange": 1}, x, y, masked_terms,
              masked_reduce, pixels, mask=esave(f"{name}.mask.npy", m))

    # -- SSIM on luma: Y = c0 R + c1 G + c2 B of linear RGB in [0, 1], then pytorch-ssim
    REC709 = [0.2126, 0.7152, 0.0722]
    BT601 = [0.299, 0.587, 0.114]
    shared = {}
    for name, shape, coef, inputs_of in (("luma-ssim-709", (1, 3, 48, 40), REC709, None),
                                         ("luma-ssim-709-batch", (2, 3, 31, 37), REC709, None),
                                         ("luma-ssim-601", (1, 3, 48, 40), BT601,
                                          "luma-ssim-709")):
        N, C, H, W = shape
        if inputs_of:
            x, y, fx, fy = shared[inputs_of]
        else:
            x, y = make_pair(shape, 1.0, 0.2, gen=erng)
            fx = fy = None

        def luma_terms(a, b, coef=coef):  # S(Y(a), Y(b)), [N, 1, H, W]
            ya = coef[0] * a[:, 0:1] + coef[1] * a[:, 1:2] + coef[2] * a[:, 2:3]
            yb = coef[0] * b[:, 0:1] + coef[1] * b[:, 1:2] + coef[2] * b[:, 2:3]
            return pytorch_ssim_map(ya, yb, 1.0)

        # pixels: two corners (channels R and B), then one at random in each of R, G, B
        pixels = [[0, 0, 0, 0], [N - 1, 2, H - 1, W - 1]] + \
            [[int(erng.integers(0, N)), c, int(erng.integers(0, H)), int(erng.integers(0, W))]
             for c in range(3)]
        which = "Rec. 709" if coef == REC709 else "BT.601"
        src = (f"SSIM on luma: x, y linear RGB [N, 3, H, W] in [0, 1]; Y = {coef[0]} R + "
               f"{coef[1]} G + {coef[2]} B per pixel ({which} luma coefficients), computed in "
               f"torch float64 as {coef[0]} * img[:, 0:1] + {coef[1]} * img[:, 1:2] + "
               f"{coef[2]} * img[:, 2:3] ([N, 1, H, W]); value = mean over all of S(Y(x), Y(y)); "
               "gradX, gradY (wrt the RGB x and y, [N, 3, H, W]) by loss.backward(); "
               + SRC_PTSSIM_MAP + "; terms S(Y(x), Y(y)), reduction mean" + CD_SRC
               + " (x the RGB input)" + (f"; inputs shared with {inputs_of}" if inputs_of else ""))
        fx, fy = ecase(name, src, {"preset": "pytorch-ssim", "dataRange": 1, "coefficients": coef},
                       x, y, luma_terms, lambda t: t.mean(), pixels, fx=fx, fy=fy)
        shared[name] = (x, y, fx, fy)

    with open(os.path.join(EXAMPLE_OUT, "manifest.json"), "w") as fh:
        json.dump(emanifest, fh, indent=1)
        fh.write("\n")
    total = sum(os.path.getsize(os.path.join(EXAMPLE_OUT, n)) for n in os.listdir(EXAMPLE_OUT))
    print(f"wrote {len(emanifest)} cases to {os.path.normpath(EXAMPLE_OUT)} ({total / 1024:.0f} KiB)")
    for c in emanifest:
        print(f"  {c['name']:32s} {c['value']!r}")


make_examples()
