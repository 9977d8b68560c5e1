"""Voice strips as a musician uses them: open a recording and its separated voices, solo one, drag its pitch
slider, and hear (measure) the edited voice; undo/redo; F0 moves on the spectrogram; exports."""
from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from tests.gui.conftest import wait_idle

SR = 44100


def median_f0_ratio_cents(before, after, sr):
    """Median over frames voiced in both of 1200·log2(F0 after / F0 before), by motet's monophonic tracker."""
    from engine.f0 import track_single

    a = track_single(np.asarray(before, dtype=np.float32), sr)
    b = track_single(np.asarray(after, dtype=np.float32), sr)
    n = min(a.n_frames, b.n_frames)
    both = a.voiced[0, :n] & b.voiced[0, :n]
    assert both.sum() > 10
    return float(np.median(1200 * np.log2(b.f0_hz[0, :n][both] / a.f0_hz[0, :n][both])))


@pytest.fixture(scope="module")
def duet(tmp_path_factory):
    """Two synthetic sung voices (A3 and E4), their mixture as WAV, and a separation folder of the voices."""
    from engine.edit.synthetic_voice import synth_voice
    from engine.io.audio import save_audio
    from gui.separation_job import write_separation_folder

    high = synth_voice(3.0, SR, 330.0, formants_hz=(500, 1700, 2500, 3300), hnr_db=25, seed=1)
    low = synth_voice(3.0, SR, 220.0, formants_hz=(650, 1100, 2600, 3400), hnr_db=25, seed=2)
    stems = np.stack([high.samples, low.samples]).astype(np.float32) * 0.5
    folder = tmp_path_factory.mktemp("duet")
    save_audio(folder / "duet.wav", stems.sum(0)[None], SR)
    high.theta.name, low.theta.name = "upper", "lower"
    write_separation_folder(folder / "voices", ["upper", "lower"], stems, [high.theta, low.theta])
    return folder / "duet.wav", folder / "voices", stems


def open_duet(qtbot, window, duet):
    wav, voices, _ = duet
    window.open_path(wav)
    wait_idle(qtbot, window)
    window.open_path(voices)
    wait_idle(qtbot, window)
    assert window.choir.names == ["upper", "lower"], window.errors
    return window.choir


