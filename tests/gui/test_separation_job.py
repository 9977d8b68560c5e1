"""What the app's Separate job asks of the engine: on the CPU the "Refine" quality keeps its wait in minutes
(fewer refinement steps and correction rounds than on a GPU), and F0 the person gave is used as given."""
import importlib
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from gui.separation_job import REFINE_STEPS, REFINED_ROUNDS, separation_job


class Asked(Exception):
    pass


@pytest.fixture
def asked(monkeypatch):
    calls = []

    def fake_separate(*args, **kwargs):
        calls.append(kwargs)
        raise Asked

    monkeypatch.setattr(importlib.import_module("engine.separation.separate"), "separate", fake_separate)
    return calls


class Context:
    """The worker's job context as the job uses it: a device and a progress callback."""

    def __init__(self, device: str):
        self.device = torch.device(device)

    def __call__(self, fraction, stage=""):
        pass

    progress = __call__


def run(job, device: str) -> None:
    with pytest.raises(Asked):
        job(Context(device))


def test_refine_on_the_cpu_is_lighter_and_given_f0_is_left_alone(asked):
    audio = SimpleNamespace(samples=np.zeros((1, 16000), np.float32), sample_rate=16000)
    run(separation_job(audio, 4, "refine", None), "cpu")
    tracked = asked[-1]
    assert tracked["refine_steps"] == REFINE_STEPS["cpu"] < REFINE_STEPS["gpu"]
    assert tracked["f0_correction"].refined_rounds == REFINED_ROUNDS["cpu"] < REFINED_ROUNDS["gpu"]
    run(separation_job(audio, 4, "refine", None, f0=object()), "cpu")
    assert asked[-1]["f0_correction"] == "auto"   # given F0: separate() leaves it uncorrected
