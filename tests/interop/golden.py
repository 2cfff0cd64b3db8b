"""TF-written golden checkpoints under CKPT_TESTDATA_DIR (shared/testdata/tensorflow)."""

import pathlib
from dataclasses import dataclass
from typing import List

from conftest import TESTDATA_DIR


@dataclass
class Golden:
    label: str
    path: pathlib.Path  # V2 prefix or V1 file


def find_goldens() -> List[Golden]:
    out = []
    if not TESTDATA_DIR.is_dir():
        return out
    for index in sorted(TESTDATA_DIR.rglob("*.index")):
        prefix = index.with_suffix("")
        out.append(Golden(str(prefix.relative_to(TESTDATA_DIR)), prefix))
    # V1 checkpoints: table files named like TF1 Saver exports.
    for v1 in sorted(TESTDATA_DIR.rglob("export*")):
        if v1.suffix in ("", ) or v1.name.startswith("export-"):
            if v1.is_file() and not v1.name.endswith(".meta"):
                out.append(Golden(str(v1.relative_to(TESTDATA_DIR)), v1))
    return out


GOLDENS = find_goldens()
