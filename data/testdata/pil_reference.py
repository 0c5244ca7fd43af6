"""Writes test images and torchvision's eval-transform output for TestPixelsMatchTorchvision.

usage: pil_reference.py OUTDIR
Writes OUTDIR/img/<kind>/<name> (JPEG/PNG files made with PIL), and for each image
OUTDIR/ref/<kind>/<name>.rgb: Resize(int(256/224*S), bicubic) + CenterCrop(S) of
Image.open(f).convert('RGB'), S*S*3 bytes (HWC); OUTDIR/index.json lists
[kind, name, S, width, height]. Exits 3 when torchvision or PIL is missing.
"""
import json
import os
import sys

try:
    import numpy as np
    from PIL import Image, ImageFile
    from torchvision import transforms
except ImportError as e:  # the Go test skips on exit status 3
    print(f"missing: {e}", file=sys.stderr)
    sys.exit(3)

out = sys.argv[1]
ImageFile.MAXBLOCK = 1 << 24  # progressive saves of small noisy images need more than w*h
rng = np.random.default_rng(13)

# 40 sizes from 17x300 to 640x480: portrait and landscape, up- and down-scaling at S=224
# (shorter side 256), plus a few square and near-square ones.
SIZES = [(17, 300), (300, 17), (640, 480), (480, 640), (500, 375), (375, 500), (256, 256),
         (257, 256), (255, 300), (300, 255), (224, 224), (100, 100), (64, 48), (48, 64),
         (333, 333), (401, 299), (299, 401), (512, 342), (342, 512), (640, 427), (427, 640),
         (120, 600), (600, 120), (31, 45), (45, 31), (250, 640), (640, 250), (129, 97),
         (97, 129), (256, 384), (384, 256), (613, 461), (461, 613), (200, 300), (300, 200),
         (389, 260), (260, 389), (18, 19), (19, 18), (511, 509)]


def content(w, h, channels):
    """Smooth random fields plus noise and a few hard edges, uint8 HxWxC."""
    small = rng.uniform(0, 255, (max(2, h // 16), max(2, w // 16), channels)).astype(np.float32)
    planes = [np.asarray(Image.fromarray(small[:, :, c]).resize((w, h), Image.BILINEAR))
              for c in range(channels)]
    img = np.stack(planes, axis=2)
    img = img + rng.normal(0, 18, img.shape)
    yy, xx = np.mgrid[0:h, 0:w]
    img[(xx // 23 + yy // 17) % 5 == 0] *= 0.4  # edges
    return np.clip(img, 0, 255).astype(np.uint8)


def save(kind, i, w, h):
    d = os.path.join(out, "img", kind)
    os.makedirs(d, exist_ok=True)
    name = f"{i:02d}_{w}x{h}"
    if kind.startswith("gray"):
        im = Image.fromarray(content(w, h, 1)[:, :, 0], "L")
    elif kind.startswith("cmyk"):
        im = Image.fromarray(content(w, h, 4), "CMYK")
    elif kind == "png_rgba":
        im = Image.fromarray(content(w, h, 4), "RGBA")
    elif kind == "png_p":
        im = Image.fromarray(content(w, h, 3), "RGB").quantize(200)
    else:
        im = Image.fromarray(content(w, h, 3), "RGB")
    if "png" in kind:
        name += ".JPEG" if kind == "png_as_jpeg" else ".png"
        im.save(os.path.join(d, name), "PNG")
    else:
        name += ".JPEG"
        opts = {"quality": int(rng.integers(70, 96))}
        if "444" in kind:
            opts["subsampling"] = 0
        elif "422" in kind:
            opts["subsampling"] = 1
        elif "420" in kind:
            opts["subsampling"] = 2
        if "prog" in kind:
            opts["progressive"] = True
        im.save(os.path.join(d, name), "JPEG", **opts)
    return name


KINDS = ["jpeg_420", "jpeg_444", "jpeg_422", "jpeg_prog_420", "jpeg_prog_444", "gray_jpeg",
         "gray_jpeg_prog", "cmyk_jpeg", "png_rgb", "png_rgba", "png_p", "gray_png", "png_as_jpeg"]
index = []
for k, kind in enumerate(KINDS):
    # Every size for the main JPEG kinds, every third one for the others.
    step = 1 if kind in ("jpeg_420", "jpeg_444", "jpeg_prog_420") else 3
    for i in range(k % step, len(SIZES), step):
        w, h = SIZES[i]
        name = save(kind, i, w, h)
        s = 224 if i % 4 else 64
        t = transforms.Compose([
            transforms.Resize(int(256 / 224 * s), interpolation=transforms.InterpolationMode.BICUBIC),
            transforms.CenterCrop(s)])
        with open(os.path.join(out, "img", kind, name), "rb") as f:
            ref = np.asarray(t(Image.open(f).convert("RGB")), dtype=np.uint8)
        assert ref.shape == (s, s, 3), ref.shape
        d = os.path.join(out, "ref", kind)
        os.makedirs(d, exist_ok=True)
        ref.tofile(os.path.join(d, name + ".rgb"))
        index.append([kind, name, s, w, h])
with open(os.path.join(out, "index.json"), "w") as f:
    json.dump(index, f)
