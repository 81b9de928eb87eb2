"""Published checkpoints: publish -> serve -> pull (verified, cached) -> load, failures that leave nothing behind,
the Hugging Face Hub as a home (a fake Hub on 127.0.0.1), the checkpoint shipped inside the package, and torch.hub
entry points."""

import contextlib
import hashlib
import http.server
import io
import json
import socket
import threading
import urllib.parse
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
import yaml
from huggingface_hub import constants as hf_constants
from PIL import Image

import zoo
from tests.conftest import REPO, tiny_trainer
from zoo.cli import main
from zoo.commands.publish import hub_metadata
from zoo.pretrained import (PretrainedError, cache_dir, get, index_files, list_pretrained, pull, read_index,
                            sha256_of)

SHIPPED = "vae_fashion_mnist"
SHIPPED_FILE_LIMIT = 2_000_000  # bytes per checkpoint inside the package; larger ones are hosted (url or hf)
SHIPPED_TOTAL_LIMIT = 60_000_000  # all shipped checkpoints together (the whole Fashion-MNIST zoo): a small install


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """Every test gets empty download caches (zoo's through $TORCH_HOME, huggingface_hub's through $HF_HUB_CACHE),
    is online, and has no extra index. huggingface_hub reads its variables when imported, so its constants are set
    too."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.delenv("ZOO_PRETRAINED_INDEX", raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    return tmp_path / "torch-home" / "hub" / "zoo"


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A full training checkpoint (optimiser states, loops, rng) of a tiny VAE after two steps on synthetic bars."""
    from datamodules import SyntheticDataModule

    folder = tmp_path_factory.mktemp("trained")
    torch.manual_seed(0)
    model = zoo.create("vae", latent_dim=4,
                       encoder={"class_path": "zoo.nets.ConvEncoder", "init_args": {"base_channels": 8}},
                       decoder={"class_path": "zoo.nets.ConvDecoder", "init_args": {"base_channels": 8}})
    data = SyntheticDataModule(num_images=48, num_test_images=32, val_size=16, batch_size=8)
    trainer = tiny_trainer(folder, max_steps=2)
    trainer.fit(model, datamodule=data)
    trainer.save_checkpoint(folder / "last.ckpt")
    return folder / "last.ckpt"


@pytest.fixture(scope="module")
def published(trained, tmp_path_factory) -> tuple[Path, dict]:
    """``zoo publish`` of the tiny VAE (with metrics on 32 images): the release folder and its entry."""
    out = tmp_path_factory.mktemp("release")
    main(["publish", "--ckpt", str(trained), "--name", "tiny_vae", "--out", str(out), "--metrics", "fid,kid,pr",
          "--n", "32", "--extractor", "fmnist-classifier", "--description", "a test release"])
    return out, json.loads((out / "tiny_vae.entry.json").read_text())["tiny_vae"]


@pytest.fixture(scope="module")
def published_hf(trained, tmp_path_factory) -> tuple[Path, dict, str]:
    """``zoo publish --hf-repo`` of the tiny VAE (FID on 32 images): the release folder, its entry, the printout."""
    out = tmp_path_factory.mktemp("release-hf")
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        main(["publish", "--ckpt", str(trained), "--name", "tiny_vae", "--out", str(out), "--metrics", "fid",
              "--n", "32", "--extractor", "fmnist-classifier", "--hf-repo", "someone/tiny-vae"])
    return out, json.loads((out / "tiny_vae.entry.json").read_text())["tiny_vae"], printed.getvalue()


def register(tmp_path: Path, monkeypatch, name: str, entry: dict) -> None:
    """Add ``entry`` to the registry through an extra index file named by $ZOO_PRETRAINED_INDEX."""
    index = tmp_path / "extra-index.json"
    index.write_text(json.dumps({"format": 1, "checkpoints": {name: entry}}))
    monkeypatch.setenv("ZOO_PRETRAINED_INDEX", str(index))


def at_url(entry: dict, url: str, **changes) -> dict:
    moved = {k: v for k, v in entry.items() if k != "file"}
    return {**moved, "url": url, **changes}


@contextmanager
def serve(directory: Path, truncate: bool = False):
    """An HTTP server on 127.0.0.1 (free port) for ``directory``; yields its URL and the list of request paths.

    With ``truncate`` it announces the full Content-Length, sends half of the bytes and closes the connection.
    """
    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            path = directory / self.path.lstrip("/")
            if not path.is_file():
                self.send_error(404)
                return
            data = path.read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2] if truncate else data)
            self.close_connection = True

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def leftovers(folder: Path) -> list[Path]:
    """Every file (hidden temporaries included) under ``folder``."""
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


