# Reference solution (expert-written, not LLM output): power control -> per-UE SINR.
import json
import tomllib

import numpy as np
import pandas as pd

net = tomllib.load(open("network.toml", "rb"))
policy = tomllib.load(open("policy.toml", "rb"))["policy"]
cells = pd.read_csv("cells.csv").sort_values("cell_id")
rsrp = pd.read_csv("rsrp_dbm.csv").sort_values("ue_id")
# [U, C] measured RSRP per RE [dBm], columns in cell_id order
r_dbm = rsrp[[f"cell_{c}" for c in cells["cell_id"]]].to_numpy(float)
delta_db = np.asarray(policy["tx_power_dbm"], float) - cells["tx_power_dbm"].to_numpy(float)
r_dbm = r_dbm + delta_db[None, :]
serving = np.argmax(r_dbm, axis=1)
r_mw = 10.0 ** (r_dbm / 10.0)
u = np.arange(r_mw.shape[0])
signal_mw = r_mw[u, serving]
radio = net["radio"]
noise_dbm = -174.0 + 10.0 * np.log10(radio["scs_khz"] * 1e3) + radio["noise_figure_db"]
sinr_db = 10.0 * np.log10(signal_mw / (r_mw.sum(axis=1) - signal_mw + 10.0 ** (noise_dbm / 10)))
json.dump({"sinr_db": sinr_db.tolist()}, open("result.json", "w"))
