# Reference solution (expert-written, not LLM output): BS shutdown -> network energy.
import json
import tomllib

import numpy as np
import pandas as pd

net = tomllib.load(open("network.toml", "rb"))
policy = tomllib.load(open("policy.toml", "rb"))["policy"]
cells = pd.read_csv("cells.csv").sort_values("cell_id")
rsrp = pd.read_csv("rsrp_dbm.csv").sort_values("ue_id")
r_dbm = rsrp[[f"cell_{c}" for c in cells["cell_id"]]].to_numpy(float)   # [U, C] dBm
on = np.ones(len(cells), dtype=bool)
on[np.asarray(policy["off_cells"], dtype=int)] = False
r_dbm[:, ~on] = -np.inf
serving = np.argmax(r_dbm, axis=1)
# full buffer: a cell serving at least one UE is fully loaded
load = (np.bincount(serving, minlength=len(cells)) > 0).astype(float)
e = net["earth"]
tx_w = 10.0 ** ((cells["tx_power_dbm"].to_numpy(float) - 30.0) / 10.0)
p_on_w = e["n_trx"] * (e["p0_w"] + e["delta_p"] * tx_w / e["n_trx"] * load)
power_w = np.where(on, p_on_w, e["n_trx"] * e["p_sleep_w"])
json.dump({"energy_kwh": float(power_w.sum()) * 1.0 / 1e3}, open("result.json", "w"))