def drag_slider(qtbot, slider, to_fraction):
    """Press on the handle, move in steps, release: what a hand does."""
    from PySide6.QtWidgets import QStyle, QStyleOptionSlider

    qtbot.waitUntil(lambda: slider.isVisible() and slider.width() > 60)
    qtbot.wait(50)  # let the strip's layout settle
    opt = QStyleOptionSlider()
    slider.initStyleOption(opt)
    handle = slider.style().subControlRect(QStyle.CC_Slider, opt, QStyle.SC_SliderHandle, slider)
    groove = slider.style().subControlRect(QStyle.CC_Slider, opt, QStyle.SC_SliderGroove, slider)
    start = handle.center()
    end = QPoint(int(groove.left() + to_fraction * groove.width()), start.y())
    qtbot.mousePress(slider, Qt.LeftButton, pos=start)
    for k in range(1, 6):
        qtbot.mouseMove(slider, QPoint(start.x() + (end.x() - start.x()) * k // 5, start.y()))
        qtbot.wait(5)
    qtbot.mouseRelease(slider, Qt.LeftButton, pos=end)


def drag_view(qtbot, view, a, b, steps=6):
    """A mouse drag on a pyqtgraph view from widget point a to b (moves 15 ms apart: pyqtgraph drops faster)."""
    qtbot.mousePress(view.viewport(), Qt.LeftButton, pos=a)
    for k in range(1, steps + 1):
        qtbot.wait(15)
        qtbot.mouseMove(view.viewport(), QPoint(a.x() + (b.x() - a.x()) * k // steps,
                                                a.y() + (b.y() - a.y()) * k // steps))
    qtbot.mouseRelease(view.viewport(), Qt.LeftButton, pos=b)


def test_solo_a_voice_and_move_its_pitch_slider_shifts_what_is_heard(qtbot, window, duet, audio_fake):
    choir = open_duet(qtbot, window, duet)
    _, _, stems = duet
    assert len(choir.page.strips) == 2 and choir.listen == "voices"
    lower = choir.page.strips[1]
    qtbot.mouseClick(lower.solo, Qt.LeftButton)
    assert choir.states[1]["solo"] and choir.focused == 1

    slider = lower.sliders["pitch_st"]
    drag_slider(qtbot, slider, 0.75)  # three quarters of -12..+12 st: about +6 st
    semis = choir.states[1]["pitch_st"]
    assert 4.0 < semis < 8.0
    assert window.undo_stack.count() == 1  # a whole drag is one undo step
    wait_idle(qtbot, window, 60000)
    rendered = choir.rendered[1]
    assert rendered is not None and rendered.shape == stems[1].shape
    measured = median_f0_ratio_cents(stems[1], rendered, SR)
    assert abs(measured - semis * 100) < 15, (measured, semis)

    # what reaches the sound card: only the soloed voice, shifted
    window.transport.seek(0.5)
    qtbot.keyClick(choir.page.view, Qt.Key_Space)
    out = audio_fake.stream.pull(1.5)[:, 0]
    qtbot.keyClick(choir.page.view, Qt.Key_Space)
    heard = median_f0_ratio_cents(stems[1][int(0.5 * SR):int(0.5 * SR) + len(out)], out, SR)
    assert abs(heard - semis * 100) < 20, heard

    # undo: the original voice again; redo: the edit again
    window.undo_action.trigger()
    assert choir.states[1]["pitch_st"] == 0.0 and slider.value() == 0
    wait_idle(qtbot, window, 60000)
    assert np.array_equal(choir.rendered[1], stems[1])
    window.redo_action.trigger()
    assert choir.states[1]["pitch_st"] == semis
    wait_idle(qtbot, window, 60000)
    assert abs(median_f0_ratio_cents(stems[1], choir.rendered[1], SR) - semis * 100) < 15

    # double-click resets (one more undo step)
    qtbot.mouseDClick(slider, Qt.LeftButton)
    assert choir.states[1]["pitch_st"] == 0.0 and window.undo_stack.count() == 2
    window.grab().save("/tmp/motet-voices.png")


def test_an_edit_is_heard_quickly_while_playing(qtbot, window, duet, audio_fake):
    """The stretch at the playhead is re-rendered first and swapped into the player."""
    choir = open_duet(qtbot, window, duet)
    window.transport.seek(1.0)
    qtbot.keyClick(choir.page.view, Qt.Key_Space)
    audio_fake.stream.pull(0.1)
    wait_idle(qtbot, window, 60000)
    # warm: the first edit builds the voice's analysis
    choir.page.strips[0].sliders["breath_db"].setValue(choir.page.strips[0].sliders["breath_db"].value() + 4)
    wait_idle(qtbot, window, 60000)
    swaps = []
    real_replace = window.transport.replace_audio

    def replace_audio(name, samples):  # what reaches the player, and when
        swaps.append((name, time.perf_counter()))
        real_replace(name, samples)

    window.transport.replace_audio = replace_audio
    t0 = time.perf_counter()
    choir.page.strips[0].sliders["pitch_st"].setValue(300)  # +3 st by keyboard-like change
    qtbot.waitUntil(lambda: any(name == "voice0" for name, _ in swaps), timeout=5000)
    t1 = min(t for name, t in swaps if name == "voice0")
    latency = t1 - t0
    print(f"edit heard after {latency * 1000:.0f} ms")
    assert latency < 1.0  # the 150 ms goal is measured and reported in docs/gui.md; CI machines vary
    wait_idle(qtbot, window, 60000)


def test_move_a_stretch_of_f0_by_semitones(qtbot, window, duet):
    choir = open_duet(qtbot, window, duet)
    _, _, stems = duet
    view = choir.page.view
    choir.set_focus(0)
    choir.page.tool_buttons["move"].click()
    assert view.tool == "move"
    qtbot.waitUntil(lambda: view.viewRange()[0][1] > 2.9)
    # select 1.0–2.0 s by dragging across, then drag inside the selection up by three semitones
    y = 64.0
    a, b = view.view_to_widget(1.0, y), view.view_to_widget(2.0, y)
    drag_view(qtbot, view, a, b)
    sel = view.selection()
    assert sel is not None and abs(sel[0] - 1.0) < 0.05 and abs(sel[1] - 2.0) < 0.05
    qtbot.wait(700)  # a new gesture, not a double click
    c = view.view_to_widget(1.5, y)
    d = view.view_to_widget(1.5, y + 3.0)
    drag_view(qtbot, view, c, d)
    regions = choir.states[0]["regions"]
    assert len(regions) == 1 and regions[0][2] == 300.0
    # the drawn curve moved up by 3 st inside the stretch only
    t, m = view.curve_data[0]
    inside = (t > 1.1) & (t < 1.9)
    outside = (t > 0.2) & (t < 0.8)
    base = 12 * np.log2(330 / 440) + 69
    assert np.nanmedian(m[inside]) == pytest.approx(base + 3, abs=0.1)
    assert np.nanmedian(m[outside]) == pytest.approx(base, abs=0.1)
    wait_idle(qtbot, window, 60000)
    seg = slice(int(1.1 * SR), int(1.9 * SR))
    assert abs(median_f0_ratio_cents(stems[0][seg], choir.rendered[0][seg], SR) - 300) < 15
    seg = slice(int(0.1 * SR), int(0.8 * SR))
    assert abs(median_f0_ratio_cents(stems[0][seg], choir.rendered[0][seg], SR)) < 5
    window.undo_action.trigger()
    assert choir.states[0]["regions"] == []


def test_export_stems_edited_stems_remix_and_f0(qtbot, window, duet, tmp_path):
    from engine.f0.tracks import F0Tracks
    from engine.io.audio import load_audio

    choir = open_duet(qtbot, window, duet)
    choir.page.strips[1].sliders["loudness_db"].setValue(-60)  # -6 dB
    wait_idle(qtbot, window, 60000)
    choir.export("stems", tmp_path / "stems")
    choir.export("edited", tmp_path / "edited", "flac")
    choir.export("remix", tmp_path / "remix.wav")
    choir.export("f0", tmp_path / "f0.csv")
    wait_idle(qtbot, window, 60000)
    assert not window.errors
    raw = load_audio(tmp_path / "stems" / "lower.wav").samples[0]
    edited = load_audio(tmp_path / "edited" / "lower.flac").samples[0]
    ratio_db = 20 * np.log10(np.std(edited) / np.std(raw))
    assert ratio_db == pytest.approx(-6.0, abs=0.7)
    remix = load_audio(tmp_path / "remix.wav").samples
    assert remix.shape[0] == 2 and remix.shape[1] == raw.shape[0]
    f0 = F0Tracks.from_csv(tmp_path / "f0.csv")
    assert f0.names == ["upper", "lower"]
    assert np.median(f0.f0_hz[1][f0.voiced[1]]) == pytest.approx(220.0, rel=0.01)


def test_s_and_m_keys_solo_and_mute_the_focused_voice(qtbot, window, duet):
    choir = open_duet(qtbot, window, duet)
    qtbot.mouseClick(choir.page.strips[1], Qt.LeftButton, pos=QPoint(5, 5))
    assert choir.focused == 1
    qtbot.keyClick(choir.page.view, Qt.Key_S)
    assert choir.states[1]["solo"] and choir.page.strips[1].solo.isChecked()
    qtbot.keyClick(choir.page.view, Qt.Key_M)
    assert choir.states[1]["mute"]
    qtbot.keyClick(choir.page.view, Qt.Key_S)
    assert not choir.states[1]["solo"] and not choir.states[0]["solo"]


def test_every_control_has_a_tooltip_and_the_window_fits_1280x800(qtbot, window, duet):
    from PySide6.QtWidgets import QAbstractButton, QAbstractSlider, QAbstractSpinBox, QComboBox

    open_duet(qtbot, window, duet)
    assert window.minimumSizeHint().width() <= 1280 and window.minimumSizeHint().height() <= 800
    for page in (0, 1):
        window.tabs.setCurrentIndex(page)
        controls = [w for cls in (QAbstractButton, QAbstractSlider, QAbstractSpinBox, QComboBox)
                    for w in window.findChildren(cls) if w.isVisible() and not w.inherits("QScrollBar")]
        assert len(controls) > 10
        missing = [f"{type(w).__name__} {getattr(w, 'text', lambda: '')()!r}" for w in controls
                   if not w.toolTip() and w.parent() is not None and not w.parent().inherits("QTabBar")
                   and not w.inherits("QToolBarExtension")]
        assert not missing, missing
    for action in window.menuBar().actions():
        for sub in action.menu().actions():
            assert sub.isSeparator() or sub.toolTip(), sub.text()


def test_redraw_a_stretch_of_f0_with_the_mouse(qtbot, window, duet):
    choir = open_duet(qtbot, window, duet)
    view = choir.page.view
    choir.page.tool_buttons["draw"].click()
    qtbot.waitUntil(lambda: view.viewRange()[0][1] > 2.9)
    base = 12 * np.log2(220 / 440) + 69  # the lower voice, A3
    assert choir.focused == 0
    qtbot.mouseClick(view.viewport(), Qt.LeftButton, pos=view.view_to_widget(0.5, base + 0.3))  # click its curve
    assert choir.focused == 1
    drag_view(qtbot, view, view.view_to_widget(1.0, base + 1), view.view_to_widget(2.0, base + 1))
    assert len(choir.states[1]["redraws"]) == 1
    t, m = view.curve_data[1]
    assert np.nanmedian(m[(t > 1.2) & (t < 1.8)]) == pytest.approx(base + 1, abs=0.3)
    assert np.nanmedian(m[(t > 0.2) & (t < 0.8)]) == pytest.approx(base, abs=0.1)
    wait_idle(qtbot, window, 60000)
    assert not window.errors
    window.undo_action.trigger()
    assert choir.states[1]["redraws"] == []


def test_wheel_zooms_time_and_pitch(qtbot, window, duet):
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    open_duet(qtbot, window, duet)
    view = window.choir.page.view
    qtbot.waitUntil(lambda: view.viewRange()[0][1] > 2.9)
    (x0, x1), (y0, y1) = view.viewRange()
    pos = QPointF(view.view_to_widget(1.5, 60.0))
    for _ in range(3):
        ev = QWheelEvent(pos, view.mapToGlobal(pos), QPoint(0, 0), QPoint(0, 120), Qt.NoButton, Qt.NoModifier,
                         Qt.NoScrollPhase, False)
        QApplication.sendEvent(view.viewport(), ev)
    (a0, a1), (b0, b1) = view.viewRange()
    assert a1 - a0 < (x1 - x0) * 0.9 and b1 - b0 < (y1 - y0) * 0.9


def test_ab_switches_between_original_and_edited_and_loop_repeats_the_selection(qtbot, window, duet, audio_fake):
    choir = open_duet(qtbot, window, duet)
    _, _, stems = duet
    choir.page.strips[0].sliders["loudness_db"].setValue(-120)  # -12 dB on the upper voice
    wait_idle(qtbot, window, 60000)
    choir.page.strips[0].solo.setChecked(True)
    choir.page.view.set_selection(1.0, 1.5)
    choir.page.loop.setChecked(True)
    window.transport.seek(1.0)
    qtbot.keyClick(choir.page.view, Qt.Key_Space)
    audio_fake.stream.pull(0.05)
    edited = audio_fake.stream.pull(1.0)[:, 0]
    qtbot.mouseClick(choir.page.ab, Qt.LeftButton)  # A: the original stems
    assert choir.ab_original
    audio_fake.stream.pull(0.05)
    original = audio_fake.stream.pull(1.0)[:, 0]
    level = 20 * np.log10(np.std(edited) / np.std(original))
    assert level == pytest.approx(-12.0, abs=1.0)
    pos = window.transport.position_s
    assert 1.0 <= pos <= 1.5  # 2 s played, still inside the looped half second
    qtbot.mouseClick(choir.page.ab, Qt.LeftButton)  # back to B
    assert not choir.ab_original


def test_swap_two_voices_f0_over_a_selection(qtbot, window, duet):
    """A tracker that gave the upper voice's notes to the lower one is mended by one swap over the stretch: the
    two F0 curves exchange there only, and undo brings them back."""
    choir = open_duet(qtbot, window, duet)
    view = choir.page.view
    choir.page.tool_buttons["move"].click()
    qtbot.waitUntil(lambda: view.viewRange()[0][1] > 2.9)
    choir.set_focus(1)
    assert not choir.page.swap_up.isEnabled()  # nothing selected yet
    drag_view(qtbot, view, view.view_to_widget(1.0, 60.0), view.view_to_widget(2.0, 60.0))
    assert view.selection() is not None
    assert choir.page.swap_up.isEnabled() and not choir.page.swap_down.isEnabled()  # the lowest voice: up only
    choir.page.swap_up.click()
    upper, lower = 12 * np.log2(330 / 440) + 69, 12 * np.log2(220 / 440) + 69
    inside = lambda t: (t > 1.1) & (t < 1.9)
    outside = lambda t: (t > 0.2) & (t < 0.8)
    (t0, m0), (t1, m1) = view.curve_data[0], view.curve_data[1]
    assert np.nanmedian(m0[inside(t0)]) == pytest.approx(lower, abs=0.1)
    assert np.nanmedian(m1[inside(t1)]) == pytest.approx(upper, abs=0.1)
    assert np.nanmedian(m0[outside(t0)]) == pytest.approx(upper, abs=0.1)
    assert np.nanmedian(m1[outside(t1)]) == pytest.approx(lower, abs=0.1)
    f0 = choir.edited_f0()  # what the F0 export writes
    k = np.searchsorted(f0.times_s, 1.5)
    assert f0.f0_hz[0, k] == pytest.approx(220, rel=0.01) and f0.f0_hz[1, k] == pytest.approx(330, rel=0.01)
    wait_idle(qtbot, window, 60000)
    assert not window.errors
    window.undo_action.trigger()
    assert choir.states[0]["redraws"] == [] and choir.states[1]["redraws"] == []
    t0, m0 = view.curve_data[0]
    assert np.nanmedian(m0[inside(t0)]) == pytest.approx(upper, abs=0.1)


def test_a_swapped_stretch_keeps_the_other_voices_rests():
    """A voice given a stretch in which the other voice rests is unvoiced there, not held at a pitch."""
    from engine.edit.theta_voice import ThetaVoice
    from gui.choir_session import corrected_theta

    t = np.arange(100) * 0.016
    theta = ThetaVoice.from_f0("v", t, np.full(100, 220.0))
    midi = [64.0] * 10 + [None] * 10 + [64.0] * 10
    out = corrected_theta(theta, [[t[40:70].tolist(), midi]])
    assert out.voiced[:40].all() and out.voiced[70:].all()
    assert out.voiced[40:50].all() and not out.voiced[51:59].any() and out.voiced[61:70].all()
    assert out.f0_hz[45] == pytest.approx(329.63, rel=1e-3) and out.f0_hz[30] == pytest.approx(220.0)
