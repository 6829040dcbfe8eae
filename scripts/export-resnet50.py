#!/usr/bin/python3
"""Export torchvision's ResNet50 architecture, with random weights, to an ONNX file.

Usage: /usr/bin/python3 scripts/export-resnet50.py OUT.onnx [--opset N]

The weights are random (torch.manual_seed(0), so the same torch gives the same file):
the model exists to measure serving latency and batching, not to classify anything, and
no pretrained weights are downloaded. The graph takes `input` float32 [batch,3,224,224]
and returns `output` float32 [batch,1000] logits, with the batch axis dynamic.

The file is written to a hidden temporary file beside OUT and renamed over OUT only once
it is complete (and, when python3-onnx is installed, has passed onnx.checker), so a
directory watcher never sees half a model. scripts/make-models.sh is the usual caller;
it needs Debian's python3-torch and python3-torchvision (scripts/install-torch.sh).
"""

import argparse
import os
import sys
import tempfile
import time

STARTED = time.monotonic()

DEFAULT_OPSET = 17
INPUT_NAME = "input"
OUTPUT_NAME = "output"


def log(msg):
    print(f"export-resnet50: {msg}", file=sys.stderr)


def build_model(torch, torchvision):
    torch.manual_seed(0)
    model = torchvision.models.resnet50(weights=None)
    model.eval()
    return model


def export(torch, model, path, opset):
    dummy = torch.zeros(1, 3, 224, 224, dtype=torch.float32)
    with torch.no_grad():
        torch.onnx.export(
            model,
            dummy,
            path,
            export_params=True,
            opset_version=opset,
            do_constant_folding=True,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
        )


def check(path):
    """Run onnx.checker and confirm the interface when python3-onnx is installed.

    Returns a short note for the log line; raises ValueError when the graph is wrong.
    """
    try:
        import onnx
    except ImportError:
        return "not checked (no python3-onnx)"
    onnx.checker.check_model(path)  # by path: no 2 GiB protobuf limit concerns
    graph = onnx.load(path, load_external_data=False).graph
    want = {
        INPUT_NAME: (onnx.TensorProto.FLOAT, ["batch", 3, 224, 224]),
        OUTPUT_NAME: (onnx.TensorProto.FLOAT, ["batch", 1000]),
    }
    for value in list(graph.input) + list(graph.output):
        if value.name not in want:
            continue
        elem, dims = want.pop(value.name)
        tensor = value.type.tensor_type
        got = [d.dim_param or d.dim_value for d in tensor.shape.dim]
        if tensor.elem_type != elem or got != dims:
            raise ValueError(f"{value.name}: got elem type {tensor.elem_type} shape {got}, want {dims}")
    if want:
        raise ValueError(f"graph lacks {sorted(want)}")
    return f"onnx.checker ok (onnx {onnx.__version__})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", help="path of the .onnx file to write")
    ap.add_argument("--opset", type=int, default=DEFAULT_OPSET, help=f"ONNX opset (default {DEFAULT_OPSET})")
    args = ap.parse_args()

    try:
        import torch
        import torchvision
    except ImportError as e:
        log(f"{e}; run scripts/install-torch.sh (Debian's python3-torch, python3-torchvision)")
        return 1

    out = os.path.abspath(args.out)
    out_dir = os.path.dirname(out)
    os.makedirs(out_dir, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(out) + ".", suffix=".tmp", dir=out_dir)
    os.close(fd)
    try:
        start = time.monotonic()
        model = build_model(torch, torchvision)
        export(torch, model, tmp, args.opset)
        exported = time.monotonic() - start
        note = check(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    size = os.path.getsize(out)
    print(
        f"export-resnet50: {out}: {size / 2**20:.1f} MiB, opset {args.opset}, "
        f"torch {torch.__version__}, exported in {exported:.1f}s "
        f"({time.monotonic() - STARTED:.1f}s with imports and check), {note}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
