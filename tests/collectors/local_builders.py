"""``file.py:function`` model builders for the local-collector tests (not a test module).

``tiny`` is a real (small) conv net; the others fail the way real models and runtimes do:
refusing ONNX export, killing the worker with SIGSEGV, or hanging forever.
"""

import os
import signal
import time

import torch
from torch import nn


def tiny() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 16, 3, stride=2), nn.BatchNorm2d(16), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))


class _NoExport(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.onnx.is_in_onnx_export():
            raise RuntimeError("this model refuses ONNX export")
        return x.mean((2, 3))


def unexportable() -> nn.Module:
    return _NoExport()


def crash() -> nn.Module:
    os.kill(os.getpid(), signal.SIGSEGV)
    raise AssertionError("unreachable")


def hang() -> nn.Module:
    time.sleep(3600)
    raise AssertionError("unreachable")
