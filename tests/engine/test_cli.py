"""The motet command line: help works, errors are one line."""
import subprocess
import sys


def run_motet(*args):
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True)


def test_help_lists_commands():
    out = run_motet("--help")
    assert out.returncode == 0
    assert "usage: motet" in out.stdout


def test_torch_workers_spin_only_for_batch_commands_on_an_idle_cpu():
    """Idle CPU: a batch command leaves libgomp's short spin (2x faster there); the app, a busy CPU or a CPU that
    cannot be read get PASSIVE workers; a policy the user set is left alone."""
    import os

    from engine.cli import busy_cpus, thread_wait_policy

    assert thread_wait_policy("separate", busy=0.1) is None
    assert thread_wait_policy("separate", busy=1.2) == "PASSIVE"
    assert thread_wait_policy("separate", busy=None) == "PASSIVE"
    assert thread_wait_policy("gui", busy=0.0) == "PASSIVE"
    busy = busy_cpus(0.05)
    assert busy is None or 0.0 <= busy <= (os.cpu_count() or 1) + 1e-6
    code = ("import os; os.environ['OMP_WAIT_POLICY'] = 'ACTIVE'; from engine.cli import choose_thread_wait; "
            "choose_thread_wait('gui'); print(os.environ['OMP_WAIT_POLICY'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "ACTIVE"
    code = ("import os; from engine.cli import choose_thread_wait; choose_thread_wait('gui'); "
            "print(os.environ['OMP_WAIT_POLICY'])")
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    assert out.strip() == "PASSIVE"