# --- publish ----------------------------------------------------------------------------------------------------


def test_publish_writes_a_slim_checkpoint_that_samples_like_the_original(trained, published):
    out, entry = published
    slim_path = out / "tiny_vae.ckpt"
    full, slim = torch.load(trained, weights_only=True), torch.load(slim_path, weights_only=True)
    assert "optimizer_states" in full and "loops" in full
    for key in ("optimizer_states", "lr_schedulers", "loops", "callbacks"):
        assert key not in slim, key
    assert set(slim) >= {"state_dict", "hyper_parameters", "zoo", "datamodule_hyper_parameters"}
    assert "rng" not in slim["zoo"] and slim["zoo"]["iteration"] == 2
    assert slim_path.stat().st_size < trained.stat().st_size

    original, loaded = zoo.load(trained), zoo.load(slim_path)
    assert torch.equal(original.sample(16, seed=3), loaded.sample(16, seed=3))
    assert loaded.iteration == 2

    assert entry["file"] == "tiny_vae.ckpt" and "url" not in entry
    assert entry["sha256"] == sha256_of(slim_path) and entry["size"] == slim_path.stat().st_size
    assert entry["model"] == "vae" and entry["class_path"] == "zoo.models.vae.VAE" and "Kingma" in entry["paper"]
    assert entry["dataset"] == "synthetic bars" and entry["license"] == "MIT"
    assert entry["config"]["model"]["init_args"]["latent_dim"] == 4
    assert entry["config"]["data"]["class_path"] == "datamodules.synthetic.SyntheticDataModule"
    assert entry["training"]["iterations"] == 2
    metrics = entry["metrics"]
    assert metrics["extractor"] == "fmnist-classifier" and metrics["n_real"] == metrics["n_generated"] == 32
    assert isinstance(metrics["fid[fmnist-classifier]"], float)

    card = (out / "tiny_vae.md").read_text()
    assert "Kingma" in card and "synthetic bars" in card and "fid[fmnist-classifier]" in card
    assert "fmnist-classifier" in card and "n_generated 32" in card and entry["sha256"] in card
    assert "a test release" in card and "zoo.load(\"tiny_vae\")" in card
    assert Image.open(out / "tiny_vae.png").size == (8 * 30 + 2, 8 * 30 + 2)  # 64 samples of 28 px


def test_publish_with_optimizer_keeps_the_training_state_and_url_prefix_and_index(trained, tmp_path):
    index = tmp_path / "index.json"
    main(["publish", "--ckpt", str(trained), "--name", "tiny_full", "--out", str(tmp_path / "rel"), "--metrics",
          "none", "--with-optimizer", "--url-prefix", "https://example.org/zoo/", "--index", str(index)])
    slim = torch.load(tmp_path / "rel" / "tiny_full.ckpt", weights_only=True)
    assert "optimizer_states" in slim and "rng" in slim["zoo"]
    entry = json.loads(index.read_text())["checkpoints"]["tiny_full"]
    assert entry["url"] == "https://example.org/zoo/tiny_full.ckpt" and "file" not in entry
    assert entry["metrics"] == {} and entry["training"]["with_optimizer"] is True
    assert "Not measured" in (tmp_path / "rel" / "tiny_full.md").read_text()


def test_publish_in_float16_halves_the_weights_loads_as_float32_and_says_so(trained, tmp_path, capsys):
    main(["publish", "--ckpt", str(trained), "--name", "tiny_half", "--out", str(tmp_path), "--metrics", "none",
          "--weights-dtype", "float16"])
    full = torch.load(trained, weights_only=True)["state_dict"]
    half = torch.load(tmp_path / "tiny_half.ckpt", weights_only=True)["state_dict"]
    floating = [k for k, v in full.items() if v.is_floating_point()]
    assert floating and all(half[k].dtype == torch.float16 for k in floating)
    assert all(half[k].dtype == full[k].dtype for k in full if k not in floating)  # e.g. BN's batch counters
    half_bytes = sum(v.numel() * v.element_size() for v in half.values())
    assert half_bytes < 0.55 * sum(v.numel() * v.element_size() for v in full.values())
    model = zoo.load(tmp_path / "tiny_half.ckpt")
    assert all(p.dtype == torch.float32 for p in model.parameters())
    difference = (model.sample(16, seed=3) - zoo.load(trained).sample(16, seed=3)).abs().max().item()
    assert 0 < difference < 0.02
    entry = json.loads((tmp_path / "tiny_half.entry.json").read_text())["tiny_half"]
    assert entry["training"]["weights_dtype"] == "float16" and entry["training"]["largest_sample_difference"] > 0
    assert "weights stored as float16" in (tmp_path / "tiny_half.md").read_text()
    with pytest.raises(SystemExit) as error:
        main(["publish", "--ckpt", str(trained), "--name", "x", "--out", str(tmp_path / "x"), "--metrics", "none",
              "--weights-dtype", "float16", "--with-optimizer"])
    assert error.value.code == 2 and "not both" in capsys.readouterr().err


