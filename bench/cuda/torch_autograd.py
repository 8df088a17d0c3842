"""torch autograd of pytorch-ssim's formula (and the 3DGS loss) on the GPU, forward + backward, float32:
the peer row of `npm run bench -- cuda`. Prints a markdown table; exits 1 with a reason without CUDA."""
import sys
import time

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    sys.exit("python3 has no torch")
if not torch.cuda.is_available():
    sys.exit("torch has no CUDA device")

dev = torch.device("cuda")
k, sigma = 11, 1.5
g = torch.exp(-((torch.arange(k, dtype=torch.float32) - (k - 1) / 2) ** 2) / (2 * sigma * sigma))
g = g / g.sum()
win = (g[:, None] @ g[None, :]).to(dev)


def ssim(x, y):
    c = x.shape[1]
    w = win.expand(c, 1, k, k)
    conv = lambda z: F.conv2d(z, w, padding=k // 2, groups=c)
    mx, my = conv(x), conv(y)
    sxx, syy, sxy = conv(x * x) - mx * mx, conv(y * y) - my * my, conv(x * y) - mx * my
    C1, C2 = 0.01**2, 0.03**2
    return (((2 * mx * my + C1) * (2 * sxy + C2)) / ((mx * mx + my * my + C1) * (sxx + syy + C2))).mean()


def timed(f, reps=21, warm=5):
    ts = []
    for r in range(warm + reps):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        f()
        torch.cuda.synchronize()
        if r >= warm:
            ts.append((time.perf_counter() - t0) * 1e3)
    ts.sort()
    return ts[len(ts) // 2], ts[0]


print(f"\n| torch {torch.__version__} autograd on {torch.cuda.get_device_name(0)} | loss | median | min |")
print("| --- | --- | --- | --- |")
for shape in [(1, 3, 1080, 1920), (1, 3, 2160, 3840)]:
    x = torch.rand(shape, device=dev, requires_grad=True)
    y = torch.rand(shape, device=dev, requires_grad=True)
    for name, loss in [("SSIM", lambda: ssim(x, y)), ("0.8 L1 + 0.2 D-SSIM", lambda: 0.8 * (x - y).abs().mean() + 0.2 * (1 - ssim(x, y)))]:
        med, mn = timed(lambda: loss().backward())
        print(f"| {'x'.join(map(str, shape[1:]))} | {name} | {med:.3f} ms | {mn:.3f} ms |")
