#!/usr/bin/python3
"""A small, self-contained PyTorch ViT-ResNAS, to compare resnas against.

Written from /work/shared/design/reference.md §3 (forward), §4 (state_dict keys, slicing);
the module names follow the reference so its state_dicts load with load_state_dict, and so do
the sub-networks resnas slices and exports.

Library:
    parse_def(text)                        -> network_def tuple (ast.literal_eval)
    ViTResNAS(net_def, img, patch, in_chans, patch_head=False, drop_path=0.0, sdpa=False)
    load_pth(path, prefer=None)            -> state_dict (model_ema when present, like main.py --eval)
    load_safetensors(path)                 -> (state_dict, metadata); float16/bfloat16/float32/int64
    save_safetensors(path, sd, metadata, float16=False)   atomic write
    load_weights(path, prefer=None)        -> (state_dict, metadata) for either format
    slice_state_dict(super_sd, shapes)     -> sub-network state_dict (reference.md §4.4)
    build_loaded(sd, net_def, img, patch, in_chans) -> eval-mode model, sd sliced to it when larger
    space_max_def(space)                   -> largest network_def of a `resnas spaces --json` entry
    train_step(model, opt, x, y, smoothing) one AdamW step (adamw_for), CE with label smoothing
    macs(net_def, img, patch, in_chans)    -> MACs in the reference convention (reference.md §8.1)

CLI (output is JSON on stdout: one object, or for predict one array of logits per image):
    resnas_torch.py bench  --checkpoint F --arch DEF --batch N --threads T [--device cpu|cuda]
    resnas_torch.py train-bench --arch DEF --img S --channels C --patch P --batch N --threads T
    resnas_torch.py predict --checkpoint F --arch DEF --input X.f32 --shape N,C,H,W
    resnas_torch.py make-checkpoint --arch DEF --img S --channels C --patch P --out F.safetensors
    resnas_torch.py sgemm --shapes 1024x1024x1024,12608x576x192 --threads T
    resnas_torch.py space-max --space NAME < `resnas spaces --json`

Run it with a Python that has torch (on the dev machines: /usr/bin/python3, torch 1.13).
"""

import argparse
import ast
import json
import math
import os
import statistics
import struct
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# network_def entry types (reference.md §2).
TYPE_LINEAR_STEM, TYPE_BLOCK, TYPE_HEAD, TYPE_REDUCTION, TYPE_CONV_STEM, TYPE_CONV_STEM_MID = 0, 1, 2, 3, 4, 5
DEFAULT_STEM_MID = 24
LN_EPS = 1e-6  # every LayerNorm of the reference; the stem BN keeps PyTorch's 1e-5

PRESETS = {
    # scripts/vit-sr-nas/searched_net/tiny.sh of the reference, verbatim.
    "vit-resnas-tiny": "((4, 176), (1, (176, 3, 32), (176, 704), 1), (1, (176, 3, 32), (176, 576), 1), "
    "(1, (176, 3, 32), (176, 640), 1), (1, (176, 4, 32), (176, 576), 1), (1, (176, 4, 32), (176, 704), 1), "
    "(3, 176, 352), (1, (352, 10, 48), (352, 1408), 1), (1, (352, 8, 48), (352, 1408), 1), "
    "(1, (352, 8, 48), (352, 1280), 1), (1, (352, 8, 48), (352, 1408), 1), (1, (352, 10, 48), (352, 1280), 1), "
    "(1, (352, 10, 48), (352, 1024), 1), (3, 352, 704), (1, (704, 10, 64), (704, 2560), 1), "
    "(1, (704, 10, 64), (704, 1792), 1), (1, (704, 10, 64), (704, 2816), 1), (1, (704, 8, 64), (704, 2816), 1), "
    "(1, (704, 8, 64), (704, 2560), 1), (2, 704, 1000))",
}


