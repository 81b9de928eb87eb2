"""Read an offline W&B run back from its ``.wandb`` file (LevelDB-style log of protobuf records)."""

import json
import struct
import time
from pathlib import Path

from wandb.proto import wandb_internal_pb2

BLOCK = 32 * 1024
HEADER = 7  # file header ":W&B" + magic + version; each record header: crc32 (4), length (2), type (1)


def records(run_dir: Path, wait_seconds: float = 30.0) -> list:
    """Every record of the run, parsed with wandb's own protobuf definitions. W&B's writer process may still be
    flushing the file's last record when the run has returned (seen on a loaded machine): a file that ends inside a
    record is read again until it is whole, for at most ``wait_seconds``."""
    deadline = time.monotonic() + wait_seconds
    while True:
        data = next(Path(run_dir).glob("*.wandb")).read_bytes()
        parsed = _parse(data)
        if parsed is not None:
            return parsed
        assert time.monotonic() < deadline, f"the W&B run file still ends inside a record after {wait_seconds} s"
        time.sleep(0.5)


def _parse(data: bytes) -> list | None:
    """The records of a whole file; None when it ends inside a record."""
    assert data[:4] == b":W&B", "not a W&B run file"
    out, pending, pos = [], b"", HEADER
    while pos + HEADER <= len(data):
        left = BLOCK - pos % BLOCK
        if left < HEADER:  # block trailer padding
            pos += left
            continue
        _, length, kind = struct.unpack("<IHB", data[pos : pos + HEADER])
        if kind == 0:
            pos += left
            continue
        if pos + HEADER + length > len(data):
            return None
        chunk, pos = data[pos + HEADER : pos + HEADER + length], pos + HEADER + length
        pending = chunk if kind in (1, 2) else pending + chunk
        if kind in (1, 4):  # FULL or LAST
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            out.append(record)
    return None if pending and kind in (2, 3) else out


def history_keys(run_dir: Path) -> set[str]:
    """Top-level keys of every logged history row."""
    keys = set()
    for record in records(run_dir):
        if record.WhichOneof("record_type") == "history":
            keys.update(item.nested_key[0] if item.nested_key else item.key for item in record.history.item)
    return keys


def config(run_dir: Path) -> dict:
    """The run's config as logged (values decoded from JSON)."""
    result = {}
    for record in records(run_dir):
        if record.WhichOneof("record_type") == "config":
            for item in record.config.update:
                key = item.nested_key[0] if item.nested_key else item.key
                result[key] = json.loads(item.value_json)
    return result


def artifacts(run_dir: Path) -> list:
    """The artifacts the run logged (type, name, metadata as a dict)."""
    return [
        {"type": r.artifact.type, "name": r.artifact.name, "metadata": json.loads(r.artifact.metadata or "{}")}
        for r in records(run_dir)
        if r.WhichOneof("record_type") == "artifact"
    ]
