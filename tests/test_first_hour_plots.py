"""Issue 16 part 3: plots a researcher can read — the busiest cell, marks for events, decisions
and intents, axes from zero, empty panels with a note, cell ids on the map, the radio map and
error bars that respect a metric's range."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest
from helpers import TINY_SWEEP_BASE

from simran.cli.main import main
from simran.errors import ResultsError
from simran.scenario import Scenario

pytest.importorskip("matplotlib")

from simran.output import plots  # noqa: E402
from simran.output.radio_map import radio_map  # noqa: E402


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A one-site (3-cell) run of 1 s with UE KPIs, a scripted quota change at 0.4 s and an
    intent for the embb slice at 0.6 s."""
    from simran import load_results
    from simran.simulation import run_scenario

    data = tomllib.loads(TINY_SWEEP_BASE)
    data["simulation"]["duration_s"] = 1.0
    data["output"] = {"ue_kpis": True}
    data["events"] = [{"at_s": 0.4, "action": "set_slice_quota", "slice": "embb", "value": 50},
                      {"at_s": 0.6, "action": "set_intent", "slice": "embb", "value": 30.0,
                       "tolerance": 5.0}]
    path = tmp_path_factory.mktemp("plots") / "results.h5"
    run_scenario(Scenario.from_dict(data), path, quiet=True)
    return load_results(path)


@pytest.fixture
def figures(monkeypatch):
    """The figures the plot functions would save."""
    saved = []
    monkeypatch.setattr(plots, "_save", lambda fig, path: saved.append(fig) or path)
    return saved


def test_busiest_cell_is_the_one_with_the_most_traffic(run):
    totals = run.cell.groupby("cell")["throughput_mbps"].sum()
    assert plots.busiest_cell(run) == int(totals.idxmax())


def test_slices_plot_uses_busiest_cell_marks_events_and_intents_from_zero(run, figures,
                                                                          tmp_path):
    plots.plot_slices(run, tmp_path / "s.png")
    ax1, ax2 = figures[0].axes[:2]
    assert ax1.get_ylim()[0] == 0.0
    assert f"cell {plots.busiest_cell(run)}" in ax2.get_title()
    labels = ax1.get_legend().get_texts()
    texts = [t.get_text() for t in labels]
    assert "event: set_slice_quota" in texts and "event: set_intent" in texts
    assert "embb intent" in texts
    # the event lines stand at the events' times (x data of the vertical lines)
    vlines = [ln.get_xdata()[0] for ln in ax1.lines if ln.get_linestyle() == "--"]
    assert sorted(vlines) == pytest.approx([0.4, 0.6])
    assert plots._intents(run) == [(0.6, "embb", 30.0, 5.0)]


def test_slices_plot_for_a_chosen_cell_and_a_bad_one(run, figures, tmp_path):
    plots.plot_slices(run, tmp_path / "s.png", cell=2)
    assert figures[0].axes[1].get_title().startswith("cell 2:")
    with pytest.raises(ResultsError, match="cell 7 is not a cell of this run"):
        plots.plot_slices(run, tmp_path / "s.png", cell=7)


def test_empty_sinr_panel_is_hidden_with_a_note(run, figures, tmp_path):
    import copy

    r = copy.copy(run)
    r.ue = run.ue.assign(sinr_db=np.nan)          # what a trace replay records
    plots.plot_radio(r, tmp_path / "r.png")
    ax1, ax2 = figures[0].axes[:2]
    assert not ax1.axison and "no SINR recorded" in ax1.texts[0].get_text()
    assert ax2.axison


def test_map_labels_every_cell_id(run, figures, tmp_path):
    plots.plot_map(run, tmp_path / "m.png")
    texts = {t.get_text() for t in figures[0].axes[0].texts}
    assert {str(c) for c in run.cells["cell"]} <= texts


def test_radio_map_properties():
    scen = Scenario.from_dict(tomllib.loads(TINY_SWEEP_BASE))
    full = radio_map(scen, n_points=30, load=1.0)
    empty = radio_map(scen, n_points=30, load=0.0)
    assert full.sinr_db.shape == (len(full.y_m), len(full.x_m))
    assert np.array_equal(full.serving, empty.serving)          # RSRP does not depend on load
    assert np.array_equal(full.rsrp_dbm, empty.rsrp_dbm)        # same seed ⇒ same shadowing
    assert (empty.sinr_db >= full.sinr_db - 1e-9).all()         # less interference, more SINR
    assert (empty.sinr_db > full.sinr_db + 1).any()
    assert set(np.unique(full.serving)) <= {0, 1, 2}
    assert 0.0 <= full.coverage() <= 1.0
    with pytest.raises(ValueError, match="load"):
        radio_map(scen, load=1.5)


def test_error_bars_are_clipped_to_the_metric_range():
    from simran.campaigns.analysis import clipped_errors, metric_label, metric_range

    assert metric_range("throughput_mbps_mean") == (0.0, np.inf)
    assert metric_range("prb_util_mean") == (0.0, 1.0)
    assert metric_range("sinr_db_p5") == (-np.inf, np.inf)
    # a mean of 100 Mbit/s with a CI half-width of 600: the bar stops at 0, not at −500
    err = clipped_errors([100.0, 0.9], [600.0, 0.3], 0.0, np.inf)
    assert err[:, 0].tolist() == [100.0, 600.0]
    err = clipped_errors([0.9], [0.3], 0.0, 1.0)
    assert err[:, 0] == pytest.approx([0.3, 0.1])
    assert "Mbit/s" in metric_label("slice.embb.throughput_mbps_mean")


@pytest.mark.slow
def test_cli_plot_cell_and_radio_map(run, tmp_path, capsys):
    assert main(["plot", str(run.path), "--out", str(tmp_path), "--cell", "1",
                 "--radio-map"]) == 0
    assert (tmp_path / "radio_map.png").is_file() and (tmp_path / "slices.png").is_file()
    assert main(["plot", str(run.path), "--out", str(tmp_path), "--cell", "9"]) == 2
    assert "cell 9 is not a cell" in capsys.readouterr().err


def test_plot_campaign_labels_from_the_schema_and_overrides(tmp_path):
    from helpers import write_sweep

    from simran.campaigns.analysis import plot_metric
    from simran.campaigns.campaign import run_campaign
    from simran.campaigns.executors import SerialExecutor

    path = write_sweep(tmp_path, """
        base = "base.toml"
        [sweep]
        grid = { "slices.0.quota_pct" = [40, 60] }
        seeds = [1, 2]
        """)
    run_campaign(path, tmp_path / "c", executor=SerialExecutor(), quiet=True)
    ax = plot_metric(tmp_path / "c", "throughput_mbps_mean", x="slices.0.quota_pct").axes[0]
    assert ax.get_xlabel().startswith("PRB quota") and "(slices.0.quota_pct)" in ax.get_xlabel()
    assert ax.get_ylabel().startswith("network throughput") and "[Mbit/s]" in ax.get_ylabel()
    # the lower error bar never reaches below zero (throughput ≥ 0)
    lows = [seg[0][1] for coll in ax.collections for seg in coll.get_segments()]
    assert min(lows) >= 0.0
    ax = plot_metric(tmp_path / "c", "throughput_mbps_mean", x="slices.0.quota_pct",
                     xlabel="eMBB quota [%]", ylabel="Mbit/s").axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("eMBB quota [%]", "Mbit/s")
