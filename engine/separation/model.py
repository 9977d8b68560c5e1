"""The separation model: encoder f_W + one source-filter voice model g per voice, and its unsupervised loss.

loss = multi-scale spectral loss(mixture, sum_v g(θ_v)) + power-model term (the same θ rendered as expected STFT
power must add up to the mixture's power, in log); both compare with the MIXTURE only (Schulze-Forster et al.,
"Unsupervised music source separation using differentiable parametric source models", IEEE/ACM TASLP 2023).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from engine.dsp.spectral import multiscale_spectral_loss
from engine.errors import MotetError
from engine.separation.encoder import VoiceEncoder
from engine.separation.features import voice_features
from engine.separation.masks import stft_size
from engine.voice import VoiceModel

POWER_FLOOR = 1e-7  # noise floor (relative to full scale) of the log-power term


@dataclass
class ModelConfig:
    sample_rate: int = 16000
    hop: int = 256
    n_harmonics: int = 100
    lpc_order: int = 20
    n_noise_bands: int = 20
    hidden: int = 256
    n_blocks: int = 2


class SeparationModel(nn.Module):
    """mixture [B, samples] + F0 [B, V, T] + voicing [B, V, T] -> θ of every voice (dict of [B, V, T, ...])."""

    def __init__(self, config: ModelConfig | None = None):
        super().__init__()
        self.config = config or ModelConfig()
        c = self.config
        self.voice = VoiceModel(c.sample_rate, c.hop, c.n_harmonics, c.lpc_order, c.n_noise_bands)
        self.encoder = VoiceEncoder(self.voice.n_raw, c.hidden, c.n_blocks)
        self.refined_steps = 0  # steps of refinement on one recording (engine.separation.refine); not saved

    def forward(self, mixture: torch.Tensor, f0_hz: torch.Tensor, voiced: torch.Tensor) -> dict:
        per_voice, mel = voice_features(mixture, f0_hz, voiced, self.config.sample_rate, self.config.hop)
        raw = self.encoder(per_voice, mel)
        return self.voice.get_controls(raw, f0_hz, voiced)

    def synthesise(self, theta: dict, n_samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """θ with [B, V, T...] arrays -> voices [B, V, n_samples]."""
        b, v = theta["f0_hz"].shape[:2]
        flat = {key: val.reshape((b * v,) + val.shape[2:]) for key, val in theta.items()}
        return self.voice.get_signal(**flat, n_samples=n_samples, generator=generator).reshape(b, v, n_samples)

    def power(self, theta: dict, sample_rate: int, n_fft: int, frame_times_s: torch.Tensor,
              **render) -> torch.Tensor:
        """Expected STFT power of every voice: [B, V, n_fft // 2 + 1, T'] (``render``: lobe_scale, noise_scale
        of :meth:`VoiceModel.power_spectrogram`)."""
        b, v = theta["f0_hz"].shape[:2]
        flat = {key: val.reshape((b * v,) + val.shape[2:]) for key, val in theta.items()}
        p = self.voice.power_spectrogram(**flat, sample_rate=sample_rate, n_fft=n_fft, frame_times_s=frame_times_s,
                                           **render)
        return p.reshape((b, v) + p.shape[1:])

    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    # ------------------------------------------------------------------ loss
    def unsupervised_loss(self, mixture: torch.Tensor, f0_hz: torch.Tensor, voiced: torch.Tensor,
                          generator: torch.Generator | None = None, power_weight: float = 1.0,
                          synth_items: int | None = None, synth_frames: int | None = None):
        """(loss, θ) from the mixture alone. mixture [B, N] at the model rate, N = T * hop.

        The time-domain term synthesises the first ``synth_items`` items over their first ``synth_frames``
        frames (default all: the synthesis is the costly part, so CPU training may take a sub-batch)."""
        theta = self(mixture, f0_hz, voiced)
        b = synth_items or mixture.shape[0]
        t = synth_frames or f0_hz.shape[-1]
        n = t * self.config.hop
        part = {k: v[:b, :, :t] for k, v in theta.items()}
        voices = self.synthesise(part, n, generator)
        loss = multiscale_spectral_loss(mixture[:b, :n], voices.sum(1))
        if power_weight > 0:
            loss = loss + power_weight * self.power_loss(mixture, theta)
        return loss, theta

    def power_loss(self, mixture: torch.Tensor, theta: dict, floor: float = POWER_FLOOR) -> torch.Tensor:
        """Mean |log mixture STFT power - log sum of the voices' rendered power|, on the masks' STFT size at the
        model rate, every second frame of the model (32 ms: the 128-ms windows overlap 4 times). ``floor``: the
        power (mean square, re full scale) below which differences count less (the log's offset)."""
        return self.log_power_distance(self.log_power_target(mixture, 2 * self.config.hop, floor), theta)

    def log_power_target(self, mixture: torch.Tensor, hop: int, floor: float = POWER_FLOOR,
                         max_hz: float | None = None) -> tuple:
        """(log(|STFT|^2 + floor') [..., F, T'], frame times [T'] in s, floor', max_hz) of ``mixture`` [..., N] at
        the model rate, on the masks' STFT size with ``hop`` samples, bins up to ``max_hz`` (None: all); floor' =
        ``floor`` (mean square re full scale) × the window's energy. What :meth:`log_power_distance` compares with."""
        sr = self.config.sample_rate
        n_fft = stft_size(sr)
        window = torch.hann_window(n_fft, device=mixture.device, dtype=mixture.dtype)
        spec = torch.stft(mixture, n_fft, hop_length=hop, window=window, center=True, return_complex=True)
        if max_hz is not None:
            spec = spec[..., : int(max_hz * n_fft / sr) + 1, :]
        times = torch.arange(spec.shape[-1], device=mixture.device) * (hop / sr)
        floor = floor * float((window ** 2).sum())
        return torch.log(spec.abs() ** 2 + floor), times, floor, max_hz

    def log_power_distance(self, target: tuple, theta: dict, **render) -> torch.Tensor:
        """Mean |target log power - log(sum of the voices' rendered power + floor')| for ``target`` from
        :meth:`log_power_target`; ``render``: lobe_scale, noise_scale, window_f0 of the rendering."""
        log_power, times, floor, max_hz = target
        rendered = self.power(theta, self.config.sample_rate, stft_size(self.config.sample_rate), times,
                              max_hz=max_hz, **render).sum(1)
        return (log_power - torch.log(rendered + floor)).abs().mean()

    # ------------------------------------------------------------------ files
    def save(self, path: str | Path, extra: dict | None = None) -> None:
        torch.save({"config": asdict(self.config), "state": self.state_dict(), "extra": extra or {}}, path)

    @classmethod
    def load(cls, path: str | Path, device=None) -> "SeparationModel":
        path = Path(path)
        if not path.is_file():
            raise MotetError(f"{path}: separation model not found")
        try:
            blob = torch.load(path, map_location="cpu", weights_only=True)
            model = cls(ModelConfig(**blob["config"]))
            model.load_state_dict(blob["state"])
        except Exception as err:  # corrupt or foreign file
            raise MotetError(f"{path}: not a motet separation model ({err})") from None
        model.extra = blob.get("extra", {})
        return model.to(device or "cpu").eval()


def model_f0(f0_hz) -> torch.Tensor:
    """F0 [..., T] (Hz; array or tensor) as the model reads it: float32, 200 Hz where a track holds no value (the
    voicing says the voice is silent there; the encoder still reads its harmonics somewhere)."""
    f0 = torch.as_tensor(f0_hz).to(torch.float32)
    return torch.where(f0 > 0, f0, torch.full_like(f0, 200.0))


# frames of audio whose θ the encoder computes in one batch when the F0 correction goes chunk by chunk: its
# recurrences cost per time step almost whatever the batch, so equally long chunks go together (about 64 s at a
# time, which keeps memory flat in the recording's length)
THETA_BATCH_FRAMES = 4000


@torch.no_grad()
def chunk_thetas(model: "SeparationModel", mono16: torch.Tensor, f0: torch.Tensor, voiced: torch.Tensor,
                 windows: list, max_frames: int = THETA_BATCH_FRAMES):
    """θ of the model for each window (f_lo, f_hi) of frames, in order, as dicts of [1, V, f_hi - f_lo, ...]:
    mono16 [N] at the model rate, f0/voiced [V, T] (as :func:`model_f0` gives them) on its frames. Consecutive
    windows of the same length are read as one batch of up to ``max_frames`` frames."""
    hop = model.config.hop
    dev = next(model.parameters()).device
    i = 0
    while i < len(windows):
        length = windows[i][1] - windows[i][0]
        group = [windows[i]]
        while (i + len(group) < len(windows) and (len(group) + 1) * length <= max_frames
               and windows[i + len(group)][1] - windows[i + len(group)][0] == length):
            group.append(windows[i + len(group)])
        theta = model(torch.stack([mono16[a * hop:b * hop] for a, b in group]).to(dev),
                      torch.stack([f0[:, a:b] for a, b in group]).to(dev),
                      torch.stack([voiced[:, a:b] for a, b in group]).to(dev))
        for j in range(len(group)):
            yield {k: val[j:j + 1] for k, val in theta.items()}
        i += len(group)


def default_model_path() -> Path:
    from engine.datasets import assets_dir

    return assets_dir() / "models" / "separation.pt"