def parse_def(text):
    """Parses a network_def tuple (or a preset name) and checks the reference's asserts."""
    text = PRESETS.get(text.strip().lower(), text)
    d = ast.literal_eval(text.strip())
    if not isinstance(d, tuple) or len(d) < 2:
        raise ValueError("network_def: want a tuple of at least a stem and a head, got %r" % (text[:60],))
    if d[0][0] not in (TYPE_LINEAR_STEM, TYPE_CONV_STEM, TYPE_CONV_STEM_MID):
        raise ValueError("network_def[0] = %r: want a stem (0, C), (4, C) or (5, C, mid)" % (d[0],))
    if d[-1][0] != TYPE_HEAD:
        raise ValueError("network_def[-1] = %r: want the head (2, C, classes)" % (d[-1],))
    c = d[0][1]
    for i, e in enumerate(d[1:-1], 1):
        if e[0] == TYPE_BLOCK:
            if e[1][0] != c or e[2][0] != c:
                raise ValueError("network_def[%d] = %r: block width must be the current width %d" % (i, e, c))
        elif e[0] == TYPE_REDUCTION:
            if e[1] != c or e[2] < e[1]:
                raise ValueError("network_def[%d] = %r: reduction must start at width %d and not shrink" % (i, e, c))
            c = e[2]
        else:
            raise ValueError("network_def[%d] = %r: want a block (1, ...) or a reduction (3, Cin, Cout)" % (i, e))
    if d[-1][1] != c:
        raise ValueError("network_def[-1] = %r: head width must be the last width %d" % (d[-1], c))
    return d


def def_string(d):
    """The reference spelling of a network_def (Python's tuple repr), which resnas parses."""
    return repr(tuple(d))


def space_max_def(space):
    """The largest network_def of one entry of `resnas spaces --json`."""
    w = space["widths"][0]
    stem = (space["stem_type"], w) if space["stem_type"] != TYPE_CONV_STEM_MID else (space["stem_type"], w, space["stem_mid"])
    layers = [stem]
    for c in space["layers"]:
        if c["type"] == TYPE_REDUCTION:
            layers.append((TYPE_REDUCTION, w, c["widths"][0]))
            w = c["widths"][0]
        else:
            layers.append((TYPE_BLOCK, (w, max(c["heads"]), c["head_dim"]), (w, max(c["mlp"])), 1))
    layers.append((TYPE_HEAD, w, space["classes"]))
    return tuple(layers)


# ---------------------------------------------------------------------------------------------
# Model (reference.md §3)


class ConvBnAct(nn.Module):
    """3×3 conv without bias, BatchNorm (eps 1e-5, running stats at eval), ReLU."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class ConvStem(nn.Module):
    """Stem types 4/5: conv s2, two convs with a residual after the ReLUs, (patch/2)² projection."""

    def __init__(self, cin, mid, dim, patch):
        super().__init__()
        self.conv1 = ConvBnAct(cin, mid, 2)
        self.conv2 = ConvBnAct(mid, mid, 1)
        self.conv3 = ConvBnAct(mid, mid, 1)
        self.conv_proj = nn.Conv2d(mid, dim, patch // 2, stride=patch // 2)

    def forward(self, x):
        x0 = self.conv1(x)
        x = self.conv3(self.conv2(x0)) + x0
        return self.conv_proj(x).flatten(2).transpose(1, 2)


class LinearStem(nn.Module):
    """Stem type 0: timm PatchEmbed, one patch×patch conv of stride patch."""

    def __init__(self, cin, dim, patch):
        super().__init__()
        self.proj = nn.Conv2d(cin, dim, patch, stride=patch)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class Attention(nn.Module):
    """MHSA with a free head dim: qkv rows are laid out [q|k|v] × head × dim."""

    def __init__(self, dim, heads, head_dim, sdpa=False):
        super().__init__()
        self.heads, self.head_dim = heads, head_dim
        self.scale = head_dim ** -0.5
        # Fused attention (torch ≥ 2.0) for a stronger baseline; same maths, default scale D^-½.
        self.sdpa = sdpa and hasattr(F, "scaled_dot_product_attention")
        self.qkv = nn.Linear(dim, 3 * heads * head_dim)
        self.proj = nn.Linear(heads * head_dim, dim)

    def forward(self, x):
        b, n, _ = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        if self.sdpa:
            o = F.scaled_dot_product_attention(q, k, v)
        else:
            o = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1) @ v
        return self.proj(o.transpose(1, 2).reshape(b, n, self.heads * self.head_dim))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()  # exact (erf) GELU
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


def drop_path(x, rate, training):
    """Per-sample stochastic depth (timm DropPath): zero a sample's branch, scale the rest."""
    if rate == 0.0 or not training:
        return x
    keep = 1.0 - rate
    mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
    return x * mask / keep