# --- pull ----------------------------------------------------------------------------------------------------------


def test_pull_over_http_verifies_caches_and_then_hits_the_cache(published, tmp_path, monkeypatch, isolated_cache):
    out, entry = published
    with serve(out) as (url, requests):
        register(tmp_path, monkeypatch, "tiny_vae", at_url(entry, f"{url}/tiny_vae.ckpt"))
        path = pull("tiny_vae", progress=False)
        assert path.parent == isolated_cache == cache_dir()
        assert sha256_of(path) == entry["sha256"] and len(requests) == 1
        assert leftovers(isolated_cache) == [path]  # no temporary file left beside it

        assert pull("tiny_vae") == path and len(requests) == 1  # cache hit: no network
        model = zoo.load("tiny_vae")  # by name, through the cache
        assert len(requests) == 1
        assert torch.equal(model.sample(8, seed=1), zoo.load(out / "tiny_vae.ckpt").sample(8, seed=1))

        path.write_bytes(b"bit rot")  # the cached copy changed on disk: fetched again
        assert pull("tiny_vae", progress=False) == path and len(requests) == 2
        assert sha256_of(path) == entry["sha256"]


def test_pull_from_a_file_url_and_the_cli(published, tmp_path, monkeypatch, capsys, isolated_cache):
    out, entry = published
    register(tmp_path, monkeypatch, "tiny_vae", at_url(entry, (out / "tiny_vae.ckpt").as_uri()))
    main(["pull", "tiny_vae", "--quiet"])
    path = isolated_cache / f"tiny_vae-{entry['sha256'][:12]}.ckpt"
    assert f"tiny_vae: {path}" in capsys.readouterr().out
    assert sha256_of(path) == entry["sha256"]
    main(["sample", "--ckpt", "tiny_vae", "--n", "4", "--nrow", "2", "--out", str(tmp_path / "grid.png")])
    assert Image.open(tmp_path / "grid.png").size == (2 * 30 + 2, 2 * 30 + 2)


def test_hash_mismatch_is_refused_and_leaves_nothing(published, tmp_path, monkeypatch, isolated_cache):
    out, entry = published
    with serve(out) as (url, requests):
        register(tmp_path, monkeypatch, "tiny_vae", at_url(entry, f"{url}/tiny_vae.ckpt", sha256="0" * 64))
        with pytest.raises(PretrainedError, match="hash mismatch") as error:
            pull("tiny_vae", progress=False)
    assert entry["sha256"] in str(error.value) and "nothing was cached" in str(error.value)
    assert len(requests) == 1 and leftovers(isolated_cache) == []


def test_truncated_transfer_is_refused_and_leaves_nothing(published, tmp_path, monkeypatch, isolated_cache):
    out, entry = published
    with serve(out, truncate=True) as (url, requests):
        register(tmp_path, monkeypatch, "tiny_vae", at_url(entry, f"{url}/tiny_vae.ckpt"))
        with pytest.raises(PretrainedError, match="truncated") as error:
            pull("tiny_vae", progress=False)
    assert f"{entry['size'] // 2} of {entry['size']} bytes" in str(error.value)
    assert len(requests) == 1 and leftovers(isolated_cache) == []


def test_server_down_is_a_clear_error(published, tmp_path, monkeypatch, isolated_cache, capsys):
    _, entry = published
    with socket.socket() as probe:  # a free port with nothing listening on it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    register(tmp_path, monkeypatch, "tiny_vae", at_url(entry, f"http://127.0.0.1:{port}/tiny_vae.ckpt"))
    with pytest.raises(SystemExit) as exit_info:
        main(["pull", "tiny_vae", "--quiet"])
    message = capsys.readouterr().err
    assert exit_info.value.code == 1
    assert "cannot reach" in message and "refused" in message.lower() and "check the network" in message
    assert leftovers(isolated_cache) == []


def test_missing_file_on_the_server_names_the_status(published, tmp_path, monkeypatch, isolated_cache):
    out, entry = published
    with serve(out) as (url, _):
        register(tmp_path, monkeypatch, "tiny_vae", at_url(entry, f"{url}/gone.ckpt"))
        with pytest.raises(PretrainedError, match="404"):
            pull("tiny_vae", progress=False)
    assert leftovers(isolated_cache) == []


