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