class Block(nn.Module):
    """Pre-norm transformer block (reference.md §3.4)."""

    def __init__(self, dim, heads, head_dim, hidden, drop_path_rate=0.0, sdpa=False):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=LN_EPS)
        self.attn = Attention(dim, heads, head_dim, sdpa)
        self.norm2 = nn.LayerNorm(dim, eps=LN_EPS)
        self.mlp = Mlp(dim, hidden)
        self.drop_path_rate = drop_path_rate

    def forward(self, x):
        x = x + drop_path(self.attn(self.norm1(x)), self.drop_path_rate, self.training)
        return x + drop_path(self.mlp(self.norm2(x)), self.drop_path_rate, self.training)


class Bypass(nn.Module):
    """An exists=0 block: the identity, no parameters, but it keeps its blocks.{i} index."""

    def forward(self, x):
        return x


class Reduction(nn.Module):
    """Residual spatial reduction (reference.md §3.5), for one class token."""

    def __init__(self, grid, cin, cout):
        super().__init__()
        self.grid, self.cin, self.cout = grid, cin, cout
        half = grid // 2
        self.pos_embed = nn.Parameter(torch.zeros(1, half * half, cout))
        self.norm = nn.LayerNorm(cin, eps=LN_EPS)
        self.patch_reduce = nn.Conv2d(cin, cout, 3, stride=2, padding=1)
        self.token_transform = nn.Linear(cin, cout)

    def forward(self, x):
        b, g = x.shape[0], self.grid
        cls_res, patch_res = x[:, :1], x[:, 1:]  # skip path: un-normalised
        x = self.norm(x)  # over all tokens, the class token included
        patch_res = F.avg_pool2d(patch_res.transpose(1, 2).reshape(b, self.cin, g, g), 2, 2).flatten(2).transpose(1, 2)
        p = self.patch_reduce(x[:, 1:].transpose(1, 2).reshape(b, self.cin, g, g)).flatten(2).transpose(1, 2)
        p = p + self.pos_embed
        c = self.token_transform(x[:, :1])
        res = torch.cat([cls_res, patch_res], dim=1)
        res = F.pad(res, (0, self.cout - self.cin))  # zeros at the channel end
        return torch.cat([c, p], dim=1) + res


