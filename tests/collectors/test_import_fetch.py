"""fetch(): URL construction and the written layout, with a fake opener (no network in CI)."""

from __future__ import annotations

import csv
import json

import pytest

from collectors.importers import DataImportError, FetchError, fetch, read_aihub, read_timm
from collectors.importers.fetch import NotFound, api_url, raw_url, urllib_opener

PERF_V1 = """models:
- name: ResNet50
  performance_metrics:
  - torchscript_onnx_tflite:
      inference_time: 1904.0
      estimated_peak_memory_range: {min: 20480, max: 2314168}
      primary_compute_unit: NPU
      precision: fp16
      job_id: j1
      job_status: Passed
    reference_device_info: {name: Samsung Galaxy S23, form_factor: Phone, chipset: Snapdragon 8 Gen 2}
"""
PERF_V2 = PERF_V1.replace("1904.0", "1800.0").replace("job_id: j1", "job_id: j2")


class FakeGitHub:
    """Answers the URLs fetch() builds; records every request."""

    def __init__(self, pages: dict[str, bytes]):
        self.pages, self.requests = pages, []

    def __call__(self, url: str) -> bytes:
        self.requests.append(url)
        if url not in self.pages:
            raise NotFound(f"GET {url}: 404 not found")
        return self.pages[url]


def _json(obj) -> bytes:
    return json.dumps(obj).encode()


def test_aihub_history_layout(tmp_path):
    repo, path = "quic/ai-hub-models", "qai_hub_models/models/resnet50/perf.yaml"
    commits = [  # newest first, as the API lists them; c2 repeats c1's content, c4 deleted it
        {"sha": "d" * 40, "commit": {"committer": {"date": "2024-05-01T00:00:00Z"}}},
        {"sha": "c" * 40, "commit": {"committer": {"date": "2024-04-01T00:00:00Z"}}},
        {"sha": "b" * 40, "commit": {"committer": {"date": "2024-03-01T00:00:00Z"}}},
        {"sha": "a" * 40, "commit": {"committer": {"date": "2024-02-22T10:00:00Z"}}},
    ]
    fake = FakeGitHub({
        api_url(repo, "commits/main"): _json({"sha": "f" * 40}),
        api_url(repo, "tags", per_page=100, page=1): _json([{"name": "v0.3.0", "commit": {"sha": "a" * 40}}]),
        api_url(repo, "commits", per_page=100, page=1, path=path, sha="f" * 40): _json(commits),
        raw_url(repo, "a" * 40, path): PERF_V1.encode(),
        raw_url(repo, "b" * 40, path): PERF_V1.encode(),
        raw_url(repo, "c" * 40, path): PERF_V2.encode(),
        raw_url(repo, "f" * 40, "qai_hub_models/models/resnet50/info.yaml"):
            b"technical_details:\n  Input resolution: 224x224\n",
    })
    dest = fetch("aihub", tmp_path / "aihub", opener=fake, models=["resnet50"])
    with open(dest / "manifest.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["date"], r["tag"], r["path"]) for r in rows] == [
        ("2024-02-22", "v0.3.0", "perf/resnet50/2024-02-22_aaaaaaaa.yaml"),
        ("2024-04-01", "", "perf/resnet50/2024-04-01_cccccccc.yaml")]
    assert (dest / "info/resnet50.yaml").is_file() and "f" * 40 in (dest / "SOURCE").read_text()
    assert raw_url(repo, "d" * 40, path) in fake.requests  # tried, 404, skipped
    df, _ = read_aihub(dest)  # the importer reads what fetch wrote
    assert sorted(df["latency_ms"]) == [1.8, 1.904]


def test_timm_results_layout(tmp_path):
    repo = "huggingface/pytorch-image-models"
    name = "benchmark-infer-amp-nchw-pt240-cu124-rtx4090.csv"
    csv_text = ("model,infer_img_size,infer_samples_per_sec,infer_step_time,infer_batch_size\n"
                "resnet50,224,3000,341.3,1024\n")
    fake = FakeGitHub({
        api_url(repo, "commits/main"): _json({"sha": "e" * 40}),
        api_url(repo, "contents/results", ref="e" * 40): _json([
            {"name": name, "type": "file"}, {"name": "README.md", "type": "file"},
            {"name": "results-imagenet.csv", "type": "file"}]),
        raw_url(repo, "e" * 40, f"results/{name}"): csv_text.encode(),
        raw_url(repo, "e" * 40, "results/results-imagenet.csv"):
            b"model,img_size,top1,top5,param_count\nresnet50.a1_in1k,224,80.1,95.0,25.6\n",
    })
    dest = fetch("timm", tmp_path / "timm", opener=fake)
    assert sorted(p.name for p in dest.iterdir()) == sorted([name, "results-imagenet.csv", "SOURCE"])
    frames, _ = read_timm(dest)
    assert frames["measurements"]["source_ref"].iloc[0] == f"timm:results/{name}@eeeeeeee line 2"
    assert frames["accuracy"]["model"].iloc[0] == "resnet50"


def test_offline_and_unknown_source_are_one_line_errors(tmp_path, monkeypatch):
    with pytest.raises(FetchError, match="unknown source"):
        fetch("kaggle", tmp_path)
    with pytest.raises(FetchError, match=r"GET http://127\.0\.0\.1:9/x: .*offline"):
        urllib_opener("http://127.0.0.1:9/x")  # nothing listens on the discard port
    assert issubclass(FetchError, DataImportError)