def test_unknown_name_lists_the_known_ones(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["pull", "no_such_model"])
    message = capsys.readouterr().err
    assert exit_info.value.code == 1 and "no_such_model" in message and SHIPPED in message
    with pytest.raises(zoo.CheckpointError, match="does not exist"):
        zoo.load("no_such_model")  # neither a file nor a registered name


def test_hf_entries_resolve_to_the_hub_url():
    entry = zoo.pretrained.Pretrained.from_dict("x", {
        "model": "vae", "dataset": "d", "sha256": "0" * 64, "size": 1, "license": "MIT",
        "hf": {"repo": "someone/zoo-vae", "filename": "x.ckpt"}})
    assert entry.source_url == "https://huggingface.co/someone/zoo-vae/resolve/main/x.ckpt"
    with pytest.raises(PretrainedError, match="exactly one of file, url, hf"):
        zoo.pretrained.Pretrained.from_dict("y", {"model": "vae", "dataset": "d", "sha256": "0", "size": 1,
                                                  "license": "MIT", "file": "a.ckpt", "url": "http://x/a.ckpt"})


# --- the Hugging Face Hub (huggingface_hub against a fake Hub on 127.0.0.1) -----------------------------------------

COMMIT = "0123456789abcdef" * 2 + "01234567"  # 40 hex digits, as the Hub's commit ids
REPO_ID = "someone/tiny-vae"


