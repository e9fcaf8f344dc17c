"""Tests of simran.hooks.latency: spec parsing, fixed/measured/profile/tokens models, the datasets."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simran.hooks.latency import (
    FixedLatency,
    LatencySpecError,
    MeasuredLatency,
    ProfileLatency,
    TokensLatency,
    load_hardware_profiles,
    load_latency_profiles,
    parse_latency_spec,
)

CALL = {"wall_s": 0.4, "prompt_tokens": 110, "completion_tokens": 21}


def sample(model, rng=None, **kw):
    return model.sample_us(rng or np.random.default_rng(0), **{**CALL, **kw})


def test_fixed_is_exact_and_draws_nothing():
    rng = np.random.default_rng(7)
    state = rng.bit_generator.state
    m = parse_latency_spec("fixed:82")
    assert isinstance(m, FixedLatency)
    assert sample(m, rng) == 82_000 and sample(parse_latency_spec("fixed:0.0015")) == 2
    assert rng.bit_generator.state == state
    assert sample(parse_latency_spec(" fixed:0 ")) == 0


def test_measured_and_scaled():
    assert isinstance(parse_latency_spec("measured"), MeasuredLatency)
    assert sample(parse_latency_spec("measured")) == 400_000
    assert sample(parse_latency_spec("measured*0.25")) == 100_000
    assert sample(parse_latency_spec("measured*2"), wall_s=0.0000004) == 1  # 0.8 µs rounds to 1
    assert sample(parse_latency_spec("measured"), wall_s=-1.0) == 0


def test_profile_median_within_ci_llama32_3b_near_rt():
    # papers/004 Table 4: llama3.2:3b symbiotic inference 82 ms. Log-normal, median 82 ms,
    # σ_ln 0.1: the sample median of n draws has standard error ≈ 1.2533·σ/√n in log space,
    # 0.00198 for n = 4000; 1 % is a > 5σ band.
    m = parse_latency_spec("profile:llama3.2:3b", loop="near_rt")
    assert isinstance(m, ProfileLatency) and m.median_us == 82_000
    rng = np.random.default_rng(2024)
    xs = np.array([sample(m, rng) for _ in range(4000)])
    assert xs.min() > 0 and xs.dtype.kind == "i"
    assert abs(np.median(xs) / 82_000 - 1) < 0.01
    assert abs(np.std(np.log(xs)) / 0.1 - 1) < 0.06  # spread of log: σ_ln (se ≈ 1.1 %)
    assert "papers/004 Table 4" in m.describe()


def test_profile_is_reproducible_per_seed():
    m = parse_latency_spec("profile:qwen2:7b")
    a = [sample(m, np.random.default_rng(5)) for _ in range(3)]
    assert a[0] == a[1] == a[2]
    rng1, rng2 = np.random.default_rng(9), np.random.default_rng(9)
    assert [sample(m, rng1) for _ in range(5)] == [sample(m, rng2) for _ in range(5)]


def test_profile_table_named_after_at_overrides_the_agents_loop():
    # a standalone LLM in the rt loop, charged Table 4's per-call latency (gpt-4o ≈ 450 ms)
    rt = parse_latency_spec("profile:gpt-4o@near_rt", loop="rt")
    assert rt.median_us == 450_000 and rt.profile.table == "4"
    assert parse_latency_spec("profile:gpt-4o@non_rt", loop="rt").median_us == 4_000_000
    with pytest.raises(ValueError, match="table loop 'soon' after '@'"):
        parse_latency_spec("profile:gpt-4o@soon", loop="rt")
    with pytest.raises(ValueError, match="profiled only for"):
        parse_latency_spec("profile:llama3.2:3b@non_rt", loop="rt")


def test_profile_picks_table_by_loop():
    near = parse_latency_spec("profile:gpt-4o", loop="near_rt")
    far = parse_latency_spec("profile:gpt-4o", loop="non_rt")
    assert near.median_us == 450_000 and near.profile.table == "4"      # ≈450 ms per call
    assert far.median_us == 4_000_000 and far.profile.table == "7"      # ≈4.0 s per round
    assert parse_latency_spec("profile:llama3.3:70b", loop="non_rt").median_us == 11_700_000
    with pytest.raises(ValueError, match="give the agent's loop class"):
        parse_latency_spec("profile:gpt-4o")
    with pytest.raises(ValueError, match="profiled only for \\['near_rt'\\]"):
        parse_latency_spec("profile:llama3.2:3b", loop="non_rt")
    with pytest.raises(ValueError, match="not for rt"):
        parse_latency_spec("profile:llama3.2:3b", loop="rt")
    with pytest.raises(ValueError, match=r"known models: .*llama3\.2:3b"):
        parse_latency_spec("profile:llama9:1t", loop="near_rt")
    assert sample(parse_latency_spec("profile:P-Control", loop="near_rt")) == 0


def test_tokens_arithmetic(tmp_path):
    (tmp_path / "llm_hardware_profiles.csv").write_text(
        "hardware,prefill_tps,decode_tps,source,notes\nbox,100,10,test,\n")
    m = parse_latency_spec("tokens:box", datasets=tmp_path)
    assert isinstance(m, TokensLatency)
    # 50 prompt tokens / 100 tok/s + 5 completion tokens / 10 tok/s = 0.5 s + 0.5 s
    assert sample(m, prompt_tokens=50, completion_tokens=5) == 1_000_000
    assert sample(m, prompt_tokens=0, completion_tokens=0) == 0


def test_tokens_this_machine_row_and_env_override(tmp_path, monkeypatch):
    hw = load_hardware_profiles()["this_machine_smollm2_135m"]
    m = parse_latency_spec("tokens:this_machine_smollm2_135m")
    expected = 110 / hw.prefill_tps + 21 / hw.decode_tps
    assert sample(m) == round(expected * 1e6)
    assert "measured" in hw.source
    monkeypatch.setenv("SIMRAN_DATASETS", str(tmp_path))
    (tmp_path / "llm_hardware_profiles.csv").write_text(
        "hardware,prefill_tps,decode_tps,source,notes\nenvbox,1,1,test,\n")
    assert sample(parse_latency_spec("tokens:envbox"), prompt_tokens=1,
                  completion_tokens=1) == 2_000_000


@pytest.mark.parametrize("spec", ["", "fast", "fixed", "fixed:", "fixed:abc", "fixed:-1",
                                  "fixed:nan", "fixed:inf", "measured*", "measured*0",
                                  "measured*-2", "measured*x", "measured:2", "profile:",
                                  "tokens:", "tokens:cray-1", "warp:9"])
def test_bad_specs_name_spec_and_valid_forms(spec):
    with pytest.raises(ValueError) as e:
        parse_latency_spec(spec, loop="near_rt")
    assert isinstance(e.value, LatencySpecError)
    assert repr(spec) in str(e.value)
    assert "fixed:<ms>" in str(e.value) and "tokens:<hardware>" in str(e.value)


def test_bad_loop_and_bad_dataset(tmp_path):
    with pytest.raises(ValueError, match="loop 'realtime'"):
        parse_latency_spec("fixed:1", loop="realtime")
    (tmp_path / "llm_hardware_profiles.csv").write_text(
        "hardware,prefill_tps,decode_tps,source,notes\nbox,fast,10,test,\n")
    with pytest.raises(ValueError, match="row 2: prefill_tps='fast'"):
        parse_latency_spec("tokens:box", datasets=tmp_path)
    with pytest.raises(ValueError, match="cannot read"):
        parse_latency_spec("profile:gpt-4o", loop="near_rt", datasets=tmp_path)


# Spot checks of the transcription of papers/004 Table 4 and Table 7 (values quoted by the
# project; each literal below is read off the paper's table row).
def test_latency_profiles_transcription():
    rows = load_latency_profiles()
    t4 = {(r.model, r.design): r for r in rows if r.table == "4"}
    t7 = {(r.model, r.design): r for r in rows if r.table == "7"}
    assert len(t4) == 15 and len(t7) == 14
    assert all(r.loop == "near_rt" for r in t4.values())
    assert all(r.loop == "non_rt" for r in t7.values())
    assert t4["llama3.2:3b", "symbiotic"].latency_ms == 82
    assert t4["qwen2:7b", "symbiotic"].latency_ms == 133
    assert t4["mistral-7b", "standalone"].latency_ms == 317
    assert t4["llama3.2:1b", "symbiotic"].latency_ms == 69
    assert t4["gemma2:2b", "symbiotic"].latency_ms == 98
    assert t4["llama3.1:8b", "standalone"].latency_ms == 135
    assert t7["qwen2:72b", "symbiotic"].latency_ms == 14_400
    assert t7["qwen2.5vl:32b", "standalone"].latency_ms == 9_100
    assert t7["llama3.1:8b", "symbiotic"].latency_ms == 3_500
    assert t7["gpt-4o-mini", "standalone"].latency_ms == 2_000
    assert all(r.source == f"papers/004 Table {r.table}" for r in rows)
    assert all(math.isfinite(r.latency_ms) for r in rows)


def test_latency_profiles_other_columns():
    import csv

    from simran.hooks.latency import datasets_dir

    with open(datasets_dir() / "llm_latency_profiles.csv", newline="") as f:
        rows = {(r["table"], r["model"], r["design"]): r for r in csv.DictReader(f)}
    r = rows["4", "llama3.2:3b", "symbiotic"]
    assert (r["rmse_mbps"], r["iterations"], r["convergence_ms"], r["vram_gb"]) == \
        ("4.4", "1.5", "8", "2.0")
    r = rows["4", "P-Control", "untuned"]
    assert (r["rmse_mbps"], r["iterations"], r["convergence_ms"]) == ("12.0", "61.0", "305")
    r = rows["7", "llama3.3:70b", "symbiotic"]
    assert (r["mae_mbps"], r["rounds"], r["convergence_s"], r["vram_gb"]) == \
        ("0.7", "2.0", "23.4", "42.0")
    r = rows["7", "Grad-Descent", "untuned"]
    assert (r["mae_mbps"], r["rounds"]) == ("22.0", "3000.0")
    assert "latency_ms" in rows["7", "gpt-4o", "symbiotic"]["approx"]  # printed as ≈4.0 secs
