# Reference solution (expert-written, not LLM output): energy vs SINR over power levels.
import json
import tomllib

import numpy as np
import pandas as pd

net = tomllib.load(open("network.toml", "rb"))
policy = tomllib.load(open("policy.toml", "rb"))["policy"]
cells = pd.read_csv("cells.csv").sort_values("cell_id")
rsrp = pd.read_csv("rsrp_dbm.csv").sort_values("ue_id")
r0_dbm = rsrp[[f"cell_{c}" for c in cells["cell_id"]]].to_numpy(float)  # [U, C] dBm
p0_dbm = cells["tx_power_dbm"].to_numpy(float)
radio, e = net["radio"], net["earth"]
noise_mw = 10.0 ** ((-174.0 + 10.0 * np.log10(radio["scs_khz"] * 1e3)
                     + radio["noise_figure_db"]) / 10.0)
energy_kwh, sinr_all = [], []
for level in policy["power_levels_dbm"]:
    r_dbm = r0_dbm + (level - p0_dbm)[None, :]
    serving = np.argmax(r_dbm, axis=1)
    r_mw = 10.0 ** (r_dbm / 10.0)
    sig = r_mw[np.arange(r_mw.shape[0]), serving]
    sinr_all.append((10.0 * np.log10(sig / (r_mw.sum(axis=1) - sig + noise_mw))).tolist())
    load = (np.bincount(serving, minlength=len(cells)) > 0).astype(float)
    tx_w = 10.0 ** ((level - 30.0) / 10.0)
    power_w = e["n_trx"] * (e["p0_w"] + e["delta_p"] * tx_w / e["n_trx"] * load)
    energy_kwh.append(float(power_w.sum()) / 1e3)
json.dump({"energy_kwh": energy_kwh, "sinr_db": sinr_all}, open("result.json", "w"))