class FakeHub:
    """The Hub's resolve route (``HEAD`` / ``GET /{repo}/resolve/{revision}/{filename}``) on 127.0.0.1, serving
    folders as model repositories and answering as the Hub does: ``X-Repo-Commit``, ``ETag`` (a file's sha256, as
    for the Hub's large files) and ``Content-Length`` for a file; a 404 with ``X-Error-Code`` RepoNotFound,
    RevisionNotFound or EntryNotFound otherwise. ``requests`` records ``(method, path)`` of each request."""

    def __init__(self):
        self.repos: dict[str, dict[str, tuple[str, Path]]] = {}  # repo -> revision -> (commit, folder)
        self.requests: list[tuple[str, str]] = []
        hub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            timeout = 10  # a stuck client cannot hold a server thread longer

            def do_HEAD(self):
                self.answer(body=False)

            def do_GET(self):
                self.answer(body=True)

            def answer(self, body: bool) -> None:
                hub.requests.append((self.command, self.path))
                parts = [urllib.parse.unquote(p) for p in self.path.split("?")[0].lstrip("/").split("/")]
                repo, revisions = "/".join(parts[:2]), hub.repos.get("/".join(parts[:2]), {})
                if len(parts) < 5 or parts[2] != "resolve" or not revisions:
                    return self.fail("RepoNotFound", f"Repository {repo} not found")
                if parts[3] not in revisions:
                    return self.fail("RevisionNotFound", f"Invalid rev id: {parts[3]}")
                commit, folder = revisions[parts[3]]
                path = folder / "/".join(parts[4:])
                if not path.is_file():
                    return self.fail("EntryNotFound", f"{path.name} does not exist", commit)
                data = path.read_bytes()
                self.send_response(200)
                self.send_header("X-Repo-Commit", commit)
                self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if body:
                    self.wfile.write(data)

            def fail(self, code: str, message: str, commit: str | None = None) -> None:
                self.send_response(404)
                self.send_header("X-Error-Code", code)
                self.send_header("X-Error-Message", message)
                if commit:
                    self.send_header("X-Repo-Commit", commit)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def add(self, repo: str, folder: Path, revision: str = "main", commit: str = COMMIT) -> None:
        self.repos.setdefault(repo, {})[revision] = (commit, folder)

    def gets(self) -> list[str]:
        return [path for method, path in self.requests if method == "GET"]

    def stop(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(timeout=10)


@pytest.fixture
def hub(monkeypatch):
    """A running :class:`FakeHub` that huggingface_hub uses as its endpoint ($HF_ENDPOINT and the constants it read
    from it at import), without telemetry (which would also ask the endpoint for its agent list); stopped at
    teardown."""
    fake = FakeHub()
    monkeypatch.setenv("HF_ENDPOINT", fake.url)
    monkeypatch.setattr(hf_constants, "ENDPOINT", fake.url)
    monkeypatch.setattr(hf_constants, "HUGGINGFACE_CO_URL_TEMPLATE",
                        f"{fake.url}/{{repo_id}}/resolve/{{revision}}/{{filename}}")
    monkeypatch.setattr(hf_constants, "HF_HUB_DISABLE_TELEMETRY", True)
    yield fake
    fake.stop()


def go_offline(monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)


def on_hub(entry: dict, repo: str = REPO_ID, **changes) -> dict:
    """``entry`` (a ``file`` one) hosted as ``tiny_vae.ckpt`` of a Hub repository; ``changes`` replace fields of
    ``hf`` (repo, filename, revision) or of the entry (sha256)."""
    hf = {"repo": repo, "filename": "tiny_vae.ckpt", "revision": "main"}
    hf.update({k: v for k, v in changes.items() if k in hf})
    moved = {k: v for k, v in entry.items() if k != "file"}
    return {**moved, "hf": hf, **{k: v for k, v in changes.items() if k not in hf}}


def hub_files(tmp_path: Path) -> list[Path]:
    """The files (blobs) huggingface_hub's cache holds, markers of missing files and refs aside."""
    return [p for p in (tmp_path / "hf-cache").rglob("blobs/*") if p.is_file()]


def test_hf_pull_by_name_fetches_verifies_and_then_hits_the_cache(published, hub, tmp_path, monkeypatch):
    out, entry = published
    hub.add(REPO_ID, out)
    register(tmp_path, monkeypatch, "tiny_vae", on_hub(entry))
    path = pull("tiny_vae", progress=False)
    assert path.is_relative_to(tmp_path / "hf-cache") and f"snapshots/{COMMIT}/tiny_vae.ckpt" in path.as_posix()
    assert sha256_of(path) == entry["sha256"] and path.stat().st_size == entry["size"]
    assert hub.gets() == [f"/{REPO_ID}/resolve/main/tiny_vae.ckpt"]
    seen = len(hub.requests)

    assert pull("tiny_vae", progress=False) == path and len(hub.requests) == seen  # a cache hit asks nothing
    model = zoo.load("tiny_vae")
    assert len(hub.requests) == seen
    assert model.sample(4, seed=1).shape == (4, 1, 28, 28)
    assert torch.equal(model.sample(4, seed=1), zoo.load(out / "tiny_vae.ckpt").sample(4, seed=1))


def test_hf_cached_bytes_changed_on_disk_are_fetched_again(published, hub, tmp_path, monkeypatch):
    out, entry = published
    hub.add(REPO_ID, out)
    register(tmp_path, monkeypatch, "tiny_vae", on_hub(entry))
    path = pull("tiny_vae", progress=False)
    path.write_bytes(b"bit rot")  # through the snapshot link, into the library's cached blob
    assert sha256_of(path) != entry["sha256"]
    assert pull("tiny_vae", progress=False) == path and len(hub.gets()) == 2
    assert sha256_of(path) == entry["sha256"] and hub_files(tmp_path) == [path.resolve()]


def test_hf_offline_is_served_from_the_cache_and_says_what_is_missing(published, hub, tmp_path, monkeypatch):
    out, entry = published
    hub.add(REPO_ID, out)
    register(tmp_path, monkeypatch, "tiny_vae", on_hub(entry))
    path = pull("tiny_vae", progress=False)
    hub.stop()
    go_offline(monkeypatch)
    assert pull("tiny_vae", progress=False) == path
    assert zoo.load("tiny_vae").sample(2, seed=0).shape == (2, 1, 28, 28)

    register(tmp_path, monkeypatch, "tiny_vae", on_hub(entry, filename="other.ckpt"))  # never pulled
    with pytest.raises(PretrainedError, match="HF_HUB_OFFLINE is set .* holds no intact copy") as error:
        pull("tiny_vae", progress=False)
    assert "other.ckpt" in str(error.value) and "unset HF_HUB_OFFLINE" in str(error.value)


@pytest.mark.parametrize("change, expected", [
    ({"filename": "gone.ckpt"}, f"{REPO_ID} has no file gone.ckpt at revision 'main'"),
    ({"repo": "someone/missing"}, "the Hub has no repository someone/missing"),
    ({"revision": "v9"}, f"{REPO_ID} has no revision 'v9'"),
])
def test_hf_missing_file_repo_or_revision_is_one_clear_line(published, hub, tmp_path, monkeypatch, capsys, change,
                                                            expected):
    out, entry = published
    hub.add(REPO_ID, out)
    register(tmp_path, monkeypatch, "tiny_vae", on_hub(entry, **change))
    with pytest.raises(SystemExit) as exit_info:
        main(["pull", "tiny_vae", "--quiet"])
    err = capsys.readouterr().err
    cause, fix = err[err.index("zoo: error: "):].splitlines()[:2]
    assert exit_info.value.code == 1 and cause.startswith("zoo: error: tiny_vae: ") and expected in cause
    assert hub.url in cause and fix.startswith("fix: ")
    assert hub.gets() == [] and hub_files(tmp_path) == []


def test_hf_hash_mismatch_is_refused_and_never_served(published, hub, tmp_path, monkeypatch):
    out, entry = published
    hub.add(REPO_ID, out)
    register(tmp_path, monkeypatch, "tiny_vae", on_hub(entry, sha256="0" * 64))
    with pytest.raises(PretrainedError, match="hash mismatch") as error:
        pull("tiny_vae", progress=False)
    assert entry["sha256"] in str(error.value) and hub.url in str(error.value)
    hub.stop()
    go_offline(monkeypatch)  # what the library cached is not taken for the published file later
    with pytest.raises(PretrainedError, match="holds no intact copy"):
        zoo.load("tiny_vae")


def test_hf_pinned_revision_is_the_one_fetched(published, hub, tmp_path, monkeypatch):
    out, entry = published
    other = tmp_path / "main"
    other.mkdir()
    (other / "tiny_vae.ckpt").write_bytes(b"a later upload, not the published file")
    hub.add(REPO_ID, other, "main", "f" * 40)
    hub.add(REPO_ID, out, "v1.0", COMMIT)
    register(tmp_path, monkeypatch, "tiny_vae", on_hub(entry, revision="v1.0"))
    path = pull("tiny_vae", progress=False)
    assert sha256_of(path) == entry["sha256"] and COMMIT in path.as_posix()
    assert {path for _, path in hub.requests} == {f"/{REPO_ID}/resolve/v1.0/tiny_vae.ckpt"}


def test_publish_for_the_hub_writes_a_repository_folder_with_a_model_card(published_hf, capsys):
    out, entry, printed = published_hf
    folder = out / "tiny_vae-hf"
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "config.yaml", "tiny_vae.ckpt", "tiny_vae.png"]
    assert entry["hf"] == {"repo": REPO_ID, "filename": "tiny_vae.ckpt", "revision": "main"} and "file" not in entry
    assert sha256_of(folder / "tiny_vae.ckpt") == entry["sha256"]
    assert f"hf upload {REPO_ID} {folder} ." in printed
    assert yaml.safe_load((folder / "config.yaml").read_text())["model"]["init_args"]["latent_dim"] == 4

    empty, front, card = (folder / "README.md").read_text().split("---\n", 2)
    metadata = yaml.safe_load(front)
    assert empty == "" and card.lstrip().startswith("# tiny_vae") and "![64 samples, seed 0](tiny_vae.png)" in card
    assert metadata["library_name"] == "zoo" and metadata["license"] == "mit"
    assert metadata["pipeline_tag"] == "unconditional-image-generation" and {"zoo", "vae"} <= set(metadata["tags"])
    assert "datasets" not in metadata  # synthetic bars are no dataset of the Hub
    (result,) = metadata["model-index"][0]["results"]
    assert metadata["metrics"] == ["fid"] and result["metrics"] == [
        {"type": "fid", "value": entry["metrics"]["fid[fmnist-classifier]"], "name": "fid[fmnist-classifier]"}]
    assert f"`tiny_vae.ckpt` of `{REPO_ID}`" in card

    for wrong in (["--hf-repo", "no-owner"], ["--hf-repo", REPO_ID, "--url-prefix", "https://example.org/"]):
        with pytest.raises(SystemExit) as error:
            main(["publish", "--ckpt", "x.ckpt", "--name", "x", "--out", str(out), *wrong])
        assert error.value.code == 2
    assert "OWNER/REPO" in capsys.readouterr().err


