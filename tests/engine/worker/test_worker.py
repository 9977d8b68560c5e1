"""The engine worker: FIFO jobs on one thread, progress with ETA, cooperative cancel, errors as results, OOM."""
import threading
import time

import pytest
import torch

from engine.errors import Cancelled, MotetError
from engine.worker import (
    JobProgress,
    JobResult,
    Worker,
    is_out_of_memory,
    pick_device,
    run_with_memory_fallback,
)


@pytest.fixture
def worker():
    w = Worker(device="cpu")
    yield w
    w.shutdown(wait=True, cancel=True)


def test_device_is_cpu_here_and_named(worker):
    assert worker.device == torch.device("cpu")
    assert worker.device_name == "CPU"


def test_auto_device_and_env_override(monkeypatch):
    monkeypatch.delenv("MOTET_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    if not torch.cuda.is_available() and torch.backends.mps.is_available():
        expected = "mps"
    assert pick_device(None).type == expected
    monkeypatch.setenv("MOTET_DEVICE", "cpu")
    assert pick_device(None).type == "cpu"
    monkeypatch.setenv("MOTET_DEVICE", "tpu")
    with pytest.raises(MotetError, match="MOTET_DEVICE 'tpu': unknown device"):
        pick_device(None)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
def test_requesting_missing_cuda_is_a_clear_error():
    with pytest.raises(MotetError, match="CUDA is not available"):
        Worker(device="cuda")


def test_jobs_run_in_order_on_one_thread(worker):
    seen = []
    threads = set()

    def make(i):
        def fn(ctx):
            threads.add(threading.current_thread().name)
            seen.append(i)
            return i * 10

        return fn

    jobs = [worker.submit(f"job{i}", make(i)) for i in range(5)]
    results = [j.result(timeout=5) for j in jobs]
    assert seen == [0, 1, 2, 3, 4]
    assert [r.value for r in results] == [0, 10, 20, 30, 40]
    assert all(r.ok and r.error is None for r in results)
    assert threads == {"motet-engine"}
    assert threading.current_thread().name not in threads


def test_progress_reports_fraction_stage_and_eta(worker):
    reports: list[JobProgress] = []

    def fn(ctx):
        for i in range(5):
            time.sleep(0.06)
            ctx.progress((i + 1) / 5, f"chunk {i + 1}/5")
        return "done"

    result = worker.submit("steps", fn, on_progress=reports.append).result(timeout=5)
    assert result.ok and result.value == "done"
    assert [r.stage for r in reports] == [f"chunk {i}/5" for i in range(1, 6)]
    assert [r.fraction for r in reports] == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    assert reports[0].eta_s is None  # 0.06 s in: too early to estimate
    assert reports[-2].eta_s == pytest.approx(0.06, abs=0.05)  # 4/5 done in ~0.24 s -> ~0.06 s left
    assert reports[-1].eta_s == 0.0
    assert all(r.name == "steps" for r in reports)


def test_cancel_stops_a_running_job_at_its_next_progress_call(worker):
    started = threading.Event()
    steps = []

    def fn(ctx):
        started.set()
        for i in range(1000):
            steps.append(i)
            time.sleep(0.01)
            ctx.progress(i / 1000, "working")
        return "finished"

    done: list[JobResult] = []
    job = worker.submit("long", fn, on_done=done.append)
    assert started.wait(5)
    job.cancel()
    result = job.result(timeout=5)
    assert result.cancelled and not result.ok
    assert "cancelled" in result.error
    assert len(steps) < 1000
    assert done == [result]
    # the thread lives on
    assert worker.submit("after", lambda ctx: 42).result(timeout=5).value == 42


def test_cancelled_queued_job_never_starts(worker):
    gate = threading.Event()
    ran = []
    first = worker.submit("blocker", lambda ctx: gate.wait(5))
    second = worker.submit("queued", lambda ctx: ran.append(1))
    second.cancel()
    gate.set()
    assert first.result(timeout=5).ok
    result = second.result(timeout=5)
    assert result.cancelled and ran == []


def test_exceptions_become_one_line_results_and_the_thread_lives(worker):
    def bad_input(ctx):
        raise MotetError("song.wav: file not found")

    def bug(ctx):
        return {}["missing"]

    r1 = worker.submit("open", bad_input).result(timeout=5)
    r2 = worker.submit("oops", bug).result(timeout=5)
    r3 = worker.submit("fine", lambda ctx: "ok").result(timeout=5)
    assert (r1.ok, r1.error, r1.cancelled) == (False, "song.wav: file not found", False)
    assert r2.error == "KeyError: 'missing'"
    assert "\n" not in r2.error
    assert r3.ok and r3.value == "ok" and worker.alive


def test_broken_callbacks_do_not_kill_the_worker(worker):
    def explode(_):
        raise RuntimeError("listener bug")

    result = worker.submit("x", lambda ctx: ctx.progress(0.5, "half") or 7, on_progress=explode,
                           on_done=explode).result(timeout=5)
    assert result.ok and result.value == 7
    assert worker.submit("y", lambda ctx: 8).result(timeout=5).value == 8


def test_context_is_a_progress_callable_for_engine_functions(worker):
    from engine.jobs import report, sub_progress

    reports = []

    def fn(ctx):
        inner = sub_progress(ctx, 0.5, 1.0)
        report(inner, 0.5, "second half")
        return ctx.device.type

    result = worker.submit("nested", fn, on_progress=reports.append).result(timeout=5)
    assert result.value == "cpu"
    assert reports[0].fraction == pytest.approx(0.75) and reports[0].stage == "second half"


def test_shutdown_refuses_new_jobs():
    w = Worker(device="cpu")
    job = w.submit("last", lambda ctx: 1)
    w.shutdown(wait=True)
    assert job.result(timeout=1).value == 1
    assert not w.alive
    with pytest.raises(MotetError, match="shut down"):
        w.submit("late", lambda ctx: 2)


# ------------------------------------------------------------------ out of memory


def fake_oom():
    return torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")


def test_oom_detection():
    assert is_out_of_memory(fake_oom())
    assert is_out_of_memory(RuntimeError("MPS backend out of memory (MPS allocated: 1 GB)"))
    assert is_out_of_memory(MemoryError())
    assert not is_out_of_memory(RuntimeError("shape mismatch"))


def test_oom_retries_on_halved_chunks_then_succeeds():
    calls = []

    def step(chunk_s, device):
        calls.append((chunk_s, device.type))
        if chunk_s > 5:
            raise fake_oom()
        return f"separated in {chunk_s:g}-s chunks"

    retries = []
    # "meta" stands in for a GPU here: the fallback logic only asks whether the device is the CPU
    value = run_with_memory_fallback(step, 20.0, "meta", on_retry=retries.append)
    assert value == "separated in 5-s chunks"
    assert calls == [(20.0, "meta"), (10.0, "meta"), (5.0, "meta")]
    assert len(retries) == 2 and "10-s chunks" in retries[0]


def test_oom_falls_back_to_cpu_with_the_original_chunk():
    calls = []

    def step(chunk_s, device):
        calls.append((chunk_s, device.type))
        if device.type != "cpu":
            raise fake_oom()
        return "cpu result"

    assert run_with_memory_fallback(step, 8.0, "meta", min_chunk_s=2.0) == "cpu result"
    assert calls == [(8.0, "meta"), (4.0, "meta"), (2.0, "meta"), (8.0, "cpu")]


def test_oom_everywhere_gives_advice():
    def step(chunk_s, device):
        raise fake_oom() if device.type != "cpu" else MemoryError()

    with pytest.raises(MotetError, match="out of memory on the CPU.*shorter excerpt"):
        run_with_memory_fallback(step, 4.0, "meta", min_chunk_s=2.0)


def test_oom_helper_lets_other_errors_through():
    def step(chunk_s, device):
        raise Cancelled()

    with pytest.raises(Cancelled):
        run_with_memory_fallback(step, 4.0, "cpu")


def test_oom_in_a_job_becomes_advice(worker):
    def fn(ctx):
        raise fake_oom()

    result = worker.submit("separate", fn).result(timeout=5)
    assert not result.ok and "out of memory" in result.error and "shorter excerpt" in result.error


def test_a_tight_progress_loop_does_not_flood_listeners_but_still_cancels(worker):
    reports = []

    def fn(ctx):
        for i in range(20000):
            ctx.progress(i / 20000, "tight loop")
        ctx.progress(1.0, "tight loop")
        return "ok"

    result = worker.submit("tight", fn, on_progress=reports.append).result(timeout=10)
    assert result.ok
    assert 1 <= len(reports) < 200 and reports[-1].fraction == 1.0

    started = threading.Event()

    def spin(ctx):
        started.set()
        while True:
            ctx.progress(0.5, "spinning")

    job = worker.submit("spin", spin)
    assert started.wait(5)
    job.cancel()
    assert job.result(timeout=5).cancelled
