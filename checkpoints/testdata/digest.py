"""Writes digest.json: an independent (pure Python, no torch) reading of the reference-dev
fixtures, against which the Go reader is checked. Run from the repository root:

    python3 checkpoints/testdata/digest.py > checkpoints/testdata/digest.json
"""
import json, pickle, struct, sys, zipfile

FORMATS = {'FloatStorage': ('f', 4), 'LongStorage': ('q', 8), 'HalfStorage': ('e', 2)}

class Storage:
    def __init__(self, kind, raw): self.kind, self.raw = kind, raw

class Tensor:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride
    def values(self):
        fmt, es = FORMATS[self.storage.kind]
        out, idx = [], [0] * len(self.size)
        n = 1
        for d in self.size: n *= d
        for _ in range(n):
            at = self.offset + sum(i * s for i, s in zip(idx, self.stride))
            out.append(struct.unpack_from('<' + fmt, self.storage.raw, at * es)[0])
            for d in reversed(range(len(idx))):
                idx[d] += 1
                if idx[d] < self.size[d]: break
                idx[d] = 0
        return out

def rebuild(storage, offset, size, stride, *rest): return Tensor(storage, offset, size, stride)

class Namespace:
    def __setstate__(self, state): self.__dict__.update(state)

def load(path):
    z = zipfile.ZipFile(path)
    pkl = [n for n in z.namelist() if n.endswith('/data.pkl')][0]
    prefix = pkl[:-len('data.pkl')]
    class U(pickle.Unpickler):
        def find_class(self, module, name):
            if (module, name) == ('torch._utils', '_rebuild_tensor_v2'): return rebuild
            if (module, name) == ('collections', 'OrderedDict'):
                import collections; return collections.OrderedDict
            if (module, name) == ('argparse', 'Namespace'): return Namespace
            if module == 'torch' and name in FORMATS: return name
            raise pickle.UnpicklingError(module + '.' + name)
        def persistent_load(self, pid):
            _, kind, key, _, _ = pid
            return Storage(kind, z.read(prefix + 'data/' + key))
    return U(z.open(pkl)).load()

out = {}
for name in ['supernet', 'subnet0']:
    ck = load('testdata/reference-dev/%s.pth.tar' % name)
    digest = {}
    for key, t in ck['model'].items():
        v = t.values()
        digest[key] = {'shape': list(t.size), 'sum': sum(v),
                       'weighted': sum(x * (i % 7 + 1) for i, x in enumerate(v)),
                       'first': v[0] if v else None, 'last': v[-1] if v else None}
    out[name] = {'epoch': ck['epoch'], 'args': vars(ck['args']), 'model': digest}
json.dump(out, sys.stdout, indent=0, sort_keys=True)