def test_hub_metadata_names_the_dataset_and_the_metrics_of_a_shipped_release():
    entry = get(SHIPPED).to_dict()
    metadata = yaml.safe_load(hub_metadata(SHIPPED, entry))
    assert metadata["datasets"] == ["zalando-datasets/fashion_mnist"]
    (result,) = metadata["model-index"][0]["results"]
    assert result["dataset"] == {"name": "Fashion-MNIST", "type": "zalando-datasets/fashion_mnist", "split": "test"}
    scores = {m["type"]: m["value"] for m in result["metrics"]}
    headline = {name: entry["metrics"][f"{name}[fmnist-classifier]"]
                for name in ("fid", "kid", "is", "precision", "recall", "classes")}
    assert scores == {**headline, "diversity": entry["metrics"]["diversity"]}  # the test set's own is no model score
    assert len(result["metrics"]) == len(scores)
    assert 0 < scores["fid"] < 20 and scores["classes"] == 10  # the shipped VAE's release, not a placeholder


def test_publish_serve_on_the_hub_pull_and_load_round_trip(published_hf, hub, tmp_path, monkeypatch):
    out, entry, _ = published_hf
    hub.add(REPO_ID, out / "tiny_vae-hf")
    register(tmp_path, monkeypatch, "tiny_vae", entry)  # the entry exactly as zoo publish wrote it
    model = zoo.load("tiny_vae")
    assert hub.gets() == [f"/{REPO_ID}/resolve/main/tiny_vae.ckpt"]
    assert torch.equal(model.sample(8, seed=2), zoo.load(out / "tiny_vae.ckpt").sample(8, seed=2))