class ViTResNAS(nn.Module):
    """The network of one network_def (reference.md §3), one class token, eval returns logits."""

    def __init__(self, net_def, img=224, patch=14, in_chans=3, patch_head=False, drop_path=0.0, sdpa=False):
        super().__init__()
        if isinstance(net_def, str):
            net_def = parse_def(net_def)
        self.net_def = net_def
        stem = net_def[0]
        dim = stem[1]
        if img % patch:
            raise ValueError("image size %d is not a multiple of the patch size %d" % (img, patch))
        grid = img // patch
        if stem[0] == TYPE_LINEAR_STEM:
            self.patch_embed = LinearStem(in_chans, dim, patch)
        else:
            mid = stem[2] if stem[0] == TYPE_CONV_STEM_MID else DEFAULT_STEM_MID
            self.patch_embed = ConvStem(in_chans, mid, dim, patch)
        self.tokens = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, grid * grid + 1, dim))
        # Drop-path rates rise linearly over every transformer entry, skipped ones included.
        n_trans = sum(1 for e in net_def if e[0] == TYPE_BLOCK)
        rates = np.linspace(0, drop_path, n_trans) if n_trans else []
        blocks, t = [], 0
        for e in net_def[1:-1]:
            if e[0] == TYPE_BLOCK:
                (c, heads, head_dim), (_, hidden), exists = e[1], e[2], e[3]
                blocks.append(Block(c, heads, head_dim, hidden, float(rates[t]), sdpa) if exists else Bypass())
                t += 1
            else:
                blocks.append(Reduction(grid, e[1], e[2]))
                grid //= 2
                dim = e[2]
        self.blocks = nn.ModuleList(blocks)
        self.norm = nn.LayerNorm(dim, eps=LN_EPS)
        self.cls_head = nn.Linear(dim, net_def[-1][2])
        if patch_head:  # the released models carry it; used only by their training loss
            self.patch_head = nn.Linear(dim, net_def[-1][2])
        self.init_random()

    def init_random(self, seed=None):
        """Random weights like timm's ViT init (trunc-normal 0.02 for Linear and embeddings)."""
        g = torch.Generator().manual_seed(seed) if seed is not None else None
        with torch.no_grad():
            for name, p in self.named_parameters():
                if p.dim() >= 2 or name.endswith("pos_embed") or name == "tokens":
                    p.copy_(torch.randn(p.shape, generator=g).clamp_(-2, 2) * 0.02)
                elif name.endswith("weight"):  # LN and BN scales
                    p.fill_(1.0)
                else:
                    p.zero_()

    def forward(self, x):
        x = self.patch_embed(x)
        x = torch.cat([self.tokens.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        for blk in self.blocks:
            x = blk(x)
        return self.cls_head(self.norm(x[:, 0]))


# ---------------------------------------------------------------------------------------------
# Checkpoints


def load_pth(path, prefer=None):
    """The state_dict of a reference torch.save file: model_ema when present (as main.py --eval
    does) unless prefer says 'model'; a bare state_dict is returned as is."""
    if hasattr(torch.serialization, "safe_globals"):
        # torch ≥ 2.4 refuses pickled globals by default; the reference files hold only
        # tensors, plain containers and the argparse.Namespace of their command line.
        with torch.serialization.safe_globals([argparse.Namespace]):
            ck = torch.load(path, map_location="cpu", weights_only=True)
    else:
        ck = torch.load(path, map_location="cpu")
    if isinstance(ck, dict) and ("model" in ck or "model_ema" in ck):
        key = prefer or ("model_ema" if "model_ema" in ck else "model")
        if key not in ck:
            raise KeyError("%s: no %r entry (has %s)" % (path, key, ", ".join(sorted(ck))))
        return dict(ck[key])
    if isinstance(ck, dict) and all(isinstance(v, torch.Tensor) for v in ck.values()):
        return dict(ck)
    raise ValueError("%s: neither a training checkpoint (model/model_ema) nor a state_dict" % path)


_ST_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64, "I32": np.int32,
              "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}


def load_safetensors(path):
    """(state_dict, __metadata__) of a safetensors file, parsed with json + numpy."""
    with open(path, "rb") as f:
        buf = f.read()
    if len(buf) < 8:
        raise ValueError("%s: too short for safetensors" % path)
    (n,) = struct.unpack("<Q", buf[:8])
    if 8 + n > len(buf):
        raise ValueError("%s: header length %d beyond the file (truncated?)" % (path, n))
    header = json.loads(buf[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {}) or {}
    data = memoryview(buf)[8 + n:]
    sd = {}
    for key, info in header.items():
        lo, hi = info["data_offsets"]
        raw = data[lo:hi]
        if info["dtype"] == "BF16":  # numpy has no bfloat16: widen the top half of a float32
            a = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        elif info["dtype"] in _ST_DTYPES:
            a = np.frombuffer(raw, dtype=np.dtype(_ST_DTYPES[info["dtype"]]).newbyteorder("<"))
        else:
            raise ValueError("%s: tensor %s has unsupported dtype %s" % (path, key, info["dtype"]))
        a = a.reshape(info["shape"])
        if a.dtype.kind == "f":
            a = a.astype(np.float32)
        sd[key] = torch.from_numpy(np.array(a))  # a writable copy
    return sd, meta


def save_safetensors(path, sd, metadata=None, float16=False):
    """Writes sd as safetensors, atomically (temp file in the same directory, fsync, rename)."""
    header, chunks, off = {}, [], 0
    for key in sorted(sd):
        t = sd[key].detach().cpu().contiguous()
        if t.is_floating_point():
            a = t.to(torch.float16 if float16 else torch.float32).numpy()
            dt = "F16" if float16 else "F32"
        else:
            a, dt = t.to(torch.int64).numpy(), "I64"
        b = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[key] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        chunks.append(b)
        off += len(b)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)  # the format's recommended 8-byte alignment of the data
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".safetensors", dir=d)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(h)))
            f.write(h)
            for b in chunks:
                f.write(b)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual mode
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def resnas_metadata(net_def, img, channels, patch, classes=None, **extra):
    """The __metadata__ resnas reads (checkpoints/meta.go, format version 1)."""
    net_def = parse_def(net_def) if isinstance(net_def, str) else net_def
    m = {"format": "resnas", "format_version": "1", "network_def": def_string(net_def),
         "image_size": str(img), "in_channels": str(channels), "patch_size": str(patch),
         "classes": str(classes or net_def[-1][2])}
    m.update({k: str(v) for k, v in extra.items()})
    return m


def load_weights(path, prefer=None):
    """(state_dict, metadata) of a .safetensors or a torch.save file (metadata {} for the latter)."""
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic[:2] == b"PK" or path.endswith((".pth", ".pth.tar", ".pt")):
        return load_pth(path, prefer), {}
    return load_safetensors(path)


