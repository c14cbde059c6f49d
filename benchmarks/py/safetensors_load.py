"""Python baseline for bench_safetensors: load the same file with Debian's python3-torch.

Two ways a Python user loads tensors: (1) the safetensors format parsed in Python, buffer ->
numpy -> torch (what the safetensors package does for torch), and (2) torch.load of the same
tensors saved as a .pt file. Prints best-of-N seconds for each.
"""
import os

# Same thread budget as the C++ side (1 torch and 1 BLAS thread); must precede importing torch.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import json
import struct
import sys
import tempfile
import time

import numpy as np
import torch

DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "I64": np.int64,
          "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        arr = np.frombuffer(data, dtype=DTYPES[info["dtype"]], count=(end - begin) //
                            np.dtype(DTYPES[info["dtype"]]).itemsize, offset=base + begin)
        out[name] = torch.from_numpy(arr.reshape(info["shape"]).copy())
    return out


def best(fn, repeats=5):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    torch.set_num_threads(1)
    path = sys.argv[1]
    tensors = load_safetensors(path)
    print(f"safetensors_python_seconds {best(lambda: load_safetensors(path)):.6f}")
    with tempfile.NamedTemporaryFile(suffix=".pt", delete=False) as f:
        pt_path = f.name
    try:
        torch.save(tensors, pt_path)
        print(f"torch_load_pt_seconds {best(lambda: torch.load(pt_path)):.6f}")
    finally:
        os.unlink(pt_path)


if __name__ == "__main__":
    main()