# --- the shipped checkpoint ----------------------------------------------------------------------------------------


SHIPPED_NAMES = sorted(name for name, entry in read_index(index_files()[0]).items() if entry.file)


@pytest.mark.parametrize("name", SHIPPED_NAMES)
def test_shipped_checkpoint_loads_by_name_and_samples_without_network(name, isolated_cache, tmp_path, capsys):
    entry = get(name)
    assert entry.file and entry.size < SHIPPED_FILE_LIMIT and entry.metrics.get("extractor")
    path = pull(name)
    assert path == entry.shipped_path and sha256_of(path) == entry.sha256
    model = zoo.load(name)
    assert model.iteration == entry.training["iterations"] > 0
    images = model.sample(16, seed=0)
    assert images.shape == (16, 1, 28, 28) and images.min() >= 0 and images.max() <= 1
    assert images.std() > 0.05  # not a blank grid
    main(["sample", "--ckpt", name, "--out", str(tmp_path / "grid.png")])
    assert (tmp_path / "grid.png").is_file()
    assert leftovers(isolated_cache) == []  # shipped files are used in place, never copied or downloaded
    main(["pull", "--list"])
    assert name in capsys.readouterr().out


def test_every_registered_entry_is_valid():
    names = [entry.name for entry in list_pretrained()]
    assert SHIPPED in names
    assert sum(entry.size for entry in list_pretrained() if entry.file) < SHIPPED_TOTAL_LIMIT
    for entry in list_pretrained():
        assert len(entry.sha256) == 64 and entry.license and entry.config.get("model")
        assert zoo.get_model(entry.model).class_path == entry.class_path
        if entry.file:
            assert entry.shipped_path.stat().st_size == entry.size < SHIPPED_FILE_LIMIT
            assert (entry.shipped_path.parent / entry.card).is_file()


# --- torch.hub --------------------------------------------------------------------------------------------------


def test_torch_hub_local_builds_models_and_loads_published_weights():
    model = torch.hub.load(str(REPO), "dcgan", source="local", latent_dim=16)
    assert isinstance(model, zoo.get_model("dcgan").cls) and model.latent_dim == 16
    pretrained = torch.hub.load(str(REPO), "vae", source="local", pretrained=SHIPPED)
    assert torch.equal(pretrained.sample(4, seed=0), zoo.load(SHIPPED).sample(4, seed=0))
    default = torch.hub.load(str(REPO), "vae", source="local", pretrained=True)  # vae_fashion_mnist, the default
    assert torch.equal(default.sample(4, seed=0), zoo.load(SHIPPED).sample(4, seed=0))
    with pytest.raises(ValueError, match="holds a 'vae' model"):
        torch.hub.load(str(REPO), "dcgan", source="local", pretrained=SHIPPED)


# --- names: the config a checkpoint was trained with, plus aliases a user guesses ----------------------------------


@pytest.mark.parametrize("name", SHIPPED_NAMES)
def test_shipped_entries_are_named_after_the_config_they_were_trained_with(name):
    entry = get(name)
    assert entry.config_file == f"{name}.yaml" and (REPO / "configs" / entry.config_file).is_file()


def test_dcgan_loads_under_its_config_name_and_the_list_shows_config_size_metrics(capsys):
    """``zoo.load("dcgan_fashion_mnist")`` is the DCGAN of ``dcgan_fashion_mnist.yaml`` (64 base channels), not the
    small one of ``dcgan_small_fashion_mnist.yaml`` (32)."""
    full, small = zoo.load("dcgan_fashion_mnist"), zoo.load("dcgan_small_fashion_mnist")
    assert get("dcgan_fashion_mnist").config_file == "dcgan_fashion_mnist.yaml"
    widths = [next(m for m in model.generator.modules() if isinstance(m, torch.nn.ConvTranspose2d)).out_channels
              for model in (full, small)]
    assert widths[0] == 2 * widths[1]
    assert full.sample(4, seed=0).shape == (4, 1, 28, 28)
    main(["pull", "--list"])
    listing = capsys.readouterr().out
    for text in ("dcgan_fashion_mnist.yaml", "dcgan_small_fashion_mnist.yaml", "vae_fashion_mnist.yaml", "1.5 MB",
                 "fid "):
        assert text in listing, text