def slice_state_dict(src, shapes):
    """Cuts the sub-network of shapes (key -> torch.Size) out of supernet weights src, by the
    reference's rule (reference.md §4.4): first-k on every axis, qkv per q/k/v section."""
    out = {}
    for key, shape in shapes.items():
        if key.endswith("num_batches_tracked") and key not in src:
            continue  # resnas files do not store it; the sub-network keeps its own
        if key not in src:
            raise KeyError("supernet weights have no %s (another architecture?)" % key)
        s, shape = src[key], tuple(shape)
        if s.dim() != len(shape):
            raise ValueError("%s: rank %d, want %d" % (key, s.dim(), len(shape)))
        if s.dim() == 0:
            continue  # num_batches_tracked: the sub-network keeps its own
        if any(a > b for a, b in zip(shape, s.shape)):
            raise ValueError("%s: supernet shape %s is smaller than %s" % (key, tuple(s.shape), shape))
        if "qkv" in key:
            big, small = s.shape[0] // 3, shape[0] // 3
            rows = torch.cat([s[i * big:i * big + small] for i in range(3)], dim=0)
            out[key] = rows[:, :shape[1]].clone() if s.dim() == 2 else rows.clone()
            continue
        if s.dim() == 4 and s.shape[2:] != shape[2:]:
            raise ValueError("%s: kernel %s, want %s" % (key, tuple(s.shape[2:]), shape[2:]))
        out[key] = s[tuple(slice(0, n) for n in shape)].clone()
    return out


def build_loaded(sd, net_def, img, patch, in_chans, device="cpu", sdpa=False):
    """An eval-mode model of net_def with sd loaded: as is when the shapes match, else sliced."""
    model = ViTResNAS(net_def, img, patch, in_chans, patch_head="patch_head.weight" in sd, sdpa=sdpa)
    want = {k: v.shape for k, v in model.state_dict().items()}
    exact = all(k in sd and tuple(sd[k].shape) == tuple(s) for k, s in want.items())
    sub = {k: sd[k] for k in want} if exact else slice_state_dict(sd, want)
    model.load_state_dict(sub, strict=False)
    missing = [k for k in want if k not in sub and not k.endswith("num_batches_tracked")]
    if missing:
        raise KeyError("weights lack %s" % ", ".join(missing[:5]))
    return model.to(device).eval()


def geometry(sd, meta, patch=None):
    """(img, patch, channels) from resnas metadata, else from the stage-1 pos_embed and stem."""
    if meta.get("image_size"):
        return int(meta["image_size"]), int(meta.get("patch_size", 14)), int(meta.get("in_channels", 3))
    patch = patch or 14
    grid = int(round(math.sqrt(sd["pos_embed"].shape[1] - 1)))
    w = sd.get("patch_embed.conv1.conv.weight", sd.get("patch_embed.proj.weight"))
    return grid * patch, patch, w.shape[1]


# ---------------------------------------------------------------------------------------------
# Timing


def train_step(model, opt, x, y, smoothing=0.1):
    """One optimizer step: forward, CE with label smoothing, backward, AdamW."""
    opt.zero_grad(set_to_none=True)
    loss = F.cross_entropy(model(x), y, label_smoothing=smoothing)
    loss.backward()
    opt.step()
    return loss.item()


