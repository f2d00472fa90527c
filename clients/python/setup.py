"""Build hook: generate the gRPC stubs from procward's .proto files with grpcio-tools.

The stubs (``procward/v1/*_pb2.py``, ``*_pb2.pyi``, ``*_pb2_grpc.py``) are never
committed. They are generated from the repository's ``proto/`` folder, found as:

1. ``$PROCWARD_PROTO_DIR`` when set;
2. ``proto/`` next to this file (an sdist made by ``python -m build`` carries a copy);
3. ``../../proto`` (this package lives in ``clients/python`` of the procward repo).

The runtime dependencies' lower bounds are taken from what this grpcio-tools emits:
generated modules refuse a grpcio or protobuf older than the generator.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from importlib import metadata
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

HERE = Path(__file__).resolve().parent
# queue.proto imports supervisor.proto (LogLine): both are generated, in one protoc run.
PROTO_FILES = ("process_manager.proto", "ports.proto", "supervisor.proto", "queue.proto")
PROTO_SUBDIR = Path("procward") / "v1"


def find_proto_root() -> Path:
    """The folder holding ``procward/v1/*.proto``, or a clear error."""
    candidates = []
    env = os.environ.get("PROCWARD_PROTO_DIR")
    if env:
        candidates.append(Path(env))
    candidates += [HERE / "proto", HERE.parent.parent / "proto"]
    for root in candidates:
        if all((root / PROTO_SUBDIR / name).is_file() for name in PROTO_FILES):
            return root.resolve()
    tried = "\n  ".join(str(c) for c in candidates)
    raise SystemExit(
        "procward-client: cannot find the procward .proto files "
        f"({', '.join(PROTO_FILES)} under procward/v1/). Tried:\n  {tried}\n"
        "Install from a checkout of the procward repository "
        "(pip install ./clients/python), or set PROCWARD_PROTO_DIR to its proto/ folder."
    )


def generate(out_dir: Path) -> list[Path]:
    """Run grpcio-tools' bundled protoc on every .proto into ``out_dir``."""
    try:
        import grpc_tools
        from grpc_tools import protoc
    except ImportError as e:  # pragma: no cover - build-system requires it
        raise SystemExit(f"procward-client: grpcio-tools is needed to build: {e}") from e
    proto_root = find_proto_root()
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    out_dir.mkdir(parents=True, exist_ok=True)
    args = [
        "grpc_tools.protoc",
        f"-I{proto_root}",
        f"-I{well_known}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
    ] + [str(proto_root / PROTO_SUBDIR / name) for name in PROTO_FILES]
    code = protoc.main(args)
    if code != 0:
        raise SystemExit(f"procward-client: protoc failed (exit {code}) on {proto_root}")
    gen = out_dir / PROTO_SUBDIR
    return sorted(p for p in gen.glob("*_pb2*.py*"))


def runtime_requirements() -> list[str]:
    """grpcio/protobuf bounds matching what this grpcio-tools generates."""
    # A trial generation (fails early, with the clear error, when the protos are missing).
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        pb2 = (Path(tmp) / PROTO_SUBDIR / "process_manager_pb2.py").read_text()
        grpc = (Path(tmp) / PROTO_SUBDIR / "process_manager_pb2_grpc.py").read_text()
    m = re.search(r"Domain\.PUBLIC,\s*(\d+),\s*(\d+),\s*(\d+),", pb2)
    if m:
        pb_major = int(m.group(1))
        pb_min = f"{m.group(1)}.{m.group(2)}.{m.group(3)}"
    else:  # older gencode has no runtime check: follow the build env's protobuf
        pb_min = metadata.version("protobuf")
        pb_major = int(pb_min.split(".")[0])
    g = re.search(r"GRPC_GENERATED_VERSION\s*=\s*'([\d.]+)'", grpc)
    grpc_min = g.group(1) if g else metadata.version("grpcio-tools")
    return [f"grpcio>={grpc_min}", f"protobuf>={pb_min},<{pb_major + 1}"]


class BuildPyWithStubs(build_py):
    """``build_py`` that also generates the protobuf and gRPC modules."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            # Editable installs import from src/: generate next to the sources.
            target = HERE / "src"
        else:
            target = Path(self.build_lib)
        for path in generate(target):
            self.announce(f"generated {path}", level=2)


class SdistWithProtos(sdist):
    """Carry a copy of the .proto files so a wheel can be built from the sdist."""

    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        super().make_release_tree(base_dir, files)
        root = find_proto_root()
        dest = Path(base_dir) / "proto" / PROTO_SUBDIR
        dest.mkdir(parents=True, exist_ok=True)
        for name in PROTO_FILES:
            shutil.copy2(root / PROTO_SUBDIR / name, dest / name)


setup(
    install_requires=runtime_requirements(),
    cmdclass={"build_py": BuildPyWithStubs, "sdist": SdistWithProtos},
)
