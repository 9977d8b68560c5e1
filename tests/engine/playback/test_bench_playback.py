"""``motet bench playback --json``: a JSON line with the callback's budget share and the load throughput."""
import json
import subprocess
import sys


def test_bench_playback_prints_the_figures_as_the_last_json_line():
    out = subprocess.run([sys.executable, "-m", "engine", "bench", "playback", "--json", "--blocks", "300",
                          "--load-seconds", "20"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    for key in ("callback_budget_share_median", "callback_budget_share_p99", "load_mb_per_s", "load_x_realtime"):
        assert result[key] > 0, key
    assert result["callback_tracks"] == 8 and result["block_frames"] == 512 and result["sample_rate"] == 44100
    assert result["callback_budget_share_median"] <= result["callback_budget_share_p99"]
    # 8 tracks are far from filling the 11.6-ms budget even on a busy shared machine
    assert result["callback_budget_share_median"] < 0.5
    assert result["load_x_realtime"] > 10
    assert result["machine"]["cores"] >= 1
