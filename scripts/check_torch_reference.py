#!/usr/bin/python3
"""Checks scripts/resnas_torch.py against the reference fixtures before it is used as a baseline.

Usage: /usr/bin/python3 scripts/check_torch_reference.py [testdata/reference-dev]

On testdata/reference-dev (spec.json, golden.json, input.f32, supernet.pth.tar, subnet0.pth.tar,
golden logits written by the reference code itself) it checks, with max |diff| ≤ 1e-4:
  1. every golden case (the supernet and its sub-networks) from the supernet's weights, sliced by
     slice_state_dict where the case is a sub-network;
  2. subnet0 from subnet0.pth.tar as is (the reference's own sliced export), and that our
     slicing reproduces that file tensor for tensor;
     and that a naive qkv slice would fail the check (the fixture can catch that mistake);
  3. a round trip through save_safetensors/load_safetensors (float32 exact; float16 loads);
  4. a training step runs and changes the weights (AdamW, label smoothing).
Prints one line per check with its max difference; exits 1 on any failure.
"""

import json
import os
import sys
import tempfile

import numpy as np
import torch

sys.dont_write_bytecode = True  # no scripts/__pycache__ left in the working tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import resnas_torch as rt  # noqa: E402

TOL = 1e-4


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "testdata", "reference-dev")
    golden = json.load(open(os.path.join(d, "golden.json")))
    img, b = golden["img"], golden["batch"]
    x = torch.from_numpy(np.fromfile(os.path.join(d, golden["input"]), dtype="<f4").reshape(b, 3, img, img).copy())
    sup = rt.load_pth(os.path.join(d, golden["checkpoint"]))
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    failures = []

    def report(name, diff, tol=TOL):
        ok = diff <= tol
        print("%-4s %-52s max|diff| %.3g (tol %g)" % ("ok" if ok else "FAIL", name, diff, tol))
        if not ok:
            failures.append(name)

    def logits(model):
        with torch.no_grad():
            return model(x)

    worst = 0.0
    for case in golden["cases"]:
        want = torch.tensor(case["logits"], dtype=torch.float32)
        got = logits(rt.build_loaded(sup, case["network_def"], img, 14, 3))
        diff = (got - want).abs().max().item()
        worst = max(worst, diff)
        report("golden %s (sliced from %s)" % (case["name"], golden["checkpoint"]), diff)

    sub0 = next(c for c in golden["cases"] if c["name"] == "subnet0")
    sub_sd = rt.load_pth(os.path.join(d, "subnet0.pth.tar"))
    m = rt.build_loaded(sub_sd, sub0["network_def"], img, 14, 3)
    diff = (logits(m) - torch.tensor(sub0["logits"])).abs().max().item()
    worst = max(worst, diff)
    report("golden subnet0 (subnet0.pth.tar as is)", diff)

    shapes = {k: v.shape for k, v in sub_sd.items() if v.dim() > 0}
    ours = rt.slice_state_dict(sup, shapes)
    sdiff = max((ours[k] - sub_sd[k]).abs().max().item() for k in shapes)
    report("slice_state_dict == reference subnet0 export (%d tensors)" % len(shapes), sdiff, 0.0)

    # The fixture must be able to fail: a plain leading [0:3·Hs·D] qkv slice (the classic
    # mistake, reference.md §12.3) has to change the logits well beyond the tolerance.
    naive = dict(ours)
    for k in naive:
        if "qkv" in k:
            naive[k] = sup[k][tuple(slice(0, n) for n in sub_sd[k].shape)].clone()
    wrong = rt.ViTResNAS(sub0["network_def"], img, 14, 3, patch_head=True).eval()
    wrong.load_state_dict(naive, strict=False)
    ndiff = (logits(wrong) - torch.tensor(sub0["logits"])).abs().max().item()
    print("%-4s negative control: naive qkv slicing is off by %.3g" % ("ok" if ndiff > 100 * TOL else "FAIL", ndiff))
    if ndiff <= 100 * TOL:
        failures.append("negative control")

    with tempfile.TemporaryDirectory() as tmp:
        f32, f16 = os.path.join(tmp, "s32.safetensors"), os.path.join(tmp, "s16.safetensors")
        sd = m.state_dict()
        meta = rt.resnas_metadata(sub0["network_def"], img, 3, 14)
        rt.save_safetensors(f32, sd, meta)
        rt.save_safetensors(f16, sd, meta, float16=True)
        back, back_meta = rt.load_weights(f32)
        rdiff = max((back[k].float() - sd[k].float()).abs().max().item() for k in sd)
        report("safetensors float32 round trip", rdiff, 0.0)
        if back_meta.get("network_def") != rt.def_string(rt.parse_def(sub0["network_def"])):
            failures.append("safetensors metadata")
            print("FAIL safetensors metadata network_def: %r" % back_meta.get("network_def"))
        h, _ = rt.load_weights(f16)
        hm = rt.build_loaded(h, sub0["network_def"], img, 14, 3)
        report("safetensors float16 logits vs float32", (logits(hm) - logits(m)).abs().max().item(), 5e-2)

    model = rt.ViTResNAS(sub0["network_def"], img, 14, 3, drop_path=0.1).train()
    before = model.cls_head.weight.detach().clone()
    loss = rt.train_step(model, rt.adamw_for(model), x, torch.tensor([0, 1, 2, 3]), 0.1)
    moved = (model.cls_head.weight - before).abs().max().item()
    if not (np.isfinite(loss) and moved > 0):
        failures.append("train step")
    print("%-4s train step: loss %.4f, cls_head moved by up to %.3g" % ("ok" if moved > 0 else "FAIL", loss, moved))

    print("max |logit diff| against the reference goldens: %.3g" % worst)
    if failures:
        print("FAILED: " + ", ".join(failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