def adamw_for(model, lr=2e-3, weight_decay=0.05):
    """AdamW as timm configures it for the reference: no decay on 1-D tensors and tokens."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.dim() <= 1 or name == "tokens" else decay).append(p)
    return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=lr, betas=(0.9, 0.999), eps=1e-8)


def _sync(device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_batches(fn, device, warmup, repeats):
    """Seconds per call of fn: warmup calls, then repeats timed ones."""
    for _ in range(warmup):
        fn()
    _sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return times


def summary(times, batch):
    med = statistics.median(times)
    return {"images_per_sec": batch / med, "median_s": med, "repeats": len(times),
            "spread": (max(times) - min(times)) / med, "batch": batch}


def macs(net_def, img, patch, in_chans):
    """MACs in the reference convention (reference.md §8.1; stem at its real resolution)."""
    d = parse_def(net_def) if isinstance(net_def, str) else net_def
    stem, grid = d[0], img // patch
    n = grid * grid
    if stem[0] == TYPE_LINEAR_STEM:
        total = stem[1] * in_chans * patch * patch * n
    else:
        m = stem[2] if stem[0] == TYPE_CONV_STEM_MID else DEFAULT_STEM_MID
        hw = (img // 2) ** 2
        k = patch // 2
        total = in_chans * m * 9 * hw + 2 * m * m * 9 * hw + stem[1] * m * k * k * n
    for e in d[1:-1]:
        tok = grid * grid + 1
        if e[0] == TYPE_BLOCK and e[3]:
            (c, h, hd), (_, hidden) = e[1], e[2]
            w = h * hd
            total += tok * c * 3 * w + 2 * tok * tok * w + tok * w * c + 2 * tok * c * hidden
        elif e[0] == TYPE_REDUCTION:
            grid //= 2
            total += grid * grid * e[2] * 9 * e[1] + e[1] * e[2]
    return total + d[-1][1] * d[-1][2]


# ---------------------------------------------------------------------------------------------
# CLI


def _setup(a):
    """Threads, and plain float32 on CUDA (no TF32), as resnas computes, unless --tf32."""
    if a.threads > 0:
        torch.set_num_threads(a.threads)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:  # only settable before the first parallel work
            pass
    if a.device.startswith("cuda"):
        if not torch.cuda.is_available():
            sys.exit("resnas_torch: --device %s but torch.cuda.is_available() is False" % a.device)
        tf32 = bool(getattr(a, "tf32", False))
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
        torch.backends.cudnn.benchmark = True


def _arch(a, meta):
    """--arch, or the checkpoint's own network_def for '' and 'max'."""
    if a.arch not in ("", "max"):
        return a.arch
    if "network_def" not in meta:
        sys.exit("resnas_torch: %s records no network_def: pass --arch" % a.checkpoint)
    return meta["network_def"]


def cmd_bench(a):
    _setup(a)
    sd, meta = load_weights(a.checkpoint, a.weights)
    img, patch, chans = geometry(sd, meta, a.patch)
    net_def = parse_def(_arch(a, meta))
    model = build_loaded(sd, net_def, img, patch, chans, a.device, a.sdpa)
    x = torch.randn(a.batch, chans, img, img, generator=torch.Generator().manual_seed(0)).to(a.device)
    with torch.no_grad():
        times = time_batches(lambda: model(x), a.device, a.warmup, a.repeats)
    res = summary(times, a.batch)
    m = macs(net_def, img, patch, chans)
    res.update({"impl": "pytorch " + torch.__version__ + (" sdpa" if a.sdpa and hasattr(F, "scaled_dot_product_attention") else " eager"), "device": a.device,
                "threads": torch.get_num_threads(), "macs": m, "gflop_per_sec": 2 * m * res["images_per_sec"] / 1e9,
                "img": img, "samples": [a.batch / t for t in times]})
    print(json.dumps(res))


def cmd_train_bench(a):
    _setup(a)
    torch.manual_seed(a.seed)
    net_def = parse_def(a.arch)
    model = ViTResNAS(net_def, a.img, a.patch, a.channels, drop_path=a.drop_path).to(a.device).train()
    opt = adamw_for(model)
    classes = net_def[-1][2]
    x = torch.randn(a.batch, a.channels, a.img, a.img).to(a.device)
    y = torch.randint(0, classes, (a.batch,)).to(a.device)
    times = time_batches(lambda: train_step(model, opt, x, y, a.smoothing), a.device, a.warmup, a.repeats)
    res = summary(times, a.batch)
    m = macs(net_def, a.img, a.patch, a.channels)
    res.update({"impl": "pytorch " + torch.__version__, "device": a.device, "threads": torch.get_num_threads(),
                "macs": m, "network_def": def_string(net_def)})
    print(json.dumps(res))


def cmd_predict(a):
    _setup(a)
    sd, meta = load_weights(a.checkpoint, a.weights)
    img, patch, chans = geometry(sd, meta, a.patch)
    shape = [int(v) for v in a.shape.split(",")]
    x = torch.from_numpy(np.fromfile(a.input, dtype="<f4").reshape(shape).copy()).to(a.device)
    model = build_loaded(sd, parse_def(_arch(a, meta)), img, patch, chans, a.device)
    with torch.no_grad():
        logits = model(x).cpu().numpy()
    for row in logits:
        print(json.dumps([float(v) for v in row]))


