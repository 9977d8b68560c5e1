import pytest
import torch

from engine.corpus.render import render_corpus
from engine.separation.model import SeparationModel
from engine.separation.train import train


@pytest.mark.slow
def test_fine_tuning_keeps_each_checkpoint_beside_the_output(tmp_path):
    """A fine-tune from a saved model with --keep-checkpoints leaves one loadable model per checkpoint beside the
    output (to pick one by its validation score), each with the init model's architecture and its own step."""
    render_corpus(tmp_path / "corpus", hours=3 * 2.0 / 3600, seconds=2.0, split="train", seed=0, jobs=1)
    init = tmp_path / "init.pt"
    train(tmp_path / "corpus" / "train", init, steps=2, batch=2, hidden=16, n_blocks=1, seconds=2.0,
          segment_s=1.0, synth_items=1, synth_s=0.5, device="cpu")
    out = tmp_path / "tuned.pt"
    summary = train(tmp_path / "corpus" / "train", out, steps=4, batch=2, seconds=2.0, segment_s=1.0,
                    synth_items=1, synth_s=0.5, device="cpu", checkpoint_every=2, keep_checkpoints=True,
                    init_path=init, lr=1e-4)
    assert summary["steps"] == 4 and summary["init"] == str(init)
    kept = sorted(p.name for p in tmp_path.glob("tuned.step*.pt"))
    assert kept == ["tuned.step2.pt", "tuned.step4.pt"]
    first, last = (SeparationModel.load(tmp_path / name) for name in kept)
    assert first.config.hidden == 16  # the architecture of the init model, not train()'s default
    changed = [not torch.equal(a, b) for a, b in zip(first.state_dict().values(), last.state_dict().values())]
    assert any(changed)  # two different checkpoints, not one file written twice


@pytest.mark.slow
def test_a_silent_training_mixture_is_left_out_instead_of_making_the_weights_nan(tmp_path):
    """The corpus can hold an excerpt whose mixture is all zeros; its loss explodes (~1e5, gradient ~1e8: a
    fine-tune on such a corpus turned NaN). Training leaves such excerpts out (and skips any step whose loss or
    gradient is not finite)."""
    import shutil

    import numpy as np
    import soundfile as sf

    render_corpus(tmp_path / "corpus", hours=2 * 2.0 / 3600, seconds=2.0, split="train", seed=0, jobs=1)
    silent = tmp_path / "corpus" / "train" / "000002"
    shutil.copytree(tmp_path / "corpus" / "train" / "000000", silent)
    audio, rate = sf.read(silent / "mixture.wav", dtype="float32")
    sf.write(silent / "mixture.wav", np.zeros_like(audio), rate)
    out = tmp_path / "model.pt"
    summary = train(tmp_path / "corpus" / "train", out, steps=6, batch=3, hidden=16, n_blocks=1, seconds=2.0,
                    segment_s=1.0, synth_items=1, synth_s=0.5, device="cpu")
    assert summary["excerpts"] == 2 and summary["silent_excerpts_skipped"] == 1
    assert summary["skipped_steps"] == 0 and np.isfinite(summary["final_loss"])
    assert all(torch.isfinite(p).all() for p in SeparationModel.load(out).parameters())