def test_an_alias_answers_like_the_name_and_is_listed(tmp_path, monkeypatch, capsys):
    entry = at_url(get(SHIPPED).to_dict(), get(SHIPPED).shipped_path.as_uri(), aliases=["our_vae"])
    extra = tmp_path / "index.json"
    extra.write_text(json.dumps({"checkpoints": {"team_vae": entry}}))
    monkeypatch.setenv("ZOO_PRETRAINED_INDEX", str(extra))
    assert get("our_vae").name == "team_vae"
    assert torch.equal(zoo.load("our_vae").sample(2, seed=0), zoo.load(SHIPPED).sample(2, seed=0))
    main(["pull", "--list"])
    assert "team_vae (our_vae)" in capsys.readouterr().out


def test_an_alias_that_names_two_checkpoints_is_refused(tmp_path, monkeypatch):
    entry = get(SHIPPED).to_dict()
    extra = tmp_path / "index.json"
    extra.write_text(json.dumps({"checkpoints": {"other": {**entry, "aliases": ["vae_fashion_mnist"]}}}))
    monkeypatch.setenv("ZOO_PRETRAINED_INDEX", str(extra))
    with pytest.raises(PretrainedError, match="alias 'vae_fashion_mnist' of 'other'"):
        get("other")


def test_published_run_configs_hold_no_output_location_of_the_publisher():
    """``zoo publish`` drops the publisher's run folders (default_root_dir, logger save_dir/version, checkpoint
    dirpath), so ``zoo fit --config <name>.config.yaml`` writes a new run under ``runs/``; everything else stays."""
    from zoo.commands.publish import portable_run_config

    text = ("# lightning.pytorch==2.6.6\nseed_everything: 3\ntrainer:\n  default_root_dir: /scratch/me/run\n"
            "  logger:\n  - class_path: zoo.loggers.CSVRunLogger\n    init_args: {save_dir: /scratch/me, name: x, "
            "version: 4}\n  max_epochs: 7\ncheckpoint: {dirpath: /scratch/me/ckpts, every_minutes: 5.0}\n")
    portable = portable_run_config(text)
    assert portable.startswith("# lightning.pytorch==2.6.6\n") and "/scratch" not in portable
    config = yaml.safe_load(portable)
    assert config["trainer"]["logger"][0]["init_args"] == {"name": "x"} and config["trainer"]["max_epochs"] == 7
    assert config["trainer"]["default_root_dir"] is None and config["checkpoint"] == {"dirpath": None,
                                                                                     "every_minutes": 5.0}
    assert config["seed_everything"] == 3
    for path in (REPO / "zoo" / "pretrained").glob("*.config.yaml"):
        assert portable_run_config(path.read_text()) == path.read_text(), f"{path.name}: run zoo publish again"


def test_a_conditional_release_shows_a_row_per_class_and_is_scored_per_class(tmp_path, monkeypatch):
    """zoo publish of a conditional model: the grid is the class grid (a row per class, 8 columns), the card says so
    and shows how to ask for a class, and the metrics include accuracy and intra-class FID."""
    from tests.conftest import synthetic_data
    from zoo.metrics import evaluation

    data = synthetic_data(num_images=48)
    nets = {"generator": {"class_path": "zoo.nets.DCGANGenerator", "init_args": {"base_channels": 8}},
            "discriminator": {"class_path": "zoo.nets.DCGANDiscriminator", "init_args": {"base_channels": 8}}}
    model = zoo.create("cgan", image_shape=(1, 28, 28), class_names=data.class_names, **nets)
    trainer = tiny_trainer(tmp_path / "run", max_steps=2)
    trainer.fit(model, datamodule=data)
    trainer.save_checkpoint(tmp_path / "last.ckpt")
    asked = []
    monkeypatch.setattr(evaluation, "evaluate", lambda model, data, metrics, *rest: asked.append(metrics) or {})
    main(["publish", "--ckpt", str(tmp_path / "last.ckpt"), "--name", "tiny_cgan", "--out", str(tmp_path / "rel"),
          "--metrics", "fid"])
    assert asked == [("fid", "accuracy", "ifid")]
    classes = len(data.class_names)
    assert Image.open(tmp_path / "rel" / "tiny_cgan.png").size == (8 * 30 + 2, classes * 30 + 2)
    card = (tmp_path / "rel" / "tiny_cgan.md").read_text()
    assert f"One row per class ({', '.join(data.class_names)})" in card
    assert "zoo sample --ckpt tiny_cgan --class-grid" in card and "labels=[" in card