def cmd_make_checkpoint(a):
    net_def = parse_def(a.arch)
    model = ViTResNAS(net_def, a.img, a.patch, a.channels)
    model.init_random(a.seed)
    sd = {k: v for k, v in model.state_dict().items()}
    meta = resnas_metadata(net_def, a.img, a.channels, a.patch, seed=a.seed,
                           command="scripts/resnas_torch.py make-checkpoint (random weights)")
    save_safetensors(a.out, sd, meta, a.float16)
    print(json.dumps({"out": a.out, "tensors": len(sd), "params": sum(v.numel() for v in model.parameters())}))


def cmd_sgemm(a):
    """GFLOP/s of torch.mm (the BLAS PyTorch links) at M×N×K shapes, median of repeats."""
    _setup(a)
    out = {}
    for spec in a.shapes.split(","):
        m, n, k = (int(v) for v in spec.lower().split("x"))
        x, y = torch.randn(m, k, device=a.device), torch.randn(k, n, device=a.device)
        times = time_batches(lambda: torch.mm(x, y), a.device, 2, a.repeats)
        out[spec] = 2.0 * m * n * k / statistics.median(times) / 1e9
    print(json.dumps({"impl": "torch.mm " + torch.__version__, "threads": torch.get_num_threads(), "gflop_per_sec": out}))


def cmd_space_max(a):
    spaces = json.load(sys.stdin)
    for s in spaces:
        if s["name"] == a.space:
            print(def_string(space_max_def(s)))
            return
    sys.exit("space-max: no space %r in the input (have %s)" % (a.space, ", ".join(s["name"] for s in spaces)))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(q, weights=True):
        q.add_argument("--arch", default="", help="network_def tuple or preset (default: the checkpoint's)")
        q.add_argument("--threads", type=int, default=0)
        q.add_argument("--device", default="cpu")
        if weights:
            q.add_argument("--checkpoint", required=True)
            q.add_argument("--weights", choices=["model", "model_ema"], default=None)
            q.add_argument("--patch", type=int, default=None, help="patch size of a PyTorch file (default 14)")

    q = sub.add_parser("bench", help="inference images/s")
    common(q)
    q.add_argument("--batch", type=int, default=64)
    q.add_argument("--warmup", type=int, default=2)
    q.add_argument("--repeats", type=int, default=5)
    q.add_argument("--sdpa", action="store_true", help="fused attention (torch >= 2.0)")
    q.add_argument("--tf32", action="store_true", help="allow TF32 on CUDA (default: plain float32)")
    q.set_defaults(fn=cmd_bench)

    q = sub.add_parser("train-bench", help="training images/s (forward, backward, AdamW)")
    common(q, weights=False)
    for k, v in (("img", 32), ("channels", 1), ("patch", 4), ("batch", 128), ("warmup", 2), ("repeats", 5), ("seed", 0)):
        q.add_argument("--" + k, type=int, default=v)
    q.add_argument("--drop-path", type=float, default=0.1)
    q.add_argument("--smoothing", type=float, default=0.1)
    q.set_defaults(fn=cmd_train_bench)

    q = sub.add_parser("predict", help="logits, one JSON array per image")
    common(q)
    q.add_argument("--input", required=True)
    q.add_argument("--shape", required=True)
    q.set_defaults(fn=cmd_predict)

    q = sub.add_parser("make-checkpoint", help="random weights in resnas safetensors")
    q.add_argument("--arch", required=True)
    for k, v in (("img", 224), ("channels", 3), ("patch", 14), ("seed", 0)):
        q.add_argument("--" + k, type=int, default=v)
    q.add_argument("--out", required=True)
    q.add_argument("--float16", action="store_true")
    q.set_defaults(fn=cmd_make_checkpoint)

    q = sub.add_parser("sgemm", help="torch.mm GFLOP/s at M×N×K shapes")
    q.add_argument("--shapes", default="1024x1024x1024,12608x576x192")
    q.add_argument("--threads", type=int, default=0)
    q.add_argument("--repeats", type=int, default=10)
    q.add_argument("--device", default="cpu")
    q.set_defaults(fn=cmd_sgemm)

    q = sub.add_parser("space-max", help="largest network_def of a space, from `resnas spaces --json` on stdin")
    q.add_argument("--space", required=True)
    q.set_defaults(fn=cmd_space_max)

    a = p.parse_args(argv)
    a.fn(a)


if __name__ == "__main__":
    main()
