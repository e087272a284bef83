"""Download the public sources into the layouts the importers read (needs the internet).

``fetch("aihub", dest)`` writes ``manifest.csv`` + ``perf/<dir>/<date>_<commit8>.yaml`` (every
distinct version of each image-classification model's perf.yaml, from the GitHub commits API) +
``info/<dir>.yaml`` + ``SOURCE``; ``fetch("timm", dest)`` writes the ``results/`` CSVs the timm
importer reads + ``SOURCE``. Everything goes through one ``opener(url) -> bytes`` so tests can
check URLs and layout with a fake one (CI never touches the network). ``GITHUB_TOKEN``, when set,
is sent to the API (unauthenticated calls are limited to 60 per hour). Network trouble is one
line: :class:`FetchError`. ``manifest.csv`` is written last, so an interrupted fetch is not
mistaken for a complete one by the importer.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml

from collectors.importers.common import DataImportError

AIHUB_REPO = "quic/ai-hub-models"
AIHUB_MODELS = "qai_hub_models/models"
TIMM_REPO = "huggingface/pytorch-image-models"
TIMM_FILES = re.compile(r"^(benchmark-infer-.*\.csv|results-imagenet\.csv|model_metadata-in1k\.csv)$")
API = "https://api.github.com"
RAW = "https://raw.githubusercontent.com"
Opener = Callable[[str], bytes]


class FetchError(DataImportError):
    """A download failed (offline, rate-limited, moved); the message is one line with the URL."""


class NotFound(FetchError):
    """HTTP 404: the file does not exist at that commit."""


def api_url(repo: str, endpoint: str, **params: Any) -> str:
    query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
    return f"{API}/repos/{repo}/{endpoint}" + (f"?{query}" if query else "")


def raw_url(repo: str, ref: str, path: str) -> str:
    return f"{RAW}/{repo}/{ref}/{urllib.parse.quote(path)}"


def urllib_opener(url: str) -> bytes:
    """GET with urllib; errors become one-line FetchErrors."""
    headers = {"User-Agent": "effbench-fetch", "Accept": "application/vnd.github+json"}
    if url.startswith(API) and os.environ.get("GITHUB_TOKEN"):
        headers["Authorization"] = f"Bearer {os.environ['GITHUB_TOKEN']}"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=60) as resp:
            return resp.read()
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise NotFound(f"GET {url}: 404 not found") from None
        raise FetchError(f"GET {url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FetchError(f"GET {url}: {reason} (offline?)") from None


def _json(opener: Opener, url: str) -> Any:
    try:
        return json.loads(opener(url))
    except json.JSONDecodeError:
        raise FetchError(f"GET {url}: response is not JSON") from None


def _pages(opener: Opener, repo: str, endpoint: str, **params: Any) -> Iterable[Any]:
    """Every item of a paginated GitHub list endpoint (100 per page)."""
    page = 1
    while True:
        items = _json(opener, api_url(repo, endpoint, per_page=100, page=page, **params))
        if not isinstance(items, list):
            raise FetchError(f"{api_url(repo, endpoint, **params)}: expected a list")
        yield from items
        if len(items) < 100:
            return
        page += 1


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _resolve(opener: Opener, repo: str, ref: str) -> str:
    return str(_json(opener, api_url(repo, f"commits/{ref}"))["sha"])


def classification_models(opener: Opener, ref: str) -> list[str]:
    """AI Hub model folders whose info.yaml says ``use_case: Image Classification``."""
    listing = _json(opener, api_url(AIHUB_REPO, f"contents/{AIHUB_MODELS}", ref=ref))
    names = sorted(item["name"] for item in listing if item.get("type") == "dir")
    keep = []
    for name in names:
        try:
            info = yaml.safe_load(opener(raw_url(AIHUB_REPO, ref, f"{AIHUB_MODELS}/{name}/info.yaml")))
        except NotFound:
            continue
        except yaml.YAMLError:
            continue
        if isinstance(info, dict) and info.get("use_case") == "Image Classification":
            keep.append(name)
    return keep


def fetch_aihub(dest: Path, opener: Opener = urllib_opener, ref: str = "main",
                models: Iterable[str] | None = None) -> Path:
    head = _resolve(opener, AIHUB_REPO, ref)
    names = list(models) if models is not None else classification_models(opener, head)
    tags = {t["commit"]["sha"]: t["name"] for t in _pages(opener, AIHUB_REPO, "tags")}
    rows = []
    for name in names:
        path = f"{AIHUB_MODELS}/{name}/perf.yaml"
        seen: set[str] = set()
        commits = list(_pages(opener, AIHUB_REPO, "commits", path=path, sha=head))
        for commit in reversed(commits):  # oldest first
            sha = commit["sha"]
            date = commit["commit"]["committer"]["date"][:10]
            try:
                data = opener(raw_url(AIHUB_REPO, sha, path))
            except NotFound:  # the commit deleted or moved the file
                continue
            digest = hashlib.sha1(data).hexdigest()
            if digest in seen:
                continue
            seen.add(digest)
            rel = f"perf/{name}/{date}_{sha[:8]}.yaml"
            _write(dest / rel, data)
            rows.append({"model_dir": name, "commit": sha, "date": date, "tag": tags.get(sha, ""),
                         "path": rel})
        try:
            _write(dest / "info" / f"{name}.yaml",
                   opener(raw_url(AIHUB_REPO, head, f"{AIHUB_MODELS}/{name}/info.yaml")))
        except NotFound:
            pass
    _write(dest / "SOURCE", (f"{AIHUB_REPO} {AIHUB_MODELS}/<model>/perf.yaml and info.yaml, all "
                             f"distinct versions; history up to commit {head}\n").encode())
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, ["model_dir", "commit", "date", "tag", "path"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(sorted(rows, key=lambda r: (r["model_dir"], r["date"])))
    _write(dest / "manifest.csv", buffer.getvalue().encode())
    return dest


def fetch_timm(dest: Path, opener: Opener = urllib_opener, ref: str = "main") -> Path:
    head = _resolve(opener, TIMM_REPO, ref)
    listing = _json(opener, api_url(TIMM_REPO, "contents/results", ref=head))
    names = sorted(item["name"] for item in listing
                   if item.get("type") == "file" and TIMM_FILES.match(item["name"]))
    if not names:
        raise FetchError(f"{api_url(TIMM_REPO, 'contents/results', ref=head)}: no result files listed")
    for name in names:
        _write(dest / name, opener(raw_url(TIMM_REPO, head, f"results/{name}")))
    _write(dest / "SOURCE", f"{TIMM_REPO} results/ at commit {head}\n".encode())
    return dest


def fetch(source: str, dest: str | os.PathLike[str], *, opener: Opener | None = None,
          ref: str = "main", models: Iterable[str] | None = None) -> Path:
    """Download ``source`` ("aihub" or "timm") into ``dest``; returns ``dest``."""
    dest = Path(dest)
    opener = opener or urllib_opener
    if source == "aihub":
        return fetch_aihub(dest, opener, ref, models)
    if source == "timm":
        if models is not None:
            raise FetchError("fetch timm: 'models' applies to aihub only")
        return fetch_timm(dest, opener, ref)
    raise FetchError(f"fetch: unknown source {source!r} (expected 'aihub' or 'timm')")


__all__ = ["FetchError", "api_url", "fetch", "fetch_aihub", "fetch_timm", "raw_url", "urllib_opener"]
