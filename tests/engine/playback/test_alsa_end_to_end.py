"""End to end: the Player through a real PortAudio stream into an ALSA ``file`` device this test configures.

ALSA reads ``~/.asoundrc`` when PortAudio initialises, so the stream runs in a subprocess whose HOME is a
temporary folder holding an .asoundrc that sends the default device (float32 stereo, 44.1 kHz) to a raw file
through the ``null`` plugin. The bytes in that file must be exactly the blocks the player's callback mixed, and
those must be the track as a listener should hear it: a 10-ms fade-in, then the samples times the gain.
"""
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

ASOUNDRC = """\
pcm.!default {{
    type plug
    slave {{
        pcm "motet_test_file"
        format FLOAT_LE
        rate 44100
        channels 2
    }}
}}
pcm.motet_test_file {{
    type file
    slave.pcm "null"
    file "{raw}"
    format "raw"
}}
"""

SCRIPT = textwrap.dedent("""
    import json, sys, threading
    import numpy as np
    import sounddevice as sd
    from engine.playback import Player

    folder, blocks = sys.argv[1], int(sys.argv[2])
    mixed = []
    finished = threading.Event()

    def factory(**kw):
        player_callback = kw.pop("callback")

        def callback(outdata, frames, time_info, status):
            player_callback(outdata, frames, time_info, status)
            mixed.append(outdata.copy())  # test-only copy of what the player wrote
            if len(mixed) >= blocks:
                raise sd.CallbackStop

        return sd.OutputStream(callback=callback, finished_callback=finished.set, **kw)

    rng = np.random.default_rng(7)
    track = (0.25 + 0.1 * rng.standard_normal((2, 44100))).astype(np.float32)  # non-zero from its first sample
    np.save(folder + "/track.npy", track)
    player = Player(44100, 512, 2, stream_factory=factory)
    player.set_track("voice", track, gain_db=-6.0)
    player.play()
    ok = finished.wait(20)
    device = sd.query_devices(sd.default.device[1])["name"]
    player.close()
    np.save(folder + "/mixed.npy", np.concatenate(mixed))
    print(json.dumps({"finished": ok, "blocks": len(mixed), "device": device, "underruns": player.underruns,
                      "errors": player.callback_errors}))
""")


def test_what_reaches_the_alsa_device_is_exactly_what_was_mixed(tmp_path):
    try:
        import sounddevice  # noqa: F401
    except OSError as err:
        pytest.skip(f"PortAudio is not installed ({err}); scripts/setup.sh installs libportaudio2")
    home = tmp_path / "home"
    home.mkdir()
    raw = tmp_path / "device.raw"
    (home / ".asoundrc").write_text(ASOUNDRC.format(raw=raw))
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    blocks = 64
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path), str(blocks)], env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["finished"] and report["blocks"] == blocks and report["errors"] == 0
    assert report["device"] == "default"

    mixed = np.load(tmp_path / "mixed.npy")  # [frames, 2] as handed to PortAudio
    track = np.load(tmp_path / "track.npy")
    written = np.fromfile(raw, dtype="<f4").reshape(-1, 2)
    # PortAudio primes the device with silence before the first callback; after it come our blocks, bit for bit
    start = int(np.flatnonzero(written[:, 0])[0])
    assert not written[:start].any() and start <= 8192
    assert written.shape[0] - start == mixed.shape[0] == blocks * 512
    assert written[start:].tobytes() == mixed.tobytes()

    # and what was mixed is the track at -6 dB, faded in over 441 frames
    gain = np.float32(10 ** (-6 / 20))
    expected = track[:, : blocks * 512].T * gain
    expected[:441] *= ((np.arange(441) + 0.5) / 441).astype(np.float32)[:, None]
    np.testing.assert_allclose(written[start:], expected, rtol=1e-6, atol=1e-7)
